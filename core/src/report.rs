//! Error reports for logs: an error and every source under it on one line.

/// `err` and each of its sources, joined by `: ` (a source whose text its parent already shows is
/// left out). For logs only: it may name anything underneath, such as an AWS error message, so it
/// is never sent to a client.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut previous = out.clone();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !previous.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        previous = text;
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner detail")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("wrapped: inner detail")]
    struct Repeats(#[source] Inner);

    #[test]
    fn sources_are_joined_and_repeats_left_out() {
        assert_eq!(error_chain(&Outer(Inner)), "outer: inner detail");
        assert_eq!(error_chain(&Repeats(Inner)), "wrapped: inner detail");
    }
}
