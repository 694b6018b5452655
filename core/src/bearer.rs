//! Reading `Authorization: Bearer <token>`, the same way in the authorizer, the middleware and the
//! permissions API.

/// The token of a `Bearer <token>` header value (the scheme in any case, surrounding whitespace
/// ignored), or `None` for another scheme, an empty token, or a value with more than one word
/// after the scheme (a token never contains whitespace).
pub fn token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(char::is_whitespace)?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !has_whitespace(token))
        .then_some(token)
}

/// Whether `text` holds any whitespace (as `char::is_whitespace` has it). A token is ASCII nearly
/// always, and a header value always: its bytes are scanned as bytes, without decoding the
/// hundreds of characters of a JWT one by one on every request.
fn has_whitespace(text: &str) -> bool {
    if text.is_ascii() {
        // The ASCII characters `char::is_whitespace` counts: tab, line feed, vertical tab, form
        // feed, carriage return and space.
        !crate::text::all_bytes(text, |b| !matches!(b, b'\t'..=b'\r' | b' '))
    } else {
        text.contains(char::is_whitespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_well_formed_bearer_token_is_taken() {
        assert_eq!(token("Bearer abc"), Some("abc"));
        assert_eq!(token("bearer  abc "), Some("abc"));
        assert_eq!(token(" BEARER\tabc"), Some("abc"));
        for bad in ["abc", "Basic abc", "Bearer", "Bearer ", "Bearer a b", ""] {
            assert_eq!(token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn whitespace_inside_a_token_is_found_as_char_is_whitespace_finds_it() {
        for c in (0..=0x7f_u8)
            .map(char::from)
            .chain(['\u{85}', '\u{a0}', '\u{2003}', 'é'])
        {
            let text = format!("a.b{c}c.d");
            assert_eq!(has_whitespace(&text), c.is_whitespace(), "{c:?}");
            assert_eq!(
                token(&format!("Bearer {text}")).is_none(),
                c.is_whitespace(),
                "{c:?}"
            );
        }
    }
}
