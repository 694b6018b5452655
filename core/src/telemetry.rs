//! Logging and metrics set-up shared by every Clearance binary (the permissions API, the Lambdas,
//! the example service).
//!
//! - **Logs**: `RUST_LOG` or `info`, human-readable text on a terminal and one JSON object per line
//!   on Lambda (CloudWatch parses it), with the current span's fields. A server takes
//!   [`init_non_blocking`]: lines are handed to a writer thread that writes them in batches, so no
//!   request waits on stdout; a Lambda keeps the blocking writer ([`init`]), since its sandbox may
//!   be frozen as soon as the answer is sent.
//! - **Metrics** (named in [`crate::metrics`]): the server renders them as Prometheus text
//!   ([`prometheus`], feature `prometheus`); a Lambda writes them as CloudWatch Embedded Metric
//!   Format lines to stdout after each invocation ([`install_emf`], [`flush_emf`]), which
//!   CloudWatch turns into metrics with no agent.

use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Whether this process runs under the AWS Lambda runtime (which sets `AWS_LAMBDA_RUNTIME_API`).
pub fn on_lambda(lookup: impl Fn(&str) -> Option<String>) -> bool {
    lookup("AWS_LAMBDA_RUNTIME_API").is_some_and(|v| !v.is_empty())
}

/// The format for this process unless one is asked for: JSON on Lambda, text elsewhere.
pub fn default_format() -> LogFormat {
    if on_lambda(|k| std::env::var(k).ok()) {
        LogFormat::Json
    } else {
        LogFormat::Text
    }
}

/// The format of the subscriber this module installed, if it installed the global one.
static INSTALLED: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

/// The log format of the global subscriber, when [`init`], [`init_quieting`] or
/// [`init_non_blocking`] installed it (`None` when another subscriber, e.g. a test's, was there
/// first). Code that writes its own lines to stdout in the same format (the service's access log)
/// does so only then; otherwise it logs through `tracing`, to whatever subscriber is installed.
pub fn installed_format() -> Option<LogFormat> {
    INSTALLED.get().copied()
}

fn installed(format: LogFormat, result: Result<(), tracing_subscriber::util::TryInitError>) {
    if result.is_ok() {
        let _ = INSTALLED.set(format);
    }
}

/// Installs the global subscriber (a subscriber already installed, e.g. by a test, is kept).
pub fn init(format: LogFormat) {
    init_quieting(format, &[]);
}

/// Keeps the non-blocking log writer running; dropping it writes out the lines still queued.
/// Hold it in `main` for the life of the process.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard(#[allow(dead_code)] tracing_appender::non_blocking::WorkerGuard);

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogGuard")
    }
}

/// Lines queued for the writer thread before new ones are dropped (and counted) rather than make a
/// request wait: at 100 k lines/s this is over a second of slack.
const QUEUED_LINES: usize = 128 * 1024;

/// Like [`init`], for a long-running server: every line is formatted where it is logged but
/// written by a writer thread, which takes all the lines queued at once and writes them in one
/// go (a buffered stdout flushed when the queue is empty). When the queue is full, lines are
/// dropped rather than block a request.
pub fn init_non_blocking(format: LogFormat) -> LogGuard {
    let stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(QUEUED_LINES)
        .lossy(true)
        .thread_name("clearance-log-writer")
        .finish(stdout);
    install(format, writer, false, ExpectedHandlerErrors(&[]));
    LogGuard(guard)
}

/// The Prometheus recorder's handle, installing the recorder as the global one on first call
/// (with the descriptions from [`crate::metrics::describe`], latency buckets from 100 µs to 10 s,
/// and a thread that drains histogram samples every few seconds). If another recorder was
/// installed first (EMF on Lambda, say), the handle renders nothing but is still safe to use.
#[cfg(feature = "prometheus")]
pub fn prometheus() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    use std::sync::OnceLock;
    static HANDLE: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(&LATENCY_BUCKETS)
            .expect("the latency buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_ok() {
            crate::metrics::describe();
            let upkeep = handle.clone();
            // Histograms keep their samples until upkeep folds them into the buckets.
            let _ = std::thread::Builder::new()
                .name("clearance-metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(std::time::Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                });
        }
        handle
    })
}

/// Histogram buckets for latencies, seconds.
#[cfg(feature = "prometheus")]
const LATENCY_BUCKETS: [f64; 15] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0,
];

/// The CloudWatch Embedded Metric Format collector, once installed.
static EMF: std::sync::OnceLock<&'static metrics_cloudwatch_embedded::Collector> =
    std::sync::OnceLock::new();

/// The CloudWatch namespace of Clearance's metrics.
pub const CLOUDWATCH_NAMESPACE: &str = "Clearance";

/// Installs the CloudWatch Embedded Metric Format recorder as the global one, with the
/// function's name (`AWS_LAMBDA_FUNCTION_NAME`) as a dimension of every metric. Call it first
/// thing in a Lambda's `main`, and [`flush_emf`] after each invocation. Does nothing if a
/// recorder is installed already.
pub fn install_emf() {
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let mut builder =
        metrics_cloudwatch_embedded::Builder::new().cloudwatch_namespace(CLOUDWATCH_NAMESPACE);
    if !function.is_empty() {
        builder = builder.with_dimension("function", function);
    }
    if let Ok(collector) = builder.init() {
        crate::metrics::describe();
        let _ = EMF.set(collector);
    }
}

/// Writes the figures gathered since the last flush as EMF lines to stdout (where CloudWatch
/// Logs picks them up), if [`install_emf`] installed the recorder; otherwise does nothing.
pub fn flush_emf() {
    if let Some(collector) = EMF.get() {
        let _ = collector.flush(std::io::stdout().lock());
    }
}

/// Like [`init`], but drops the ERROR line the Lambda runtime writes for a handler error whose
/// message is one of `expected_handler_errors`: an outcome the handler expects and logs itself
/// (the authorizer's `Unauthorized`, which API Gateway needs as an error to answer 401), not an
/// error that should page someone. Every other error, and every panic, is kept.
pub fn init_quieting(format: LogFormat, expected_handler_errors: &'static [&'static str]) {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let quiet = ExpectedHandlerErrors(expected_handler_errors);
    install(format, std::io::stdout, ansi, quiet);
}

/// Installs the global subscriber: `RUST_LOG` (else `info`) lines in `format` to `writer` (text
/// coloured only if `ansi`), less what `quiet` drops.
fn install<W>(format: LogFormat, writer: W, ansi: bool, quiet: ExpectedHandlerErrors)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    let result = match format {
        LogFormat::Json => registry
            .with(
                layer
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_filter(quiet),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(layer.with_ansi(ansi).with_filter(quiet))
            .try_init(),
    };
    installed(format, result);
}

/// The filter behind [`init_quieting`].
struct ExpectedHandlerErrors(&'static [&'static str]);

impl<S> tracing_subscriber::layer::Filter<S> for ExpectedHandlerErrors {
    fn enabled(
        &self,
        _: &tracing::Metadata<'_>,
        _: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        true
    }

    fn event_enabled(
        &self,
        event: &tracing::Event<'_>,
        _: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        let meta = event.metadata();
        if self.0.is_empty()
            || *meta.level() != tracing::Level::ERROR
            || !meta.target().starts_with("lambda_runtime")
        {
            return true;
        }
        let mut message = Message(None);
        event.record(&mut message);
        !message.0.is_some_and(|m| self.0.contains(&m.as_str()))
    }
}

/// An event's message, as text.
struct Message(Option<String>);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}
