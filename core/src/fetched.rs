//! State that a fetch refreshes for every caller at once: the permissions client's access token
//! and each issuer's JWKS. Readers take the lock briefly and never wait on the network; a caller
//! that must fetch first takes its turn (one fetch at a time), so concurrent callers that find
//! the state out of date share one fetch instead of each making their own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// `T`, with the turn to fetch it and a count of the fetches made.
#[derive(Default)]
pub(crate) struct Fetched<T> {
    state: RwLock<T>,
    /// Held for the whole of a fetch, so concurrent callers share one.
    turn: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

impl<T> Fetched<T> {
    /// The state, to read (a poisoned lock is taken as it is: the state is replaced whole).
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, T> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The state, to change.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the turn to fetch; hold the guard until the fetch is recorded.
    pub(crate) async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    /// The turn to fetch if no one holds it now.
    #[cfg_attr(not(feature = "jwt"), allow(dead_code))]
    pub(crate) fn try_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        self.turn.try_lock().ok()
    }

    /// Counts a fetch (made or attempted).
    pub(crate) fn count_fetch(&self) {
        self.fetches.fetch_add(1, Ordering::Relaxed);
    }

    /// Fetches made so far.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }
}
