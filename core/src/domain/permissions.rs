//! A user's permissions: the companies they may act for and their role.

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use time::OffsetDateTime;

use super::{CompanyId, Role, RoleOrder, UserId, ValidationError};

/// The most companies one user may hold.
pub const MAX_COMPANIES: usize = 1_000;

/// What a write sets: the companies and the role, validated together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    /// Companies the user may act for: unique, in the order given.
    pub companies: Vec<CompanyId>,
    /// The user's role.
    pub role: Role,
}

impl Permissions {
    /// Validates raw companies and a raw role against the configured role order. The first broken
    /// rule is reported, naming the field (`companies[3]`, `role`).
    pub fn parse(
        companies: Vec<String>,
        role: String,
        order: &RoleOrder,
    ) -> Result<Self, ValidationError> {
        let companies = parse_companies(companies)?;
        let role = Role::parse(role, order)?;
        Ok(Self { companies, role })
    }

    /// Builds permissions from already validated parts, checking the list-level rules (uniqueness
    /// and size) that single ids cannot.
    pub fn new(companies: Vec<CompanyId>, role: Role) -> Result<Self, ValidationError> {
        check_company_list(&companies)?;
        Ok(Self { companies, role })
    }
}

/// Parses a list of raw company ids with the list-level rules applied.
pub fn parse_companies(raw: Vec<String>) -> Result<Vec<CompanyId>, ValidationError> {
    if raw.len() > MAX_COMPANIES {
        return Err(too_many(raw.len()));
    }
    let companies = raw
        .into_iter()
        .enumerate()
        .map(|(i, c)| CompanyId::parse_field(&format!("companies[{i}]"), c))
        .collect::<Result<Vec<_>, _>>()?;
    check_company_list(&companies)?;
    Ok(companies)
}

fn too_many(count: usize) -> ValidationError {
    ValidationError::new(
        "companies",
        format!("must hold at most {MAX_COMPANIES} companies (got {count})"),
    )
}

fn check_company_list(companies: &[CompanyId]) -> Result<(), ValidationError> {
    if companies.len() > MAX_COMPANIES {
        return Err(too_many(companies.len()));
    }
    let mut seen = std::collections::HashMap::with_capacity(companies.len());
    for (i, company) in companies.iter().enumerate() {
        if let Some(first) = seen.insert(company.as_str(), i) {
            return Err(ValidationError::new(
                format!("companies[{i}]"),
                format!("duplicates companies[{first}] ({company:?} appears twice)"),
            ));
        }
    }
    Ok(())
}

/// A user's stored permissions, as the API returns them.
///
/// `id`, `companies` and `role` are the reference design's shape, read by existing callers;
/// `version` grows by one on every change (it is the `ETag`), `updatedAt` and `updatedBy` say when
/// and by whom it last changed (absent for items written by other tools).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserPermissions {
    /// The user's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10"))]
    pub id: UserId,
    /// Companies the user may act for.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, example = json!(["1111"])))]
    #[serde(deserialize_with = "exact_companies")]
    pub companies: Vec<CompanyId>,
    /// The user's role.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "Manager"))]
    pub role: Role,
    /// Grows by one on every change; 0 for an item never written by Clearance.
    pub version: u64,
    /// When the permissions last changed (RFC 3339), if known.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339_option",
        deserialize_with = "time::serde::rfc3339::option::deserialize"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub updated_at: Option<OffsetDateTime>,
    /// Who made the last change (a token's `sub` or `client_id`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub updated_by: Option<SmolStr>,
}

/// `updatedAt` as RFC 3339, the same text `time::serde::rfc3339` writes, formatted on the stack for
/// the common case (UTC, years 0-9999): it is in every answer that carries a user.
fn rfc3339_option<S: serde::Serializer>(
    at: &Option<OffsetDateTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let written = at.as_ref().and_then(rfc3339_utc);
    // Digits, dashes, colons, `T`, `.` and `Z` only: always UTF-8.
    match written
        .as_ref()
        .map(|(text, len)| std::str::from_utf8(&text[..*len]))
    {
        Some(Ok(text)) => serializer.serialize_str(text),
        _ => time::serde::rfc3339::option::serialize(at, serializer),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the fraction's trailing zeros dropped (as `time` writes
/// it), for a UTC time of years 0-9999; `None` for anything else.
fn rfc3339_utc(at: &OffsetDateTime) -> Option<([u8; 30], usize)> {
    if !at.offset().is_utc() || !(0..=9999).contains(&at.year()) {
        return None;
    }
    let mut text = Digits::default();
    text.push(at.year().unsigned_abs(), 4);
    for (separator, value) in [
        (b'-', u8::from(at.month())),
        (b'-', at.day()),
        (b'T', at.hour()),
        (b':', at.minute()),
        (b':', at.second()),
    ] {
        text.byte(separator);
        text.push(u32::from(value), 2);
    }
    let mut fraction = at.nanosecond();
    if fraction != 0 {
        let mut digits = 9;
        while fraction % 10 == 0 {
            fraction /= 10;
            digits -= 1;
        }
        text.byte(b'.');
        text.push(fraction, digits);
    }
    text.byte(b'Z');
    Some((text.bytes, text.len))
}

/// A timestamp's text being written: at most 30 bytes (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`).
#[derive(Default)]
struct Digits {
    bytes: [u8; 30],
    len: usize,
}

impl Digits {
    fn byte(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// `value`'s last `digits` decimal digits, zero-padded.
    fn push(&mut self, mut value: u32, digits: usize) {
        for i in (0..digits).rev() {
            self.bytes[self.len + i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len += digits;
    }
}

/// The companies of a decoded user, holding no more room than they need: a list grown element by
/// element keeps room for four, and a cached user is kept a million times.
fn exact_companies<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<CompanyId>, D::Error> {
    let mut companies = Vec::<CompanyId>::deserialize(deserializer)?;
    companies.shrink_to_fit();
    Ok(companies)
}

impl UserPermissions {
    /// The permissions part (companies and role).
    pub fn permissions(&self) -> Permissions {
        Permissions {
            companies: self.companies.clone(),
            role: self.role.clone(),
        }
    }

    /// Whether the user may act for `company`.
    pub fn has_company(&self, company: &CompanyId) -> bool {
        self.companies.iter().any(|c| c == company)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updated_at_is_written_as_the_time_crate_writes_rfc_3339() {
        use time::format_description::well_known::Rfc3339;
        let user = |at: OffsetDateTime| UserPermissions {
            id: UserId::parse("u1").unwrap(),
            companies: vec![],
            role: Role::from_stored("Standard"),
            version: 1,
            updated_at: Some(at),
            updated_by: None,
        };
        let base = time::macros::datetime!(2026-12-01 13:33:42 UTC);
        let mut times = vec![
            base,
            time::macros::datetime!(0001-01-01 00:00:00 UTC),
            time::macros::datetime!(9999-12-31 23:59:59.999999999 UTC),
            time::macros::datetime!(2026-12-01 13:33:42 +02:00),
        ];
        for nanos in [
            1,
            10,
            100,
            845_000_000,
            845_100_000,
            123_456_789,
            100_000_000,
            5_000,
        ] {
            times.push(base + time::Duration::nanoseconds(nanos));
        }
        for at in times {
            let json = serde_json::to_value(user(at)).unwrap();
            assert_eq!(json["updatedAt"], at.format(&Rfc3339).unwrap(), "{at}");
            let back: UserPermissions = serde_json::from_value(json).unwrap();
            assert_eq!(back.updated_at, Some(at));
        }
    }

    fn order() -> RoleOrder {
        RoleOrder::default()
    }

    #[test]
    fn valid_permissions_parse() {
        let p = Permissions::parse(
            vec!["1111".into(), "2222".into()],
            "Manager".into(),
            &order(),
        )
        .unwrap();
        assert_eq!(p.companies.len(), 2);
        assert_eq!(p.role.as_str(), "Manager");
    }

    #[test]
    fn an_empty_company_list_is_allowed() {
        assert!(Permissions::parse(vec![], "Standard".into(), &order()).is_ok());
    }

    #[test]
    fn duplicate_companies_name_both_positions() {
        let err = Permissions::parse(
            vec!["1111".into(), "2222".into(), "1111".into()],
            "Manager".into(),
            &order(),
        )
        .unwrap_err();
        assert_eq!(err.field, "companies[2]");
        assert!(err.rule.contains("companies[0]"), "{}", err.rule);
    }

    #[test]
    fn a_bad_company_names_its_index() {
        let err = Permissions::parse(vec!["ok".into(), "not ok".into()], "Admin".into(), &order())
            .unwrap_err();
        assert_eq!(err.field, "companies[1]");
    }

    #[test]
    fn at_most_one_thousand_companies() {
        let many: Vec<String> = (0..1000).map(|i| format!("c{i}")).collect();
        assert!(Permissions::parse(many.clone(), "Admin".into(), &order()).is_ok());
        let mut too_many = many;
        too_many.push("c1000".into());
        let err = Permissions::parse(too_many, "Admin".into(), &order()).unwrap_err();
        assert_eq!(err.field, "companies");
        assert!(err.rule.contains("at most 1000"), "{}", err.rule);
    }

    #[test]
    fn the_role_must_be_configured() {
        let err = Permissions::parse(vec![], "Owner".into(), &order()).unwrap_err();
        assert_eq!(err.field, "role");
    }

    #[test]
    fn a_decoded_user_holds_no_spare_room_for_companies() {
        for companies in [r#"["1"]"#, r#"["1","2"]"#, r#"["1","2","3"]"#, "[]"] {
            let json =
                format!(r#"{{"id":"u1","companies":{companies},"role":"Admin","version":1}}"#);
            let user: UserPermissions = serde_json::from_str(&json).unwrap();
            assert_eq!(
                user.companies.capacity(),
                user.companies.len(),
                "{companies}"
            );
        }
    }

    #[test]
    fn the_json_shape_is_the_references_plus_version() {
        let user = UserPermissions {
            id: UserId::parse("u1").unwrap(),
            companies: vec![CompanyId::parse("1111").unwrap()],
            role: Role::from_stored("Manager"),
            version: 3,
            updated_at: Some(time::macros::datetime!(2026-01-02 03:04:05 UTC)),
            updated_by: None,
        };
        let json = serde_json::to_value(&user).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": "u1", "companies": ["1111"], "role": "Manager", "version": 3,
                "updatedAt": "2026-01-02T03:04:05Z"})
        );
    }
}
