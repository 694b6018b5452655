//! Audit events: one per successful write, on the tracing target `audit`.
//!
//! Each event carries the time, the actor (`updatedBy`, or `anonymous` without authentication),
//! the user id, the permissions before and after (as JSON), the new version and the request id.
//! Nothing else: never a token, a secret or a claim set. Route the `audit` target to its own sink
//! with a tracing filter (e.g. `RUST_LOG=audit=info`), or read it from the JSON logs.

use clearance_core::domain::{UserId, UserPermissions};
use serde_json::{Value, json};

use crate::http::context::RequestContext;

/// The tracing target audit events are emitted on.
pub const TARGET: &str = "audit";

fn view(user: Option<&UserPermissions>) -> Value {
    match user {
        Some(u) => json!({"companies": u.companies, "role": u.role, "version": u.version}),
        None => Value::Null,
    }
}

/// Emits the audit event for a write to `id` that changed `before` into `after` (`None` = absent).
pub fn write(
    ctx: &RequestContext,
    id: &UserId,
    before: Option<&UserPermissions>,
    after: Option<&UserPermissions>,
) {
    let action = match (before, after) {
        (None, Some(_)) => "create",
        (Some(_), Some(_)) => "update",
        (Some(_), None) => "delete",
        (None, None) => "none",
    };
    let time = clearance_core::store::now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    tracing::info!(
        target: TARGET,
        time = %time,
        action,
        actor = ctx.actor().unwrap_or("anonymous"),
        user_id = id.as_str(),
        before = %view(before),
        after = %view(after),
        version = after.map(|u| u.version),
        request_id = ctx.request_id.as_str(),
        "permissions changed"
    );
}
