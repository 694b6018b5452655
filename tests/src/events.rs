//! Event fixtures: real event JSON files (API Gateway, Cognito), kept in each crate's
//! `tests/events/` beside the tests that use them.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where a crate keeps its event fixtures, relative to the crate's directory.
pub const DIR: &str = "tests/events";

/// The path of the fixture `name` of the crate in `crate_dir` (pass `env!("CARGO_MANIFEST_DIR")`).
pub fn path(crate_dir: impl AsRef<Path>, name: &str) -> PathBuf {
    crate_dir.as_ref().join(DIR).join(name)
}

/// The fixture `name` of the crate in `crate_dir`, as text (for fixtures with placeholders).
pub fn text(crate_dir: impl AsRef<Path>, name: &str) -> String {
    let path = path(crate_dir, name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixture `name` of the crate in `crate_dir`, as JSON.
pub fn read(crate_dir: impl AsRef<Path>, name: &str) -> Value {
    let text = text(crate_dir, name);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}
