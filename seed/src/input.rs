//! Reading records from JSON, NDJSON and CSV, each with the line it starts on.
//!
//! Parsing only takes the text apart into raw records (`id`, `companies`, `role` as strings);
//! [`crate::check`] validates them with the domain's rules. A record whose shape is wrong (a
//! missing field, a number where a string belongs, a CSV line with too many fields) is reported
//! here, with its line, and reading goes on. Only text that cannot be read on at all (broken JSON
//! syntax inside an array, a CSV header without the needed columns) stops the whole read with a
//! [`FatalError`].
//!
//! Line numbers are 1-based: in a JSON array, the line where each element starts (found by a small
//! scanner over the array, with serde_json parsing one element at a time); in NDJSON, the line; in
//! CSV, the physical line the record starts on, the header being line 1.
//!
//! Every invalid record says which user it is for as well as it can be told ([`Named`], found by
//! [`crate::recover`]), so that `replace-all` never deletes a user the file names.

use serde_json::{Map, Value};

use crate::cli::Format;
use crate::recover::{self, Named};

/// A record as read, not yet validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// The line the record starts on.
    pub line: usize,
    /// The user id, as written.
    pub id: String,
    /// The companies, as written.
    pub companies: Vec<String>,
    /// The role, as written.
    pub role: String,
}

/// A record that could not be read, or did not pass validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The line the record starts on.
    pub line: usize,
    /// Who it is for: the ids it names (so that `replace-all` never deletes them), or why that
    /// cannot be told (and `replace-all` refuses to delete anything).
    pub named: Named,
    /// What is wrong with it.
    pub reason: String,
}

/// One record of the input: readable, or not.
pub type Entry = Result<RawRecord, Invalid>;

/// Text that cannot be read on: nothing after this point can be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FatalError {
    /// Where reading stopped.
    pub line: usize,
    /// Why.
    pub message: String,
}

/// JSON fields an export of the API carries that the import sets itself: accepted and ignored.
const IGNORED_FIELDS: &[&str] = &["version", "updatedAt", "updatedBy"];

/// Reads every record of `bytes` in `format`.
pub fn parse(format: Format, bytes: &[u8]) -> Result<Vec<Entry>, FatalError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match format {
        Format::Json => parse_json_array(bytes),
        Format::Ndjson => Ok(parse_ndjson(bytes)),
        Format::Csv => parse_csv(bytes),
    }
}

/// Where each line starts, to turn byte offsets into line and column numbers.
struct Lines {
    /// The offset of every `\n`.
    newlines: Vec<usize>,
}

impl Lines {
    fn new(bytes: &[u8]) -> Self {
        Self {
            newlines: bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// The 1-based line of byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&nl| nl < offset) + 1
    }

    /// The 1-based column (in bytes) of byte `offset`.
    fn column_of(&self, offset: usize) -> usize {
        let line = self.line_of(offset);
        let line_start = if line == 1 {
            0
        } else {
            self.newlines[line - 2] + 1
        };
        offset - line_start + 1
    }
}

fn skip_whitespace(bytes: &[u8], mut pos: usize) -> usize {
    while bytes
        .get(pos)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        pos += 1;
    }
    pos
}

/// A serde_json error's message without its "at line L column C" suffix.
fn json_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rsplit_once(" at line ") {
        Some((message, _)) => message.to_owned(),
        None => text,
    }
}

/// One JSON array of records, each element parsed on its own so that its starting line is known.
fn parse_json_array(bytes: &[u8]) -> Result<Vec<Entry>, FatalError> {
    let lines = Lines::new(bytes);
    let fatal = |offset: usize, message: String| FatalError {
        line: lines.line_of(offset),
        message,
    };
    let mut pos = skip_whitespace(bytes, 0);
    match bytes.get(pos) {
        Some(b'[') => pos += 1,
        None => {
            return Err(fatal(
                pos,
                "the file is empty: expected a JSON array of records".into(),
            ));
        }
        Some(_) => {
            return Err(fatal(
                pos,
                "expected a JSON array of records ([{...}, ...]); for one record per line use \
                 --format ndjson"
                    .into(),
            ));
        }
    }
    let mut entries = Vec::new();
    pos = skip_whitespace(bytes, pos);
    if bytes.get(pos) == Some(&b']') {
        pos += 1;
    } else {
        loop {
            let start = pos;
            let line = lines.line_of(start);
            let mut stream =
                serde_json::Deserializer::from_slice(&bytes[start..]).into_iter::<Value>();
            match stream.next() {
                Some(Ok(value)) => {
                    let end = start + stream.byte_offset();
                    entries.push(record_from_json(line, &bytes[start..end], value));
                    pos = end;
                }
                Some(Err(err)) => {
                    // The error's position counts from the element's start.
                    let err_line = line + err.line().saturating_sub(1);
                    let column = if err.line() <= 1 {
                        lines.column_of(start) + err.column().saturating_sub(1)
                    } else {
                        err.column()
                    };
                    return Err(FatalError {
                        line: err_line,
                        message: format!(
                            "invalid JSON at column {column}: {}; nothing after this can be read",
                            json_message(&err)
                        ),
                    });
                }
                None => {
                    return Err(fatal(
                        start,
                        "the file ends inside the array: expected a record or `]`".into(),
                    ));
                }
            }
            pos = skip_whitespace(bytes, pos);
            match bytes.get(pos) {
                Some(b',') => {
                    pos = skip_whitespace(bytes, pos + 1);
                    if bytes.get(pos) == Some(&b']') {
                        return Err(fatal(
                            pos,
                            "a `,` before `]`: JSON allows no trailing comma".into(),
                        ));
                    }
                }
                Some(b']') => {
                    pos += 1;
                    break;
                }
                Some(other) => {
                    return Err(fatal(
                        pos,
                        format!(
                            "expected `,` or `]` after the record that starts on line {line}, \
                             found {:?}",
                            char::from(*other)
                        ),
                    ));
                }
                None => {
                    return Err(fatal(
                        pos,
                        "the file ends inside the array: expected `,` or `]`".into(),
                    ));
                }
            }
        }
    }
    pos = skip_whitespace(bytes, pos);
    if pos < bytes.len() {
        return Err(fatal(
            pos,
            "unexpected text after the array's closing `]`".into(),
        ));
    }
    Ok(entries)
}

/// One JSON record per line; blank lines are skipped.
fn parse_ndjson(bytes: &[u8]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (index, raw_line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = index + 1;
        let text = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(text) {
            Ok(value) => entries.push(record_from_json(line, text, value)),
            Err(err) => entries.push(Err(Invalid {
                line,
                named: recover::named_in_json(text),
                reason: format!(
                    "invalid JSON at column {}: {}",
                    err.column(),
                    json_message(&err)
                ),
            })),
        }
    }
    entries
}

/// The JSON type of `value`, with an article, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON value, read from `text`, as a raw record: an object with a string `id`, a list of strings
/// `companies` and a string `role`.
fn record_from_json(line: usize, text: &[u8], value: Value) -> Entry {
    // An invalid record's ids are read from its text, which keeps a number id as written.
    let fail = |reason: String| {
        Err(Invalid {
            line,
            named: recover::named_in_json(text),
            reason,
        })
    };
    let Value::Object(mut fields) = value else {
        return fail(format!(
            "expected an object with id, companies and role, found {}",
            kind(&value)
        ));
    };
    // A parser keeps the last of repeated keys: the record would silently drop an id it names.
    let id_fields = recover::json_id_fields(text);
    if id_fields > 1 {
        return fail(format!("the field \"id\" appears {id_fields} times"));
    }
    let id = match take_string(&mut fields, "id") {
        Ok(id) => id,
        Err(reason) => return fail(reason),
    };
    let companies = match fields.remove("companies") {
        None => return fail("companies: is missing".into()),
        Some(Value::Array(items)) => {
            let mut companies = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::String(company) => companies.push(company),
                    other => {
                        return fail(format!(
                            "companies[{i}]: must be a string, found {}",
                            kind(&other)
                        ));
                    }
                }
            }
            companies
        }
        Some(other) => {
            return fail(format!(
                "companies: must be a list of strings, found {}",
                kind(&other)
            ));
        }
    };
    let role = match take_string(&mut fields, "role") {
        Ok(role) => role,
        Err(reason) => return fail(reason),
    };
    if let Some(unknown) = fields
        .keys()
        .find(|name| !IGNORED_FIELDS.contains(&name.as_str()))
    {
        return fail(format!(
            "unknown field {unknown:?} (a record has id, companies and role)"
        ));
    }
    Ok(RawRecord {
        line,
        id,
        companies,
        role,
    })
}

fn take_string(fields: &mut Map<String, Value>, name: &str) -> Result<String, String> {
    match fields.remove(name) {
        Some(Value::String(value)) => Ok(value),
        Some(other) => Err(format!("{name}: must be a string, found {}", kind(&other))),
        None => Err(format!("{name}: is missing")),
    }
}

/// The columns a CSV file must name in its header.
const CSV_COLUMNS: [&str; 3] = ["id", "companies", "role"];

/// A CSV file with a header naming `id`, `companies` and `role`.
fn parse_csv(bytes: &[u8]) -> Result<Vec<Entry>, FatalError> {
    // The reader's own line count skips blank lines, and a record's byte offset points at the
    // blank lines before it: count lines from the offset of its first character instead.
    let lines = Lines::new(bytes);
    let line_of = |position: &csv::Position| {
        let mut offset = position.byte() as usize;
        while matches!(bytes.get(offset), Some(b'\n' | b'\r')) {
            offset += 1;
        }
        lines.line_of(offset)
    };
    // Byte records, each field decoded on its own: a record whose id is UTF-8 keeps its id when
    // another field is not (so replace-all knows who it is for).
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header = match records.next() {
        None => return Ok(Vec::new()),
        Some(Ok(header)) => header,
        Some(Err(err)) => return Err(csv_fatal(&err, &lines)),
    };
    let header_line = header.position().map_or(1, line_of);
    // Where each needed column is.
    let mut columns = [usize::MAX; 3];
    for (index, name) in header.iter().enumerate() {
        let Ok(name) = csv_field(name) else {
            return Err(FatalError {
                line: header_line,
                message: format!("the header's field {} is not valid UTF-8", index + 1),
            });
        };
        let Some(which) = CSV_COLUMNS
            .iter()
            .position(|c| c.eq_ignore_ascii_case(&name))
        else {
            return Err(FatalError {
                line: header_line,
                message: format!(
                    "unknown column {name:?} in the header: the columns are id, companies and role"
                ),
            });
        };
        if columns[which] != usize::MAX {
            return Err(FatalError {
                line: header_line,
                message: format!(
                    "the column {:?} appears twice in the header",
                    CSV_COLUMNS[which]
                ),
            });
        }
        columns[which] = index;
    }
    if let Some(missing) = columns.iter().position(|c| *c == usize::MAX) {
        return Err(FatalError {
            line: header_line,
            message: format!(
                "the header has no {:?} column: the first line must name the columns id, \
                 companies and role",
                CSV_COLUMNS[missing]
            ),
        });
    }
    let [id_at, companies_at, role_at] = columns;
    let mut entries = Vec::new();
    for result in records {
        let record = match result {
            Ok(record) => record,
            Err(err) => return Err(csv_fatal(&err, &lines)),
        };
        let line = record.position().map_or(0, line_of);
        if record.len() != CSV_COLUMNS.len() {
            entries.push(Err(Invalid {
                line,
                // A missing or extra separator shifts the fields: the id column is a guess.
                named: Named::Unknown(format!(
                    "its {} fields do not line up with the header's 3 columns",
                    record.len()
                )),
                reason: format!(
                    "expected 3 fields (id, companies, role), found {}",
                    record.len()
                ),
            }));
            continue;
        }
        let field = |at: usize| csv_field(record.get(at).unwrap_or_default());
        let (id, companies, role) = (field(id_at), field(companies_at), field(role_at));
        let named = match &id {
            Ok(id) => Named::id(id.clone()),
            Err(_) => Named::Unknown("its id is not valid UTF-8".into()),
        };
        let (id, companies, role) = match (id, companies, role) {
            (Ok(id), Ok(companies), Ok(role)) => (id, companies, role),
            (id, companies, role) => {
                let (name, err) = [("id", id), ("companies", companies), ("role", role)]
                    .into_iter()
                    .find_map(|(name, field)| field.err().map(|err| (name, err)))
                    .expect("one field is not UTF-8");
                entries.push(Err(Invalid {
                    line,
                    named,
                    reason: format!("{name}: not valid UTF-8 ({err})"),
                }));
                continue;
            }
        };
        let companies = if companies.is_empty() {
            Vec::new()
        } else {
            companies.split(';').map(|c| c.trim().to_owned()).collect()
        };
        entries.push(Ok(RawRecord {
            line,
            id,
            companies,
            role,
        }));
    }
    Ok(entries)
}

/// A CSV field as text, spaces around it removed.
fn csv_field(bytes: &[u8]) -> Result<String, std::str::Utf8Error> {
    std::str::from_utf8(bytes).map(|text| text.trim().to_owned())
}

/// A CSV error that stops the read (reading bytes from memory, only a broken reader's).
fn csv_fatal(err: &csv::Error, lines: &Lines) -> FatalError {
    FatalError {
        line: err
            .position()
            .map_or(0, |p| lines.line_of(p.byte() as usize)),
        message: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(line: usize, id: &str, companies: &[&str], role: &str) -> Entry {
        Ok(RawRecord {
            line,
            id: id.into(),
            companies: companies.iter().map(|c| (*c).to_owned()).collect(),
            role: role.into(),
        })
    }

    fn reasons(entries: &[Entry]) -> Vec<(usize, String)> {
        entries
            .iter()
            .filter_map(|e| e.as_ref().err())
            .map(|i| (i.line, i.reason.clone()))
            .collect()
    }

    #[test]
    fn json_array_elements_carry_the_line_they_start_on() {
        let text = "[\n  {\"id\": \"a\", \"companies\": [\"1\"], \"role\": \"Admin\"},\n\n  {\n    \"id\": \"b\",\n    \"companies\": [],\n    \"role\": \"Standard\"\n  }\n]\n";
        let entries = parse(Format::Json, text.as_bytes()).unwrap();
        assert_eq!(
            entries,
            vec![raw(2, "a", &["1"], "Admin"), raw(4, "b", &[], "Standard")]
        );
    }

    #[test]
    fn json_arrays_on_one_line_and_empty_arrays_are_read() {
        let text = br#"[{"id":"a","companies":["1"],"role":"Admin"},{"id":"b","companies":[],"role":"Admin"}]"#;
        assert_eq!(parse(Format::Json, text).unwrap().len(), 2);
        assert_eq!(parse(Format::Json, b" [ ] \n").unwrap(), vec![]);
        let bom = b"\xEF\xBB\xBF[]";
        assert_eq!(parse(Format::Json, bom).unwrap(), vec![]);
    }

    #[test]
    fn json_shape_errors_name_the_field_and_reading_goes_on() {
        let text = r#"[
  {"id": 7, "companies": [], "role": "Admin"},
  {"id": "b", "companies": "1111", "role": "Admin"},
  {"id": "c", "companies": ["1", 2], "role": "Admin"},
  {"id": "d", "companies": []},
  {"id": "e", "companies": [], "role": "Admin", "colour": "blue"},
  {"id": "f", "companies": [], "role": "Admin", "version": 3, "updatedAt": "x", "updatedBy": "y"},
  "g"
]"#;
        let entries = parse(Format::Json, text.as_bytes()).unwrap();
        assert_eq!(
            reasons(&entries),
            vec![
                (2, "id: must be a string, found a number".into()),
                (
                    3,
                    "companies: must be a list of strings, found a string".into()
                ),
                (4, "companies[1]: must be a string, found a number".into()),
                (5, "role: is missing".into()),
                (
                    6,
                    "unknown field \"colour\" (a record has id, companies and role)".into()
                ),
                (
                    8,
                    "expected an object with id, companies and role, found a string".into()
                ),
            ]
        );
        assert_eq!(entries[5], raw(7, "f", &[], "Admin"));
        // Who a record with a bad shape is for is still known, as written.
        let named = |i: usize| entries[i].as_ref().unwrap_err().named.clone();
        assert_eq!(named(0), Named::Ids(vec!["7".into()]));
        assert_eq!(named(1), Named::Ids(vec!["b".into()]));
        assert!(matches!(named(6), Named::Unknown(_)));
    }

    #[test]
    fn a_json_record_that_repeats_its_id_is_invalid_and_names_both() {
        let text = br#"[{"id": "a", "id": "b", "companies": [], "role": "Admin"}]"#;
        let entries = parse(Format::Json, text).unwrap();
        let invalid = entries[0].as_ref().unwrap_err();
        assert_eq!(invalid.reason, "the field \"id\" appears 2 times");
        assert_eq!(invalid.named, Named::Ids(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn an_ndjson_line_that_is_not_json_still_names_its_id() {
        let text = b"{\"id\":\"alice\",\"companies\":[\"1\"\n{\"companies\":[\"1\"]\n";
        let entries = parse(Format::Ndjson, text).unwrap();
        let invalid = entries[0].as_ref().unwrap_err();
        assert!(
            invalid.reason.starts_with("invalid JSON"),
            "{}",
            invalid.reason
        );
        assert_eq!(invalid.named, Named::Ids(vec!["alice".into()]));
        assert!(matches!(
            entries[1].as_ref().unwrap_err().named,
            Named::Unknown(_)
        ));
    }

    #[test]
    fn broken_json_syntax_stops_with_the_line() {
        let text = "[\n  {\"id\": \"a\", \"companies\": [], \"role\": \"Admin\"},\n  {\"id\": \"b\" \"companies\": []}\n]";
        let err = parse(Format::Json, text.as_bytes()).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("column 14"), "{}", err.message);

        let err = parse(
            Format::Json,
            b"[\n{\"id\": \"a\", \"companies\": [], \"role\": \"A\"}\n{}]",
        )
        .unwrap_err();
        assert_eq!(err.line, 3);
        assert!(
            err.message.contains("expected `,` or `]`"),
            "{}",
            err.message
        );

        let err = parse(
            Format::Json,
            b"[{\"id\": \"a\", \"companies\": [], \"role\": \"A\"},\n]",
        )
        .unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("trailing comma"), "{}", err.message);

        let err = parse(Format::Json, b"{\"id\": \"a\"}").unwrap_err();
        assert!(err.message.contains("--format ndjson"), "{}", err.message);

        let err = parse(Format::Json, b"[\n").unwrap_err();
        assert!(
            err.message.contains("ends inside the array"),
            "{}",
            err.message
        );

        let err = parse(Format::Json, b"[]\n[]").unwrap_err();
        assert_eq!(err.line, 2);

        assert!(parse(Format::Json, b"").is_err());
    }

    #[test]
    fn ndjson_lines_are_numbered_and_blank_lines_skipped() {
        let text = "{\"id\": \"a\", \"companies\": [\"1\"], \"role\": \"Admin\"}\r\n\n   \n{\"id\": \"b\", \"companies\": [], \"role\": \"Standard\"}\n{broken\n";
        let entries = parse(Format::Ndjson, text.as_bytes()).unwrap();
        assert_eq!(entries[0], raw(1, "a", &["1"], "Admin"));
        assert_eq!(entries[1], raw(4, "b", &[], "Standard"));
        let (line, reason) = &reasons(&entries)[0];
        assert_eq!(*line, 5);
        assert!(reason.starts_with("invalid JSON at column 2"), "{reason}");
    }

    #[test]
    fn csv_reads_columns_by_name_and_splits_companies() {
        let text = "role, id ,companies\nAdmin,a,1111;2222\n\nStandard, b ,\n\"Manager\",\"c,d\",\" 3 ; 4 \"\n";
        let entries = parse(Format::Csv, text.as_bytes()).unwrap();
        assert_eq!(
            entries,
            vec![
                raw(2, "a", &["1111", "2222"], "Admin"),
                raw(4, "b", &[], "Standard"),
                raw(5, "c,d", &["3", "4"], "Manager"),
            ]
        );
    }

    #[test]
    fn csv_records_with_the_wrong_field_count_are_invalid_with_their_line() {
        let text = "id,companies,role\na,1,Admin,extra\nb,1\nc,1,Admin\n";
        let entries = parse(Format::Csv, text.as_bytes()).unwrap();
        assert_eq!(
            reasons(&entries),
            vec![
                (2, "expected 3 fields (id, companies, role), found 4".into()),
                (3, "expected 3 fields (id, companies, role), found 2".into()),
            ]
        );
        assert_eq!(entries[2], raw(4, "c", &["1"], "Admin"));
        // Shifted fields: no column can be trusted to hold the id.
        assert!(matches!(
            entries[0].as_ref().unwrap_err().named,
            Named::Unknown(_)
        ));
    }

    #[test]
    fn csv_lines_count_physical_lines_of_quoted_fields() {
        let text = "id,companies,role\n\"a\",\"1\",\"Admin\"\nb,2,\"Stan\ndard\"\nc,3,Admin\n";
        let entries = parse(Format::Csv, text.as_bytes()).unwrap();
        assert_eq!(entries[2], raw(5, "c", &["3"], "Admin"));
    }

    #[test]
    fn csv_headers_must_name_the_three_columns() {
        let err = parse(Format::Csv, b"id,companies\na,1\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(
            err.message.contains("no \"role\" column"),
            "{}",
            err.message
        );
        let err = parse(Format::Csv, b"id,companies,role,colour\n").unwrap_err();
        assert!(
            err.message.contains("unknown column \"colour\""),
            "{}",
            err.message
        );
        let err = parse(Format::Csv, b"id,id,role\n").unwrap_err();
        assert!(err.message.contains("twice"), "{}", err.message);
        assert_eq!(parse(Format::Csv, b"").unwrap(), vec![]);
    }

    #[test]
    fn csv_lines_that_are_not_utf8_are_invalid_and_reading_goes_on() {
        let text = b"id,companies,role\na\xFF,1,Admin\nb,1,Admin\n";
        let entries = parse(Format::Csv, text).unwrap();
        assert_eq!(entries.len(), 2);
        let invalid = entries[0].as_ref().unwrap_err();
        assert_eq!(invalid.line, 2);
        assert!(
            invalid.reason.starts_with("id: not valid UTF-8"),
            "{}",
            invalid.reason
        );
        assert!(matches!(invalid.named, Named::Unknown(_)));
        assert_eq!(entries[1], raw(3, "b", &["1"], "Admin"));
    }

    #[test]
    fn a_csv_record_keeps_its_id_when_another_field_is_not_utf8() {
        let text = b"role,id,companies\nAdm\xE9in, alice ,1\n";
        let entries = parse(Format::Csv, text).unwrap();
        let invalid = entries[0].as_ref().unwrap_err();
        assert!(
            invalid.reason.starts_with("role: not valid UTF-8"),
            "{}",
            invalid.reason
        );
        assert_eq!(invalid.named, Named::Ids(vec!["alice".into()]));
        assert!(parse(Format::Csv, b"i\xFFd,companies,role\n").is_err());
    }
}
