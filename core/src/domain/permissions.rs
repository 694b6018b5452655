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
        with = "time::serde::rfc3339::option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub updated_at: Option<OffsetDateTime>,
    /// Who made the last change (a token's `sub` or `client_id`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub updated_by: Option<SmolStr>,
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
