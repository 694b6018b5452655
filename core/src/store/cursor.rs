//! Opaque pagination cursors for listing a company's users (feature `cursor`).
//!
//! A cursor carries the company it was issued for and the store's [`Position`] (where the listing
//! goes on: for DynamoDB, the key of the last item the scan read), with an HMAC-SHA-256 tag over
//! both. Clients must treat it as opaque; one that was altered, truncated, issued for another
//! company or issued under another key is refused, never silently reinterpreted.
//!
//! # Which key, and what the tag is worth
//!
//! A deployment that sets a cursor secret ([`CursorKey::from_secret`], at least
//! [`CursorKey::MIN_SECRET_LEN`] bytes, the same on every instance) gets cursors that only it can
//! make: a client cannot forge or edit one, and every instance that shares the secret accepts the
//! cursors of the others, across restarts. Changing the secret ends the listings in flight (their
//! next request is a 400 that says so: start again without a cursor).
//!
//! Without a secret, cursors are tagged with a key built into Clearance ([`CursorKey::built_in`]).
//! That tag detects corruption and accidental edits, nothing more: anyone who reads this source
//! can make a cursor that passes. We chose that over a key drawn at random at start-up because
//! a random key fails in the way a demanding operator likes least: only under load, in
//! production. Cursors would stop working across instances and restarts, and on AWS Lambda, where
//! each concurrent request may land on another sandbox and sandboxes come and go all the time,
//! most listings of more than one page would break at random. And forging a cursor grants nothing:
//! the company in it must equal the company in the path, which is what the caller is authorized
//! for, and the position only says where in that company's listing to go on, which the caller may
//! read from the start anyway. (A forged position is still held to what a store issues: not
//! empty, at most [`Position::MAX_LEN`] bytes.) An operator whose policy wants every opaque token
//! unforgeable sets the secret.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::Position;
use crate::domain::CompanyId;

/// The first byte of every cursor: the format (1 was an unkeyed checksum).
const VERSION: u8 = 2;
/// Bytes naming the key that tagged a cursor, so a cursor from another deployment is told apart
/// from an altered one.
const KEY_ID_LEN: usize = 4;
/// Bytes of the HMAC-SHA-256 tag (kept whole).
const TAG_LEN: usize = 32;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + TAG_LEN;
/// Separates cursor tags from anything else the same secret might ever sign.
const DOMAIN: &[u8] = b"clearance-cursor-v2";
/// What the key id is the tag of.
const KEY_ID_LABEL: &[u8] = b"clearance-cursor-key-id";
/// The key used when no secret is set. Not a secret: see the module documentation.
const BUILT_IN_KEY: &[u8] = b"clearance built-in cursor key: corruption detection only";

#[derive(Serialize, Deserialize)]
struct Body {
    c: String,
    a: String,
}

/// A cursor that cannot be used. Every message names the `cursor` parameter and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// Not a cursor at all, or one whose content was altered.
    #[error(
        "the cursor parameter is not a cursor this service issued, or it was altered: pass back \
         nextCursor exactly as received"
    )]
    Malformed,
    /// Tagged with another key: issued by another deployment, or by this one before its cursor
    /// secret changed.
    #[error(
        "the cursor parameter was issued by another deployment, or before this deployment's \
         cursor secret changed: start the listing again without a cursor"
    )]
    OtherKey,
    /// Issued for another company's listing.
    #[error("the cursor parameter was issued for another company's listing")]
    WrongCompany,
}

/// A secret that is too short to key cursors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a cursor secret must be at least {min} bytes (got {len}); generate one with e.g. \
     `openssl rand -base64 32`",
    min = CursorKey::MIN_SECRET_LEN
)]
pub struct ShortSecret {
    /// The length of the secret given, in bytes (never its content).
    pub len: usize,
}

/// The key that tags and checks cursors.
#[derive(Clone)]
pub struct CursorKey {
    key: hmac::Key,
    id: [u8; KEY_ID_LEN],
    secret: bool,
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key; whether it is a secret is all there is to tell.
        f.debug_struct("CursorKey")
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl CursorKey {
    /// The shortest secret accepted, in bytes: as long as the HMAC-SHA-256 output.
    pub const MIN_SECRET_LEN: usize = 32;

    /// A key from a per-deployment secret: cursors that only holders of the secret can make.
    pub fn from_secret(secret: &[u8]) -> Result<Self, ShortSecret> {
        if secret.len() < Self::MIN_SECRET_LEN {
            return Err(ShortSecret { len: secret.len() });
        }
        Ok(Self::new(secret, true))
    }

    /// The key built into Clearance, for a deployment without a secret: cursors are checked for
    /// corruption, not against forgery (see the module documentation).
    pub fn built_in() -> Self {
        Self::new(BUILT_IN_KEY, false)
    }

    fn new(value: &[u8], secret: bool) -> Self {
        let key = hmac::Key::new(hmac::HMAC_SHA256, value);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&hmac::sign(&key, KEY_ID_LABEL).as_ref()[..KEY_ID_LEN]);
        Self { key, id, secret }
    }

    /// Whether the key comes from a secret (else it is the built-in key).
    pub fn is_secret(&self) -> bool {
        self.secret
    }

    /// The cursor for going on from `position` in `company`'s listing.
    pub fn encode(&self, company: &CompanyId, position: &Position) -> String {
        self.encode_scoped(company.as_str(), position)
    }

    /// The position in a cursor that this key made for `company`'s listing.
    pub fn decode(&self, company: &CompanyId, cursor: &str) -> Result<Position, CursorError> {
        self.decode_scoped(company.as_str(), cursor)
    }

    /// A token for going on from `position` in the listing that `scope` names: any text that
    /// says what was asked (the AuthZEN searches put every entity and the page size in it), so
    /// that a token is only accepted for the very same question. A scope that is not a company id
    /// (one holding a space, which company ids never do) can never be taken for a company's.
    pub fn encode_scoped(&self, scope: &str, position: &Position) -> String {
        let body = serde_json::to_vec(&Body {
            c: scope.into(),
            a: position.as_str().into(),
        })
        .unwrap_or_default();
        let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
        bytes.push(VERSION);
        bytes.extend_from_slice(&self.id);
        bytes.extend_from_slice(self.tag(&body).as_ref());
        bytes.extend_from_slice(&body);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The position in a token that this key made by [`CursorKey::encode_scoped`] for `scope`;
    /// [`CursorError::WrongCompany`] when it was made for another scope.
    pub fn decode_scoped(&self, scope: &str, cursor: &str) -> Result<Position, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.as_bytes())
            .map_err(|_| CursorError::Malformed)?;
        if bytes.len() <= HEADER_LEN || bytes[0] != VERSION {
            return Err(CursorError::Malformed);
        }
        let (id, rest) = bytes[1..].split_at(KEY_ID_LEN);
        let (tag, body) = rest.split_at(TAG_LEN);
        let mut input = Vec::with_capacity(DOMAIN.len() + body.len());
        input.extend_from_slice(DOMAIN);
        input.extend_from_slice(body);
        if hmac::verify(&self.key, &input, tag).is_err() {
            // The id is not secret and could have been edited too; it only picks the message.
            return Err(if id == self.id {
                CursorError::Malformed
            } else {
                CursorError::OtherKey
            });
        }
        let body: Body = serde_json::from_slice(body).map_err(|_| CursorError::Malformed)?;
        if body.c != scope {
            return Err(CursorError::WrongCompany);
        }
        Position::new(body.a).ok_or(CursorError::Malformed)
    }

    fn tag(&self, body: &[u8]) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(DOMAIN);
        context.update(body);
        context.sign()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const OTHER_SECRET: &[u8] = b"fedcba9876543210fedcba9876543210";

    fn company(c: &str) -> CompanyId {
        CompanyId::parse(c).unwrap()
    }

    fn position(p: &str) -> Position {
        Position::new(p).unwrap()
    }

    fn keys() -> [CursorKey; 2] {
        [
            CursorKey::from_secret(SECRET).unwrap(),
            CursorKey::built_in(),
        ]
    }

    #[test]
    fn a_cursor_round_trips_with_either_key() {
        for key in keys() {
            let at = position("Zoë@example.com");
            let cursor = key.encode(&company("1111"), &at);
            assert_eq!(key.decode(&company("1111"), &cursor), Ok(at));
        }
    }

    #[test]
    fn a_position_that_is_no_user_id_round_trips() {
        let key = CursorKey::built_in();
        let at = position("an id with spaces, written by another tool");
        let cursor = key.encode(&company("1111"), &at);
        assert_eq!(key.decode(&company("1111"), &cursor), Ok(at));
    }

    #[test]
    fn an_altered_cursor_is_refused() {
        for key in keys() {
            let cursor = key.encode(&company("1111"), &position("alice"));
            let mut chars: Vec<char> = cursor.chars().collect();
            let last = chars.len() - 2;
            chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
            let altered: String = chars.into_iter().collect();
            assert_eq!(
                key.decode(&company("1111"), &altered),
                Err(CursorError::Malformed)
            );
            for garbage in ["not a cursor!", "", "AAAA"] {
                assert_eq!(
                    key.decode(&company("1111"), garbage),
                    Err(CursorError::Malformed)
                );
            }
        }
    }

    #[test]
    fn a_cursor_under_another_key_is_refused_as_such() {
        let ours = CursorKey::from_secret(SECRET).unwrap();
        let theirs = CursorKey::from_secret(OTHER_SECRET).unwrap();
        let built_in = CursorKey::built_in();
        let cursor = theirs.encode(&company("1111"), &position("alice"));
        assert_eq!(
            ours.decode(&company("1111"), &cursor),
            Err(CursorError::OtherKey)
        );
        assert_eq!(
            built_in.decode(&company("1111"), &cursor),
            Err(CursorError::OtherKey)
        );
        let unkeyed = built_in.encode(&company("1111"), &position("alice"));
        assert_eq!(
            ours.decode(&company("1111"), &unkeyed),
            Err(CursorError::OtherKey)
        );
    }

    #[test]
    fn a_cursor_edited_without_the_key_cannot_be_made_to_pass() {
        // Swapping in another body and keeping the tag: the tag covers the body.
        let key = CursorKey::from_secret(SECRET).unwrap();
        let cursor = key.encode(&company("1111"), &position("alice"));
        let mut bytes = URL_SAFE_NO_PAD.decode(cursor).unwrap();
        bytes.truncate(HEADER_LEN);
        bytes.extend_from_slice(br#"{"c":"1111","a":"zed"}"#);
        let forged = URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(
            key.decode(&company("1111"), &forged),
            Err(CursorError::Malformed)
        );
    }

    #[test]
    fn a_cursor_for_another_company_is_refused() {
        for key in keys() {
            let cursor = key.encode(&company("1111"), &position("alice"));
            assert_eq!(
                key.decode(&company("2222"), &cursor),
                Err(CursorError::WrongCompany)
            );
        }
    }

    #[test]
    fn a_short_secret_is_refused_without_being_shown() {
        let err = CursorKey::from_secret(b"hunter2").unwrap_err();
        assert_eq!(err, ShortSecret { len: 7 });
        let text = err.to_string();
        assert!(text.contains("at least 32 bytes"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let key = CursorKey::from_secret(SECRET).unwrap();
        assert!(!format!("{key:?}").contains("0123"), "{key:?}");
    }
}
