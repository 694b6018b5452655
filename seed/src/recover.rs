//! Telling which user a record is for, even when the record is broken.
//!
//! `replace-all` deletes every stored user the file does not name. A record that cannot be read
//! must still protect the user it was written for, or a single truncated line would delete that
//! user. So every invalid record gets a [`Named`]: the ids it names, found the hard way when need
//! be, or [`Named::Unknown`] with the reason none can be told (and then `replace-all` refuses).
//!
//! - JSON (a line of NDJSON, an element of an array): [`named_in_json`] scans the record's text
//!   token by token for `"id": value` at the top level of an object, whether or not the text is
//!   valid JSON. A string is taken as written; a bare value (`7`, `alice`) only when a `,` or `}`
//!   follows it, since otherwise it may be cut short; `true`, `false`, `null`, an object, an array,
//!   a string or value cut off by the end of the line, or no `id` at all is unknown. Several
//!   records run together on one line name every id they hold.
//! - CSV: the id column, when it is valid UTF-8 and the row has the header's number of fields
//!   (when it has not, the fields do not line up and no column can be trusted).
//!
//! An id that breaks the id rules (a space, too long) is still an id the file names: it is kept,
//! and so is the same id without spaces around it. An empty or blank id names nobody, and is
//! unknown.

/// Who an invalid record is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// The ids it names, as written (at least one; they may break the id rules).
    Ids(Vec<String>),
    /// No id can be told, and why.
    Unknown(String),
}

impl Named {
    /// The record names `id` (unknown if it is blank). An id with spaces around it also names the
    /// id without them, which is most likely the user meant.
    pub fn id(id: String) -> Self {
        let trimmed = id.trim();
        if trimmed.is_empty() {
            Self::Unknown("its id is empty".into())
        } else if trimmed.len() < id.len() {
            let trimmed = trimmed.to_owned();
            Self::Ids(vec![id, trimmed])
        } else {
            Self::Ids(vec![id])
        }
    }

    /// The ids this record protects from `replace-all`; none when unknown.
    pub fn ids(&self) -> &[String] {
        match self {
            Self::Ids(ids) => ids,
            Self::Unknown(_) => &[],
        }
    }
}

/// The ids a JSON record's text names, valid JSON or not.
pub fn named_in_json(text: &[u8]) -> Named {
    let found = scan_json_ids(text);
    if found.is_empty() {
        return Named::Unknown("no \"id\" field can be read in it".into());
    }
    let mut ids = Vec::with_capacity(found.len());
    for value in found {
        match value.map(Named::id) {
            Ok(Named::Ids(mut named)) => ids.append(&mut named),
            Ok(Named::Unknown(why)) | Err(why) => return Named::Unknown(why),
        }
    }
    Named::Ids(ids)
}

/// How many `"id"` fields the top level of a JSON record's text holds (more than one means a
/// repeated key, which a JSON parser would silently resolve to the last).
pub fn json_id_fields(text: &[u8]) -> usize {
    scan_json_ids(text).len()
}

/// One token of JSON-like text.
enum Token<'a> {
    /// `{ } [ ] : ,`
    Punct(u8),
    /// A string, decoded; or why it cannot be (cut off, a bad escape, not UTF-8).
    Str(Result<String, String>),
    /// Anything else up to the next delimiter: a number, `true`, an unquoted word.
    Bare(&'a [u8]),
}

/// Reads the next token at `pos`; `None` at the end of the text.
fn next_token<'a>(text: &'a [u8], pos: &mut usize) -> Option<Token<'a>> {
    while text.get(*pos).is_some_and(u8::is_ascii_whitespace) {
        *pos += 1;
    }
    let start = *pos;
    let first = *text.get(start)?;
    match first {
        b'{' | b'}' | b'[' | b']' | b':' | b',' => {
            *pos += 1;
            Some(Token::Punct(first))
        }
        b'"' => {
            let mut end = start + 1;
            loop {
                match text.get(end) {
                    None => {
                        *pos = text.len();
                        return Some(Token::Str(Err("the line ends inside a string".into())));
                    }
                    Some(b'\\') => end += 2,
                    Some(b'"') => break,
                    Some(_) => end += 1,
                }
            }
            *pos = end + 1;
            // serde_json decodes the escapes and checks the UTF-8.
            Some(Token::Str(
                serde_json::from_slice::<String>(&text[start..=end])
                    .map_err(|err| format!("a string in it cannot be read ({err})")),
            ))
        }
        _ => {
            let mut end = start;
            while text
                .get(end)
                .is_some_and(|b| !b.is_ascii_whitespace() && !b"{}[]:,\"".contains(b))
            {
                end += 1;
            }
            *pos = end;
            Some(Token::Bare(&text[start..end]))
        }
    }
}

/// Where the scanner is with respect to an `"id"` key at the top level of an object.
enum State<'a> {
    /// Anywhere else.
    Idle,
    /// Just after a top-level key (true if it is `"id"`).
    Key(bool),
    /// After `"id":`, waiting for the value.
    IdColon,
    /// After `"id": bare`, waiting to see that the bare value ends with `,` or `}`.
    IdBare(&'a [u8]),
}

/// Every value of a top-level `"id"` key in `text`, read best-effort: each is the id as text, or
/// why it cannot be read. Scanning stops at a string cut off by the end of the text.
fn scan_json_ids(text: &[u8]) -> Vec<Result<String, String>> {
    let mut found = Vec::new();
    // The open objects and arrays.
    let mut stack: Vec<u8> = Vec::new();
    let mut state = State::Idle;
    // The next string would be a key of a top-level object.
    let mut expect_key = false;
    let mut pos = 0;
    while let Some(token) = next_token(text, &mut pos) {
        let top_object = stack.len() == 1 && stack[0] == b'{';
        // First what the token means for an `"id"` key before it.
        match std::mem::replace(&mut state, State::Idle) {
            State::IdBare(bare) => found.push(match token {
                Token::Punct(b',' | b'}') => std::str::from_utf8(bare)
                    .map(str::to_owned)
                    .map_err(|_| "its id is not valid UTF-8".to_owned()),
                _ => Err(format!(
                    "its id `{}` is not a string and is not followed by `,` or `}}`",
                    String::from_utf8_lossy(bare)
                )),
            }),
            State::IdColon => match &token {
                Token::Str(value) => {
                    found.push(
                        value
                            .clone()
                            .map_err(|why| format!("its id cannot be read: {why}")),
                    );
                    expect_key = false;
                    continue;
                }
                Token::Bare(bare @ (b"true" | b"false" | b"null")) => {
                    found.push(Err(format!("its id is {}", String::from_utf8_lossy(bare))));
                    expect_key = false;
                    continue;
                }
                Token::Bare(bare) => {
                    state = State::IdBare(bare);
                    expect_key = false;
                    continue;
                }
                Token::Punct(punct) => found.push(Err(match *punct {
                    b'{' => "its id is an object".into(),
                    b'[' => "its id is an array".into(),
                    other => format!("its id is missing before `{}`", char::from(other)),
                })),
            },
            State::Key(is_id) if matches!(token, Token::Punct(b':')) => {
                if is_id {
                    state = State::IdColon;
                }
                continue;
            }
            State::Key(_) | State::Idle => {}
        }
        // Then what it means for the structure.
        match token {
            Token::Str(key) if expect_key && top_object => {
                state = State::Key(matches!(key.as_deref(), Ok("id")));
                expect_key = false;
            }
            Token::Punct(punct) => {
                match punct {
                    b'{' | b'[' => stack.push(punct),
                    b'}' | b']' => {
                        stack.pop();
                    }
                    _ => {}
                }
                expect_key = match punct {
                    b'{' => stack.len() == 1,
                    b',' => top_object,
                    _ => false,
                };
            }
            Token::Str(_) | Token::Bare(_) => expect_key = false,
        }
    }
    match state {
        State::Key(true) => found.push(Err("the line ends after the key \"id\"".into())),
        State::IdColon => found.push(Err("the line ends before the value of \"id\"".into())),
        State::IdBare(bare) => found.push(Err(format!(
            "its id `{}` may be cut short by the end of the line",
            String::from_utf8_lossy(bare)
        ))),
        State::Idle | State::Key(false) => {}
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(text: &str) -> Named {
        named_in_json(text.as_bytes())
    }

    fn ids(list: &[&str]) -> Named {
        Named::Ids(list.iter().map(|id| (*id).to_owned()).collect())
    }

    fn unknown(text: &str) -> String {
        match named(text) {
            Named::Unknown(why) => why,
            other => panic!("{text}: expected unknown, got {other:?}"),
        }
    }

    #[test]
    fn a_line_cut_after_its_id_still_names_it() {
        assert_eq!(named(r#"{"id":"alice","companies":["1""#), ids(&["alice"]));
        assert_eq!(named(r#"{"id":"alice","companies":["1"#), ids(&["alice"]));
        assert_eq!(
            named(r#"{"role": "Admin", "id": "al\u0069ce", "compa"#),
            ids(&["alice"])
        );
    }

    #[test]
    fn valid_json_with_a_bad_shape_names_its_id() {
        assert_eq!(named(r#"{"id": "a b", "companies": 3}"#), ids(&["a b"]));
        assert_eq!(
            named(r#"{"id": " alice ", "companies": 3}"#),
            ids(&[" alice ", "alice"])
        );
        assert_eq!(
            named(r#"{"companies": {"id": "x"}, "id": "y"}"#),
            ids(&["y"])
        );
        assert_eq!(
            named(r#"{"id": 7, "companies": [], "role": "Admin"}"#),
            ids(&["7"])
        );
        assert_eq!(named(r#"{"id": 1e3}"#), ids(&["1e3"]));
        assert_eq!(named(r#"{"id": alice, "role": "Admin"}"#), ids(&["alice"]));
    }

    #[test]
    fn records_run_together_name_every_id() {
        assert_eq!(
            named(r#"{"id":"a","role":"Admin"}{"id":"b","role":"Admin"}"#),
            ids(&["a", "b"])
        );
        assert_eq!(named(r#"{"id":"a","id":"b"}"#), ids(&["a", "b"]));
        assert_eq!(json_id_fields(br#"{"id":"a","id":"b"}"#), 2);
        assert_eq!(json_id_fields(br#"{"id":"a","x":{"id":"b"}}"#), 1);
    }

    #[test]
    fn ids_that_cannot_be_told_say_why() {
        assert!(unknown(r#"{"id":"ali"#).contains("ends inside a string"));
        assert!(unknown(r#"{"id": 12"#).contains("cut short"));
        assert!(unknown(r#"{"id":"#).contains("before the value"));
        assert!(unknown(r#"{"id""#).contains("after the key"));
        assert!(unknown(r#"{"id": true, "role": "Admin"}"#).contains("is true"));
        assert!(unknown(r#"{"id": null}"#).contains("is null"));
        assert!(unknown(r#"{"id": ["a"]}"#).contains("an array"));
        assert!(unknown(r#"{"id": {"a": 1}}"#).contains("an object"));
        assert!(unknown(r#"{"id": ""}"#).contains("empty"));
        assert!(unknown(r#"{"id": "al\qice"}"#).contains("cannot be read"));
        assert!(unknown(r#"{"companies":["1"],"role":"Adm"#).contains("no \"id\""));
        assert!(unknown(r#"[{"id": "a"}]"#).contains("no \"id\""));
        assert!(unknown(r#""alice""#).contains("no \"id\""));
        assert!(unknown("").contains("no \"id\""));
        // One readable id does not make up for an unreadable one.
        assert!(unknown(r#"{"id":"a"}{"id":nul"#).contains("cut short"));
    }

    #[test]
    fn ids_must_be_utf8_but_the_rest_of_the_line_need_not_be() {
        assert_eq!(
            named_in_json(b"{\"id\":\"alice\",\"role\":\"Adm\xFFin\"}"),
            ids(&["alice"])
        );
        assert!(matches!(
            named_in_json(b"{\"id\":\"al\xFFice\",\"role\":\"Admin\"}"),
            Named::Unknown(_)
        ));
    }
}
