//! The canonical call model and its state machine (providers.md §6–7, CONTRACT.md).
//!
//! Plain data and plain functions: no actix, no diesel, no I/O. A call only moves forward by rank;
//! a final status is absorbing except that the provider's own final record may replace an outcome the
//! engine inferred; every other late event only enriches (times, durations, cost, recording).

use super::ids::{CallId, OrgId};
use super::money::{currency_code, Money, Price};
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where a call is in its life. `Disconnected` is neither live nor final: everyone hung up and the
/// provider's final record is still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Queued,
    Dialing,
    Ringing,
    Answered,
    Disconnected,
    Completed,
    Busy,
    NoAnswer,
    Canceled,
    Failed,
}

impl CallStatus {
    /// Every status, in rank order.
    pub const ALL: [CallStatus; 10] = [
        Self::Queued,
        Self::Dialing,
        Self::Ringing,
        Self::Answered,
        Self::Disconnected,
        Self::Completed,
        Self::Busy,
        Self::NoAnswer,
        Self::Canceled,
        Self::Failed,
    ];

    /// Forward-only order: a call never moves to a lower rank.
    pub fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Dialing => 1,
            Self::Ringing => 2,
            Self::Answered => 3,
            Self::Disconnected => 4,
            Self::Completed | Self::Busy | Self::NoAnswer | Self::Canceled | Self::Failed => 5,
        }
    }

    /// Someone is still dialing, ringing or talking.
    pub fn is_live(self) -> bool {
        self.rank() <= 3
    }

    /// The outcome is known.
    pub fn is_final(self) -> bool {
        self.rank() == 5
    }

    /// The contract's word for this status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Dialing => "dialing",
            Self::Ringing => "ringing",
            Self::Answered => "answered",
            Self::Disconnected => "disconnected",
            Self::Completed => "completed",
            Self::Busy => "busy",
            Self::NoAnswer => "no_answer",
            Self::Canceled => "canceled",
            Self::Failed => "failed",
        }
    }

    /// Reads a contract status word (not a provider's word: those have their own tables).
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

/// Which way the call goes, seen from the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
    Internal,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
            Self::Internal => "internal",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        [Self::Inbound, Self::Outbound, Self::Internal]
            .into_iter()
            .find(|d| d.as_str() == word)
    }
}

/// Who said what an event says: the provider, or the engine inferring it (deadline, poll).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Authority {
    #[default]
    Provider,
    Engine,
}

impl Authority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::Engine => "engine",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "provider" => Some(Self::Provider),
            "engine" => Some(Self::Engine),
            _ => None,
        }
    }
}

/// One call as the engine knows it. The state a call actor owns and the database mirrors.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub id: CallId,
    pub org_id: OrgId,
    pub provider: String,
    pub provider_call_id: Option<String>,
    pub direction: Direction,
    pub status: CallStatus,
    pub from: Option<String>,
    pub to: Option<String>,
    pub campaign_id: Option<String>,
    pub contact_id: Option<String>,
    pub extensions: Vec<String>,
    /// When the call began: the earliest provider time seen, or when we first heard of it.
    pub created_at: DateTime<Utc>,
    /// The earliest provider time of a pre-end event (queued, dialing, ringing, answered).
    pub started_at: Option<DateTime<Utc>>,
    pub ringing_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The provider's own talk/conversation duration, when it reports one.
    pub reported_talk_s: Option<i64>,
    /// The price the provider reported, in its currency.
    pub provider_price: Option<Price>,
    /// Set once the call is final (`OrgBilling::settle`): `talk_s` rounded to the rate's increment.
    pub billed_s: Option<i64>,
    /// What the call costs the org, in `currency` (the org's): see [`crate::domain::billing`].
    pub cost: Option<Money>,
    pub currency: Option<String>,
    pub hangup_cause: Option<String>,
    pub recording_url: Option<String>,
    /// The recording as the PBX names it (a file on the PBX, not a URL).
    pub recording: Option<String>,
    pub analytics: Option<serde_json::Value>,
    /// The carrier's id of a call placed through a voice bot (joinable with the carrier's records).
    pub carrier_call_id: Option<String>,
    /// Who decided the final status (None while not final).
    pub final_by: Option<Authority>,
    /// The agent desk's queue the caller waited in, and since when.
    pub queue_id: Option<String>,
    pub queued_at: Option<DateTime<Utc>>,
    /// The agent who accepted the call, and when.
    pub agent_id: Option<String>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub disposition: Option<Disposition>,
    /// Answering-machine detection's result, where it ran: `human`, `machine` or `unknown`.
    pub amd: Option<String>,
    /// When the engine last received an event for this call (our clock): deadlines count from here.
    pub last_event_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The outcome an agent or supervisor records on a call (one of the org's codes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Disposition {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    pub at: DateTime<Utc>,
}

impl Call {
    /// A call the engine has just heard of, before any event is applied to it.
    pub fn new(
        id: CallId,
        org_id: OrgId,
        provider: &str,
        provider_call_id: Option<String>,
        direction: Direction,
        now: DateTime<Utc>,
    ) -> Self {
        Call {
            id,
            org_id,
            provider: provider.to_owned(),
            provider_call_id,
            direction,
            status: CallStatus::Queued,
            from: None,
            to: None,
            campaign_id: None,
            contact_id: None,
            extensions: Vec::new(),
            created_at: now,
            started_at: None,
            ringing_at: None,
            answered_at: None,
            ended_at: None,
            reported_talk_s: None,
            provider_price: None,
            billed_s: None,
            cost: None,
            currency: None,
            hangup_cause: None,
            recording_url: None,
            recording: None,
            analytics: None,
            carrier_call_id: None,
            final_by: None,
            queue_id: None,
            queued_at: None,
            agent_id: None,
            assigned_at: None,
            disposition: None,
            amd: None,
            last_event_at: now,
            updated_at: now,
        }
    }

    /// Start of the call to its end, by provider times; unknown until both are known.
    pub fn duration_s(&self) -> Option<i64> {
        let start = self.started_at?;
        let end = self.ended_at?;
        Some((end - start).num_seconds().max(0))
    }

    /// Answered to end: the provider's figure where given, else from the times; 0 for a call that
    /// ended unanswered; unknown otherwise.
    pub fn talk_s(&self) -> Option<i64> {
        if self.status.is_final() && self.status != CallStatus::Completed {
            // Nobody answered (a voicemail's conversation is not talk): what the provider bills
            // stays in [`Call::billable_s`].
            return Some(0);
        }
        // A queued caller talks only from its agent's answer: the provider's figure counts the
        // hold too (it stays the billed time).
        if let Some(reported) = self.reported_talk_s.filter(|_| !self.queued_inbound()) {
            return Some(reported);
        }
        match (self.answered_at, self.ended_at) {
            (Some(answered), Some(ended)) => Some((ended - answered).num_seconds().max(0)),
            (None, _) if self.status.is_final() && self.status != CallStatus::Completed => Some(0),
            _ => None,
        }
    }

    /// The seconds the provider bills: its own talk figure where it gives one (for a queued
    /// caller that includes the hold), else the talk time.
    pub fn billable_s(&self) -> Option<i64> {
        self.reported_talk_s.or_else(|| self.talk_s())
    }

    /// An inbound caller held in one of the desk's queues and not yet connected to an agent:
    /// the provider's answer is the engine's hold (music, a message), not a person's.
    pub fn held_in_queue(&self) -> bool {
        self.queued_inbound() && self.answered_at.is_none()
    }

    /// An inbound caller that waited in one of the desk's queues.
    fn queued_inbound(&self) -> bool {
        self.queue_id.is_some() && self.direction == Direction::Inbound
    }

    /// What happened to the call in its queue: `waiting`, `handled` (an agent took it),
    /// `overflowed` (the desk sent it away past its queue's maximum wait) or `abandoned` (the
    /// caller hung up first); None for a call that never queued.
    pub fn queue_outcome(&self) -> Option<QueueOutcome> {
        self.queue_id.as_ref()?;
        Some(QueueOutcome::of(
            self.status.is_live(),
            self.connected_to_agent(),
            self.hangup_cause.as_deref(),
        ))
    }

    /// Its agent is on the line with it: assigned, and the answer is the agent's.
    pub fn connected_to_agent(&self) -> bool {
        self.agent_id.is_some() && self.answered_at.is_some()
    }

    /// Seconds the caller waited for an agent: until one took it, or until it left unanswered;
    /// None while it still waits (the queue's `longest_wait_s` tells the live wait).
    pub fn wait_s(&self) -> Option<i64> {
        let queued = self.queued_at?;
        let until = self
            .assigned_at
            .or(self.ended_at.filter(|_| self.agent_id.is_none()))?;
        Some((until - queued).num_seconds().max(0))
    }

    /// The contract's JSON object for this call.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "org_id": self.org_id,
            "provider": self.provider,
            "provider_call_id": self.provider_call_id,
            "direction": self.direction,
            "status": self.status,
            "from": self.from,
            "to": self.to,
            "campaign_id": self.campaign_id,
            "contact_id": self.contact_id,
            "extensions": self.extensions,
            "created_at": self.created_at,
            "ringing_at": self.ringing_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s(),
            "talk_s": self.talk_s(),
            "billed_s": self.billed_s,
            "cost": self.cost.map(|c| c.to_string()),
            "currency": self.currency,
            "provider_cost": self.provider_price.as_ref().map(|p| p.amount.to_string()),
            "provider_currency": self.provider_price.as_ref().map(|p| &p.currency),
            "hangup_cause": self.hangup_cause,
            "recording_url": self.recording_url,
            "recording": self.recording,
            "analytics": self.analytics,
            "carrier_call_id": self.carrier_call_id,
            "final_by": self.final_by,
            "queue_id": self.queue_id,
            "queued_at": self.queued_at,
            "queue_outcome": self.queue_outcome().map(QueueOutcome::as_str),
            "wait_s": self.wait_s(),
            "agent_id": self.agent_id,
            "assigned_at": self.assigned_at,
            "disposition": self.disposition,
            "amd": self.amd,
            "updated_at": self.updated_at,
        })
    }

    /// Answered and waiting for an agent of its queue, but none took it: an abandoned answer
    /// (a predictive dialer's, or a queued caller's who was answered by the provider).
    pub fn abandoned(&self) -> bool {
        self.campaign_id.is_some()
            && abandoned(
                self.status,
                self.answered_at.is_some(),
                self.queue_id.is_some(),
                self.agent_id.is_some(),
            )
    }

    /// When the engine stops waiting for this call's next event and reconciles it (invariant 5).
    pub fn deadline(&self, deadlines: &Deadlines) -> Option<DateTime<Utc>> {
        let wait = match self.status {
            // A caller held in a queue is on the line: it has a talk's deadline, not a ring's.
            CallStatus::Ringing if self.held_in_queue() => deadlines.talk,
            CallStatus::Queued | CallStatus::Dialing | CallStatus::Ringing => deadlines.ring,
            CallStatus::Answered => deadlines.talk,
            CallStatus::Disconnected => deadlines.wrapup,
            _ => return None,
        };
        Some(self.last_event_at + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX))
    }
}

/// What happened to a caller in its queue (the one rule for the call object and the desk's
/// counts): `handled` once connected to an agent, `waiting` while live, `overflowed` when the desk
/// sent it away, else `abandoned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueOutcome {
    Waiting,
    Handled,
    Overflowed,
    Abandoned,
}

impl QueueOutcome {
    pub fn of(live: bool, connected: bool, hangup_cause: Option<&str>) -> Self {
        if connected {
            Self::Handled
        } else if live {
            Self::Waiting
        } else if hangup_cause == Some(QUEUE_OVERFLOW) {
            Self::Overflowed
        } else {
            Self::Abandoned
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Handled => "handled",
            Self::Overflowed => "overflowed",
            Self::Abandoned => "abandoned",
        }
    }
}

/// The hang-up cause of a caller the desk sent away past its queue's maximum wait.
pub const QUEUE_OVERFLOW: &str = "queue_overflow";

/// The desk connected a caller held in a queue to the agent who took it, at `at`: answered
/// then, by a person (nothing for any other call). A hang-up stored before the connect (the
/// store refused the connect for a moment) that came after it — providers date a hang-up in
/// whole seconds, so within the second of `at` too — means the caller talked from `at` to its
/// end: its unanswered outcome becomes `completed`. Either order gives the same call.
pub fn connected(call: &Call, at: DateTime<Utc>) -> Call {
    let mut next = call.clone();
    if !call.held_in_queue() || call.agent_id.is_none() {
        return next;
    }
    if call.status.is_live() {
        next.status = CallStatus::Answered;
        next.answered_at = Some(at);
    } else if call.status == CallStatus::NoAnswer
        && call
            .ended_at
            .is_some_and(|end| end + chrono::Duration::seconds(1) > at)
    {
        next.status = CallStatus::Completed;
        next.answered_at = Some(at.min(call.ended_at.unwrap_or(at)));
    }
    next
}

/// How long a call may go without an event in each phase before the engine reconciles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub ring: Duration,
    pub talk: Duration,
    pub wrapup: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            ring: Duration::from_secs(180),
            talk: Duration::from_secs(14_400),
            wrapup: Duration::from_secs(600),
        }
    }
}

/// A provider-neutral fact about a call: what one webhook (or the engine itself) says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallEvent {
    pub authority: Authority,
    /// The provider's own final record of the call (it may replace an engine-inferred outcome).
    pub final_record: bool,
    /// The canonical status the event reports; None when the provider's word is unknown.
    pub status: Option<CallStatus>,
    /// The provider's time of the moment the status describes.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Earlier moments a final record reports too (Plivo `StartTime`, `AnswerTime`).
    pub started_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub direction: Option<Direction>,
    pub talk_s: Option<i64>,
    pub cost: Option<String>,
    pub currency: Option<String>,
    pub hangup_cause: Option<String>,
    pub recording_url: Option<String>,
    /// The recording as the PBX names it (a file on the PBX, not a URL).
    pub recording: Option<String>,
    /// Bot data (transcript, summary, extracted data, sentiment) merged into the call's analytics.
    pub analytics: Option<serde_json::Map<String, serde_json::Value>>,
    pub contact_id: Option<String>,
    pub carrier_call_id: Option<String>,
    /// The provider's id of a call the engine placed, learned from its API or first callback.
    pub provider_call_id: Option<String>,
    /// PBX extensions taking part (added to the call's `extensions`).
    pub extensions: Vec<String>,
    /// The agent desk's queue an incoming call waits in (set once, when it is first queued).
    pub queue_id: Option<String>,
    /// Answering-machine detection's result (`human`, `machine`, `unknown`).
    pub amd: Option<String>,
    /// A `completed` that does not say whether anyone answered (Exotel without
    /// `ConversationDuration`, Bolna without `conversation_time`): completed when the call was
    /// answered, no_answer when it has neither an answer nor talk.
    pub completed_if_answered: bool,
}

impl CallEvent {
    /// Drops what no call can have — a time outside 2000–2100, a talk time outside 0–31 days, a
    /// cost that is not a finite amount of at least 0 — and answers the names of the fields it
    /// dropped (CONTRACT.md, Webhooks: the event is kept, the timeline says what was dropped).
    pub fn drop_impossible(&mut self) -> Vec<&'static str> {
        let mut dropped = Vec::new();
        for (name, slot) in [
            ("occurred_at", &mut self.occurred_at),
            ("started_at", &mut self.started_at),
            ("answered_at", &mut self.answered_at),
        ] {
            if slot.is_some_and(|at| !possible_time(at)) {
                *slot = None;
                dropped.push(name);
            }
        }
        if self.talk_s.is_some_and(|t| !possible_duration(t)) {
            self.talk_s = None;
            dropped.push("talk_s");
        }
        if self.cost.as_deref().is_some_and(|c| !possible_amount(c)) {
            self.cost = None;
            dropped.push("cost");
        }
        dropped
    }
}

/// A provider time the engine can store and read back: 2000-01-01 to 2100-12-31 (UTC).
pub fn possible_time(at: DateTime<Utc>) -> bool {
    (2000..=2100).contains(&at.year())
}

/// A duration in seconds a call can have: 0 to 31 days.
pub fn possible_duration(seconds: i64) -> bool {
    (0..=31 * 86_400).contains(&seconds)
}

/// An amount of money as a provider writes it: a finite decimal of at least 0.
pub fn possible_amount(text: &str) -> bool {
    Money::parse(text).is_some_and(|amount| amount >= Money::ZERO)
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub call: Call,
    /// Anything a reader of the call object would see changed.
    pub changed: bool,
    pub status_changed: bool,
    /// The event was not applied, and why (it is still kept on the call's timeline).
    pub ignored: Option<&'static str>,
}

/// How long after a call ended an event that says it is a different call (another direction,
/// other numbers) is taken for a new call under a reused id rather than a correction.
pub const REUSED_ID_AFTER: chrono::Duration = chrono::Duration::hours(1);

/// Applies one event to a call: forward-only status, earliest times, enrichment of late data.
/// The result does not depend on the order events arrive in.
pub fn apply(call: &Call, event: &CallEvent, received_at: DateTime<Utc>) -> Applied {
    if is_another_call(call, event, received_at) {
        return Applied {
            call: call.clone(),
            changed: false,
            status_changed: false,
            ignored: Some("another_call"),
        };
    }
    let mut next = call.clone();
    if let Some(status) = outcome(call, event) {
        if moves_to(call, status, event) {
            next.status = status;
            next.final_by = status.is_final().then_some(event.authority);
        } else if status == call.status && status.is_final() && event.final_record {
            // The provider confirms what the engine inferred: it is the provider's outcome now.
            next.final_by = Some(Authority::Provider);
        }
        if let Some(at) = event.occurred_at {
            record_time(&mut next, status, at);
        }
    }
    if let Some(at) = event.answered_at {
        record_time(&mut next, CallStatus::Answered, at);
    }
    if let Some(at) = event.started_at {
        record_time(&mut next, CallStatus::Dialing, at);
    }
    if let Some(data) = &event.analytics {
        let mut merged = match next.analytics.take() {
            Some(serde_json::Value::Object(existing)) => existing,
            _ => serde_json::Map::new(),
        };
        merged.extend(data.clone());
        next.analytics = Some(serde_json::Value::Object(merged));
    }
    for number in &event.extensions {
        if !next.extensions.contains(number) {
            next.extensions.push(number.clone());
        }
    }
    fill(&mut next.contact_id, &event.contact_id);
    fill(&mut next.provider_call_id, &event.provider_call_id);
    fill(&mut next.carrier_call_id, &event.carrier_call_id);
    fill(&mut next.from, &event.from);
    fill(&mut next.to, &event.to);
    if let Some(direction) = event.direction {
        next.direction = direction;
    }
    replace(&mut next.reported_talk_s, &event.talk_s);
    if let Some(amount) = event.cost.as_deref().and_then(Money::parse) {
        let currency = event.currency.as_deref().and_then(currency_code);
        next.provider_price = Some(Price {
            amount,
            currency: currency.unwrap_or_else(|| "USD".into()),
        });
    }
    // The desk's word that it sent the caller away stays: the provider's cause of that hang-up
    // (its goodbye's) would turn an overflow into an abandon.
    if next.hangup_cause.as_deref() != Some(QUEUE_OVERFLOW) {
        replace(&mut next.hangup_cause, &event.hangup_cause);
    }
    replace(&mut next.recording_url, &event.recording_url);
    replace(&mut next.recording, &event.recording);
    replace(&mut next.amd, &event.amd);
    if next.queue_id.is_none() && event.queue_id.is_some() {
        next.queue_id.clone_from(&event.queue_id);
        next.queued_at = Some(received_at);
    }

    if held(call, event) {
        next.answered_at = None;
    }
    // A queued caller's answer is its agent's: a provider time from the hold (a late
    // `in-progress`, a CDR's `end − talk`) never moves it earlier.
    if let Some(assigned) = next.assigned_at.filter(|_| next.queued_inbound()) {
        if next.answered_at.is_some_and(|at| at < assigned) {
            next.answered_at = Some(assigned);
        }
    }
    infer_answer(&mut next);
    clear_unanswered(&mut next);
    created_first(&mut next);

    let status_changed = next.status != call.status;
    let changed = next != *call;
    next.last_event_at = received_at.max(call.last_event_at);
    if changed {
        next.updated_at = received_at;
    }
    Applied {
        call: next,
        changed,
        status_changed,
        ignored: None,
    }
}

/// An event for a call that ended long ago ([`REUSED_ID_AFTER`]) which names another direction
/// or other numbers: a provider (a PBX after a restart, a simulator run again) reused the id for
/// a new call. It never turns the finished call into that one — its talk, cost and debit stay.
fn is_another_call(call: &Call, event: &CallEvent, received_at: DateTime<Utc>) -> bool {
    let ended = call.ended_at.unwrap_or(call.last_event_at);
    if !call.status.is_final() || received_at - ended < REUSED_ID_AFTER {
        return false;
    }
    let differs = |ours: &Option<String>, theirs: &Option<String>| matches!((ours, theirs), (Some(a), Some(b)) if a != b);
    event.direction.is_some_and(|d| d != call.direction)
        || differs(&call.from, &event.from)
        || differs(&call.to, &event.to)
}

/// A final call whose record says it talked was answered, whatever events came before (Twilio's
/// default callbacks send only `completed`, with `CallDuration`): with no answer time of its own
/// it is dated back from the end by the talk (CONTRACT.md, "What the figures mean").
fn infer_answer(call: &mut Call) {
    if call.answered_at.is_some() || !call.status.is_final() || call.held_in_queue() {
        return;
    }
    let talk = call.reported_talk_s.filter(|talk| *talk > 0);
    if let (Some(talk), Some(ended)) = (talk, call.ended_at) {
        call.answered_at = Some(ended - chrono::Duration::seconds(talk));
    }
}

/// A call is created no later than anything the provider dates on it: a final record that
/// arrives after the call ended (with no start time of its own) dates the call back to its first
/// known moment, so time filters and the call's own order of moments agree.
fn created_first(call: &mut Call) {
    let moments = [
        call.started_at,
        call.ringing_at,
        call.answered_at,
        call.ended_at,
    ];
    if let Some(first) = moments.into_iter().flatten().min() {
        call.created_at = call.created_at.min(first);
    }
}

/// The status an event reports for this call: its own, except a `completed` that leaves the
/// answer to the call (`completed_if_answered`), which is no_answer when neither the call nor
/// the event shows an answer or any talk.
fn outcome(call: &Call, event: &CallEvent) -> Option<CallStatus> {
    let status = event.status?;
    if held(call, event) {
        // The provider's answer is the engine's hold; hanging up on hold is not an answer.
        return Some(match status {
            CallStatus::Answered => CallStatus::Ringing,
            CallStatus::Completed => CallStatus::NoAnswer,
            status => status,
        });
    }
    let answered = call.answered_at.is_some()
        || event.answered_at.is_some()
        || call.reported_talk_s.unwrap_or(0) > 0
        || event.talk_s.unwrap_or(0) > 0;
    if status == CallStatus::Completed && event.completed_if_answered && !answered {
        return Some(CallStatus::NoAnswer);
    }
    Some(status)
}

/// Whether the call is (or, with this event, becomes) a caller held in a queue with no agent.
fn held(call: &Call, event: &CallEvent) -> bool {
    let queued = call.queue_id.is_some() || event.queue_id.is_some();
    let inbound = event.direction.unwrap_or(call.direction) == Direction::Inbound;
    queued && inbound && call.answered_at.is_none()
}

/// The provider's final record has the last word on whether anyone answered (CONTRACT.md, "What
/// the figures mean"): one that says nobody did (no-answer, busy, failed, canceled — an agent's
/// leg answered while the customer's was not, a voicemail) clears an answer time an earlier
/// event gave, whatever order they came in.
fn clear_unanswered(call: &mut Call) {
    let unanswered = matches!(
        call.status,
        CallStatus::NoAnswer | CallStatus::Busy | CallStatus::Failed | CallStatus::Canceled
    );
    if unanswered && call.final_by == Some(Authority::Provider) {
        call.answered_at = None;
    }
}

/// Whether an event's status moves the call: forward by rank, or the provider's final record
/// replacing an outcome the engine inferred.
fn moves_to(call: &Call, status: CallStatus, event: &CallEvent) -> bool {
    if status.rank() > call.status.rank() {
        return true;
    }
    status.is_final()
        && call.status.is_final()
        && status != call.status
        && event.final_record
        && event.authority == Authority::Provider
        && call.final_by == Some(Authority::Engine)
}

/// Files the event's provider time under the moment its status describes (earliest wins, so the
/// same events in any order give the same times).
fn record_time(call: &mut Call, status: CallStatus, at: DateTime<Utc>) {
    let slot = match status {
        // Queued is not yet a call on the line: it only dates when the engine first knew of it.
        CallStatus::Queued => {
            if at < call.created_at {
                call.created_at = at;
            }
            return;
        }
        // A moment before the end, dated after it (a late event dated by its arrival), says
        // nothing of when it happened.
        _ if !status.is_final()
            && status != CallStatus::Disconnected
            && call.ended_at.is_some_and(|end| at > end) =>
        {
            return;
        }
        CallStatus::Dialing => None,
        CallStatus::Ringing => Some(&mut call.ringing_at),
        CallStatus::Answered => Some(&mut call.answered_at),
        _ => {
            keep_earliest(&mut call.ended_at, at);
            return;
        }
    };
    if let Some(slot) = slot {
        keep_earliest(slot, at);
    }
    keep_earliest(&mut call.started_at, at);
    if at < call.created_at {
        call.created_at = at;
    }
}

fn keep_earliest(slot: &mut Option<DateTime<Utc>>, at: DateTime<Utc>) {
    if slot.is_none_or(|current| at < current) {
        *slot = Some(at);
    }
}

fn fill(slot: &mut Option<String>, value: &Option<String>) {
    if slot.is_none() {
        slot.clone_from(value);
    }
}

fn replace<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        slot.clone_from(value);
    }
}

/// The engine's own correction for a call past its deadline (invariant 5; `reason` `timeout`) or
/// reset by a supervisor (`manual_reset`): an unanswered call failed with that reason; a call whose
/// hang-up was seen but whose final record never came is closed by what is known (answered →
/// completed, else no_answer). No time is invented: the end time stays what the provider said,
/// or unknown.
pub fn reconcile(call: &Call, reason: &str) -> CallEvent {
    let status = match call.status {
        CallStatus::Disconnected if call.answered_at.is_some() => CallStatus::Completed,
        CallStatus::Disconnected => CallStatus::NoAnswer,
        _ => CallStatus::Failed,
    };
    CallEvent {
        authority: Authority::Engine,
        status: Some(status),
        hangup_cause: call.hangup_cause.clone().or(Some(reason.to_owned())),
        ..CallEvent::default()
    }
}

/// Whether the provider says a call the engine closed by inference (a deadline, a resync) went on
/// after all: its event is of a call still live, or just hung up. The engine's outcome stands
/// until the provider's final record replaces it, so such a call is looked at again (the record
/// may be lost with the webhooks that made the engine close it).
pub fn contradicts_engine_close(call: &Call, event: &CallEvent) -> bool {
    call.final_by == Some(Authority::Engine)
        && event.authority == Authority::Provider
        && event
            .status
            .is_some_and(|s| s.is_live() || s == CallStatus::Disconnected)
}

/// A campaign's call answered while it waited in a queue for an agent that none took (an
/// abandoned answer): by its status, whether it has an answer time, whether it was queued and
/// whether an agent was assigned.
pub fn abandoned(status: CallStatus, answered_at: bool, queued: bool, assigned: bool) -> bool {
    let answered = answered_at
        || matches!(
            status,
            CallStatus::Answered | CallStatus::Disconnected | CallStatus::Completed
        );
    queued && !assigned && answered
}

#[cfg(test)]
mod tests {

    #[test]
    fn impossible_values_are_dropped_and_named() {
        let at = |y: i32| Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).unwrap();
        let mut event = CallEvent {
            occurred_at: Some(at(9999)),
            started_at: Some(at(1970)),
            answered_at: Some(at(2025)),
            talk_s: Some(-100),
            cost: Some("NaN".into()),
            ..CallEvent::default()
        };
        assert_eq!(
            event.drop_impossible(),
            vec!["occurred_at", "started_at", "talk_s", "cost"]
        );
        assert_eq!(
            (event.answered_at, event.talk_s, event.cost),
            (Some(at(2025)), None, None)
        );
        for (cost, possible) in [
            ("0.0085", true),
            ("12", true),
            ("-5", false),
            ("inf", false),
            ("1e400", false),
            ("", false),
        ] {
            assert_eq!(possible_amount(cost), possible, "{cost}");
        }
        assert!(possible_duration(0) && possible_duration(31 * 86_400));
        assert!(!possible_duration(i64::MAX) && !possible_duration(-1));
        let mut fine = CallEvent {
            talk_s: Some(61),
            cost: Some("0.098".into()),
            ..CallEvent::default()
        };
        assert!(fine.drop_impossible().is_empty());
    }

    use super::*;
    use chrono::TimeZone;

    fn t(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 4, 10, 0, 0).unwrap() + chrono::Duration::seconds(s.into())
    }

    fn new_call() -> Call {
        Call::new(
            CallId::generate(),
            OrgId::generate(),
            "twilio",
            Some("CA1".into()),
            Direction::Outbound,
            t(1000),
        )
    }

    fn ev(status: CallStatus, at: u32) -> CallEvent {
        CallEvent {
            status: Some(status),
            occurred_at: Some(t(at)),
            final_record: status.is_final(),
            ..CallEvent::default()
        }
    }

    fn run(events: &[CallEvent]) -> Call {
        events
            .iter()
            .fold(new_call(), |call, e| apply(&call, e, t(1000)).call)
    }

    #[test]
    fn a_caller_the_desk_sent_away_stays_overflowed_whatever_cause_its_hang_up_gives() {
        let mut sent_away = new_call();
        sent_away.direction = Direction::Inbound;
        sent_away.queue_id = Some("q1".into());
        sent_away.status = CallStatus::Ringing;
        sent_away.hangup_cause = Some(QUEUE_OVERFLOW.into());
        // Plivo's hang-up after the goodbye names its own cause.
        let hangup = CallEvent {
            hangup_cause: Some("NORMAL_CLEARING".into()),
            ..ev(CallStatus::NoAnswer, 1020)
        };
        let ended = apply(&sent_away, &hangup, t(1020)).call;
        assert_eq!(ended.hangup_cause.as_deref(), Some(QUEUE_OVERFLOW));
        assert_eq!(ended.queue_outcome(), Some(QueueOutcome::Overflowed));
        // A caller the desk did not send away takes the provider's cause: it abandoned.
        sent_away.hangup_cause = None;
        let abandoned = apply(&sent_away, &hangup, t(1020)).call;
        assert_eq!(abandoned.queue_outcome(), Some(QueueOutcome::Abandoned));
    }

    #[test]
    fn a_connect_stored_after_the_hang_up_still_answers_the_caller_from_its_moment() {
        let held = |status: CallStatus, ended: Option<u32>| {
            let mut call = new_call();
            call.direction = Direction::Inbound;
            call.queue_id = Some("q1".into());
            call.agent_id = Some("a1".into());
            call.status = status;
            call.ended_at = ended.map(t);
            call
        };
        let at = t(1010);
        for (call, status, answered, talk) in [
            // On hold: answered from the connect on.
            (
                held(CallStatus::Ringing, None),
                CallStatus::Answered,
                Some(at),
                None,
            ),
            // Its hang-up stored first: it talked from the connect to its end.
            (
                held(CallStatus::NoAnswer, Some(1030)),
                CallStatus::Completed,
                Some(at),
                Some(20),
            ),
            // Gone before the connect: the move found nobody.
            (
                held(CallStatus::NoAnswer, Some(1005)),
                CallStatus::NoAnswer,
                None,
                Some(0),
            ),
            (
                held(CallStatus::Failed, Some(1030)),
                CallStatus::Failed,
                None,
                Some(0),
            ),
            // Not a caller on hold: nothing.
            (new_call(), CallStatus::Queued, None, None),
        ] {
            let next = connected(&call, at);
            assert_eq!(
                (next.status, next.answered_at, next.talk_s()),
                (status, answered, talk),
                "{:?} ended {:?}",
                call.status,
                call.ended_at
            );
        }
        // A hang-up dated in whole seconds, within the second of the connect: as if in order.
        let late = connected(
            &held(CallStatus::NoAnswer, Some(1010)),
            at + chrono::Duration::milliseconds(400),
        );
        assert_eq!(
            (late.status, late.answered_at, late.talk_s()),
            (CallStatus::Completed, Some(at), Some(0))
        );
    }

    #[test]
    fn a_final_record_with_talk_is_an_answer_dated_back_from_its_end() {
        let talked = |talk_s: Option<i64>| CallEvent {
            talk_s,
            ..ev(CallStatus::Completed, 1100)
        };
        // (events, answered_at, talk_s)
        let table: [(Vec<CallEvent>, Option<u32>, Option<i64>); 5] = [
            // Twilio's default callbacks: `completed` with its duration, nothing before.
            (vec![talked(Some(42))], Some(1058), Some(42)),
            // An answer event of its own wins over the inference, in either order.
            (
                vec![ev(CallStatus::Answered, 1050), talked(Some(42))],
                Some(1050),
                Some(42),
            ),
            (
                vec![talked(Some(42)), ev(CallStatus::Answered, 1050)],
                Some(1050),
                Some(42),
            ),
            // No talk: no answer.
            (vec![talked(Some(0))], None, Some(0)),
            (vec![ev(CallStatus::NoAnswer, 1100)], None, Some(0)),
        ];
        for (events, answered, talk) in table {
            let call = run(&events);
            assert_eq!(call.answered_at, answered.map(t), "{events:?}");
            assert_eq!(call.talk_s(), talk, "{events:?}");
        }
    }

    #[test]
    fn the_final_record_says_whether_anyone_answered() {
        let completed = |talk_s: Option<i64>| CallEvent {
            talk_s,
            completed_if_answered: true,
            ..ev(CallStatus::Completed, 1100)
        };
        // (events, status, answered_at)
        let table: [(Vec<CallEvent>, CallStatus, Option<u32>); 5] = [
            // Answered, then a final record with no talk figure: completed, answered.
            (
                vec![ev(CallStatus::Answered, 1050), completed(None)],
                CallStatus::Completed,
                Some(1050),
            ),
            // Neither an answer nor talk: nobody answered.
            (
                vec![ev(CallStatus::Ringing, 1010), completed(None)],
                CallStatus::NoAnswer,
                None,
            ),
            (vec![completed(Some(0))], CallStatus::NoAnswer, None),
            // An answer (an agent's leg), then the final record says no-answer: no answer, in
            // either order.
            (
                vec![
                    ev(CallStatus::Answered, 1050),
                    ev(CallStatus::NoAnswer, 1100),
                ],
                CallStatus::NoAnswer,
                None,
            ),
            (
                vec![
                    ev(CallStatus::NoAnswer, 1100),
                    ev(CallStatus::Answered, 1050),
                ],
                CallStatus::NoAnswer,
                None,
            ),
        ];
        for (events, status, answered) in table {
            let call = run(&events);
            assert_eq!(
                (call.status, call.answered_at),
                (status, answered.map(t)),
                "{events:?}"
            );
        }
    }

    #[test]
    fn a_late_event_dated_after_the_end_does_not_date_a_moment_before_it() {
        let call = run(&[
            ev(CallStatus::Completed, 1100),
            ev(CallStatus::Ringing, 1200),
        ]);
        assert_eq!((call.ringing_at, call.ended_at), (None, Some(t(1100))));
        let call = run(&[
            ev(CallStatus::Completed, 1100),
            ev(CallStatus::Ringing, 1090),
        ]);
        assert_eq!(
            call.ringing_at,
            Some(t(1090)),
            "a real earlier time still counts"
        );
    }

    #[test]
    fn rank_orders_every_status() {
        let table = [
            ("queued", 0, true, false),
            ("dialing", 1, true, false),
            ("ringing", 2, true, false),
            ("answered", 3, true, false),
            ("disconnected", 4, false, false),
            ("completed", 5, false, true),
            ("busy", 5, false, true),
            ("no_answer", 5, false, true),
            ("canceled", 5, false, true),
            ("failed", 5, false, true),
        ];
        for (word, rank, live, fin) in table {
            let s = CallStatus::parse(word).unwrap();
            assert_eq!(
                (s.as_str(), s.rank(), s.is_live(), s.is_final()),
                (word, rank, live, fin)
            );
        }
        assert_eq!(CallStatus::parse("in-progress"), None);
    }

    #[test]
    fn forward_only_table() {
        use CallStatus::*;
        // (current, incoming, expected)
        let table = [
            (Queued, Ringing, Ringing),
            (Ringing, Dialing, Ringing),
            (Answered, Ringing, Answered),
            (Answered, Disconnected, Disconnected),
            (Disconnected, Answered, Disconnected),
            (Disconnected, Completed, Completed),
            (Queued, Completed, Completed),
            (Completed, Answered, Completed),
            (Completed, Failed, Completed),
            (Busy, NoAnswer, Busy),
        ];
        for (current, incoming, expected) in table {
            let mut call = new_call();
            call.status = current;
            call.final_by = current.is_final().then_some(Authority::Provider);
            if current.rank() >= Answered.rank() && current != Busy {
                call.answered_at = Some(t(3));
            }
            let out = apply(&call, &ev(incoming, 5), t(1000));
            assert_eq!(out.call.status, expected, "{current:?} + {incoming:?}");
            assert_eq!(out.status_changed, expected != current);
        }
    }

    #[test]
    fn any_order_gives_the_same_call() {
        let mut final_ev = ev(CallStatus::Completed, 70);
        final_ev.talk_s = Some(61);
        let events = [
            ev(CallStatus::Dialing, 0),
            ev(CallStatus::Ringing, 2),
            ev(CallStatus::Answered, 9),
            final_ev,
        ];
        let reference = run(&events);
        assert_eq!(reference.status, CallStatus::Completed);
        assert_eq!(reference.created_at, t(0));
        assert_eq!(reference.ringing_at, Some(t(2)));
        assert_eq!(reference.answered_at, Some(t(9)));
        assert_eq!(reference.ended_at, Some(t(70)));
        assert_eq!(reference.duration_s(), Some(70));
        assert_eq!(reference.talk_s(), Some(61));
        let orders = [[3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1], [3, 0, 2, 1]];
        for order in orders {
            let shuffled: Vec<CallEvent> = order.iter().map(|&i| events[i].clone()).collect();
            let mut call = run(&shuffled);
            call.id = reference.id.clone();
            call.org_id = reference.org_id.clone();
            assert_eq!(call, reference, "order {order:?}");
        }
    }

    #[test]
    fn a_provider_event_of_life_after_the_engine_closed_the_call_contradicts_the_close() {
        let ringing = run(&[ev(CallStatus::Ringing, 1)]);
        let timed_out = apply(&ringing, &reconcile(&ringing, "timeout"), t(2000)).call;
        let completed = run(&[ev(CallStatus::Ringing, 1), ev(CallStatus::Completed, 9)]);
        let by_engine = |status| CallEvent {
            authority: Authority::Engine,
            ..ev(status, 3)
        };
        let cases = [
            (&timed_out, ev(CallStatus::Answered, 3), true),
            (&timed_out, ev(CallStatus::Disconnected, 3), true),
            (&timed_out, ev(CallStatus::Ringing, 3), true),
            (&timed_out, ev(CallStatus::Completed, 3), false),
            (&timed_out, by_engine(CallStatus::Answered), false),
            (&timed_out, CallEvent::default(), false),
            (&ringing, ev(CallStatus::Answered, 3), false),
            (&completed, ev(CallStatus::Answered, 3), false),
        ];
        for (i, (call, event, contradicts)) in cases.iter().enumerate() {
            assert_eq!(
                contradicts_engine_close(call, event),
                *contradicts,
                "case {i}"
            );
        }
    }

    #[test]
    fn provider_final_record_overrides_an_engine_outcome_but_not_a_provider_one() {
        let ringing = run(&[ev(CallStatus::Ringing, 1)]);
        let timed_out = apply(&ringing, &reconcile(&ringing, "timeout"), t(2000)).call;
        assert_eq!(timed_out.status, CallStatus::Failed);
        assert_eq!(timed_out.final_by, Some(Authority::Engine));
        assert_eq!(timed_out.hangup_cause.as_deref(), Some("timeout"));
        assert_eq!(timed_out.ended_at, None, "no end time is invented");

        let corrected = apply(&timed_out, &ev(CallStatus::NoAnswer, 40), t(2001)).call;
        assert_eq!(corrected.status, CallStatus::NoAnswer);
        assert_eq!(corrected.final_by, Some(Authority::Provider));
        assert_eq!(corrected.ended_at, Some(t(40)));

        let again = apply(&corrected, &ev(CallStatus::Busy, 41), t(2002)).call;
        assert_eq!(
            again.status,
            CallStatus::NoAnswer,
            "provider outcomes are absorbing"
        );
    }

    #[test]
    fn a_non_final_event_does_not_override_an_engine_outcome() {
        let ringing = run(&[ev(CallStatus::Ringing, 1)]);
        let timed_out = apply(&ringing, &reconcile(&ringing, "timeout"), t(2000)).call;
        let late = apply(&timed_out, &ev(CallStatus::Answered, 5), t(2001));
        assert_eq!(late.call.status, CallStatus::Failed);
        assert_eq!(
            late.call.answered_at,
            Some(t(5)),
            "late events still enrich"
        );
    }

    #[test]
    fn reconcile_closes_a_disconnected_call_by_what_is_known() {
        let talked = run(&[
            ev(CallStatus::Answered, 3),
            ev(CallStatus::Disconnected, 20),
        ]);
        assert_eq!(
            reconcile(&talked, "timeout").status,
            Some(CallStatus::Completed)
        );
        let unanswered = run(&[ev(CallStatus::Ringing, 3), ev(CallStatus::Disconnected, 20)]);
        assert_eq!(
            reconcile(&unanswered, "timeout").status,
            Some(CallStatus::NoAnswer)
        );
    }

    #[test]
    fn unknown_status_words_change_nothing_but_enrich() {
        let call = run(&[ev(CallStatus::Ringing, 1)]);
        let unknown = CallEvent {
            status: None,
            recording_url: Some("https://rec".into()),
            ..CallEvent::default()
        };
        let out = apply(&call, &unknown, t(1001));
        assert_eq!(out.call.status, CallStatus::Ringing);
        assert!(out.changed && !out.status_changed);
        let nothing = apply(&out.call, &CallEvent::default(), t(1002));
        assert!(!nothing.changed);
    }

    #[test]
    fn an_event_long_after_the_end_that_names_another_call_is_not_applied() {
        let ended = run(&[CallEvent {
            to: Some("+919000000001".into()),
            talk_s: Some(30),
            ..ev(CallStatus::Completed, 100)
        }]);
        let reused = CallEvent {
            direction: Some(Direction::Internal),
            to: Some("201".into()),
            talk_s: Some(90),
            ..ev(CallStatus::Completed, 9000)
        };
        let later = t(1000) + REUSED_ID_AFTER;
        let out = apply(&ended, &reused, later);
        assert_eq!(out.ignored, Some("another_call"));
        assert_eq!(out.call, ended);
        // The same call's own late record (its price, its recording) is still applied.
        let price = CallEvent {
            cost: Some("0.012".into()),
            ..CallEvent::default()
        };
        assert!(apply(&ended, &price, later).changed);
        // Soon after the end, a record that disagrees is a correction, not another call.
        assert_eq!(apply(&ended, &reused, t(1100)).ignored, None);
    }

    #[test]
    fn a_call_first_heard_of_after_it_ended_is_created_no_later_than_its_end() {
        let late = CallEvent {
            talk_s: Some(30),
            ..ev(CallStatus::Completed, 100)
        };
        let call = run(&[late]);
        assert_eq!(call.ended_at, Some(t(100)));
        assert_eq!(call.answered_at, Some(t(70)));
        assert_eq!(
            call.created_at,
            t(70),
            "its first known moment, not t(1000)"
        );
    }

    #[test]
    fn a_final_record_also_dates_the_start_and_the_answer() {
        let hangup = CallEvent {
            started_at: Some(t(1)),
            answered_at: Some(t(9)),
            ..ev(CallStatus::Completed, 70)
        };
        let call = run(&[hangup]);
        assert_eq!((call.created_at, call.answered_at), (t(1), Some(t(9))));
        assert_eq!((call.duration_s(), call.talk_s()), (Some(69), Some(61)));
    }

    #[test]
    fn analytics_merge_and_later_fields_win() {
        let first = CallEvent {
            analytics: serde_json::json!({"transcript": "hi", "sentiment": "neutral"})
                .as_object()
                .cloned(),
            ..CallEvent::default()
        };
        let second = CallEvent {
            analytics: serde_json::json!({"sentiment": "positive"})
                .as_object()
                .cloned(),
            ..CallEvent::default()
        };
        let call = run(&[first, second]);
        assert_eq!(
            call.analytics,
            Some(serde_json::json!({"transcript": "hi", "sentiment": "positive"}))
        );
    }

    #[test]
    fn talk_time_is_zero_only_for_unanswered_final_calls() {
        assert_eq!(run(&[ev(CallStatus::Ringing, 1)]).talk_s(), None);
        assert_eq!(run(&[ev(CallStatus::NoAnswer, 30)]).talk_s(), Some(0));
        let answered = run(&[
            ev(CallStatus::Answered, 10),
            ev(CallStatus::Disconnected, 30),
        ]);
        assert_eq!(answered.talk_s(), Some(20), "from the times");
        let mut unknown = answered;
        unknown.ended_at = None;
        assert_eq!(unknown.talk_s(), None, "no end yet");
    }

    #[test]
    fn deadlines_follow_the_phase() {
        let d = Deadlines::default();
        let mut call = new_call();
        assert_eq!(call.deadline(&d), Some(t(1000 + 180)));
        call.status = CallStatus::Answered;
        assert_eq!(call.deadline(&d), Some(t(1000 + 14_400)));
        call.status = CallStatus::Disconnected;
        assert_eq!(call.deadline(&d), Some(t(1000 + 600)));
        call.status = CallStatus::Completed;
        assert_eq!(call.deadline(&d), None);
    }
}
