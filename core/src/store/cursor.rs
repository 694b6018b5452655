//! Opaque pagination cursors for listing a company's users.
//!
//! A cursor carries the company it was issued for and the store's [`Position`] (where the listing
//! goes on: for DynamoDB, the key of the last item the scan read), with an integrity tag. Clients must treat it as opaque; one that was altered, truncated or issued for
//! another company is refused, never silently reinterpreted. The tag is a checksum, not a secret:
//! a cursor grants nothing that listing the company from the start would not.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Position;
use crate::domain::CompanyId;

const TAG_LEN: usize = 8;
const DOMAIN: &[u8] = b"clearance-cursor-v1";

#[derive(Serialize, Deserialize)]
struct Body {
    c: String,
    a: String,
}

/// A cursor that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// Not a cursor this service issued (bad encoding, bad tag or bad content).
    #[error("the cursor is malformed or was altered; pass back nextCursor exactly as received")]
    Malformed,
    /// Issued for another company's listing.
    #[error("the cursor was issued for another company's listing")]
    WrongCompany,
}

/// Encodes `after`, a position in `company`'s listing.
pub fn encode(company: &CompanyId, after: &Position) -> String {
    let body = serde_json::to_vec(&Body {
        c: company.as_str().into(),
        a: after.as_str().into(),
    })
    .unwrap_or_default();
    let mut bytes = tag(&body).to_vec();
    bytes.extend_from_slice(&body);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a cursor issued by [`encode`] for `company`.
pub fn decode(company: &CompanyId, cursor: &str) -> Result<Position, CursorError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .map_err(|_| CursorError::Malformed)?;
    if bytes.len() <= TAG_LEN {
        return Err(CursorError::Malformed);
    }
    let (given, body) = bytes.split_at(TAG_LEN);
    if given != tag(body) {
        return Err(CursorError::Malformed);
    }
    let body: Body = serde_json::from_slice(body).map_err(|_| CursorError::Malformed)?;
    if body.c != company.as_str() {
        return Err(CursorError::WrongCompany);
    }
    Position::new(body.a).ok_or(CursorError::Malformed)
}

fn tag(body: &[u8]) -> [u8; TAG_LEN] {
    let digest = Sha256::new()
        .chain_update(DOMAIN)
        .chain_update(body)
        .finalize();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&digest[..TAG_LEN]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company(c: &str) -> CompanyId {
        CompanyId::parse(c).unwrap()
    }

    #[test]
    fn a_cursor_round_trips() {
        let id = Position::new("Zoë@example.com").unwrap();
        let cursor = encode(&company("1111"), &id);
        assert_eq!(decode(&company("1111"), &cursor), Ok(id));
    }

    #[test]
    fn an_altered_cursor_is_refused() {
        let cursor = encode(&company("1111"), &Position::new("alice").unwrap());
        let mut chars: Vec<char> = cursor.chars().collect();
        let last = chars.len() - 2;
        chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
        let altered: String = chars.into_iter().collect();
        assert_eq!(
            decode(&company("1111"), &altered),
            Err(CursorError::Malformed)
        );
        assert_eq!(
            decode(&company("1111"), "not a cursor!"),
            Err(CursorError::Malformed)
        );
        assert_eq!(decode(&company("1111"), ""), Err(CursorError::Malformed));
    }

    #[test]
    fn a_cursor_for_another_company_is_refused() {
        let cursor = encode(&company("1111"), &Position::new("alice").unwrap());
        assert_eq!(
            decode(&company("2222"), &cursor),
            Err(CursorError::WrongCompany)
        );
    }
}
