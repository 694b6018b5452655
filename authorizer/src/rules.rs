//! Route rules: which [`Requirement`] applies to a method and path.
//!
//! Rules come from JSON (`AUTHORIZER_RULES`, or a file named by `AUTHORIZER_RULES_FILE`):
//!
//! ```json
//! {
//!   "rules": [
//!     {"method": "GET",  "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Standard", "atLeast": true},
//!     {"method": "POST", "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Manager", "atLeast": true, "consistency": "fully-consistent"},
//!     {"method": "GET",  "path": "/users/{user_id}/orders/{id}", "subject": "user_id"},
//!     {"method": "ANY",  "path": "/clients/{client_id}/{proxy+}", "client": "client_id"},
//!     {"method": "GET",  "path": "/profile", "authenticateOnly": true}
//!   ]
//! }
//! ```
//!
//! Paths are matched segment by segment; `{name}` matches one segment and captures it, a final
//! `{name+}` matches the rest. `consistency` (`minimize-latency`, the default, or
//! `fully-consistent`) says how fresh the permissions a rule decides on must be: the riskiest
//! routes can read past every cache and see a revocation at once. The first matching rule decides. A request no rule matches is
//! denied: there is no default allow.

use std::collections::HashMap;

use clearance_core::authz::Requirement;
use clearance_core::consistency::Consistency;
use serde::Deserialize;

/// One rule: a method, a path pattern, and what it requires.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "RawRule")]
pub struct Rule {
    /// `GET`, `POST`, ... or `ANY` / `*` for every method.
    pub method: String,
    /// The path pattern, e.g. `/companies/{company_id}/orders`.
    pub path: String,
    /// What the route requires.
    pub requirement: Requirement,
}

/// A rule as written in JSON: flat, and strict about unknown fields (which `#[serde(flatten)]`
/// cannot be).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRule {
    method: String,
    path: String,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    at_least: bool,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    client: Option<String>,
    #[serde(default)]
    authenticate_only: bool,
    #[serde(default)]
    consistency: Consistency,
}

impl From<RawRule> for Rule {
    fn from(raw: RawRule) -> Self {
        Self {
            method: raw.method,
            path: raw.path,
            requirement: Requirement {
                company: raw.company,
                role: raw.role,
                at_least: raw.at_least,
                subject: raw.subject,
                client: raw.client,
                authenticate_only: raw.authenticate_only,
                consistency: raw.consistency,
            },
        }
    }
}

/// The rule set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// The rules, tried in order.
    pub rules: Vec<Rule>,
}

/// A rule set that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {index} ({method} {path}): {problem}")]
pub struct RuleError {
    /// The rule's position (0-based).
    pub index: usize,
    /// Its method.
    pub method: String,
    /// Its path.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

impl Rules {
    /// Parses and checks a JSON rule set.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let rules: Self =
            serde_json::from_str(json).map_err(|e| format!("the rules are not valid: {e}"))?;
        rules.check().map_err(|e| e.to_string())?;
        Ok(rules)
    }

    /// Refuses rules that could never be evaluated: a requirement naming a parameter its path
    /// does not capture, a greedy segment that is not last, or a rule that requires nothing.
    pub fn check(&self) -> Result<(), RuleError> {
        for (index, rule) in self.rules.iter().enumerate() {
            let fail = |problem: String| RuleError {
                index,
                method: rule.method.clone(),
                path: rule.path.clone(),
                problem,
            };
            if !rule.path.starts_with('/') {
                return Err(fail("the path must start with /".into()));
            }
            let segments: Vec<&str> = rule.path.split('/').skip(1).collect();
            let mut captured = Vec::new();
            for (i, segment) in segments.iter().enumerate() {
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    let (name, greedy) = match name.strip_suffix('+') {
                        Some(n) => (n, true),
                        None => (name, false),
                    };
                    if greedy && i + 1 != segments.len() {
                        return Err(fail(format!("{{{name}+}} must be the last segment")));
                    }
                    captured.push(name.to_owned());
                }
            }
            let r = &rule.requirement;
            for (what, param) in [
                ("company", &r.company),
                ("subject", &r.subject),
                ("client", &r.client),
            ] {
                if let Some(p) = param
                    && !captured.contains(p)
                {
                    return Err(fail(format!(
                        "{what} names {{{p}}}, which the path does not capture"
                    )));
                }
            }
            let requires_something = r.authenticate_only
                || r.company.is_some()
                || r.role.is_some()
                || r.subject.is_some()
                || r.client.is_some();
            if !requires_something {
                return Err(fail(
                    "the rule requires nothing: set company, role, subject, client or authenticateOnly".into(),
                ));
            }
            if r.authenticate_only
                && (r.company.is_some()
                    || r.role.is_some()
                    || r.subject.is_some()
                    || r.client.is_some())
            {
                return Err(fail(
                    "authenticateOnly cannot be combined with other checks".into(),
                ));
            }
        }
        Ok(())
    }

    /// The first rule matching `method` and `path`, with the parameters its pattern captured.
    pub fn find(&self, method: &str, path: &str) -> Option<(&Rule, HashMap<String, String>)> {
        self.rules.iter().find_map(|rule| {
            let method_ok = rule.method == "*"
                || rule.method.eq_ignore_ascii_case("ANY")
                || rule.method.eq_ignore_ascii_case(method);
            if !method_ok {
                return None;
            }
            match_path(&rule.path, path).map(|params| (rule, params))
        })
    }

    /// Whether a decision can never depend on the route: every rule is authentication only, and
    /// the rules match every request (some rule for every method matches `/`, and some matches
    /// every deeper path through a greedy `{name+}` at the root). Only then is an answer that
    /// covers the whole stage (a stage-wide policy, or an HTTP API simple answer) safe to cache:
    /// otherwise a "no rule matches" deny, or a check on the path, would be skipped for every
    /// route the cached answer is reused for.
    pub fn route_independent(&self) -> bool {
        let every_method = |r: &&Rule| r.method == "*" || r.method.eq_ignore_ascii_case("ANY");
        let all_authenticate_only =
            !self.rules.is_empty() && self.rules.iter().all(|r| r.requirement.authenticate_only);
        let covers_root = self
            .rules
            .iter()
            .filter(every_method)
            .any(|r| match_path(&r.path, "/").is_some());
        let covers_the_rest = self.rules.iter().filter(every_method).any(|r| {
            let segments: Vec<&str> = r.path.split('/').skip(1).collect();
            matches!(segments.as_slice(), [only] if only.starts_with('{') && only.ends_with("+}"))
        });
        all_authenticate_only && covers_root && covers_the_rest
    }
}

/// Matches a concrete path against a pattern, returning the captured parameters.
pub fn match_path(pattern: &str, path: &str) -> Option<HashMap<String, String>> {
    let pattern_segments: Vec<&str> = pattern.trim_end_matches('/').split('/').skip(1).collect();
    let path_segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let mut params = HashMap::new();
    for (i, segment) in pattern_segments.iter().enumerate() {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if let Some(name) = name.strip_suffix('+') {
                let rest = path_segments.get(i..)?;
                if rest.is_empty() || rest.iter().all(|s| s.is_empty()) {
                    return None;
                }
                params.insert(name.to_owned(), rest.join("/"));
                return Some(params);
            }
            let value = path_segments.get(i).filter(|v| !v.is_empty())?;
            params.insert(name.to_owned(), (*value).to_owned());
        } else if path_segments.get(i) != Some(segment) {
            return None;
        }
    }
    (pattern_segments.len() == path_segments.len()).then_some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_segment_by_segment() {
        let p = match_path("/companies/{company_id}/orders", "/companies/1111/orders").unwrap();
        assert_eq!(p["company_id"], "1111");
        assert!(match_path("/companies/{company_id}/orders", "/companies/1111").is_none());
        assert!(match_path("/companies/{company_id}/orders", "/companies//orders").is_none());
        assert!(match_path("/companies/{company_id}/orders", "/companies/1111/orders/9").is_none());
        let g = match_path("/files/{rest+}", "/files/a/b/c").unwrap();
        assert_eq!(g["rest"], "a/b/c");
        assert!(match_path("/files/{rest+}", "/files").is_none());
        assert!(match_path("/", "/").is_some());
    }

    #[test]
    fn the_first_matching_rule_wins_and_methods_filter() {
        let rules = Rules::from_json(
            r#"{"rules": [
                {"method": "POST", "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Manager", "atLeast": true},
                {"method": "ANY", "path": "/companies/{company_id}/orders", "company": "company_id"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(
            rules
                .find("POST", "/companies/1/orders")
                .unwrap()
                .0
                .requirement
                .role
                .as_deref(),
            Some("Manager")
        );
        assert_eq!(
            rules
                .find("GET", "/companies/1/orders")
                .unwrap()
                .0
                .requirement
                .role,
            None
        );
        assert!(rules.find("GET", "/other").is_none());
        assert!(!rules.route_independent());
    }

    #[test]
    fn only_rules_that_match_every_request_without_checks_are_route_independent() {
        let independent = |json: &str| Rules::from_json(json).unwrap().route_independent();
        assert!(independent(
            r#"{"rules": [
                {"method": "ANY", "path": "/", "authenticateOnly": true},
                {"method": "ANY", "path": "/{proxy+}", "authenticateOnly": true}
            ]}"#
        ));
        // `/` is not matched by `/{proxy+}`: a request for it would be denied (no rule), so an
        // answer cached from another route must not admit it.
        assert!(!independent(
            r#"{"rules": [{"method": "ANY", "path": "/{proxy+}", "authenticateOnly": true}]}"#
        ));
        // Authentication only, but only on some routes: "no rule matches" still depends on them.
        assert!(!independent(
            r#"{"rules": [{"method": "GET", "path": "/profile", "authenticateOnly": true}]}"#
        ));
        assert!(!independent(
            r#"{"rules": [
                {"method": "GET", "path": "/", "authenticateOnly": true},
                {"method": "GET", "path": "/{proxy+}", "authenticateOnly": true}
            ]}"#
        ));
        assert!(!independent(
            r#"{"rules": [
                {"method": "ANY", "path": "/", "authenticateOnly": true},
                {"method": "ANY", "path": "/{proxy+}", "authenticateOnly": true},
                {"method": "GET", "path": "/admin", "role": "Admin"}
            ]}"#
        ));
    }

    #[test]
    fn rules_that_cannot_work_are_refused_at_start_up() {
        for (json, expected) in [
            (
                r#"{"rules": [{"method": "GET", "path": "/a/{id}", "company": "company_id"}]}"#,
                "does not capture",
            ),
            (
                r#"{"rules": [{"method": "GET", "path": "/a/{rest+}/b", "authenticateOnly": true}]}"#,
                "last segment",
            ),
            (
                r#"{"rules": [{"method": "GET", "path": "/a"}]}"#,
                "requires nothing",
            ),
            (
                r#"{"rules": [{"method": "GET", "path": "a", "authenticateOnly": true}]}"#,
                "start with /",
            ),
            (
                r#"{"rules": [{"method": "GET", "path": "/a", "authenticateOnly": true, "role": "Admin"}]}"#,
                "cannot be combined",
            ),
            (
                r#"{"rules": [{"method": "GET", "path": "/a", "rol": "Admin"}]}"#,
                "not valid",
            ),
        ] {
            let err = Rules::from_json(json).unwrap_err();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
    }
}
