//! Tokens verified recently, so a repeated token skips the signature check (the costliest step of
//! a decision: an RSA verification is tens of microseconds).
//!
//! The guarantees, each closing a way a cache could let a token through that verification would
//! refuse:
//! - **Keyed by the whole token**: the SHA-256 of every byte of it, header, claims and signature.
//!   A token that differs anywhere (another subject, a forged signature on the same claims) has
//!   its own key, so it is verified in full; it can never be answered from another's entry.
//! - **Never past `exp`**: an entry is served only while the clock is before the token's `exp`
//!   (without the issuer's leeway; after `exp` the token goes through full verification, which
//!   applies the leeway as before), and moka drops the entry then.
//! - **Only successes** are kept: a refused token is verified again every time (and counted).
//! - **Bounded**: at most the configured number of entries, each kept at most
//!   [`MAX_ENTRY_AGE`], so a signing key the issuer removes stops working at most that long after
//!   its JWKS is fetched again.
//!
//! What a token is allowed to do is never cached here: callers still look up permissions and make
//! their decision on every request, so a revocation stays visible.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use moka::Expiry;
use moka::future::Cache;

use super::VerifiedToken;

/// The longest an entry is kept, whatever its `exp`.
pub const MAX_ENTRY_AGE: Duration = Duration::from_secs(300);

/// Verified tokens kept by default by the components that keep them (the authorizer's
/// `AUTHORIZER_TOKEN_CACHE`, the service's `--jwt-token-cache`). An entry holds the token's
/// verified claims, so 10,000 typical tokens (a dozen claims each) take on the order of 10-20 MB.
pub const DEFAULT_TOKEN_CACHE: u64 = 10_000;

/// The cache key: SHA-256 of the token.
type Key = [u8; 32];

/// Verified tokens by the hash of the token.
pub(super) struct VerifiedTokens {
    entries: Cache<Key, Arc<VerifiedToken>>,
    /// [`crate::metrics::JWT_TOKEN_CACHE_HITS`], registered once.
    hits: metrics::Counter,
    /// [`crate::metrics::JWT_TOKEN_CACHE_MISSES`], registered once.
    misses: metrics::Counter,
}

/// Keeps an entry until the token's `exp`, at most [`MAX_ENTRY_AGE`].
struct UntilExp;

impl Expiry<Key, Arc<VerifiedToken>> for UntilExp {
    fn expire_after_create(
        &self,
        _: &Key,
        token: &Arc<VerifiedToken>,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(remaining(token, SystemTime::now()).min(MAX_ENTRY_AGE))
    }
}

/// Time left before `exp` at `now` (zero once past it).
fn remaining(token: &VerifiedToken, now: SystemTime) -> Duration {
    let exp = u64::try_from(token.exp).unwrap_or(0);
    let exp = SystemTime::UNIX_EPOCH + Duration::from_secs(exp);
    exp.duration_since(now).unwrap_or(Duration::ZERO)
}

impl VerifiedTokens {
    /// A cache of at most `capacity` tokens.
    pub(super) fn new(capacity: u64) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExp)
                .build(),
            hits: metrics::counter!(crate::metrics::JWT_TOKEN_CACHE_HITS),
            misses: metrics::counter!(crate::metrics::JWT_TOKEN_CACHE_MISSES),
        }
    }

    /// The key of `token`.
    pub(super) fn key(token: &str) -> Key {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let mut key = [0; 32];
        key.copy_from_slice(digest.as_ref());
        key
    }

    /// The verified token under `key`, if it is held and `now` is before its `exp`: shared with
    /// the cache, not copied (its claims are a map of their own).
    pub(super) async fn get(&self, key: &Key, now: SystemTime) -> Option<Arc<VerifiedToken>> {
        let found = self.entries.get(key).await;
        let live = found.filter(|token| remaining(token, now) > Duration::ZERO);
        if live.is_some() {
            self.hits.increment(1);
        } else {
            self.misses.increment(1);
        }
        live
    }

    /// Keeps `token`, verified just now, unless it is already past its `exp`.
    pub(super) async fn insert(&self, key: Key, token: &Arc<VerifiedToken>, now: SystemTime) {
        if remaining(token, now) > Duration::ZERO {
            self.entries.insert(key, token.clone()).await;
        }
    }
}
