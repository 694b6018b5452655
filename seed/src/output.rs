//! Writing users as JSON, NDJSON or CSV for `export`.
//!
//! Only `id`, `companies` and `role` are written (what `import` reads), one user per line, in the
//! order given (the caller sorts by id), with fixed formatting: strings are escaped by serde_json,
//! CSV fields are quoted only when they must be, lines end with `\n`. So the same users always give
//! the same bytes, and an export imported into an empty store exports to the same file again.

use std::io::{self, Write};

use clearance_core::domain::UserPermissions;

use crate::cli::Format;

/// Writes `users` to `out` in `format`.
pub fn write(format: Format, users: &[UserPermissions], out: &mut impl Write) -> io::Result<()> {
    match format {
        Format::Json => write_json(users, out),
        Format::Ndjson => {
            for user in users {
                writeln!(out, "{}", json_line(user))?;
            }
            Ok(())
        }
        Format::Csv => write_csv(users, out),
    }
}

/// One user as `{"id": "...", "companies": ["..."], "role": "..."}`, the sample data's style.
fn json_line(user: &UserPermissions) -> String {
    let companies: Vec<String> = user.companies.iter().map(|c| quote(c.as_str())).collect();
    format!(
        "{{\"id\": {}, \"companies\": [{}], \"role\": {}}}",
        quote(user.id.as_str()),
        companies.join(", "),
        quote(user.role.as_str())
    )
}

/// A JSON string literal.
fn quote(value: &str) -> String {
    // Serialising a string cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

fn write_json(users: &[UserPermissions], out: &mut impl Write) -> io::Result<()> {
    if users.is_empty() {
        return out.write_all(b"[]\n");
    }
    out.write_all(b"[\n")?;
    for (i, user) in users.iter().enumerate() {
        let comma = if i + 1 < users.len() { "," } else { "" };
        writeln!(out, "  {}{comma}", json_line(user))?;
    }
    out.write_all(b"]\n")
}

fn write_csv(users: &[UserPermissions], out: &mut impl Write) -> io::Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out);
    writer.write_record(["id", "companies", "role"])?;
    for user in users {
        let companies: Vec<&str> = user.companies.iter().map(|c| c.as_str()).collect();
        writer.write_record([user.id.as_str(), &companies.join(";"), user.role.as_str()])?;
    }
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clearance_core::store::contract::stored;

    fn user(id: &str, companies: &[&str], role: &str) -> UserPermissions {
        UserPermissions {
            version: 9,
            updated_by: Some("someone".into()),
            ..stored(id, companies, role)
        }
    }

    fn written(format: Format, users: &[UserPermissions]) -> String {
        let mut out = Vec::new();
        write(format, users, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn users() -> Vec<UserPermissions> {
        vec![
            user("a\"b,c", &["1111", "2222"], "Admin"),
            user("zoë", &[], "Standard"),
        ]
    }

    #[test]
    fn json_is_one_user_per_line_in_the_sample_datas_style() {
        assert_eq!(
            written(Format::Json, &users()),
            "[\n  {\"id\": \"a\\\"b,c\", \"companies\": [\"1111\", \"2222\"], \"role\": \"Admin\"},\n  {\"id\": \"zoë\", \"companies\": [], \"role\": \"Standard\"}\n]\n"
        );
        assert_eq!(written(Format::Json, &[]), "[]\n");
    }

    #[test]
    fn ndjson_is_the_same_lines_without_the_array() {
        assert_eq!(
            written(Format::Ndjson, &users()),
            "{\"id\": \"a\\\"b,c\", \"companies\": [\"1111\", \"2222\"], \"role\": \"Admin\"}\n{\"id\": \"zoë\", \"companies\": [], \"role\": \"Standard\"}\n"
        );
        assert_eq!(written(Format::Ndjson, &[]), "");
    }

    #[test]
    fn csv_quotes_only_what_must_be_quoted() {
        assert_eq!(
            written(Format::Csv, &users()),
            "id,companies,role\n\"a\"\"b,c\",1111;2222,Admin\nzoë,,Standard\n"
        );
        assert_eq!(written(Format::Csv, &[]), "id,companies,role\n");
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        for format in [Format::Json, Format::Ndjson, Format::Csv] {
            let text = written(format, &users());
            let entries = crate::input::parse(format, text.as_bytes()).unwrap();
            let ids: Vec<String> = entries.into_iter().map(|e| e.unwrap().id).collect();
            assert_eq!(ids, ["a\"b,c", "zoë"], "{format:?}");
        }
    }
}
