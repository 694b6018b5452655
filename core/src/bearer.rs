//! Reading `Authorization: Bearer <token>`, the same way in the authorizer, the middleware and the
//! permissions API.

/// The token of a `Bearer <token>` header value (the scheme in any case, surrounding whitespace
/// ignored), or `None` for another scheme, an empty token, or a value with more than one word
/// after the scheme (a token never contains whitespace).
pub fn token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(char::is_whitespace)?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && !token.contains(char::is_whitespace))
    .then_some(token)
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
}
