//! Tracing setup: human-readable text on a terminal, JSON on Lambda or when asked (the set-up
//! every Clearance binary shares, `clearance_core::telemetry`).

use crate::config::LogFormat;

/// Installs the global subscriber. `RUST_LOG` overrides the default filter (`info`).
pub fn init(format: LogFormat) {
    clearance_core::telemetry::init(match format {
        LogFormat::Json => clearance_core::telemetry::LogFormat::Json,
        LogFormat::Text => clearance_core::telemetry::LogFormat::Text,
    });
}
