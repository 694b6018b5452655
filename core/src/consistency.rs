//! How fresh a read must be, chosen per request, and how fresh the answer was.
//!
//! A caller picks a [`Consistency`], as OpenFGA and SpiceDB let their callers choose: the cache
//! (lowest latency, the default), "at least as fresh as version N" (read-your-writes after a
//! change, with the ETag the write returned), or a strongly consistent store read. Whatever
//! answers says how fresh it was in a [`Served`]: from the cache or not, how old, and whether the
//! store failed and an older copy was served instead. The transport turns that into `Age` and
//! RFC 9211 `Cache-Status` headers; the cache counts it for metrics.
//!
//! These are plain types with no feature behind them: the API, the client, the rules of the
//! authorizer and the middleware, and the cache all speak them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Consistency {
    /// Whatever the cache holds (within its bounds): the fastest answer. The default.
    #[default]
    MinimizeLatency,
    /// The cache only if its entry is at this version or newer, else a store read: read your own
    /// writes by passing the version (the ETag) a write returned.
    AtLeast(u64),
    /// A strongly consistent read of the store, past every cache.
    Full,
}

impl Consistency {
    /// Whether a cached entry at `version` (`None`: cached "no such user") may answer this read.
    pub fn accepts_cached(self, version: Option<u64>) -> bool {
        match self {
            Self::MinimizeLatency => true,
            Self::AtLeast(wanted) => version.is_some_and(|v| v >= wanted),
            Self::Full => false,
        }
    }

    /// The stricter of two choices (a rule's and a request's, say).
    pub fn max(self, other: Self) -> Self {
        match (self, other) {
            (Self::Full, _) | (_, Self::Full) => Self::Full,
            (Self::AtLeast(a), Self::AtLeast(b)) => Self::AtLeast(a.max(b)),
            (Self::AtLeast(a), _) | (_, Self::AtLeast(a)) => Self::AtLeast(a),
            _ => Self::MinimizeLatency,
        }
    }
}

impl fmt::Display for Consistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MinimizeLatency => f.write_str("minimize-latency"),
            Self::AtLeast(version) => write!(f, "at-least:{version}"),
            Self::Full => f.write_str("fully-consistent"),
        }
    }
}

/// A consistency that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "consistency must be minimize-latency, fully-consistent or at-least:<version> (the version or \
     ETag a write returned), got {0:?}"
)]
pub struct ConsistencyError(pub String);

impl FromStr for Consistency {
    type Err = ConsistencyError;

    /// `minimize-latency`, `fully-consistent`, or `at-least:3` (also `at-least:"3"`, the ETag as
    /// a write returned it).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ConsistencyError(s.to_owned());
        match s.trim() {
            "minimize-latency" => Ok(Self::MinimizeLatency),
            "fully-consistent" => Ok(Self::Full),
            other => {
                let version = other.strip_prefix("at-least:").ok_or_else(bad)?;
                let version = version.trim();
                let version = version
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(version);
                if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                version.parse().map(Self::AtLeast).map_err(|_| bad())
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Consistency {
    /// From the text form (`"fully-consistent"`, say), as rule files write it.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Where an answer came from, in the words of RFC 9211's `Cache-Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Read from the store because the cache had nothing usable (`fwd=miss`).
    Miss,
    /// Served from the cache (`hit`).
    Hit,
    /// Served from the cache, and old enough that a background read now replaces it
    /// (`hit; detail="refresh-ahead"`).
    Refreshing,
    /// The store failed and a copy past its TTL was served, within the stale-if-error window
    /// (`hit; fwd=stale; detail="stale-if-error"`).
    StaleIfError,
    /// The cached entry was older than the version asked for, so the store was read
    /// (`fwd=stale`).
    TooOld,
    /// The request asked for a fully consistent read, so the cache was not used
    /// (`fwd=request`).
    Bypass,
}

/// How fresh an answer from a cache is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Where it came from.
    pub status: CacheStatus,
    /// How long ago it was read from the store (zero for a store read now).
    pub age: Duration,
    /// How long it may still be served from the cache (negative past its TTL, when served stale).
    pub ttl_left_secs: i64,
}

impl Freshness {
    /// The RFC 9211 `Cache-Status` member for this answer, naming the cache `cache_name`.
    pub fn cache_status(&self, cache_name: &str) -> String {
        // Written piece by piece rather than with `format!`: this is on every cached answer.
        let mut ttl = itoa::Buffer::new();
        let ttl = ttl.format(self.ttl_left_secs);
        let (head, ttl, tail) = match self.status {
            CacheStatus::Hit => ("; hit; ttl=", ttl, ""),
            CacheStatus::Refreshing => ("; hit; ttl=", ttl, "; detail=\"refresh-ahead\""),
            CacheStatus::StaleIfError => {
                ("; hit; fwd=stale; ttl=", ttl, "; detail=\"stale-if-error\"")
            }
            CacheStatus::Miss => ("; fwd=miss; stored", "", ""),
            CacheStatus::TooOld => ("; fwd=stale; stored", "", ""),
            CacheStatus::Bypass => ("; fwd=request; stored", "", ""),
        };
        let mut out = String::with_capacity(cache_name.len() + head.len() + ttl.len() + tail.len());
        for piece in [cache_name, head, ttl, tail] {
            out.push_str(piece);
        }
        out
    }

    /// The `Age` header's value: whole seconds since the store read.
    pub fn age_secs(&self) -> u64 {
        self.age.as_secs()
    }
}

/// An answer and, when a cache was in the way, how fresh it is (`None`: no cache, the store
/// answered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served<T> {
    /// The answer.
    pub value: T,
    /// How fresh it is, when it went through a cache.
    pub freshness: Option<Freshness>,
}

impl<T> Served<T> {
    /// An answer straight from the store, with no cache in the way.
    pub fn uncached(value: T) -> Self {
        Self {
            value,
            freshness: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistency_reads_its_three_forms_and_refuses_anything_else() {
        assert_eq!("minimize-latency".parse(), Ok(Consistency::MinimizeLatency));
        assert_eq!("fully-consistent".parse(), Ok(Consistency::Full));
        assert_eq!("at-least:7".parse(), Ok(Consistency::AtLeast(7)));
        assert_eq!("at-least:\"7\"".parse(), Ok(Consistency::AtLeast(7)));
        for bad in [
            "",
            "full",
            "at-least:",
            "at-least:-1",
            "at-least:x",
            "AT-LEAST:1",
        ] {
            let err = bad.parse::<Consistency>().unwrap_err();
            assert!(err.to_string().contains("fully-consistent"), "{err}");
        }
        for c in [
            Consistency::MinimizeLatency,
            Consistency::AtLeast(3),
            Consistency::Full,
        ] {
            assert_eq!(c.to_string().parse(), Ok(c));
        }
    }

    #[test]
    fn a_cached_entry_answers_only_when_fresh_enough_for_the_choice() {
        assert!(Consistency::MinimizeLatency.accepts_cached(None));
        assert!(Consistency::AtLeast(3).accepts_cached(Some(3)));
        assert!(!Consistency::AtLeast(3).accepts_cached(Some(2)));
        assert!(!Consistency::AtLeast(3).accepts_cached(None));
        assert!(!Consistency::Full.accepts_cached(Some(9)));
        assert_eq!(
            Consistency::AtLeast(2).max(Consistency::MinimizeLatency),
            Consistency::AtLeast(2)
        );
        assert_eq!(
            Consistency::AtLeast(2).max(Consistency::Full),
            Consistency::Full
        );
    }

    #[test]
    fn cache_status_names_each_outcome_as_rfc_9211_does() {
        let at = |status, ttl_left_secs| Freshness {
            status,
            age: Duration::from_secs(3),
            ttl_left_secs,
        };
        for (freshness, expected) in [
            (at(CacheStatus::Hit, 27), "c; hit; ttl=27"),
            (
                at(CacheStatus::Refreshing, 0),
                "c; hit; ttl=0; detail=\"refresh-ahead\"",
            ),
            (
                at(CacheStatus::StaleIfError, -12),
                "c; hit; fwd=stale; ttl=-12; detail=\"stale-if-error\"",
            ),
            (at(CacheStatus::Miss, 30), "c; fwd=miss; stored"),
            (at(CacheStatus::TooOld, 30), "c; fwd=stale; stored"),
            (at(CacheStatus::Bypass, 30), "c; fwd=request; stored"),
        ] {
            assert_eq!(freshness.cache_status("c"), expected);
        }
    }
}
