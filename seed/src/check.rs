//! Validation of every record, before anything is written.
//!
//! Each raw record goes through the domain's own parsers ([`UserId::parse_field`],
//! [`Permissions::parse`] with the configured [`RoleOrder`]), so the seed CLI accepts exactly what
//! the service accepts and reports the same reason. An id that appears twice is an error on its
//! later line, naming the first; the first occurrence stands.
//!
//! The ids every record names, valid or not, are gathered in [`Checked::ids_in_file`]: `replace-all`
//! never deletes them. Records for which no id can be told are in [`Checked::unnamed`].

use std::collections::{HashMap, HashSet};

use clearance_core::domain::{Permissions, RoleOrder, UserId};

use crate::input::{Entry, Invalid};
use crate::recover::Named;

/// A valid record, ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The line it starts on.
    pub line: usize,
    /// The user.
    pub id: UserId,
    /// Their companies and role.
    pub permissions: Permissions,
}

/// The input, validated.
#[derive(Debug, Default)]
pub struct Checked {
    /// How many records were read.
    pub read: usize,
    /// The valid ones, in file order.
    pub valid: Vec<Record>,
    /// The invalid ones, in file order.
    pub invalid: Vec<Invalid>,
    /// Every id named in the file, valid record or not: `replace-all` never deletes these.
    pub ids_in_file: HashSet<String>,
}

impl Checked {
    /// The invalid records for which no id can be told: the line and why. `replace-all` cannot
    /// know whom they protect, so it refuses to run while there are any.
    pub fn unnamed(&self) -> impl Iterator<Item = (usize, &str)> {
        self.invalid
            .iter()
            .filter_map(|invalid| match &invalid.named {
                Named::Unknown(why) => Some((invalid.line, why.as_str())),
                Named::Ids(_) => None,
            })
    }
}

/// Validates `entries` against the domain's rules and `roles`.
pub fn check(entries: Vec<Entry>, roles: &RoleOrder) -> Checked {
    let mut checked = Checked {
        read: entries.len(),
        ..Checked::default()
    };
    // The line each id was first seen on.
    let mut first_seen: HashMap<String, usize> = HashMap::with_capacity(entries.len());
    for entry in entries {
        let line = match &entry {
            Ok(raw) => raw.line,
            Err(invalid) => invalid.line,
        };
        let ids = match &entry {
            Ok(raw) => std::slice::from_ref(&raw.id),
            Err(invalid) => invalid.named.ids(),
        };
        let mut duplicate_of = None;
        for id in ids {
            checked.ids_in_file.insert(id.clone());
            match first_seen.get(id) {
                Some(first) => duplicate_of = duplicate_of.or(Some(*first)),
                None => {
                    first_seen.insert(id.clone(), line);
                }
            }
        }
        let raw = match entry {
            Ok(raw) => raw,
            Err(invalid) => {
                checked.invalid.push(invalid);
                continue;
            }
        };
        if let Some(first) = duplicate_of {
            checked.invalid.push(Invalid {
                line,
                reason: format!(
                    "id {:?} appears twice, on line {first} and on line {line}",
                    raw.id
                ),
                named: Named::id(raw.id),
            });
            continue;
        }
        let result = UserId::parse_field("id", &raw.id).and_then(|id| {
            Permissions::parse(raw.companies, raw.role, roles).map(|permissions| (id, permissions))
        });
        match result {
            Ok((id, permissions)) => checked.valid.push(Record {
                line,
                id,
                permissions,
            }),
            Err(err) => checked.invalid.push(Invalid {
                line,
                named: Named::id(raw.id),
                reason: err.to_string(),
            }),
        }
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Format;
    use crate::input::parse;

    fn check_ndjson(text: &str) -> Checked {
        check(
            parse(Format::Ndjson, text.as_bytes()).unwrap(),
            &RoleOrder::default(),
        )
    }

    #[test]
    fn domain_rules_are_applied_with_their_reasons() {
        let checked = check_ndjson(concat!(
            "{\"id\": \"ok\", \"companies\": [\"1111\"], \"role\": \"Manager\"}\n",
            "{\"id\": \"a b\", \"companies\": [], \"role\": \"Manager\"}\n",
            "{\"id\": \"\", \"companies\": [], \"role\": \"Manager\"}\n",
            "{\"id\": \"c\", \"companies\": [\"ac me\"], \"role\": \"Manager\"}\n",
            "{\"id\": \"d\", \"companies\": [\"1\", \"1\"], \"role\": \"Manager\"}\n",
            "{\"id\": \"e\", \"companies\": [], \"role\": \"manager\"}\n",
        ));
        assert_eq!(checked.read, 6);
        assert_eq!(checked.valid.len(), 1);
        assert_eq!(checked.valid[0].id.as_str(), "ok");
        let got: Vec<(usize, &str)> = checked
            .invalid
            .iter()
            .map(|i| (i.line, i.reason.as_str()))
            .collect();
        assert_eq!(got[0].0, 2);
        assert!(
            got[0].1.starts_with("id: must not contain whitespace"),
            "{}",
            got[0].1
        );
        assert_eq!(got[1], (3, "id: must not be empty"));
        assert_eq!(got[2].0, 4);
        assert!(
            got[2].1.starts_with("companies[0]: may contain only"),
            "{}",
            got[2].1
        );
        assert_eq!(got[3].0, 5);
        assert!(
            got[3]
                .1
                .starts_with("companies[1]: duplicates companies[0]"),
            "{}",
            got[3].1
        );
        assert_eq!(got[4].0, 6);
        assert!(
            got[4]
                .1
                .starts_with("role: must be one of Standard, Manager, Admin"),
            "{}",
            got[4].1
        );
    }

    #[test]
    fn a_duplicate_id_names_both_lines_and_the_first_stands() {
        let checked = check_ndjson(concat!(
            "{\"id\": \"x\", \"companies\": [], \"role\": \"Admin\"}\n",
            "{\"id\": \"y\", \"companies\": [], \"role\": \"Admin\"}\n",
            "{\"id\": \"x\", \"companies\": [\"2\"], \"role\": \"Admin\"}\n",
        ));
        assert_eq!(checked.valid.len(), 2);
        assert_eq!(checked.valid[0].line, 1);
        assert_eq!(checked.invalid.len(), 1);
        assert_eq!(checked.invalid[0].line, 3);
        assert_eq!(
            checked.invalid[0].reason,
            "id \"x\" appears twice, on line 1 and on line 3"
        );
    }

    #[test]
    fn ids_of_invalid_records_count_as_in_the_file() {
        let checked = check_ndjson(concat!(
            "{\"id\": \"kept\", \"companies\": [], \"role\": \"Owner\"}\n",
            "{\"id\": \"also\", \"companies\": 3, \"role\": \"Admin\"}\n",
        ));
        assert!(checked.valid.is_empty());
        assert!(checked.ids_in_file.contains("kept"));
        assert!(checked.ids_in_file.contains("also"));
        assert_eq!(checked.unnamed().count(), 0);
    }

    #[test]
    fn broken_records_protect_the_ids_they_name_and_the_rest_are_unnamed() {
        let checked = check_ndjson(concat!(
            "{\"id\":\"alice\",\"companies\":[\"1\"]\n",
            "{\"id\": 7, \"companies\": [], \"role\": \"Admin\"}\n",
            "{\"id\": \"has space\", \"companies\": [], \"role\": \"Admin\"}\n",
            "{\"companies\":[\"1\"],\"ro\n",
            "{\"id\": \"\", \"companies\": [], \"role\": \"Admin\"}\n",
        ));
        let mut ids: Vec<&str> = checked.ids_in_file.iter().map(String::as_str).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["", "7", "alice", "has space"]);
        let unnamed: Vec<usize> = checked.unnamed().map(|(line, _)| line).collect();
        assert_eq!(unnamed, [4, 5]);
    }

    #[test]
    fn an_id_a_broken_record_names_makes_a_later_record_for_it_a_duplicate() {
        let checked = check_ndjson(concat!(
            "{\"id\":\"alice\",\"companies\":[\"1\"]\n",
            "{\"id\": \"alice\", \"companies\": [], \"role\": \"Admin\"}\n",
        ));
        assert!(checked.valid.is_empty());
        assert_eq!(
            checked.invalid[1].reason,
            "id \"alice\" appears twice, on line 1 and on line 2"
        );
    }

    #[test]
    fn custom_roles_are_honoured() {
        let roles = RoleOrder::parse_list("Viewer,Editor").unwrap();
        let entries = parse(Format::Csv, b"id,companies,role\na,1,Editor\nb,1,Admin\n").unwrap();
        let checked = check(entries, &roles);
        assert_eq!(checked.valid.len(), 1);
        assert_eq!(checked.invalid[0].line, 3);
    }
}
