//! Reading settings from environment variables, for the Lambdas and the libraries they use (a
//! Lambda has no flags).
//!
//! Every reader of the environment in Clearance's Lambdas goes through [`Env`], so they all agree
//! on the small things:
//!
//! - Values are trimmed, and an empty value counts as unset (a template that writes `FOO: ""`
//!   means "not set", not "set to nothing").
//! - A bad value is a [`ConfigError`] that names the variable, read once at start-up so that a
//!   Lambda with a bad setting fails its init phase rather than its first event.
//! - Durations are written one way everywhere: `500ms`, `10s`, `1m`, `1h 30m` (humantime). The
//!   variables that used to take a plain number of milliseconds or seconds (`*_MS`, `*_SECS`) still
//!   work, each beside its new name ([`Env::duration_or_deprecated`]): using the old name logs one
//!   deprecation warning naming the new one, and setting both is an error naming both.
//! - The role list (`CLEARANCE_ROLES`) is parsed in one place ([`Env::roles`]).
//!
//! The binaries with flags (the permissions API, the seed CLI, the orders example) read the same
//! formats through clap with [`parse_positive_duration`] and [`parse_roles`].
//!
//! ```
//! use std::time::Duration;
//! use clearance_core::env::{Env, Unit};
//!
//! let env = Env::new(|name: &str| (name == "TIMEOUT").then(|| " 2s ".to_owned()));
//! let timeout = env.duration_or_deprecated("TIMEOUT", "TIMEOUT_MS", Unit::Millis).unwrap();
//! assert_eq!(timeout.map(|t| t.value), Some(Duration::from_secs(2)));
//! ```

use std::str::FromStr;
use std::time::Duration;

use crate::domain::RoleOrder;

/// The roles, lowest first, comma-separated (default `Standard,Manager,Admin`).
pub const ROLES: &str = "CLEARANCE_ROLES";

/// A setting that is absent or cannot be used, named as whoever configured it wrote it: an
/// environment variable, a configuration file's key, or a builder argument. The configuration
/// errors of the permissions client and of the token verifier both hold one, so both say the same
/// thing the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// A required setting is absent.
    #[error("{setting} is not set: {hint}")]
    Missing {
        /// The setting.
        setting: String,
        /// What to set it to.
        hint: &'static str,
    },
    /// A setting has a value that cannot be used.
    #[error("{setting} is invalid: {reason}")]
    Invalid {
        /// The setting.
        setting: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl SettingError {
    /// `setting` is required and absent; `hint` says what to set it to.
    pub fn missing(setting: impl Into<String>, hint: &'static str) -> Self {
        Self::Missing {
            setting: setting.into(),
            hint,
        }
    }

    /// `setting`'s value cannot be used, for `reason`.
    pub fn invalid(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            setting: setting.into(),
            reason: reason.into(),
        }
    }

    /// The setting named.
    pub fn setting(&self) -> &str {
        match self {
            Self::Missing { setting, .. } | Self::Invalid { setting, .. } => setting,
        }
    }

    /// The same error, naming the setting as `rename` says (a builder argument named as the
    /// variable or the file key the user wrote).
    pub fn renamed(self, rename: impl FnOnce(String) -> String) -> Self {
        match self {
            Self::Missing { setting, hint } => Self::Missing {
                setting: rename(setting),
                hint,
            },
            Self::Invalid { setting, reason } => Self::Invalid {
                setting: rename(setting),
                reason,
            },
        }
    }
}

/// A variable the environment reader could not use, as a [`SettingError::Invalid`] naming it.
impl From<ConfigError> for SettingError {
    fn from(err: ConfigError) -> Self {
        Self::invalid(err.variable, err.problem)
    }
}

/// A duration such as `300ms` or `2s` that must be more than zero: a clap `value_parser` for flags
/// that take the same format as the variables.
pub fn parse_positive_duration(value: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(value.trim()).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err("must be more than 0 (e.g. 300ms, 2s)".into());
    }
    Ok(duration)
}

/// A comma-separated role list, lowest first: a clap `value_parser` for `--roles`.
pub fn parse_roles(list: &str) -> Result<RoleOrder, String> {
    RoleOrder::parse_list(list).map_err(|e| e.to_string())
}

/// A setting that cannot be used: the environment variable, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl ConfigError {
    /// An error for `variable`.
    pub fn bad(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

/// The unit of a deprecated duration variable, which holds a plain whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds (`*_MS`).
    Millis,
    /// Seconds (`*_SECS`).
    Secs,
}

impl Unit {
    fn duration(self, n: u64) -> Duration {
        match self {
            Self::Millis => Duration::from_millis(n),
            Self::Secs => Duration::from_secs(n),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Millis => "milliseconds",
            Self::Secs => "seconds",
        }
    }
}

/// A value, and the variable it was read from: the current name or a deprecated one. Checks made
/// after reading (a range, say) name `variable`, the one the operator wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<T> {
    /// The value.
    pub value: T,
    /// The variable that held it.
    pub variable: &'static str,
}

/// The environment, or any other source of variables (a map, in tests), seen through Clearance's
/// rules: trimmed, empty as unset, errors naming the variable.
#[derive(Debug, Clone, Copy)]
pub struct Env<F> {
    lookup: F,
}

impl Env<fn(&str) -> Option<String>> {
    /// The process environment.
    pub fn process() -> Self {
        Self::new(|name| std::env::var(name).ok())
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// Variables from `lookup` (e.g. `|name| std::env::var(name).ok()`, or a map in tests).
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    /// The variable's value, trimmed; `None` if it is unset or empty.
    pub fn get(&self, variable: &str) -> Option<String> {
        (self.lookup)(variable)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The variable's value; an error saying `hint` (what to set it to) if it is unset.
    pub fn required(&self, variable: &'static str, hint: &str) -> Result<String, ConfigError> {
        self.get(variable)
            .ok_or_else(|| ConfigError::bad(variable, format!("is not set: {hint}")))
    }

    /// A yes-or-no setting: `true`, `1`, `yes` or `false`, `0`, `no`.
    pub fn bool(&self, variable: &'static str) -> Result<Option<bool>, ConfigError> {
        self.get(variable)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(ConfigError::bad(
                    variable,
                    format!("must be true or false, got {v:?}"),
                )),
            })
            .transpose()
    }

    /// A whole number (of the type asked for: `u32`, `u64`, `usize`, ...).
    pub fn number<T: FromStr>(&self, variable: &'static str) -> Result<Option<T>, ConfigError> {
        self.get(variable)
            .map(|v| {
                v.parse().map_err(|_| {
                    ConfigError::bad(variable, format!("must be a whole number, got {v:?}"))
                })
            })
            .transpose()
    }

    /// A duration such as `500ms`, `10s`, `1m` or `1h 30m`. Zero (`0s`) is a duration; callers
    /// that need more check it.
    pub fn duration(&self, variable: &'static str) -> Result<Option<Duration>, ConfigError> {
        self.get(variable)
            .map(|v| {
                humantime::parse_duration(&v).map_err(|_| {
                    ConfigError::bad(
                        variable,
                        format!("must be a duration such as 500ms, 10s or 1m, got {v:?}"),
                    )
                })
            })
            .transpose()
    }

    /// A comma-separated list, each item trimmed and empty items dropped; `None` if the variable
    /// is unset (a variable holding only commas gives an empty list).
    pub fn list(&self, variable: &str) -> Option<Vec<String>> {
        self.get(variable).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }

    /// A duration from `variable` (such as `2s`), or from `deprecated`, its former name, which
    /// holds a plain whole number of `unit`s (such as `2000`). Reading the deprecated name logs one
    /// warning that names `variable`; setting both is an error that names both.
    pub fn duration_or_deprecated(
        &self,
        variable: &'static str,
        deprecated: &'static str,
        unit: Unit,
    ) -> Result<Option<Found<Duration>>, ConfigError> {
        let old = self.get(deprecated);
        if old.is_some() && self.get(variable).is_some() {
            return Err(ConfigError::bad(
                variable,
                format!(
                    "cannot be set together with {deprecated}, its deprecated name: remove \
                     {deprecated}"
                ),
            ));
        }
        let Some(old) = old else {
            return Ok(self
                .duration(variable)?
                .map(|value| Found { value, variable }));
        };
        let n: u64 = old.parse().map_err(|_| {
            ConfigError::bad(
                deprecated,
                format!(
                    "must be a whole number of {} (or set {variable} to a duration such as 2s \
                     instead), got {old:?}",
                    unit.name()
                ),
            )
        })?;
        let value = unit.duration(n);
        tracing::warn!(
            variable = deprecated,
            replacement = variable,
            "{deprecated} is deprecated: set {variable}={} instead",
            humantime::format_duration(value)
        );
        Ok(Some(Found {
            value,
            variable: deprecated,
        }))
    }

    /// The roles, lowest first, from `CLEARANCE_ROLES` (default `Standard,Manager,Admin`).
    pub fn roles(&self) -> Result<RoleOrder, ConfigError> {
        match self.get(ROLES) {
            None => Ok(RoleOrder::default()),
            Some(list) => {
                RoleOrder::parse_list(&list).map_err(|e| ConfigError::bad(ROLES, e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String> + use<>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::new(move |k: &str| map.get(k).cloned())
    }

    #[test]
    fn values_are_trimmed_and_empty_counts_as_unset() {
        let env = env(&[("A", "  value "), ("EMPTY", ""), ("BLANK", "   ")]);
        assert_eq!(env.get("A").as_deref(), Some("value"));
        assert_eq!(env.get("EMPTY"), None);
        assert_eq!(env.get("BLANK"), None);
        assert_eq!(env.get("UNSET"), None);
    }

    #[test]
    fn a_required_variable_that_is_unset_is_an_error_naming_it() {
        let env = env(&[("SET", "x"), ("EMPTY", " ")]);
        assert_eq!(env.required("SET", "set it").unwrap(), "x");
        let err = env.required("EMPTY", "set the table name").unwrap_err();
        assert_eq!(err.variable, "EMPTY");
        assert_eq!(err.to_string(), "EMPTY: is not set: set the table name");
    }

    #[test]
    fn bools_accept_true_false_1_0_yes_no() {
        let env = env(&[
            ("T", "true"),
            ("ONE", "1"),
            ("YES", "Yes"),
            ("F", "false"),
            ("ZERO", "0"),
            ("NO", "no"),
            ("BAD", "maybe"),
        ]);
        for name in ["T", "ONE", "YES"] {
            assert_eq!(env.bool(name), Ok(Some(true)), "{name}");
        }
        for name in ["F", "ZERO", "NO"] {
            assert_eq!(env.bool(name), Ok(Some(false)), "{name}");
        }
        assert_eq!(env.bool("UNSET"), Ok(None));
        let err = env.bool("BAD").unwrap_err();
        assert_eq!(err.variable, "BAD");
        assert!(err.problem.contains("\"maybe\""), "{err}");
    }

    #[test]
    fn numbers_are_whole_and_errors_name_the_variable() {
        let env = env(&[("N", " 42 "), ("NEG", "-1"), ("WORD", "ten")]);
        assert_eq!(env.number::<u64>("N"), Ok(Some(42)));
        assert_eq!(env.number::<u32>("UNSET"), Ok(None));
        for name in ["NEG", "WORD"] {
            let err = env.number::<u64>(name).unwrap_err();
            assert_eq!(err.variable, name);
            assert!(err.problem.contains("whole number"), "{err}");
        }
    }

    #[test]
    fn durations_are_humantime() {
        let env = env(&[
            ("MS", "500ms"),
            ("S", "10s"),
            ("M", "1m"),
            ("MIXED", "1h 30m"),
            ("ZERO", "0s"),
            ("BARE", "500"),
            ("WORD", "soon"),
        ]);
        assert_eq!(env.duration("MS"), Ok(Some(Duration::from_millis(500))));
        assert_eq!(env.duration("S"), Ok(Some(Duration::from_secs(10))));
        assert_eq!(env.duration("M"), Ok(Some(Duration::from_secs(60))));
        assert_eq!(env.duration("MIXED"), Ok(Some(Duration::from_secs(5400))));
        assert_eq!(env.duration("ZERO"), Ok(Some(Duration::ZERO)));
        assert_eq!(env.duration("UNSET"), Ok(None));
        for name in ["BARE", "WORD"] {
            let err = env.duration(name).unwrap_err();
            assert_eq!(err.variable, name);
            assert!(err.problem.contains("such as 500ms"), "{err}");
        }
    }

    #[test]
    fn lists_split_on_commas_and_drop_empty_items() {
        let env = env(&[("L", " a, b ,,c "), ("COMMAS", ",,")]);
        assert_eq!(
            env.list("L"),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(env.list("COMMAS"), Some(vec![]));
        assert_eq!(env.list("UNSET"), None);
    }

    /// `TIMEOUT`, or its former name `TIMEOUT_MS` in milliseconds, from `env`.
    fn timeout(
        env: &Env<impl Fn(&str) -> Option<String>>,
    ) -> Result<Option<Found<Duration>>, ConfigError> {
        env.duration_or_deprecated("TIMEOUT", "TIMEOUT_MS", Unit::Millis)
    }

    #[test]
    fn the_new_duration_name_takes_humantime() {
        let env = env(&[("TIMEOUT", "2s")]);
        let found = timeout(&env).unwrap();
        assert_eq!(
            found,
            Some(Found {
                value: Duration::from_secs(2),
                variable: "TIMEOUT"
            })
        );
        let unset = env
            .duration_or_deprecated("OTHER", "OTHER_SECS", Unit::Secs)
            .unwrap();
        assert_eq!(unset, None);
    }

    #[test]
    fn the_deprecated_name_takes_a_plain_number_in_its_unit() {
        let env = env(&[("TIMEOUT_MS", "2000"), ("TTL_SECS", "30")]);
        let found = timeout(&env).unwrap();
        assert_eq!(
            found,
            Some(Found {
                value: Duration::from_millis(2000),
                variable: "TIMEOUT_MS"
            })
        );
        let found = env
            .duration_or_deprecated("TTL", "TTL_SECS", Unit::Secs)
            .unwrap();
        assert_eq!(found.map(|f| f.value), Some(Duration::from_secs(30)));
    }

    #[test]
    fn the_deprecated_name_refuses_a_unit_and_points_to_the_new_name() {
        let env = env(&[("TIMEOUT_MS", "2s")]);
        let err = timeout(&env).unwrap_err();
        assert_eq!(err.variable, "TIMEOUT_MS");
        assert!(err.problem.contains("milliseconds"), "{err}");
        assert!(err.problem.contains("set TIMEOUT"), "{err}");
    }

    #[test]
    fn setting_both_names_is_an_error_naming_both() {
        let env = env(&[("TIMEOUT", "2s"), ("TIMEOUT_MS", "2000")]);
        let err = timeout(&env).unwrap_err();
        assert_eq!(err.variable, "TIMEOUT");
        assert!(err.to_string().contains("TIMEOUT_MS"), "{err}");
    }

    #[test]
    fn an_empty_deprecated_name_is_unset() {
        let env = env(&[("TIMEOUT", "2s"), ("TIMEOUT_MS", " ")]);
        let found = timeout(&env).unwrap();
        assert_eq!(found.map(|f| f.variable), Some("TIMEOUT"));
    }

    #[test]
    fn the_deprecated_name_logs_one_warning_naming_the_new_one() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let old = env(&[("TIMEOUT_MS", "2000")]);
        let new = env(&[("TIMEOUT", "2s")]);
        tracing::subscriber::with_default(Capture(lines.clone()), || {
            timeout(&old).unwrap();
            timeout(&new).unwrap();
        });
        let lines = lines.lock().unwrap();
        assert_eq!(
            *lines,
            ["TIMEOUT_MS is deprecated: set TIMEOUT=2s instead"],
            "one line, for the deprecated name only"
        );
    }

    #[test]
    fn roles_default_and_errors_name_clearance_roles() {
        assert_eq!(env(&[]).roles(), Ok(RoleOrder::default()));
        let custom = env(&[("CLEARANCE_ROLES", "Viewer, Owner")])
            .roles()
            .unwrap();
        assert_eq!(custom.roles(), ["Viewer", "Owner"]);
        let err = env(&[("CLEARANCE_ROLES", "A,A")]).roles().unwrap_err();
        assert_eq!(err.variable, "CLEARANCE_ROLES");
    }

    /// A subscriber that keeps the message of every event, to see what a reader logs.
    struct Capture(Arc<Mutex<Vec<String>>>);

    impl tracing::Subscriber for Capture {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }

        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }

        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

        fn event(&self, event: &tracing::Event<'_>) {
            struct Message(String);
            impl tracing::field::Visit for Message {
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    if field.name() == "message" {
                        self.0 = format!("{value:?}");
                    }
                }
            }
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0.lock().unwrap().push(message.0);
        }

        fn enter(&self, _: &tracing::span::Id) {}

        fn exit(&self, _: &tracing::span::Id) {}
    }
}
