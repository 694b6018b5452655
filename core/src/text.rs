//! Scanning the short texts read on every request (ids, tokens, quoted log fields) byte by byte.

/// Whether every byte of `text` passes `test`. The scan has no early exit, so the compiler
/// vectorizes it: for the tens to hundreds of bytes of an id or a JWT that is faster than
/// stopping at the first failure, and these texts nearly always pass.
#[inline]
pub fn all_bytes(text: &str, test: impl Fn(u8) -> bool) -> bool {
    text.bytes().fold(true, |all, b| all & test(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_is_tested() {
        assert!(all_bytes("", |_| false));
        assert!(all_bytes("abc", |b| b.is_ascii_lowercase()));
        assert!(!all_bytes("abC", |b| b.is_ascii_lowercase()));
        assert!(!all_bytes("Abc", |b| b.is_ascii_lowercase()));
    }
}
