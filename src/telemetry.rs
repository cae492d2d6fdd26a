//! Structured logs with tracing; `RUST_LOG` picks what is shown.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once (later calls, e.g. from tests, are ignored).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr, so command output (e.g. `org create`) stays clean JSON on stdout.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
