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

/// The application's shared state: one `Arc`, cheap to clone (axum clones the state for every
/// request, once per layer that holds it). Read its parts through `Deref`; changing one at
/// start-up (`state.auth = ...`) copies the parts if the state is shared already.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

/// What an [`AppState`] holds.
#[derive(Clone)]
pub struct AppParts {
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
        Self(Arc::new(AppParts {
            store,
            roles: Arc::new(roles),
            cache_stats: None,
            auth: Arc::new(Auth::none()),
            cursor_key: Arc::new(CursorKey::built_in()),
            admin: None,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut AppParts {
        Arc::make_mut(&mut self.0)
    }
}
