//! Logging set-up shared by every Clearance binary (the permissions API, the Lambdas, the example
//! service): `RUST_LOG` or `info`, human-readable text on a terminal and one JSON object per line
//! on Lambda (CloudWatch parses it), with the current span's fields.

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

/// Installs the global subscriber (a subscriber already installed, e.g. by a test, is kept).
pub fn init(format: LogFormat) {
    init_quieting(format, &[]);
}

/// Like [`init`], but drops the ERROR line the Lambda runtime writes for a handler error whose
/// message is one of `expected_handler_errors`: an outcome the handler expects and logs itself
/// (the authorizer's `Unauthorized`, which API Gateway needs as an error to answer 401), not an
/// error that should page someone. Every other error, and every panic, is kept.
pub fn init_quieting(format: LogFormat, expected_handler_errors: &'static [&'static str]) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let quiet = ExpectedHandlerErrors(expected_handler_errors);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_filter(quiet),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_filter(quiet))
            .try_init(),
    };
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
