//! Identifiers: a user id and a company id, each validated once when it is parsed.
//!
//! Both hold a [`SmolStr`]: up to 23 bytes in place (a short company id, most e-mail addresses), longer
//! ones (a Cognito `sub`) in one shared allocation, so a clone of an id is a reference count and
//! the cache's key and its user share one copy of the id. A cached user is a million times in
//! memory; a `String` would add a heap block per company.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use smol_str::SmolStr;

use super::ValidationError;

/// The longest user id accepted, in characters.
pub const MAX_USER_ID_LEN: usize = 128;
/// The longest company id accepted, in characters.
pub const MAX_COMPANY_LEN: usize = 64;

/// The id of a user whose permissions Clearance keeps: a Cognito `sub` (a UUID), a username (which
/// may be an e-mail address), or an app client id for machine callers.
///
/// 1 to 128 characters, none of them whitespace or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserId(SmolStr);

impl UserId {
    /// Parses a user id, naming the rule it breaks if it is not valid.
    pub fn parse(value: impl AsRef<str>) -> Result<Self, ValidationError> {
        Self::parse_field("id", value)
    }

    /// Like [`UserId::parse`], but the error names `field` (e.g. `ids[3]`).
    pub fn parse_field(field: &str, value: impl AsRef<str>) -> Result<Self, ValidationError> {
        let value = value.as_ref();
        check_user_id(field, value)?;
        Ok(Self(SmolStr::new(value)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_user_id(field: &str, value: &str) -> Result<(), ValidationError> {
    // The ids seen on every request are ASCII: one pass over the bytes settles them. In ASCII,
    // whitespace and control characters are exactly the bytes up to the space, and DEL. Anything
    // else takes the character-by-character path below, which names what is wrong.
    let plain = crate::text::all_bytes(value, |b| b > b' ' && b < 0x7f);
    if plain && !value.is_empty() && value.len() <= MAX_USER_ID_LEN {
        return Ok(());
    }
    check_length(field, value, MAX_USER_ID_LEN)?;
    if let Some((pos, ch)) = value
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_whitespace() || c.is_control())
    {
        return Err(ValidationError::new(
            field,
            format!(
                "must not contain whitespace or control characters (found U+{:04X} at character {})",
                ch as u32,
                pos + 1
            ),
        ));
    }
    Ok(())
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = SmolStr::deserialize(deserializer)?;
        check_user_id("id", &raw).map_err(serde::de::Error::custom)?;
        Ok(Self(raw))
    }
}

/// The id of a company (a tenant) a user may act for.
///
/// 1 to 64 characters from `A-Z a-z 0-9 . _ : -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CompanyId(SmolStr);

impl CompanyId {
    /// Parses a company id, naming the rule it breaks if it is not valid.
    pub fn parse(value: impl AsRef<str>) -> Result<Self, ValidationError> {
        Self::parse_field("company", value)
    }

    /// Like [`CompanyId::parse`], but the error names `field` (e.g. `companies[2]`).
    pub fn parse_field(field: &str, value: impl AsRef<str>) -> Result<Self, ValidationError> {
        let value = value.as_ref();
        check_company(field, value)?;
        Ok(Self(SmolStr::new(value)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_company(field: &str, value: &str) -> Result<(), ValidationError> {
    check_length(field, value, MAX_COMPANY_LEN)?;
    if let Some(ch) = value.chars().find(|c| !is_company_char(*c)) {
        return Err(ValidationError::new(
            field,
            format!(
                "may contain only A-Z, a-z, 0-9 and . _ : - (found {:?} in {:?})",
                ch, value
            ),
        ));
    }
    Ok(())
}

/// The rule both ids share: 1 to `max` characters (not bytes).
fn check_length(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    let len = value.chars().count();
    if len == 0 {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if len > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    Ok(())
}

fn is_company_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

impl fmt::Display for CompanyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CompanyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = SmolStr::deserialize(deserializer)?;
        check_company("company", &raw).map_err(serde::de::Error::custom)?;
        Ok(Self(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_fast_path_takes_and_refuses_what_the_character_rules_do() {
        for c in (0..=0x7f_u8)
            .map(char::from)
            .chain(['é', '\u{a0}', '\u{2028}', '\u{85}'])
        {
            let id = format!("a{c}b");
            let refused = c.is_whitespace() || c.is_control();
            assert_eq!(UserId::parse(&id).is_err(), refused, "{c:?}");
        }
        assert!(UserId::parse("x".repeat(MAX_USER_ID_LEN)).is_ok());
        assert!(UserId::parse("x".repeat(MAX_USER_ID_LEN + 1)).is_err());
        assert!(UserId::parse("é".repeat(MAX_USER_ID_LEN)).is_ok());
        assert!(UserId::parse("").is_err());
    }

    #[test]
    fn user_ids_accept_uuids_emails_and_unicode() {
        for ok in [
            "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10",
            "alice@example.com",
            "Zoë_Ωmega",
            "7v1k2example",
        ] {
            assert!(UserId::parse(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn user_id_rules_are_named_in_the_error() {
        assert_eq!(UserId::parse("").unwrap_err().rule, "must not be empty");
        let long = "x".repeat(129);
        assert_eq!(
            UserId::parse(long).unwrap_err().rule,
            "must be at most 128 characters (got 129)"
        );
        assert!(UserId::parse("x".repeat(128)).is_ok());
        let err = UserId::parse("a b").unwrap_err();
        assert_eq!(err.field, "id");
        assert!(err.rule.contains("U+0020 at character 2"), "{}", err.rule);
        assert!(UserId::parse("a\u{7}").is_err());
        assert!(UserId::parse("a\tb").is_err());
    }

    #[test]
    fn user_id_length_counts_characters_not_bytes() {
        assert!(UserId::parse("é".repeat(128)).is_ok());
        assert!(UserId::parse("é".repeat(129)).is_err());
    }

    #[test]
    fn company_ids_allow_only_the_documented_alphabet() {
        for ok in ["1111", "acme.eu:prod_1-a", &"c".repeat(64)] {
            assert!(CompanyId::parse(ok).is_ok(), "{ok} should be valid");
        }
        assert!(
            CompanyId::parse("c".repeat(65))
                .unwrap_err()
                .rule
                .contains("at most 64")
        );
        assert!(CompanyId::parse("").is_err());
        let err = CompanyId::parse_field("companies[1]", "ac me").unwrap_err();
        assert_eq!(err.field, "companies[1]");
        assert!(err.rule.contains("' '"), "{}", err.rule);
        assert!(CompanyId::parse("acmé").is_err());
        assert!(CompanyId::parse("a/b").is_err());
    }

    #[test]
    fn a_clone_of_a_long_user_id_shares_its_text_and_short_ids_take_no_heap_block() {
        let sub = UserId::parse("3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10").unwrap();
        let clone = sub.clone();
        assert!(
            std::ptr::eq(sub.as_str(), clone.as_str()),
            "one copy of the id"
        );
        assert!(sub.0.is_heap_allocated());
        let company = CompanyId::parse("acme.eu:prod_1-a").unwrap();
        assert!(!company.0.is_heap_allocated());
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<UserId>("\"a b\"").is_err());
        assert!(serde_json::from_str::<CompanyId>("\"1111\"").is_ok());
    }
}
