//! The claim checks made after the signature verified, and the verified token they produce.
//!
//! Every claim the checks read has its JSON type checked first, whether or not a setting asks
//! about it: an `exp` given as a string, a `scope` given as an array or groups that are not an
//! array of strings refuse the token rather than being skipped.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::config::{ClientIds, IssuerConfig, IssuerKind, TokenUse};
use super::error::{JwtError, clip};

/// The Cognito groups claim.
const GROUPS: &str = "cognito:groups";

/// A token whose signature and claims were verified, with the claims callers need.
///
/// Its `Debug` output shows the issuer, subject, client, token use, expiry, scopes and groups,
/// but not the username (often an e-mail address) nor the other claims.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedToken {
    /// The issuer (`iss`).
    pub iss: String,
    /// The subject (`sub`): the user, or for Cognito client-credentials tokens the app client.
    pub sub: Option<String>,
    /// The app client the token was issued to: `client_id` (Cognito access tokens), else `azp`,
    /// else `aud` if it names exactly one audience.
    pub client_id: Option<String>,
    /// The username (`username` in Cognito access tokens, `cognito:username` in ID tokens).
    pub username: Option<String>,
    /// Cognito's `token_use` ([`TokenUse::Id`] or [`TokenUse::Access`]); `None` for other issuers.
    pub token_use: Option<TokenUse>,
    /// The scopes of the `scope` claim.
    pub scopes: Vec<String>,
    /// The groups of the `cognito:groups` claim.
    pub groups: Vec<String>,
    /// When the token expires (`exp`), in seconds since the epoch.
    pub exp: i64,
    /// Every claim, for lookups of claims not lifted into fields. Never log it whole.
    pub claims: Map<String, Value>,
}

impl VerifiedToken {
    /// A claim by name.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// Whether the token holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether the token is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

impl std::fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .field("client_id", &self.client_id)
            .field("username", &self.username.as_ref().map(|_| "<redacted>"))
            .field("token_use", &self.token_use)
            .field("scopes", &self.scopes)
            .field("groups", &self.groups)
            .field("exp", &self.exp)
            .field("claims", &format_args!("<{} claims>", self.claims.len()))
            .finish()
    }
}

/// A claim's value, type-checked.
struct Claims<'a>(&'a Map<String, Value>);

impl<'a> Claims<'a> {
    fn string(&self, claim: &'static str) -> Result<Option<&'a str>, JwtError> {
        match self.0.get(claim) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(JwtError::ClaimType {
                claim,
                expected: "a string",
            }),
        }
    }

    fn number(&self, claim: &'static str) -> Result<Option<f64>, JwtError> {
        match self.0.get(claim) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(Some)
                    .ok_or(JwtError::ClaimType {
                        claim,
                        expected: "a number of seconds",
                    })
            }
            Some(_) => Err(JwtError::ClaimType {
                claim,
                expected: "a number of seconds",
            }),
        }
    }

    fn strings(&self, claim: &'static str) -> Result<Option<Vec<&'a str>>, JwtError> {
        let wrong = JwtError::ClaimType {
            claim,
            expected: "an array of strings",
        };
        match self.0.get(claim) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().ok_or_else(|| wrong.clone()))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(wrong),
        }
    }

    /// `aud`: a string or an array of strings.
    fn audiences(&self) -> Result<Option<Vec<&'a str>>, JwtError> {
        match self.0.get("aud") {
            Some(Value::String(s)) => Ok(Some(vec![s.as_str()])),
            Some(Value::Array(_)) => self.strings("aud"),
            None => Ok(None),
            Some(_) => Err(JwtError::ClaimType {
                claim: "aud",
                expected: "a string or an array of strings",
            }),
        }
    }
}

/// Checks the claims of a token whose signature verified with `issuer`'s key, at `now`.
pub(crate) fn check(
    issuer: &IssuerConfig,
    claims: Map<String, Value>,
    now: SystemTime,
) -> Result<VerifiedToken, JwtError> {
    let c = Claims(&claims);

    // Types first, for every claim read below.
    let iss = c
        .string("iss")?
        .ok_or(JwtError::MissingClaim { claim: "iss" })?;
    let exp = c.number("exp")?;
    let nbf = c.number("nbf")?;
    c.number("iat")?;
    let sub = c.string("sub")?;
    let client_id = c.string("client_id")?;
    let azp = c.string("azp")?;
    let audiences = c.audiences()?;
    let token_use = c.string("token_use")?;
    let scope = c.string("scope")?;
    let groups = c.strings(GROUPS)?.unwrap_or_default();
    let username = match c.string("username")? {
        Some(u) => Some(u),
        None => c.string("cognito:username")?,
    };

    // The issuer was chosen by `iss`; make sure of it all the same.
    if iss != issuer.issuer() {
        return Err(JwtError::WrongIssuer { iss: clip(iss) });
    }

    // Time.
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let leeway = issuer.leeway().as_secs_f64();
    let exp = exp.ok_or(JwtError::MissingClaim { claim: "exp" })?;
    if now >= exp + leeway {
        return Err(JwtError::Expired { exp: exp as i64 });
    }
    if let Some(nbf) = nbf
        && now + leeway < nbf
    {
        return Err(JwtError::NotYetValid { nbf: nbf as i64 });
    }

    // Cognito's token use.
    let used_as = match issuer.kind() {
        IssuerKind::Cognito {
            token_use: expected,
            ..
        } => {
            let found = token_use.ok_or(JwtError::MissingClaim { claim: "token_use" })?;
            let wrong = || JwtError::WrongTokenUse {
                found: clip(found),
                expected: match expected {
                    TokenUse::Id => "id",
                    TokenUse::Access => "access",
                    TokenUse::Any => "id or access",
                },
            };
            let used_as = match found {
                "id" => TokenUse::Id,
                "access" => TokenUse::Access,
                _ => return Err(wrong()),
            };
            if *expected != TokenUse::Any && *expected != used_as {
                return Err(wrong());
            }
            Some(used_as)
        }
        IssuerKind::Oidc => None,
    };

    // The app client.
    if let Some(ClientIds::OneOf(allowed)) = issuer.client_ids() {
        let allowed = |id: &str| allowed.iter().any(|a| a == id);
        match used_as {
            Some(TokenUse::Access) => {
                let id = client_id.ok_or(JwtError::MissingClaim { claim: "client_id" })?;
                if !allowed(id) {
                    return Err(JwtError::WrongClientId);
                }
            }
            Some(TokenUse::Id) => {
                // Cognito ID tokens carry one audience, as a string.
                let aud = match claims.get("aud") {
                    Some(Value::String(aud)) => aud,
                    Some(_) => {
                        return Err(JwtError::ClaimType {
                            claim: "aud",
                            expected: "a string",
                        });
                    }
                    None => return Err(JwtError::MissingClaim { claim: "aud" }),
                };
                if !allowed(aud) {
                    return Err(JwtError::WrongAudience);
                }
            }
            _ => match (&audiences, client_id) {
                // The audience decides when there is one: a token meant for another API is
                // refused even if it was issued to an allowed client.
                (Some(audiences), _) => {
                    if !audiences.iter().any(|a| allowed(a)) {
                        return Err(JwtError::WrongAudience);
                    }
                }
                // Access tokens without an audience (Cognito-style) name their client.
                (None, Some(id)) => {
                    if !allowed(id) {
                        return Err(JwtError::WrongClientId);
                    }
                }
                (None, None) => return Err(JwtError::MissingClaim { claim: "aud" }),
            },
        }
    }

    // Scopes: every required one.
    let scopes: Vec<String> = scope
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if let Some(missing) = issuer
        .required_scopes()
        .iter()
        .find(|r| !scopes.contains(r))
    {
        return Err(JwtError::MissingScope {
            scope: missing.clone(),
        });
    }

    // Groups: at least one of the required ones.
    let required_groups = issuer.required_groups();
    if !required_groups.is_empty()
        && !groups
            .iter()
            .any(|g| required_groups.iter().any(|r| r == g))
    {
        return Err(JwtError::NotInGroup);
    }

    let client_id = client_id.or(azp).or(match audiences.as_deref() {
        Some([only]) => Some(*only),
        _ => None,
    });
    Ok(VerifiedToken {
        iss: iss.to_owned(),
        sub: sub.map(str::to_owned),
        client_id: client_id.map(str::to_owned),
        username: username.map(str::to_owned),
        token_use: used_as,
        scopes,
        groups: groups.into_iter().map(str::to_owned).collect(),
        exp: exp as i64,
        claims,
    })
}
