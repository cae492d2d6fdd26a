//! The ground truth of a simulated floor: what really happened to every call, kept by the
//! simulators from their own choices — whether the person picked up, how long they talked, whether
//! a caller gave up on hold — and never from the engine's state machines or figures (a truth
//! computed by the engine's own functions would agree with any bug in them). The figures here are
//! counted the way CONTRACT.md defines them ("What the figures mean"), written again on purpose.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// Its last event was sent and acknowledged (or deliberately lost).
    pub ended: bool,
    /// A person picked up (the callee, the extension, or the agent for a queued caller).
    pub answered: bool,
    /// Seconds the parties talked (0 when nobody answered).
    pub talk_s: f64,
    pub wait: Option<Wait>,
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

    /// A call began (its first event is about to be sent).
    pub fn began(&self, id: &str, line: Line) {
        let call = TrueCall {
            line,
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
            call.wait = wait;
        }
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
                _ => {}
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
            truth.began(id, Line::Queue);
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
