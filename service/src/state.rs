//! What every request handler shares: the store (behind its cache), the role order, the
//! authentication in force, and metrics.

use std::sync::Arc;

use clearance_core::cache::CacheStats;
use clearance_core::domain::RoleOrder;
use clearance_core::store::PermissionStore;
use clearance_core::store::cursor::CursorKey;

use crate::http::admin::Admin;
use crate::http::auth::Auth;

/// Reads the cache's counters, whatever store is behind the cache.
pub type StatsFn = Arc<dyn Fn() -> CacheStats + Send + Sync>;

/// The application's shared state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Where permissions are read and written (the cache in front of the configured store).
    pub store: Arc<dyn PermissionStore>,
    /// The configured roles, lowest first.
    pub roles: Arc<RoleOrder>,
    /// The cache's counters, when there is a cache.
    pub cache_stats: Option<StatsFn>,
    /// Who may call (the `--auth` mode and its verifier).
    pub auth: Arc<Auth>,
    /// Tags and checks pagination cursors (`--cursor-secret`, or the built-in key).
    pub cursor_key: Arc<CursorKey>,
    /// The admin page, unless turned off (`--admin false`).
    pub admin: Option<Arc<Admin>>,
}

impl AppState {
    /// State over `store` with the given roles, no cache counters, no authentication, the
    /// built-in cursor key and no admin page.
    pub fn new(store: Arc<dyn PermissionStore>, roles: RoleOrder) -> Self {
        crate::telemetry::metrics_recorder();
        Self {
            store,
            roles: Arc::new(roles),
            cache_stats: None,
            auth: Arc::new(Auth::none()),
            cursor_key: Arc::new(CursorKey::built_in()),
            admin: None,
        }
    }
}
