//! Process-wide counters, exported at `GET /metrics` in Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A monotonically increasing count.
pub struct Counter(AtomicU64);

impl Counter {
    const fn new() -> Self {
        Counter(AtomicU64::new(0))
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
pub struct Gauge(AtomicI64);

impl Gauge {
    const fn new() -> Self {
        Gauge(AtomicI64::new(0))
    }
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

pub static WEBHOOKS_ACCEPTED: Counter = Counter::new();
pub static WEBHOOKS_DUPLICATE: Counter = Counter::new();
pub static WEBHOOKS_REJECTED: Counter = Counter::new();
pub static WEBHOOKS_SHED: Counter = Counter::new();
pub static WRITER_TRANSACTIONS: Counter = Counter::new();
pub static WRITER_REQUESTS: Counter = Counter::new();
pub static WRITER_FAILURES: Counter = Counter::new();
pub static EVENTS_PUBLISHED: Counter = Counter::new();
pub static WS_SLOW_CONSUMERS: Counter = Counter::new();
pub static CALL_ACTORS: Gauge = Gauge::new();
pub static WS_SESSIONS: Gauge = Gauge::new();

/// Everything above in Prometheus text exposition format.
pub fn render() -> String {
    let counters: [(&str, &str, &Counter); 9] = [
        (
            "switchboard_webhooks_accepted_total",
            "Webhooks stored and applied.",
            &WEBHOOKS_ACCEPTED,
        ),
        (
            "switchboard_webhooks_duplicate_total",
            "Webhooks answered as duplicates, with no effect.",
            &WEBHOOKS_DUPLICATE,
        ),
        (
            "switchboard_webhooks_rejected_total",
            "Webhooks refused (signature, token, body).",
            &WEBHOOKS_REJECTED,
        ),
        (
            "switchboard_webhooks_shed_total",
            "Webhooks answered 503 overloaded (too many in flight), for the provider to retry.",
            &WEBHOOKS_SHED,
        ),
        (
            "switchboard_writer_transactions_total",
            "Transactions the writer committed.",
            &WRITER_TRANSACTIONS,
        ),
        (
            "switchboard_writer_requests_total",
            "Write requests committed (many per transaction).",
            &WRITER_REQUESTS,
        ),
        (
            "switchboard_writer_failures_total",
            "Write requests that failed.",
            &WRITER_FAILURES,
        ),
        (
            "switchboard_events_published_total",
            "Committed events handed to org hubs.",
            &EVENTS_PUBLISHED,
        ),
        (
            "switchboard_ws_slow_consumers_total",
            "Dashboard sessions dropped for not keeping up.",
            &WS_SLOW_CONSUMERS,
        ),
    ];
    let gauges: [(&str, &str, &Gauge); 2] = [
        (
            "switchboard_call_actors",
            "Call actors alive.",
            &CALL_ACTORS,
        ),
        (
            "switchboard_ws_sessions",
            "Dashboard WebSocket sessions connected.",
            &WS_SESSIONS,
        ),
    ];
    let mut out = String::new();
    for (name, help, counter) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            counter.get()
        );
    }
    for (name, help, gauge) in gauges {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}",
            gauge.get()
        );
    }
    out
}
