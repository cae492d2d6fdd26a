//! Process-wide metrics, exported at `GET /metrics` in the Prometheus text format (OpenMetrics) by
//! `prometheus-client`. Every label value is a word from a short, fixed list — a provider, a
//! result, a kind of actor — never an org id, a call id or a phone number, so the series stay few
//! however many orgs and calls there are.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;

/// A provider (`twilio`, …, `yeastar`, `analytics`; `other` for a path that names none) and what
/// became of the request or call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub provider: &'static str,
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabel {
    pub provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every series the engine exports.
pub struct Metrics {
    registry: Registry,
    /// Webhooks by provider and result: `accepted`, `duplicate`, `rejected` (4xx), `shed` (503
    /// overloaded), `failed` (other 5xx).
    pub webhooks: Family<Outcome, Counter>,
    /// Time from a webhook's arrival to its answer, by provider.
    pub webhook_seconds: Histograms<ProviderLabel>,
    pub events_committed: Counter,
    pub writer_transactions: Counter,
    pub writer_requests: Counter,
    pub writer_failures: Counter,
    /// Requests per committed transaction.
    pub writer_batch_size: Histogram,
    /// One transaction, from its first statement to its commit.
    pub writer_commit_seconds: Histogram,
    /// Actors alive by kind: `call`, `campaign`, `extension`.
    pub actors: Family<KindLabel, Gauge>,
    pub ws_sessions: Gauge,
    pub ws_slow_consumers: Counter,
    /// Campaign dials by provider and outcome: `placed`, `refused`, `do_not_call`, `no_credits`,
    /// `failed`.
    pub campaign_dials: Family<Outcome, Counter>,
    /// Requests to the providers' APIs by provider and result: `ok`, `error`.
    pub provider_api: Family<Outcome, Counter>,
    /// The agent desk's offers by what became of them: `offered`, `accepted`, `rejected`,
    /// `connect_failed` (an accepted caller the provider could not move), `overflowed` (a caller
    /// past the maximum wait with nowhere else to go).
    pub desk_offers: Family<ResultLabel, Counter>,
    /// Resyncs with a PBX's state API by result: `ok`, `failed` (its API failed or could not be
    /// read; nothing changed).
    pub pbx_resyncs: Family<ResultLabel, Counter>,
}

fn response_histogram() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let metrics = Metrics {
            webhooks: Family::default(),
            webhook_seconds: Family::new_with_constructor(response_histogram),
            events_committed: Counter::default(),
            writer_transactions: Counter::default(),
            writer_requests: Counter::default(),
            writer_failures: Counter::default(),
            writer_batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
            writer_commit_seconds: response_histogram(),
            actors: Family::default(),
            ws_sessions: Gauge::default(),
            ws_slow_consumers: Counter::default(),
            campaign_dials: Family::default(),
            provider_api: Family::default(),
            desk_offers: Family::default(),
            pbx_resyncs: Family::default(),
            registry: Registry::default(),
        };
        let m = &metrics;
        registry.register(
            "webhooks",
            "Webhooks by provider and result",
            m.webhooks.clone(),
        );
        registry.register(
            "webhook_response_seconds",
            "Time from a webhook's arrival to its answer",
            m.webhook_seconds.clone(),
        );
        registry.register(
            "events_committed",
            "Org events committed and handed to the dashboards",
            m.events_committed.clone(),
        );
        registry.register(
            "writer_transactions",
            "Transactions the writer committed",
            m.writer_transactions.clone(),
        );
        registry.register(
            "writer_requests",
            "Write requests committed (many per transaction)",
            m.writer_requests.clone(),
        );
        registry.register(
            "writer_failures",
            "Write requests that could not be stored",
            m.writer_failures.clone(),
        );
        registry.register(
            "writer_batch_size",
            "Requests per committed transaction",
            m.writer_batch_size.clone(),
        );
        registry.register(
            "writer_commit_seconds",
            "One transaction of the writer, first statement to commit",
            m.writer_commit_seconds.clone(),
        );
        registry.register("actors", "Actors alive, by kind", m.actors.clone());
        registry.register(
            "ws_sessions",
            "Dashboard WebSocket sessions connected",
            m.ws_sessions.clone(),
        );
        registry.register(
            "ws_slow_consumers",
            "Dashboard sessions dropped for not keeping up",
            m.ws_slow_consumers.clone(),
        );
        registry.register(
            "campaign_dials",
            "Campaign dials by provider and outcome",
            m.campaign_dials.clone(),
        );
        registry.register(
            "provider_api_requests",
            "Requests to the providers' APIs by provider and result",
            m.provider_api.clone(),
        );
        registry.register(
            "desk_offers",
            "The agent desk's offers by result",
            m.desk_offers.clone(),
        );
        registry.register(
            "pbx_resyncs",
            "Resyncs with a PBX's state API by result",
            m.pbx_resyncs.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// A webhook's result, by the provider its path names.
    pub fn webhook(&self, provider: &'static str, result: &'static str) {
        self.webhooks
            .get_or_create(&Outcome { provider, result })
            .inc();
    }

    /// An actor of `kind` started (`+1`) or stopped (`-1`).
    pub fn actor(&self, kind: &'static str, change: i64) {
        self.actors
            .get_or_create(&KindLabel { kind })
            .inc_by(change);
    }

    /// A request to a provider's API and whether it was answered.
    pub fn provider_api(&self, provider: &'static str, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.provider_api
            .get_or_create(&Outcome { provider, result })
            .inc();
    }

    /// A campaign's dial and how it ended.
    pub fn campaign_dial(&self, provider: &'static str, result: &'static str) {
        self.campaign_dials
            .get_or_create(&Outcome { provider, result })
            .inc();
    }

    /// One of the agent desk's offers, and what became of it.
    pub fn pbx_resync(&self, result: &'static str) {
        self.pbx_resyncs
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    pub fn desk_offer(&self, result: &'static str) {
        self.desk_offers
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    /// Everything in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// `GET /metrics`'s content type.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_rendered_with_their_labels() {
        let metrics = Metrics::new();
        metrics.webhook("twilio", "accepted");
        metrics.webhook("twilio", "accepted");
        metrics.actor("call", 1);
        metrics.writer_batch_size.observe(3.0);
        let text = metrics.render();
        assert!(
            text.contains("switchboard_webhooks_total{provider=\"twilio\",result=\"accepted\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("switchboard_actors{kind=\"call\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("switchboard_writer_batch_size_bucket{le=\"4.0\"} 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
