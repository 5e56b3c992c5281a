//! Logging: JSON lines (or pretty text) through `tracing`.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Installs the global subscriber. `filter` is an `EnvFilter` directive such
/// as `info`; an invalid one falls back to `info` with a warning.
pub fn init(format: LogFormat, filter: &str) {
    let (env_filter, invalid) = match EnvFilter::try_new(filter) {
        Ok(env_filter) => (env_filter, None),
        Err(error) => (EnvFilter::new("info"), Some(error)),
    };
    let registry = tracing_subscriber::registry().with(env_filter);
    let installed = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    };
    if installed.is_err() {
        // A subscriber already exists (tests build several apps); keep it.
        return;
    }
    if let Some(error) = invalid {
        tracing::warn!(filter, %error, "LOG_LEVEL is invalid, logging at info");
    }
}
