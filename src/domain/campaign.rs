//! Campaigns: their status words, each contact's progress through its attempts, calling windows,
//! and the seed's progress buckets. Plain data and plain functions.

use super::call::CallStatus;
use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where a campaign is (CONTRACT.md spells `cancelled` for campaigns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    Pending,
    Running,
    Paused,
    Cancelled,
    Completed,
    Failed,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Cancelled => "cancelled",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Running,
            Self::Paused,
            Self::Cancelled,
            Self::Completed,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == word)
    }
}

/// Where one contact of a campaign is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactStatus {
    Pending,
    Dialing,
    InCall,
    Done,
    Failed,
    RetryScheduled,
    Skipped,
}

impl ContactStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Dialing => "dialing",
            Self::InCall => "in_call",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::RetryScheduled => "retry_scheduled",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Dialing,
            Self::InCall,
            Self::Done,
            Self::Failed,
            Self::RetryScheduled,
            Self::Skipped,
        ]
        .into_iter()
        .find(|s| s.as_str() == word)
    }

    /// Still to be dialed or in the middle of it: the campaign is not over while any is.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Pending | Self::Dialing | Self::InCall | Self::RetryScheduled
        )
    }
}

/// How a campaign retries: after its delay up to its attempts, unless a recycling rule for the
/// outcome says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub retry_delay: Duration,
    pub recycle: Vec<super::dialer::RecycleRule>,
}

/// A contact's status after one of its calls ended with `outcome` (its `attempts`-th; the words
/// of [`super::dialer::outcome_word`]): done when the call connected; busy, no answer, failure,
/// a machine to retry and an abandoned answer are dialed again — by the outcome's recycling rule
/// (its delay, while the contact has had fewer than its `max_attempts` attempts), else after the
/// campaign's delay until its `max_attempts`; anything else (a canceled call) is not retried.
pub fn after_call(
    outcome: &str,
    attempts: u32,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
) -> (ContactStatus, Option<DateTime<Utc>>) {
    if outcome == CallStatus::Completed.as_str() {
        return (ContactStatus::Done, None);
    }
    let rule = policy.recycle.iter().find(|r| r.outcome == outcome);
    let (limit, delay) = match rule {
        Some(rule) => (
            rule.max_attempts.unwrap_or(policy.max_attempts),
            chrono::Duration::seconds(rule.after_s),
        ),
        None => (
            policy.max_attempts,
            chrono::Duration::from_std(policy.retry_delay).unwrap_or_default(),
        ),
    };
    let retried = ["busy", "no_answer", "failed", "machine", "abandoned"].contains(&outcome);
    if retried && attempts < limit {
        (ContactStatus::RetryScheduled, Some(now + delay))
    } else {
        (ContactStatus::Failed, None)
    }
}

/// Hours in which a campaign may dial, in a time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallingWindow {
    pub start: String,
    pub end: String,
    pub tz: String,
}

impl CallingWindow {
    /// Checks the window's words: `HH:MM` times and an IANA time zone.
    pub fn validate(&self) -> Result<(), String> {
        parse_hhmm(&self.start)
            .ok_or_else(|| format!("window start `{}` is not HH:MM", self.start))?;
        parse_hhmm(&self.end).ok_or_else(|| format!("window end `{}` is not HH:MM", self.end))?;
        self.tz
            .parse::<chrono_tz::Tz>()
            .map_err(|_| format!("`{}` is not a time zone (e.g. Asia/Kolkata)", self.tz))?;
        Ok(())
    }

    /// Whether `now` falls inside (a window whose end is before its start spans midnight).
    pub fn contains(&self, now: DateTime<Utc>) -> bool {
        self.contains_in(now, None)
    }

    /// Whether `now` falls inside the window's hours read in `zone` (a contact's own; the
    /// window's zone when None or not a zone).
    pub fn contains_in(&self, now: DateTime<Utc>, zone: Option<&str>) -> bool {
        let (Some(start), Some(end), Some(tz)) = (
            parse_hhmm(&self.start),
            parse_hhmm(&self.end),
            self.zone(zone),
        ) else {
            return false;
        };
        let local = now.with_timezone(&tz).time();
        if start <= end {
            local >= start && local < end
        } else {
            local >= start || local < end
        }
    }

    /// When the window is next open in `zone` (as [`CallingWindow::contains_in`] reads it):
    /// `now` when it is open, else its next start (a start that falls in a daylight-saving gap is
    /// moved past the gap). None for a window that cannot be read.
    pub fn opens_in(&self, now: DateTime<Utc>, zone: Option<&str>) -> Option<DateTime<Utc>> {
        if self.contains_in(now, zone) {
            return Some(now);
        }
        let tz = self.zone(zone)?;
        let start = parse_hhmm(&self.start)?;
        let local = now.with_timezone(&tz);
        (0..=2).find_map(|days| {
            let date = local.date_naive() + chrono::Duration::days(days);
            // The start that day; one that does not exist (a daylight-saving gap) moves past it.
            let at = (0..=2).find_map(|hours| {
                let at = date.and_time(start) + chrono::Duration::hours(hours);
                tz.from_local_datetime(&at).earliest()
            })?;
            let at = at.with_timezone(&Utc);
            (at > now).then_some(at)
        })
    }

    /// The zone the window is read in: `zone` (a contact's own) when it is one, else the window's.
    fn zone(&self, zone: Option<&str>) -> Option<chrono_tz::Tz> {
        zone.and_then(|z| z.parse::<chrono_tz::Tz>().ok())
            .or_else(|| self.tz.parse::<chrono_tz::Tz>().ok())
    }
}

fn parse_hhmm(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

/// A call that ended after a person (not a machine) answered it and was not abandoned: its
/// contact was reached, whatever another attempt of the contact says.
pub fn reached_a_person(
    status: CallStatus,
    answered: bool,
    amd: Option<&str>,
    abandoned: bool,
) -> bool {
    answered && status == CallStatus::Completed && amd != Some("machine") && !abandoned
}

/// What a campaign knows of one of its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenCall {
    pub status: CallStatus,
    /// The provider's analytics were merged in.
    pub analytics: bool,
    /// Answered by the one definition (CONTRACT.md, "What the figures mean": it has `answered_at`).
    pub answered: bool,
    /// Answering machine detection said a machine answered.
    pub machine: bool,
    /// Answered while no agent of its queue took it.
    pub abandoned: bool,
}

impl SeenCall {
    /// What answering machine detection said, as the dialer's rules read it.
    pub fn amd(&self) -> Option<&'static str> {
        self.machine.then_some("machine")
    }

    /// See [`reached_a_person`].
    pub fn reached_a_person(&self) -> bool {
        reached_a_person(self.status, self.answered, self.amd(), self.abandoned)
    }
}

/// The seed's four buckets over a campaign's calls (CONTRACT.md, progress): they add up to the
/// number of calls. Also the terms of the answer rate, which are not among the seed's keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CallCounts {
    pub processed: u64,
    pub ringing: u64,
    #[serde(rename = "call-ended")]
    pub call_ended: u64,
    pub completed: u64,
    /// Calls no longer live.
    #[serde(skip)]
    pub finished: u64,
    /// Finished calls that were answered.
    #[serde(skip)]
    pub finished_answered: u64,
}

impl CallCounts {
    /// Counts one call.
    pub fn add(&mut self, call: SeenCall, count: u64) {
        match call.status {
            CallStatus::Queued | CallStatus::Dialing => self.processed += count,
            CallStatus::Ringing | CallStatus::Answered => self.ringing += count,
            status if status.is_final() && call.analytics => self.completed += count,
            _ => self.call_ended += count,
        }
        if !call.status.is_live() {
            self.finished += count;
            if call.answered {
                self.finished_answered += count;
            }
        }
    }

    /// Answered / finished calls, as `GET /api/v1/metrics` counts them; 0 before any finished.
    pub fn answer_rate(&self) -> f64 {
        super::tally::answer_rate(self.finished_answered, self.finished)
    }

    pub fn total(&self) -> u64 {
        self.processed + self.ringing + self.call_ended + self.completed
    }
}

/// The table's text, always with its failed count: `45/100 (5 failed)`, `0/40 (0 failed)`.
pub fn display(done: u64, total: u64, failed: u64) -> String {
    format!("{done}/{total} ({failed} failed)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn only_a_person_who_answered_a_call_that_completed_is_reached() {
        use CallStatus::*;
        let table = [
            (Completed, true, None, false, true),
            (Completed, true, Some("human"), false, true),
            (Completed, true, Some("machine"), false, false),
            (Completed, true, None, true, false),
            (Completed, false, None, false, false),
            (NoAnswer, false, None, false, false),
            (Answered, true, None, false, false),
        ];
        for (status, answered, amd, abandoned, reached) in table {
            assert_eq!(
                reached_a_person(status, answered, amd, abandoned),
                reached,
                "{status:?} answered={answered} amd={amd:?} abandoned={abandoned}"
            );
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            retry_delay: Duration::from_secs(300),
            recycle: Vec::new(),
        }
    }

    #[test]
    fn outcomes_table() {
        let now = Utc.with_ymd_and_hms(2025, 3, 4, 10, 0, 0).unwrap();
        let later = Some(now + chrono::Duration::seconds(300));
        let table = [
            ("completed", 1, (ContactStatus::Done, None)),
            ("busy", 1, (ContactStatus::RetryScheduled, later)),
            ("no_answer", 2, (ContactStatus::RetryScheduled, later)),
            ("failed", 2, (ContactStatus::RetryScheduled, later)),
            ("abandoned", 1, (ContactStatus::RetryScheduled, later)),
            ("busy", 3, (ContactStatus::Failed, None)),
            ("canceled", 1, (ContactStatus::Failed, None)),
        ];
        for (outcome, attempts, expected) in table {
            assert_eq!(
                after_call(outcome, attempts, &policy(), now),
                expected,
                "{outcome} #{attempts}"
            );
        }
    }

    #[test]
    fn recycling_rules_set_their_own_delay_and_attempts() {
        use super::super::dialer::RecycleRule;
        let now = Utc.with_ymd_and_hms(2025, 3, 4, 10, 0, 0).unwrap();
        let policy = RetryPolicy {
            max_attempts: 1,
            recycle: vec![
                RecycleRule {
                    outcome: "busy".into(),
                    after_s: 600,
                    max_attempts: Some(3),
                },
                RecycleRule {
                    outcome: "no_answer".into(),
                    after_s: 7200,
                    max_attempts: None,
                },
            ],
            ..policy()
        };
        let at = |s| Some(now + chrono::Duration::seconds(s));
        assert_eq!(
            after_call("busy", 1, &policy, now),
            (ContactStatus::RetryScheduled, at(600))
        );
        assert_eq!(
            after_call("busy", 2, &policy, now),
            (ContactStatus::RetryScheduled, at(600))
        );
        assert_eq!(
            after_call("busy", 3, &policy, now),
            (ContactStatus::Failed, None)
        );
        // The campaign's own attempts (1) bound a rule without its own.
        assert_eq!(
            after_call("no_answer", 1, &policy, now),
            (ContactStatus::Failed, None)
        );
        assert_eq!(
            after_call("failed", 1, &policy, now),
            (ContactStatus::Failed, None)
        );
    }

    #[test]
    fn a_contacts_window_is_read_in_its_own_zone() {
        let window = CallingWindow {
            start: "09:00".into(),
            end: "21:00".into(),
            tz: "Asia/Kolkata".into(),
        };
        // 14:00 UTC: 19:30 in Kolkata (open), 09:00 in New York (open), 06:00 in Los Angeles.
        let now = Utc.with_ymd_and_hms(2025, 3, 4, 14, 0, 0).unwrap();
        assert!(window.contains_in(now, None));
        assert!(window.contains_in(now, Some("America/New_York")));
        assert!(!window.contains_in(now, Some("America/Los_Angeles")));
        assert!(
            window.contains_in(now, Some("not a zone")),
            "falls back to the window's"
        );
    }

    #[test]
    fn a_closed_window_says_when_it_opens() {
        let window = CallingWindow {
            start: "09:00".into(),
            end: "18:00".into(),
            tz: "Asia/Kolkata".into(),
        };
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc)
        };
        // 20:00 in Kolkata: tomorrow 09:00 IST = 03:30 UTC.
        let evening = at("2025-03-04T14:30:00Z");
        assert_eq!(
            window.opens_in(evening, None),
            Some(at("2025-03-05T03:30:00Z"))
        );
        // 07:00 in Kolkata: today 09:00.
        let morning = at("2025-03-04T01:30:00Z");
        assert_eq!(
            window.opens_in(morning, None),
            Some(at("2025-03-04T03:30:00Z"))
        );
        let open = at("2025-03-04T06:00:00Z");
        assert_eq!(window.opens_in(open, None), Some(open));
        // Read in a contact's own zone: 09:00 in New York on 4 March = 14:00 UTC.
        assert_eq!(
            window.opens_in(morning, Some("America/New_York")),
            Some(at("2025-03-04T14:00:00Z"))
        );
        // 02:30 does not exist in New York on 9 March 2025 (clocks go 02:00 → 03:00).
        let gap = CallingWindow {
            start: "02:30".into(),
            end: "05:00".into(),
            tz: "America/New_York".into(),
        };
        let before = at("2025-03-09T05:00:00Z");
        assert_eq!(gap.opens_in(before, None), Some(at("2025-03-09T07:30:00Z")));
        // A short window whose start passed today opens tomorrow, not an hour later.
        let short = CallingWindow {
            start: "09:00".into(),
            end: "09:30".into(),
            tz: "UTC".into(),
        };
        let after = at("2025-03-04T09:45:00Z");
        assert_eq!(
            short.opens_in(after, None),
            Some(at("2025-03-05T09:00:00Z"))
        );
    }

    #[test]
    fn windows_in_their_time_zone() {
        let window = CallingWindow {
            start: "09:00".into(),
            end: "21:00".into(),
            tz: "Asia/Kolkata".into(),
        };
        assert!(window.validate().is_ok());
        // 03:29 UTC = 08:59 IST; 03:30 UTC = 09:00 IST; 15:30 UTC = 21:00 IST.
        let at = |h, m| Utc.with_ymd_and_hms(2025, 3, 4, h, m, 0).unwrap();
        assert!(!window.contains(at(3, 29)));
        assert!(window.contains(at(3, 30)));
        assert!(window.contains(at(15, 29)));
        assert!(!window.contains(at(15, 30)));
        let night = CallingWindow {
            start: "22:00".into(),
            end: "02:00".into(),
            tz: "UTC".into(),
        };
        assert!(
            night.contains(at(23, 0)) && night.contains(at(1, 0)) && !night.contains(at(12, 0))
        );
        assert!(CallingWindow {
            start: "9am".into(),
            end: "21:00".into(),
            tz: "UTC".into()
        }
        .validate()
        .is_err());
        assert!(CallingWindow {
            start: "09:00".into(),
            end: "21:00".into(),
            tz: "Mars/Olympus".into()
        }
        .validate()
        .is_err());
    }

    #[test]
    fn the_four_buckets_add_up() {
        let mut counts = CallCounts::default();
        for (status, analytics, answered) in [
            (CallStatus::Queued, false, false),
            (CallStatus::Dialing, false, false),
            (CallStatus::Ringing, false, false),
            (CallStatus::Answered, false, true),
            (CallStatus::Disconnected, false, true),
            (CallStatus::Busy, false, false),
            (CallStatus::Completed, true, true),
        ] {
            let call = SeenCall {
                status,
                analytics,
                answered,
                machine: false,
                abandoned: false,
            };
            counts.add(call, 1);
        }
        assert_eq!(
            counts,
            CallCounts {
                processed: 2,
                ringing: 2,
                call_ended: 2,
                completed: 1,
                finished: 3,
                finished_answered: 2,
            }
        );
        assert_eq!(counts.total(), 7);
        assert!(
            (counts.answer_rate() - 2.0 / 3.0).abs() < 1e-9,
            "live calls are in neither term"
        );
        assert_eq!(display(45, 100, 5), "45/100 (5 failed)");
        assert_eq!(display(3, 3, 0), "3/3 (0 failed)");
        assert_eq!(display(0, 40, 0), "0/40 (0 failed)");
    }
}
