//! The ground truth of a simulated floor: what really happened to every call, kept by the
//! simulators from their own choices — whether the person picked up, how long they talked, whether
//! a caller gave up on hold — and never from the engine's state machines or figures (a truth
//! computed by the engine's own functions would agree with any bug in them). The figures here are
//! counted the way CONTRACT.md defines them ("What the figures mean"), written again on purpose.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The simulators' shared record of the floor, and the switch that closes it (no new call
/// starts). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    closed: AtomicBool,
    calls: Mutex<HashMap<String, TrueCall>>,
    /// The PBX's extensions: registered or not.
    extensions: Mutex<HashMap<String, bool>>,
    /// Webhooks the engine acknowledged (2xx), duplicates included.
    acknowledged: AtomicU64,
    /// Webhooks the engine refused (5xx) past their sender's retries: neither the PBX nor
    /// Twilio sends them again.
    given_up: AtomicU64,
    /// Deliveries the engine answered `accepted`, by the engine's call id it named.
    accepted: Mutex<HashMap<String, u32>>,
    /// When the last webhook of each call (by provider id) was sent, until the dashboard shows
    /// the call again; and how long that took, each time.
    sent: Mutex<HashMap<String, Instant>>,
    latencies: Mutex<Vec<Duration>>,
}

/// Where a call came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Line {
    /// The office PBX: inbound to an extension, an extension calling out, or internal.
    Pbx,
    /// A call the engine placed through the stand-in Twilio (the campaign's).
    Outbound,
    /// A caller of the org's Twilio number, held in the desk's queue.
    Queue,
}

/// How a queued caller's wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// Connected to an agent.
    Connected,
    /// The queue sent it away (its maximum wait passed).
    SentAway,
    /// It hung up on hold.
    GaveUp,
}

/// One call as it really went.
#[derive(Debug, Clone)]
pub struct TrueCall {
    pub line: Line,
    /// `inbound`, `outbound` or `internal`, as the provider would bill it.
    pub direction: &'static str,
    /// The number its price is looked up by: the callee of an outbound or internal call, the
    /// caller of an inbound one.
    pub priced_by: String,
    /// Seconds the provider bills: the talk, or for a caller of the Twilio number the whole call
    /// (its hold included).
    pub billable_s: f64,
    /// Its last event was sent and acknowledged (or deliberately lost).
    pub ended: bool,
    /// A person picked up (the callee, the extension, or the agent for a queued caller).
    pub answered: bool,
    /// Seconds the parties talked (0 when nobody answered).
    pub talk_s: f64,
    pub wait: Option<Wait>,
}

/// A price the org set for a kind of call (the simulated floor's rate card): per started
/// `increment_s`, at least `minimum_s` for an answered call, in millionths of the currency.
#[derive(Debug, Clone, Copy)]
pub struct TrueRate {
    pub provider: &'static str,
    pub direction: &'static str,
    pub prefix: &'static str,
    pub per_minute_micros: i64,
    pub increment_s: i64,
    pub minimum_s: i64,
}

impl TrueCall {
    /// The call's provider, as its line is billed.
    pub fn provider(&self) -> &'static str {
        match self.line {
            Line::Pbx => "yeastar",
            Line::Outbound | Line::Queue => "twilio",
        }
    }

    /// What the call costs at `rates` (millionths), as a range: providers bill whole seconds
    /// they measured themselves, within a second of the simulators' clock either way. None
    /// when no rate applies.
    pub fn cost_micros(&self, rates: &[TrueRate]) -> Option<(i64, i64)> {
        let rate = rates
            .iter()
            .filter(|r| r.provider == self.provider() && r.direction == self.direction)
            .filter(|r| self.priced_by.starts_with(r.prefix))
            .max_by_key(|r| r.prefix.len())?;
        let price = |seconds: f64| {
            let whole = seconds.max(0.0).ceil() as i64;
            if whole == 0 {
                return 0;
            }
            let increment = rate.increment_s.max(1);
            let billed = (whole + increment - 1) / increment * increment;
            rate.per_minute_micros * billed.max(rate.minimum_s) / 60
        };
        if !self.answered && self.billable_s == 0.0 {
            return Some((0, 0));
        }
        Some((price(self.billable_s - 1.0), price(self.billable_s + 1.0)))
    }
}

/// The floor's figures, counted from [`TrueCall`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TrueFigures {
    pub calls: u64,
    /// Calls still going on.
    pub live: u64,
    pub answered: u64,
    pub answer_rate: f64,
    pub average_talk_s: f64,
    /// Queued callers who hung up on hold, and those the queue sent away.
    pub abandoned: u64,
    pub sent_away: u64,
    /// Callers of the queue's number whose voice webhook the engine could not take (after the
    /// provider's retries): the provider answered with its application error and hung up.
    pub voice_refused: u64,
}

impl Truth {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether new calls may still start.
    pub fn is_open(&self) -> bool {
        !self.inner.closed.load(Ordering::Acquire)
    }

    /// No new call starts from now on; calls under way go on to their end.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
    }

    /// A call began (its first event is about to be sent): its line, its direction and the
    /// number it is priced by.
    pub fn began(&self, id: &str, line: Line, direction: &'static str, priced_by: &str) {
        let call = TrueCall {
            line,
            direction,
            priced_by: priced_by.to_owned(),
            billable_s: 0.0,
            ended: false,
            answered: false,
            talk_s: 0.0,
            wait: None,
        };
        self.calls().insert(id.to_owned(), call);
    }

    /// The call ended as it did; `talk` only counts when someone answered.
    pub fn ended(&self, id: &str, answered: bool, talk: Duration, wait: Option<Wait>) {
        if let Some(call) = self.calls().get_mut(id) {
            call.ended = true;
            call.answered = answered;
            call.talk_s = if answered { talk.as_secs_f64() } else { 0.0 };
            call.billable_s = call.talk_s;
            call.wait = wait;
        }
    }

    /// The provider bills the call's whole length (a caller held in a queue, then talking).
    pub fn billed_whole_call(&self, id: &str, length: Duration) {
        if let Some(call) = self.calls().get_mut(id) {
            call.billable_s = length.as_secs_f64();
        }
    }

    /// A webhook of call `id` (the provider's id) is being sent: the dashboard's latency is
    /// timed from now until it shows the call again.
    pub fn sending(&self, id: &str) {
        lock(&self.inner.sent).insert(id.to_owned(), Instant::now());
    }

    /// The engine answered a webhook with a 2xx and this body (`{"status","call_id"?}`).
    pub fn acknowledged(&self, answer: &serde_json::Value) {
        self.inner.acknowledged.fetch_add(1, Ordering::Relaxed);
        if let ("accepted", Some(call_id)) = (
            answer["status"].as_str().unwrap_or_default(),
            answer["call_id"].as_str(),
        ) {
            *lock(&self.inner.accepted)
                .entry(call_id.to_owned())
                .or_default() += 1;
        }
    }

    /// The engine refused a webhook (a 5xx) and its sender will not send it again.
    pub fn given_up(&self) {
        self.inner.given_up.fetch_add(1, Ordering::Relaxed);
    }

    /// Webhooks given up so far.
    pub fn given_up_count(&self) -> u64 {
        self.inner.given_up.load(Ordering::Relaxed)
    }

    /// Webhooks acknowledged so far.
    pub fn acknowledged_count(&self) -> u64 {
        self.inner.acknowledged.load(Ordering::Relaxed)
    }

    /// Deliveries answered `accepted`, by the engine's call id.
    pub fn accepted(&self) -> HashMap<String, u32> {
        lock(&self.inner.accepted).clone()
    }

    /// The dashboard showed call `id` (the provider's id): the time since its last webhook was
    /// sent is one latency (once per webhook).
    pub fn shown(&self, id: &str) {
        if let Some(sent) = lock(&self.inner.sent).remove(id) {
            lock(&self.inner.latencies).push(sent.elapsed());
        }
    }

    /// The `q`-quantile (0–1) of the webhook → dashboard latencies so far, and their count.
    pub fn latency(&self, q: f64) -> (Option<Duration>, usize) {
        let mut all = lock(&self.inner.latencies).clone();
        all.sort_unstable();
        let at = ((all.len() as f64 * q).ceil() as usize).saturating_sub(1);
        (all.get(at).copied(), all.len())
    }

    /// A PBX extension registered (or not).
    pub fn registered(&self, number: &str, online: bool) {
        lock(&self.inner.extensions).insert(number.to_owned(), online);
    }

    /// The PBX's extensions and whether each is registered.
    pub fn extensions(&self) -> HashMap<String, bool> {
        lock(&self.inner.extensions).clone()
    }

    /// Every call so far, by its provider's id.
    pub fn all(&self) -> HashMap<String, TrueCall> {
        self.calls().clone()
    }

    /// Calls that have not ended yet.
    pub fn live(&self) -> usize {
        self.calls().values().filter(|c| !c.ended).count()
    }

    /// The figures over every call so far.
    pub fn figures(&self) -> TrueFigures {
        let calls = self.calls();
        let mut figures = TrueFigures {
            calls: calls.len() as u64,
            ..TrueFigures::default()
        };
        let (mut finished, mut talk_s) = (0u64, 0.0);
        for call in calls.values() {
            if !call.ended {
                figures.live += 1;
                continue;
            }
            finished += 1;
            if call.answered {
                figures.answered += 1;
                talk_s += call.talk_s;
            }
            match call.wait {
                Some(Wait::GaveUp) => figures.abandoned += 1,
                Some(Wait::SentAway) => figures.sent_away += 1,
                Some(Wait::Connected) => {}
                None if call.line == Line::Queue => figures.voice_refused += 1,
                None => {}
            }
        }
        if finished > 0 {
            figures.answer_rate = figures.answered as f64 / finished as f64;
        }
        if figures.answered > 0 {
            figures.average_talk_s = talk_s / figures.answered as f64;
        }
        figures
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<String, TrueCall>> {
        lock(&self.inner.calls)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_count_finished_calls_and_talk_of_answered_ones() {
        let truth = Truth::new();
        for id in ["a", "b", "c", "d"] {
            truth.began(id, Line::Queue, "inbound", "+15550000000");
        }
        truth.ended("a", true, Duration::from_secs(30), Some(Wait::Connected));
        truth.ended("b", true, Duration::from_secs(60), None);
        truth.ended("c", false, Duration::from_secs(99), Some(Wait::GaveUp));
        let figures = truth.figures();
        assert_eq!((figures.calls, figures.live, figures.answered), (4, 1, 2));
        assert!(
            (figures.answer_rate - 2.0 / 3.0).abs() < 1e-9,
            "live calls in neither term"
        );
        assert_eq!(
            figures.average_talk_s, 45.0,
            "an unanswered call's time is not talk"
        );
        assert_eq!((figures.abandoned, figures.sent_away), (1, 0));
        assert!(truth.is_open());
        truth.close();
        assert!(!truth.is_open());
    }
}
