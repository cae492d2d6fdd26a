//! What each call adds to its org's totals, kept per day, campaign, status and currency so the
//! org's figures (`GET /api/v1/metrics`, `metrics:updated`) are read from a few rows per day
//! instead of from every call: when a call changes, its old share is taken out and its new one
//! put in, in the same commit. Pure functions, table-tested.

use super::call::Call;
use super::time::to_text;

/// Day, campaign, status and currency: which totals row a share counts in, within its org.
pub type TallyKey<'a> = (&'a str, &'a str, &'static str, &'a str);

/// One call's share of its org's totals, under the key it counts in (or the change of a share).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// The call's creation day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Empty for a call of no campaign.
    pub campaign_id: String,
    pub status: &'static str,
    /// Empty while the call has no cost.
    pub currency: String,
    pub calls: i64,
    pub answered: i64,
    /// The talk of answered calls (an unanswered call has none, whatever a provider reported).
    pub talk_s: i64,
    /// Calls answered with a known talk time.
    pub talked: i64,
    /// Calls with a cost, and their costs in millionths.
    pub priced: i64,
    pub cost_micros: i64,
    pub billed_s: i64,
}

impl Tally {
    /// The share of one call.
    pub fn of(call: &Call) -> Tally {
        let answered = call.answered_at.is_some();
        let talk_s = call.talk_s().filter(|_| answered);
        Tally {
            day: to_text(call.created_at)[..10].to_owned(),
            campaign_id: call.campaign_id.clone().unwrap_or_default(),
            status: call.status.as_str(),
            currency: call.currency.clone().unwrap_or_default(),
            calls: 1,
            answered: i64::from(answered),
            talk_s: talk_s.unwrap_or(0),
            talked: i64::from(answered && talk_s.is_some()),
            priced: i64::from(call.cost.is_some()),
            cost_micros: call.cost.map_or(0, |c| c.micros()),
            billed_s: call.billed_s.unwrap_or(0),
        }
    }

    /// The totals row it counts in, within its org.
    pub fn key(&self) -> TallyKey<'_> {
        (&self.day, &self.campaign_id, self.status, &self.currency)
    }

    fn same_key(&self, other: &Tally) -> bool {
        self.key() == other.key()
    }

    fn negated(mut self) -> Tally {
        for n in [
            &mut self.calls,
            &mut self.answered,
            &mut self.talk_s,
            &mut self.talked,
            &mut self.priced,
            &mut self.cost_micros,
            &mut self.billed_s,
        ] {
            *n = -*n;
        }
        self
    }

    /// Adds another change under the same key.
    pub fn add(&mut self, other: &Tally) {
        self.calls += other.calls;
        self.answered += other.answered;
        self.talk_s += other.talk_s;
        self.talked += other.talked;
        self.priced += other.priced;
        self.cost_micros += other.cost_micros;
        self.billed_s += other.billed_s;
    }

    fn is_zero(&self) -> bool {
        [
            self.calls,
            self.answered,
            self.talk_s,
            self.talked,
            self.priced,
            self.cost_micros,
            self.billed_s,
        ] == [0; 7]
    }
}

/// How the totals change when a call goes from `before` (None: not stored yet) to `after`: its old
/// share out, its new share in — one change when the key stays, none when nothing moved.
pub fn change(before: Option<&Call>, after: &Call) -> Vec<Tally> {
    let new = Tally::of(after);
    let Some(before) = before else {
        return vec![new];
    };
    let old = Tally::of(before).negated();
    if old.same_key(&new) {
        let mut delta = new;
        delta.add(&old);
        return if delta.is_zero() {
            Vec::new()
        } else {
            vec![delta]
        };
    }
    vec![old, new]
}

/// Answered ÷ finished calls (CONTRACT.md, "What the figures mean": live calls are in neither
/// term); 0 before any call finished.
pub fn answer_rate(answered: u64, finished: u64) -> f64 {
    if finished > 0 {
        answered as f64 / finished as f64
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::{CallStatus, Direction};
    use crate::domain::ids::{CallId, OrgId};
    use crate::domain::money::Money;
    use chrono::{Duration, TimeZone, Utc};

    fn call() -> Call {
        let at = Utc.with_ymd_and_hms(2025, 3, 4, 23, 59, 30).unwrap();
        Call::new(
            CallId::generate(),
            OrgId::generate(),
            "twilio",
            None,
            Direction::Outbound,
            at,
        )
    }

    #[test]
    fn a_calls_share_moves_with_it() {
        let ringing = {
            let mut c = call();
            c.status = CallStatus::Ringing;
            c
        };
        let done = {
            let mut c = ringing.clone();
            c.status = CallStatus::Completed;
            c.answered_at = Some(c.created_at + Duration::seconds(5));
            c.ended_at = Some(c.created_at + Duration::seconds(66));
            c.billed_s = Some(120);
            c.cost = Money::parse("0.026");
            c.currency = Some("USD".into());
            c
        };
        // New: one call under its key.
        let first = change(None, &ringing);
        assert_eq!(
            (first.len(), first[0].calls, first[0].status),
            (1, 1, "ringing")
        );
        assert_eq!(first[0].day, "2025-03-04");
        // Nothing moved: no change.
        assert_eq!(change(Some(&ringing), &ringing), Vec::new());
        // Status and currency move: out of the old key, into the new one.
        let moved = change(Some(&ringing), &done);
        assert_eq!(moved.len(), 2);
        assert_eq!((moved[0].status, moved[0].calls), ("ringing", -1));
        assert_eq!(
            (
                moved[1].status,
                moved[1].currency.as_str(),
                moved[1].calls,
                moved[1].answered
            ),
            ("completed", "USD", 1, 1)
        );
        assert_eq!(
            (moved[1].talk_s, moved[1].billed_s, moved[1].cost_micros),
            (61, 120, 26_000)
        );
        // A late price under the same key: only the difference.
        let mut repriced = done.clone();
        repriced.cost = Money::parse("0.017");
        let late = change(Some(&done), &repriced);
        assert_eq!(
            (late.len(), late[0].calls, late[0].cost_micros),
            (1, 0, -9_000)
        );
        // Summed, the changes are the final share.
        let mut total = first[0].clone();
        for step in [&moved[0], &moved[1], &late[0]] {
            if step.same_key(&total) {
                total.add(step);
            }
        }
        assert_eq!(total.calls, 0, "ringing's share left with the status");
    }

    #[test]
    fn only_an_answered_call_adds_talk() {
        // A provider's talk figure on a call nobody answered (a `completed` whose answer never
        // came) is billed, not talk: average talk is the talk of answered calls.
        let mut unanswered = call();
        unanswered.status = CallStatus::Completed;
        unanswered.reported_talk_s = Some(40);
        unanswered.billed_s = Some(40);
        assert_eq!(
            unanswered.talk_s(),
            Some(40),
            "the call itself keeps the figure"
        );
        let share = Tally::of(&unanswered);
        assert_eq!(
            (share.answered, share.talk_s, share.talked, share.billed_s),
            (0, 0, 0, 40)
        );
        let mut answered = unanswered.clone();
        answered.answered_at = Some(answered.created_at);
        let share = Tally::of(&answered);
        assert_eq!((share.answered, share.talk_s, share.talked), (1, 40, 1));
    }
}
