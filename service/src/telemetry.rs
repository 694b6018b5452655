//! Logging and metrics set-up (the set-up every Clearance binary shares,
//! `clearance_core::telemetry`): human-readable text on a terminal, JSON on Lambda or when asked;
//! Prometheus metrics for the server, written by a non-blocking writer; CloudWatch EMF lines and
//! a blocking writer under Lambda.

use crate::config::LogFormat;

/// Installs the metrics recorder (EMF on Lambda, Prometheus otherwise) and then the global
/// subscriber; `RUST_LOG` overrides the default filter (`info`). The recorder comes first: the
/// cache and the router register their metric handles when they are built. Hold the guard for the
/// life of the process (`None` on Lambda, whose writer blocks).
pub fn init(format: LogFormat, on_lambda: bool) -> Option<clearance_core::telemetry::LogGuard> {
    let format = match format {
        LogFormat::Json => clearance_core::telemetry::LogFormat::Json,
        LogFormat::Text => clearance_core::telemetry::LogFormat::Text,
    };
    if on_lambda {
        clearance_core::telemetry::install_emf();
        clearance_core::telemetry::init(format);
        None
    } else {
        clearance_core::telemetry::prometheus();
        Some(clearance_core::telemetry::init_non_blocking(format))
    }
}

/// Makes sure a metrics recorder is installed before anything registers its handles: the one
/// [`init`] installed, or else (a test that builds the state itself) the Prometheus recorder.
/// Called where state is built; cheap after the first call.
pub fn metrics_recorder() {
    clearance_core::telemetry::prometheus();
}
