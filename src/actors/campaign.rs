//! One actor per campaign: it dials the campaign's contacts through the one dial path — never more
//! than `concurrency` live calls, paced per provider account, DNC checked before every dial,
//! retries after their delay, inside the calling window — and reports only what the calls say.

use super::call::news::CallChanged;
use super::call::registry::CallRegistry;
use super::desk::{AgentOutlook, CampaignAnswered, DeskOf, DeskRegistry, ForOrg};
use super::dial_path::{self, Dial, Dialer, Via};
use super::extension::ExtensionRegistry;
use crate::db::desk::CallbackRow;
use crate::db::models::{CampaignContactRow, CampaignRow};
use crate::db::queries;
use crate::db::writer::SharedOutcome;
use crate::db::writes::{DeskOp, WriteOp, WriteRequest};
use crate::domain::call::CallStatus;
use crate::domain::campaign::{
    after_call, CallCounts, CallingWindow, CampaignStatus, ContactStatus, RetryPolicy, SeenCall,
};
use crate::domain::desk::Outlook;
use crate::domain::dial_queue::{DialQueue, Dialable};
use crate::domain::dialer::{
    calls_wanted, outcome_word, zone_of, AmdRule, DialMode, Measured, ABANDON_WINDOW,
};
use crate::domain::events::{EventType, NewEvent};
use crate::domain::ids::OrgId;
use crate::domain::time::{from_text, to_text};
use crate::engine::campaigns::progress_json;
use crate::engine::orgs::{not_configured, Org};
use crate::engine::Engine;
use crate::error::{AppError, Code};
use crate::providers::Provider;
use actix::prelude::*;
use chrono::Utc;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a running campaign looks for contacts to dial.
const TICK: Duration = Duration::from_millis(50);
/// After a failed write, the campaign is read back at most this often.
const RESYNC_EVERY: Duration = Duration::from_secs(1);
/// `campaign:progress` at most this often per campaign.
const PROGRESS_EVERY: Duration = Duration::from_millis(300);
/// How much of each new dial-to-answer time the mean takes (about the last 20 answers count).
const ANSWER_WEIGHT: f64 = 0.1;

/// What a supervisor does to a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Start,
    Pause,
    Resume,
    Cancel,
}

/// Applies a supervisor's action; answered with the campaign once the change is committed.
#[derive(Message)]
#[rtype(result = "Result<CampaignRow, AppError>")]
pub struct Steer(pub Control);

/// The reason of a campaign paused because the org's credits ran out (a top-up resumes it).
pub const NO_CREDITS: &str = "insufficient_credits";

/// A write of the campaign's, awaited by whoever needs its outcome and watched for failure.
type Saved = SharedOutcome;

/// How long a contact whose number is on a live call waits before it is dialed again.
const NUMBER_IN_CALL_RETRY_S: i64 = 60;

/// How a dial ended.
enum DialResult {
    /// The campaign stopped running before the provider was asked.
    Withdrawn,
    /// The number is on the do-not-call list.
    DoNotCall,
    /// The org's credits are used up: the campaign pauses until a top-up.
    NoCredits,
    /// The number had its day's attempts (across the org's campaigns): tried again tomorrow.
    DailyCap,
    /// The number is on a live call with the org: tried again a minute later, no attempt spent.
    NumberInCall,
    Placed(Box<dial_path::Dialed>),
}

/// A campaign's actor.
pub struct CampaignActor {
    engine: Arc<Engine>,
    dialer: Dialer,
    org: Arc<Org>,
    campaign: CampaignRow,
    contacts: Vec<CampaignContactRow>,
    /// Each contact's index in `contacts` (rebuilt whenever they are reordered): every call
    /// that changes finds its contact without a scan of the campaign.
    at: HashMap<String, usize>,
    /// Live calls (not yet disconnected or final) → their contact.
    live: HashMap<String, String>,
    /// Every call of the campaign seen.
    calls: HashMap<String, SeenCall>,
    /// Contacts a person answered on some call: done, whatever another attempt says (a late
    /// record can say so after a later attempt was dialed).
    answered_by_person: HashSet<String>,
    /// The disposition code of each of its calls that has one.
    dispositions: HashMap<String, String>,
    /// Dials asked for and not yet answered: they hold a slot too.
    in_flight: usize,
    /// Open while the campaign runs: a dial already under way checks it before the provider is
    /// asked, so a pause or cancel stops new dials at once.
    gate: Arc<AtomicBool>,
    progress_dirty: bool,
    progress_at: Instant,
    /// The contacts that may still be dialed (pending, or waiting for a retry), by place in
    /// `contacts`: the next is found without a scan of the campaign.
    queue: DialQueue,
    /// The calling window, read once (a campaign's window does not change).
    window: Option<CallingWindow>,
    /// One of its writes failed: its state is read back at the next tick with no dial in flight.
    diverged: Arc<AtomicBool>,
    resynced_at: Instant,
    /// Each org's desk: a progressive or predictive campaign paces by its queue's idle agents.
    desks: Addr<DeskRegistry>,
    /// The queue's agents idle and about to be free, as last asked, and whether an answer is
    /// awaited; the epoch moves when an answered call takes one, so an answer asked before is
    /// not taken.
    agents: Outlook,
    asking: bool,
    idle_epoch: u64,
    /// The last answered calls (at most [`ABANDON_WINDOW`]): whether each was abandoned.
    answers: VecDeque<bool>,
    /// The last concluded calls (at most 200): whether a person answered each.
    reached: VecDeque<bool>,
    /// When each dial of the last minute was placed.
    dial_times: VecDeque<Instant>,
    /// When each contact still ringing was dialed, and the mean time from dial to answer
    /// (moving average): how far ahead a predictive campaign looks for agents about to be free.
    dialed_at: HashMap<String, Instant>,
    answer_after: Option<Duration>,
    /// Due callbacks of its contacts, oldest first: each is dialed before any other contact, in
    /// the next free slot (once its contact has no call live and its window is open).
    callbacks: VecDeque<CallbackRow>,
    /// When a message last reached it: a campaign that does not run leaves memory after the
    /// grace (`campaign_grace`) without one.
    used_at: Instant,
}

impl CampaignActor {
    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.campaign.max_attempts.max(1) as u32,
            retry_delay: Duration::from_secs(self.campaign.retry_delay_s.max(0) as u64),
            recycle: self
                .campaign
                .recycle
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok())
                .unwrap_or_default(),
        }
    }

    fn mode(&self) -> DialMode {
        DialMode::parse(&self.campaign.mode).unwrap_or(DialMode::Fixed)
    }

    /// The answer and abandon rates over the campaign's recent calls.
    fn measured(&self) -> Measured {
        let rate = |flags: &VecDeque<bool>| {
            if flags.is_empty() {
                0.0
            } else {
                flags.iter().filter(|f| **f).count() as f64 / flags.len() as f64
            }
        };
        Measured {
            answer_rate: rate(&self.reached),
            abandon_rate: rate(&self.answers),
            answered: self.answers.len(),
        }
    }

    /// The dialer's live figures: dials a second over the last minute, the abandon rate, idle
    /// agents of its queue, and the seconds to go at this pace (null when it is not dialing).
    fn figures(&self) -> Value {
        let now = Instant::now();
        let recent = self
            .dial_times
            .iter()
            .filter(|t| now.duration_since(**t) <= Duration::from_secs(60))
            .count();
        let window = self.dial_times.front().map_or(60.0, |t| {
            now.duration_since(*t).as_secs_f64().clamp(1.0, 60.0)
        });
        let dial_rate = recent as f64 / window;
        let left = self.queue.len() as f64;
        let agents = self.mode() != DialMode::Fixed;
        let measured = self.measured();
        let (status_detail, next_attempt_at) = self.waiting(Utc::now());
        serde_json::json!({
            "status_detail": status_detail,
            "next_attempt_at": next_attempt_at,
            "dialMode": self.mode().as_str(),
            "dialRate": (dial_rate * 100.0).round() / 100.0,
            "abandonRate": measured.abandon_rate,
            "answeredMeasured": measured.answered,
            "agentsIdle": agents.then_some(self.agents.idle),
            "agentsFreeing": agents.then_some(self.agents.freeing),
            "answerAfterSeconds": self.answer_after.map(|d| (d.as_secs_f64() * 100.0).round() / 100.0),
            "etaSeconds": (dial_rate > 0.0).then(|| (left / dial_rate).round()),
        })
    }

    /// Why a running campaign with contacts left dials none now, and when it next may: every
    /// contact that is due is outside its calling window (`waiting_for_window`, until the first
    /// of those windows opens), the campaign's agents are all busy (`waiting_for_agents`), or
    /// every contact left waits for its retry time (`waiting_for_retry`, until the first).
    fn waiting(
        &self,
        now: chrono::DateTime<Utc>,
    ) -> (Option<&'static str>, Option<chrono::DateTime<Utc>>) {
        if self.status() != CampaignStatus::Running || !self.live.is_empty() || self.in_flight > 0 {
            return (None, None);
        }
        let due: Vec<Option<&str>> = self.queue.due_zones().collect();
        if due.is_empty() {
            return match self.queue.next_retry() {
                // A retry whose time came is dialed at the next tick: not a wait.
                Some(at) if at > now => (Some("waiting_for_retry"), Some(at)),
                _ => (None, None),
            };
        }
        if let Some(window) = &self.window {
            if !due.iter().any(|zone| window.contains_in(now, *zone)) {
                let opens = due
                    .iter()
                    .filter_map(|zone| window.opens_in(now, *zone))
                    .min();
                return (Some("waiting_for_window"), opens);
            }
        }
        let agents = self.mode() != DialMode::Fixed;
        if agents && self.agents.idle == 0 && self.agents.freeing == 0 {
            return (Some("waiting_for_agents"), None);
        }
        (None, None)
    }

    /// Asks the desk how many agents of the campaign's queue are idle and how many will be free
    /// by the time a call dialed now is answered (one question at a time); a changed answer
    /// dials at once.
    fn ask_agents(&mut self, ctx: &mut Context<Self>) {
        let Some(queue_id) = self.campaign.queue_id.clone().filter(|_| !self.asking) else {
            return;
        };
        self.asking = true;
        let (desks, org_id, epoch) = (self.desks.clone(), self.org.id.clone(), self.idle_epoch);
        let horizon = match self.mode() {
            DialMode::Predictive => self.answer_after.unwrap_or_default(),
            _ => Duration::ZERO,
        };
        let ask = async move {
            let outlook = AgentOutlook { queue_id, horizon };
            desks.send(DeskOf(org_id)).await?.send(outlook).await
        };
        ctx.spawn(ask.into_actor(self).map(move |agents, act, ctx| {
            act.asking = false;
            if let (Ok(agents), true) = (agents, epoch == act.idle_epoch) {
                if agents != act.agents {
                    act.agents = agents;
                    act.tick(ctx);
                }
            }
        }));
    }

    /// A person answered a call of a progressive or predictive campaign: the desk gives it to a
    /// free agent of the queue within 2 s. One agent fewer is idle from now (the desk's next
    /// answer says so too; an answer asked before this one is not taken).
    fn hand_to_agent(&mut self, call_id: String) {
        let Some(queue_id) = self.campaign.queue_id.clone() else {
            return;
        };
        self.agents.idle = self.agents.idle.saturating_sub(1);
        self.idle_epoch += 1;
        let abandon_message = self.campaign.abandon_message.clone();
        let answered = CampaignAnswered {
            call_id,
            queue_id,
            abandon_message,
        };
        self.desks.do_send(ForOrg(self.org.id.clone(), answered));
    }

    fn amd(&self) -> AmdRule {
        AmdRule::parse(&self.campaign.amd).unwrap_or(AmdRule::Off)
    }

    /// Higher priority first, then in the order they were added.
    fn order_contacts(&mut self) {
        self.contacts.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(a.position.cmp(&b.position))
        });
        self.at = (self.contacts.iter().enumerate())
            .map(|(i, c)| (c.contact_id.clone(), i))
            .collect();
        self.queue.clear();
        for (i, contact) in self.contacts.iter().enumerate() {
            self.queue.set(i, dialable(contact));
        }
    }

    /// Whether the campaign's window is open now in this zone (a contact's own, see
    /// [`zone_for`]; None: the window's); memoized per zone for a tick.
    fn window_open(
        window: Option<&CallingWindow>,
        zone: Option<&str>,
        now: chrono::DateTime<Utc>,
        seen: &mut HashMap<Option<String>, bool>,
    ) -> bool {
        let Some(window) = window else {
            return true;
        };
        *seen
            .entry(zone.map(str::to_owned))
            .or_insert_with_key(|zone| window.contains_in(now, zone.as_deref()))
    }

    fn status(&self) -> CampaignStatus {
        CampaignStatus::parse(&self.campaign.status).unwrap_or(CampaignStatus::Pending)
    }

    fn index(&self, contact_id: &str) -> Option<usize> {
        self.at.get(contact_id).copied()
    }

    /// Commits changed rows with the events they make; waits for nothing (the writer keeps order).
    /// A write that fails is noticed: the actor's state is read back from the database at its
    /// next tick, so it never silently diverges from what is stored. Callers that need no answer
    /// drop the returned future; the watcher still sees the outcome.
    fn write(&self, ops: Vec<WriteOp>, events: Vec<NewEvent>) -> Saved {
        let pending = self.engine.writer.submit(WriteRequest {
            org_id: self.org.id.clone(),
            ops,
            events,
        });
        let saved = pending.shared();
        let (watched, diverged) = (saved.clone(), self.diverged.clone());
        actix::spawn(async move {
            if watched.await.is_err() {
                diverged.store(true, Ordering::SeqCst);
            }
        });
        saved
    }

    /// Reads the campaign, its contacts and its calls back from the database (at start, and after
    /// a write of this actor's failed), blocking the mailbox until done.
    fn load(&mut self, ctx: &mut Context<Self>) {
        let (campaign_id, org_id) = (self.campaign.id.clone(), self.org.id.to_string());
        let read = self.engine.read(move |conn| {
            let campaign = queries::campaign(conn, &org_id, &campaign_id)?;
            let contacts = queries::campaign_contacts(conn, &campaign_id, None, i64::MAX)?;
            let calls = queries::campaign_calls(conn, &org_id, &campaign_id)?;
            Ok((campaign, contacts, calls))
        });
        ctx.wait(read.into_actor(self).map(|result, act, _| match result {
            Ok((campaign, contacts, calls)) => {
                if let Some(campaign) = campaign {
                    act.gate.store(
                        campaign.status == CampaignStatus::Running.as_str(),
                        Ordering::SeqCst,
                    );
                    act.campaign = campaign;
                }
                act.contacts = contacts;
                act.order_contacts();
                act.live.clear();
                act.calls.clear();
                act.answered_by_person.clear();
                act.progress_dirty = true;
                act.recover_contacts(calls);
            }
            Err(error) => {
                tracing::error!(%error, campaign = %act.campaign.id, "cannot load campaign");
                act.diverged.store(true, Ordering::SeqCst);
            }
        }));
    }

    fn save_contact(&mut self, i: usize) -> Saved {
        self.queue.set(i, dialable(&self.contacts[i]));
        self.contacts[i].updated_at = to_text(Utc::now());
        self.progress_dirty = true;
        self.write(
            vec![WriteOp::UpdateCampaignContact(self.contacts[i].clone())],
            Vec::new(),
        )
    }

    /// Moves the campaign to `status` (with a reason when it failed) and announces it.
    fn set_status(&mut self, status: CampaignStatus, reason: Option<String>) -> Saved {
        self.campaign.status = status.as_str().to_owned();
        self.campaign.failure_reason = reason;
        self.gate
            .store(status == CampaignStatus::Running, Ordering::SeqCst);
        self.campaign.updated_at = to_text(Utc::now());
        self.progress_dirty = true;
        let event = NewEvent {
            event_type: EventType::CampaignUpdated,
            subject: self.campaign.id.clone(),
            data: self.campaign.to_json(),
        };
        self.write(
            vec![WriteOp::UpsertCampaign(self.campaign.clone())],
            vec![event],
        )
    }

    fn progress(&self) -> Value {
        let mut counts = CallCounts::default();
        for call in self.calls.values() {
            counts.add(*call, 1);
        }
        let mut dispositions: HashMap<String, u64> = HashMap::new();
        for code in self.dispositions.values() {
            *dispositions.entry(code.clone()).or_default() += 1;
        }
        let mut progress = progress_json(
            &self.campaign,
            &counts,
            &self.contacts,
            self.live.len() as u64,
            &dispositions,
        );
        if let (Value::Object(fields), Value::Object(figures)) = (&mut progress, self.figures()) {
            fields.extend(figures);
        }
        progress
    }

    /// The next contact to dial: the first (by priority, then order) that is pending or whose
    /// retry time has come, and whose calling window is open in its own zone — a contact outside
    /// its window waits without holding up the others.
    fn next_contact(
        &mut self,
        now: chrono::DateTime<Utc>,
        windows: &mut HashMap<Option<String>, bool>,
    ) -> Option<usize> {
        let window = self.window.as_ref();
        self.queue
            .next(now, |zone| Self::window_open(window, zone, now, windows))
    }

    /// The first due callback whose contact has no call live and whose window is open, with
    /// its contact.
    fn next_callback(
        &mut self,
        now: chrono::DateTime<Utc>,
        windows: &mut HashMap<Option<String>, bool>,
    ) -> Option<(usize, CallbackRow)> {
        let window = self.window.as_ref();
        let due = to_text(now);
        let (at, i) = self.callbacks.iter().enumerate().find_map(|(at, row)| {
            if row.due_at > due {
                return None; // put off (its number was on a live call)
            }
            let i = row.contact_id.as_deref().and_then(|c| self.index(c))?;
            let contact = &self.contacts[i];
            let live = matches!(
                ContactStatus::parse(&contact.status),
                Some(ContactStatus::Dialing | ContactStatus::InCall)
            );
            let zone = zone_for(contact);
            (!live && Self::window_open(window, zone.as_deref(), now, windows)).then_some((at, i))
        })?;
        self.callbacks.remove(at).map(|callback| (i, callback))
    }

    /// Stores how a due callback's dial went: `dialed` with its call, or `failed` with why; one
    /// withdrawn by a pause waits for the campaign to run again.
    fn callback_tried(&mut self, callback: CallbackRow, result: &Result<DialResult, AppError>) {
        let outcome = match result {
            Ok(DialResult::Placed(dialed)) => match &dialed.refused {
                None => Ok(dialed.call.id.to_string()),
                Some(refusal) => Err(refusal.to_string()),
            },
            Ok(DialResult::Withdrawn) if self.status() != CampaignStatus::Cancelled => {
                self.callbacks.push_front(callback);
                return;
            }
            // The customer is still on a call with the center: the callback waits a minute.
            Ok(DialResult::NumberInCall) => {
                let later = Utc::now() + chrono::Duration::seconds(NUMBER_IN_CALL_RETRY_S);
                self.callbacks.push_back(CallbackRow {
                    due_at: to_text(later),
                    ..callback
                });
                return;
            }
            Ok(DialResult::Withdrawn) => Err("the campaign was cancelled".to_owned()),
            Ok(DialResult::DailyCap) => Err("daily_attempt_cap".to_owned()),
            Ok(DialResult::DoNotCall) => Err("do_not_call".to_owned()),
            Ok(DialResult::NoCredits) => Err(NO_CREDITS.to_owned()),
            Err(error) => Err(error.to_string()),
        };
        let stored = DeskOp::PutCallback(callback.tried(outcome));
        drop(self.write(vec![WriteOp::Desk(stored)], Vec::new()));
    }

    fn account_rate(&self) -> f64 {
        let campaign_rate = self.campaign.calls_per_second.unwrap_or(f64::MAX);
        campaign_rate.min(self.account_rate_limit())
    }

    fn account_rate_limit(&self) -> f64 {
        self.engine
            .orgs
            .cached_credentials(&self.org.id, self.provider())
            .map_or(1.0, |c| c.common.calls_per_second)
    }

    fn provider(&self) -> Provider {
        Provider::parse(&self.campaign.provider).unwrap_or(Provider::Twilio)
    }

    /// Whether the campaign may leave memory: it does not run, nothing of it is live or waiting,
    /// its state is the database's, and nothing used it for the grace.
    fn retired(&self) -> bool {
        self.status() != CampaignStatus::Running
            && self.live.is_empty()
            && self.in_flight == 0
            && self.callbacks.is_empty()
            && !self.asking
            && !self.diverged.load(Ordering::SeqCst)
            && self.used_at.elapsed() >= self.engine.settings.campaign_grace
    }

    /// Dials what it may: within concurrency, the window and the account's pace.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.retired() {
            ctx.stop();
            return;
        }
        if self.diverged.load(Ordering::SeqCst)
            && self.in_flight == 0
            && self.resynced_at.elapsed() >= RESYNC_EVERY
        {
            tracing::warn!(campaign = %self.campaign.id, "a write failed: reading the campaign back");
            self.diverged.store(false, Ordering::SeqCst);
            self.resynced_at = Instant::now();
            self.load(ctx);
            return;
        }
        if self.status() != CampaignStatus::Running {
            self.publish_progress();
            return;
        }
        let now = Utc::now();
        let mut windows = HashMap::new();
        let account = format!("{}:{}", self.org.id, self.campaign.provider);
        let rate = self.account_rate();
        let mode = self.mode();
        if mode != DialMode::Fixed {
            self.ask_agents(ctx);
        }
        let concurrency = self.campaign.concurrency.max(1) as usize;
        let wanted = calls_wanted(
            mode,
            concurrency,
            self.agents,
            self.measured(),
            self.campaign.max_abandon_rate,
        );
        loop {
            // An agent campaign's answered calls are its agents' (they left the idle count); only
            // the calls still ringing count against what it may have out.
            let out = match mode {
                DialMode::Fixed => self.live.len(),
                _ => self
                    .live
                    .keys()
                    .filter(|id| {
                        self.calls
                            .get(*id)
                            .is_none_or(|call| call.status != CallStatus::Answered)
                    })
                    .count(),
            } + self.in_flight;
            if out >= wanted || self.live.len() + self.in_flight >= concurrency {
                break;
            }
            let next = match self.next_callback(now, &mut windows) {
                Some((i, callback)) => Some((i, Some(callback))),
                None => self.next_contact(now, &mut windows).map(|i| (i, None)),
            };
            let Some((i, callback)) = next else {
                break;
            };
            if !self.engine.pacer.try_take(&account, rate) {
                self.callbacks.extend(callback);
                break;
            }
            self.dial(i, callback, ctx);
        }
        self.check_done();
        self.publish_progress();
    }

    /// One dial (of a contact, or of its due callback): the contact is `dialing` (committed)
    /// before the call is placed.
    fn dial(&mut self, i: usize, callback: Option<CallbackRow>, ctx: &mut Context<Self>) {
        self.in_flight += 1;
        let now = Instant::now();
        self.dial_times.push_back(now);
        while self
            .dial_times
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
        {
            self.dial_times.pop_front();
        }
        let contact = &mut self.contacts[i];
        // A callback that finds its number still on a live call leaves the contact as it was.
        let before = (contact.status.clone(), contact.next_attempt_at.clone());
        contact.status = ContactStatus::Dialing.as_str().to_owned();
        contact.attempts += 1;
        contact.next_attempt_at = None;
        let (contact_id, phone) = (contact.contact_id.clone(), contact.phone.clone());
        self.dialed_at.insert(contact_id.clone(), now);
        let saved = self.save_contact(i);
        let (dialer, org, gate) = (self.dialer.clone(), self.org.clone(), self.gate.clone());
        let (engine, cap) = (
            self.engine.clone(),
            self.campaign.daily_attempt_cap.max(1) as i64,
        );
        let dial = Dial {
            via: Via::Provider(self.provider()),
            to: phone,
            from: None,
            campaign_id: Some(self.campaign.id.clone()),
            contact_id: Some(contact_id),
            record: self.campaign.record || self.org.record,
            amd: self.amd() != AmdRule::Off,
            for_agent: self.mode() != DialMode::Fixed,
            not_while_in_call: true,
        };
        let work = async move {
            saved.await?;
            if !gate.load(Ordering::SeqCst) {
                return Ok(DialResult::Withdrawn);
            }
            // A number is dialed at most `cap` times a day, whatever campaign dials it.
            let (org_id, number) = (org.id.to_string(), dial.to.clone());
            let since = to_text(start_of_day(Utc::now()));
            let today = engine
                .read(move |conn| Ok(queries::calls_to_since(conn, &org_id, &number, &since)?))
                .await?;
            if today >= cap {
                return Ok(DialResult::DailyCap);
            }
            match dialer.place(&org, dial).await {
                Ok(dialed) => Ok(DialResult::Placed(Box::new(dialed))),
                Err(refusal) if refusal.code == Code::DoNotCall => Ok(DialResult::DoNotCall),
                Err(refusal) if refusal.code == Code::NumberInCall => Ok(DialResult::NumberInCall),
                Err(refusal) if refusal.code == Code::InsufficientCredits => {
                    Ok(DialResult::NoCredits)
                }
                Err(error) => Err(error),
            }
        };
        let id = self.contacts[i].contact_id.clone();
        ctx.spawn(work.into_actor(self).map(move |result, act, ctx| {
            act.in_flight -= 1;
            let waits = callback.is_some() && matches!(result, Ok(DialResult::NumberInCall));
            if let Some(callback) = callback {
                act.callback_tried(callback, &result);
            }
            if waits {
                act.dialed_at.remove(&id);
                if let Some(i) = act.index(&id) {
                    let c = &mut act.contacts[i];
                    (c.status, c.next_attempt_at) = before;
                    c.attempts = (c.attempts - 1).max(0);
                    drop(act.save_contact(i));
                }
            } else {
                act.dialed(&id, result);
            }
            act.tick(ctx);
        }));
    }

    /// The answer of a dial.
    fn dialed(&mut self, contact_id: &str, result: Result<DialResult, AppError>) {
        let outcome = match &result {
            Ok(DialResult::Withdrawn) => None,
            Ok(DialResult::DoNotCall) => Some("do_not_call"),
            Ok(DialResult::NoCredits) => Some("no_credits"),
            Ok(DialResult::DailyCap) => Some("daily_cap"),
            Ok(DialResult::NumberInCall) => Some("number_in_call"),
            Ok(DialResult::Placed(dialed)) if dialed.refused.is_some() => Some("refused"),
            Ok(DialResult::Placed(_)) => Some("placed"),
            Err(_) => Some("failed"),
        };
        if let Some(outcome) = outcome {
            crate::metrics::METRICS.campaign_dial(self.provider().as_str(), outcome);
        }
        if !matches!(result, Ok(DialResult::Placed(_))) {
            self.dialed_at.remove(contact_id);
        }
        let Some(i) = self.index(contact_id) else {
            return;
        };
        match result {
            Ok(DialResult::Withdrawn) => {
                let cancelled = self.status() == CampaignStatus::Cancelled;
                let c = &mut self.contacts[i];
                c.attempts = (c.attempts - 1).max(0);
                if cancelled {
                    c.status = ContactStatus::Skipped.as_str().to_owned();
                    c.last_error = Some("cancelled".into());
                } else {
                    c.status = ContactStatus::Pending.as_str().to_owned();
                }
            }
            Ok(DialResult::DailyCap) => {
                let c = &mut self.contacts[i];
                c.attempts = (c.attempts - 1).max(0);
                c.status = ContactStatus::RetryScheduled.as_str().to_owned();
                c.last_error = Some("daily_attempt_cap".into());
                let tomorrow = start_of_day(Utc::now()) + chrono::Duration::days(1);
                c.next_attempt_at = Some(to_text(tomorrow));
            }
            Ok(DialResult::NumberInCall) => {
                let c = &mut self.contacts[i];
                c.attempts = (c.attempts - 1).max(0);
                c.status = ContactStatus::RetryScheduled.as_str().to_owned();
                c.last_error = Some("number_in_call".into());
                let soon = Utc::now() + chrono::Duration::seconds(NUMBER_IN_CALL_RETRY_S);
                c.next_attempt_at = Some(to_text(soon));
            }
            Ok(DialResult::DoNotCall) => {
                let c = &mut self.contacts[i];
                c.status = ContactStatus::Skipped.as_str().to_owned();
                c.last_error = Some("do_not_call".into());
            }
            Ok(DialResult::NoCredits) => {
                let c = &mut self.contacts[i];
                c.attempts = (c.attempts - 1).max(0);
                c.status = ContactStatus::Pending.as_str().to_owned();
                if self.status() == CampaignStatus::Running {
                    tracing::warn!(campaign = %self.campaign.id, "credits used up: campaign paused");
                    drop(self.set_status(CampaignStatus::Paused, Some(NO_CREDITS.to_owned())));
                }
            }
            Ok(DialResult::Placed(dialed)) => {
                let call_id = dialed.call.id.to_string();
                self.contacts[i].call_id = Some(call_id.clone());
                if let Some(refusal) = &dialed.refused {
                    self.contacts[i].last_error = Some(refusal.to_string());
                    if refusal.credentials_rejected() {
                        drop(self.set_status(
                            CampaignStatus::Failed,
                            Some(format!(
                                "the provider rejected the account's credentials: {refusal}"
                            )),
                        ));
                    }
                }
                self.contacts[i].status = ContactStatus::InCall.as_str().to_owned();
                // The call's callbacks may have been heard before the dial's own answer (a
                // callee who does not answer within the API's round trip under load): the
                // further of the two says where the call is (statuses only move forward).
                let placed = SeenCall {
                    status: dialed.call.status,
                    analytics: dialed.call.analytics.is_some(),
                    answered: dialed.call.answered_at.is_some(),
                    machine: dialed.call.amd.as_deref() == Some("machine"),
                    abandoned: dialed.call.abandoned(),
                };
                let seen = match self.calls.get(&call_id) {
                    Some(heard) if heard.status.rank() >= placed.status.rank() => *heard,
                    _ => placed,
                };
                let status = seen.status;
                self.calls.insert(call_id.clone(), seen);
                if status.is_live() {
                    self.live.insert(call_id.clone(), contact_id.to_owned());
                }
                if status.is_final() {
                    self.conclude(i, status, seen.amd(), seen.abandoned);
                }
            }
            Err(error) => {
                tracing::warn!(%error, campaign = %self.campaign.id, "dial failed before reaching the provider");
                let c = &mut self.contacts[i];
                c.last_error = Some(error.to_string());
                c.status = ContactStatus::RetryScheduled.as_str().to_owned();
                c.attempts -= 1;
                c.next_attempt_at = Some(to_text(Utc::now() + chrono::Duration::seconds(5)));
            }
        }
        self.keep_reached_done(i);
        drop(self.save_contact(i));
    }

    /// A contact a person answered on some call is done once no call of it is under way,
    /// whatever its last dial came to (refused, withdrawn, capped): the late record of an earlier
    /// answer may arrive while a later dial is asked for.
    fn keep_reached_done(&mut self, i: usize) {
        let c = &mut self.contacts[i];
        let open = [
            ContactStatus::Done,
            ContactStatus::Dialing,
            ContactStatus::InCall,
        ]
        .map(ContactStatus::as_str)
        .contains(&c.status.as_str());
        if !open && self.answered_by_person.contains(&c.contact_id) {
            c.status = ContactStatus::Done.as_str().to_owned();
            c.next_attempt_at = None;
        }
    }

    /// A contact's call reached its final status: done, retry, or failed — by the outcome's
    /// recycling rule, and for a machine by the campaign's rule (hang up or let the flow leave its
    /// message: done; retry: dialed again).
    fn conclude(&mut self, i: usize, outcome: CallStatus, amd: Option<&str>, abandoned: bool) {
        // What pacing measures: whether a person answered, and whether that answer was abandoned.
        let person = outcome == CallStatus::Completed && amd != Some("machine") && !abandoned;
        push_bounded(&mut self.reached, person || abandoned, 200);
        if person || abandoned {
            push_bounded(&mut self.answers, abandoned, ABANDON_WINDOW);
        }
        self.conclude_without_pacing(i, outcome, amd, abandoned);
    }

    /// The contact's status, next attempt and last outcome after its call ended with `outcome`.
    fn conclude_without_pacing(
        &mut self,
        i: usize,
        outcome: CallStatus,
        amd: Option<&str>,
        abandoned: bool,
    ) {
        let policy = self.policy();
        let mut word = outcome_word(outcome, amd, abandoned);
        if word == "machine" && self.amd() != AmdRule::Retry {
            word = CallStatus::Completed.as_str();
        }
        if self
            .answered_by_person
            .contains(&self.contacts[i].contact_id)
        {
            word = CallStatus::Completed.as_str();
        }
        let c = &mut self.contacts[i];
        let (status, next) = after_call(word, c.attempts.max(0) as u32, &policy, Utc::now());
        c.status = status.as_str().to_owned();
        c.last_outcome = Some(outcome_word(outcome, amd, abandoned).to_owned());
        c.next_attempt_at = next.map(to_text);
    }

    /// The provider corrected the outcome of a contact's last call after the contact concluded
    /// (the engine closed the call at its ring deadline, then the provider's record said it was
    /// answered): the contact follows the call's final outcome. A retry is not scheduled once the
    /// campaign has stopped dialing. Answers whether the contact changed.
    fn correct(
        &mut self,
        i: usize,
        outcome: CallStatus,
        amd: Option<&str>,
        abandoned: bool,
    ) -> bool {
        let word = outcome_word(outcome, amd, abandoned);
        let c = &self.contacts[i];
        let concluded = [
            ContactStatus::Done,
            ContactStatus::Failed,
            ContactStatus::RetryScheduled,
        ]
        .map(ContactStatus::as_str)
        .contains(&c.status.as_str());
        let undone = self.answered_by_person.contains(&c.contact_id)
            && c.status != ContactStatus::Done.as_str();
        if !concluded || (c.last_outcome.as_deref() == Some(word) && !undone) {
            return false;
        }
        tracing::info!(campaign = %self.campaign.id, contact = %c.contact_id, was = ?c.last_outcome, now = word,
            "a contact follows its call's corrected outcome");
        let dialing = matches!(
            self.status(),
            CampaignStatus::Running | CampaignStatus::Paused
        );
        self.conclude_without_pacing(i, outcome, amd, abandoned);
        let c = &mut self.contacts[i];
        if !dialing && c.status == ContactStatus::RetryScheduled.as_str() {
            c.status = ContactStatus::Failed.as_str().to_owned();
            c.next_attempt_at = None;
        }
        true
    }

    /// Completed when no contact is open and no call is live.
    fn check_done(&mut self) {
        if self.status() != CampaignStatus::Running
            || self.in_flight > 0
            || !self.live.is_empty()
            || !self.callbacks.is_empty()
            || !self.queue.is_empty()
        {
            return;
        }
        let open = self
            .contacts
            .iter()
            .any(|c| ContactStatus::parse(&c.status).is_some_and(ContactStatus::is_open));
        if !open {
            drop(self.set_status(CampaignStatus::Completed, None));
        }
    }

    fn publish_progress(&mut self) {
        if !self.progress_dirty || self.progress_at.elapsed() < PROGRESS_EVERY {
            return;
        }
        self.progress_dirty = false;
        self.progress_at = Instant::now();
        let event = NewEvent {
            event_type: EventType::CampaignProgress,
            subject: self.campaign.id.clone(),
            data: self.progress(),
        };
        drop(self.write(Vec::new(), vec![event]));
    }

    /// After a restart or a failed write: contacts caught mid-dial are matched with the calls that
    /// exist, and concluded contacts follow their calls' records (a correction, or an earlier
    /// call's answer, whose save was lost).
    fn recover_contacts(&mut self, calls: Vec<queries::CampaignCall>) {
        let mut by_id: HashMap<&str, &queries::CampaignCall> = HashMap::new();
        let mut latest: HashMap<&str, &queries::CampaignCall> = HashMap::new();
        for call in &calls {
            let seen = SeenCall {
                status: call.status,
                analytics: call.has_analytics,
                answered: call.answered,
                machine: call.amd.as_deref() == Some("machine"),
                abandoned: call.abandoned,
            };
            self.calls.insert(call.id.clone(), seen);
            if let Some(code) = &call.disposition {
                self.dispositions.insert(call.id.clone(), code.clone());
            }
            by_id.insert(&call.id, call);
            if let Some(contact) = &call.contact_id {
                latest.insert(contact, call);
                if seen.reached_a_person() {
                    self.answered_by_person.insert(contact.clone());
                }
            }
        }
        for i in 0..self.contacts.len() {
            let contact = &self.contacts[i];
            let status = ContactStatus::parse(&contact.status);
            let call = contact
                .call_id
                .as_deref()
                .and_then(|id| by_id.get(id))
                .or_else(|| latest.get(contact.contact_id.as_str()))
                .copied();
            let changed = match (status, call) {
                // The dial was committed but no call was written: the provider was never asked.
                (Some(ContactStatus::Dialing | ContactStatus::InCall), None) => {
                    let c = &mut self.contacts[i];
                    c.status = ContactStatus::Pending.as_str().to_owned();
                    c.attempts = (c.attempts - 1).max(0);
                    true
                }
                (Some(ContactStatus::Dialing | ContactStatus::InCall), Some(call)) => {
                    let c = &mut self.contacts[i];
                    c.call_id = Some(call.id.clone());
                    c.status = ContactStatus::InCall.as_str().to_owned();
                    if call.status.is_live() {
                        self.live.insert(call.id.clone(), c.contact_id.clone());
                    } else if call.status.is_final() {
                        self.conclude(i, call.status, call.amd.as_deref(), call.abandoned);
                    }
                    true
                }
                // Concluded before a write of this actor failed: its call's record (or an
                // earlier call's answer) may have come since, and its correction not been kept.
                (Some(_), Some(call)) if call.status.is_final() => {
                    self.correct(i, call.status, call.amd.as_deref(), call.abandoned)
                }
                _ => false,
            };
            if changed {
                drop(self.save_contact(i));
            }
        }
    }
}

impl Actor for CampaignActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        crate::metrics::METRICS.actor("campaign", 1);
        self.load(ctx);
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        crate::metrics::METRICS.actor("campaign", -1);
    }
}

impl Handler<Steer> for CampaignActor {
    type Result = ResponseActFuture<Self, Result<CampaignRow, AppError>>;

    fn handle(&mut self, msg: Steer, ctx: &mut Context<Self>) -> Self::Result {
        self.used_at = Instant::now();
        let status = self.status();
        let conflict = |code: Code, message: String| -> Self::Result {
            Box::pin(actix::fut::ready(Err(AppError::new(code, message))))
        };
        let pending = match msg.0 {
            Control::Start => {
                if status == CampaignStatus::Running {
                    return conflict(
                        Code::CampaignRunning,
                        "the campaign is already running".into(),
                    );
                }
                if status == CampaignStatus::Paused {
                    return conflict(
                        Code::CampaignPaused,
                        "the campaign is paused: resume it".into(),
                    );
                }
                let provider = self.provider();
                match self.engine.orgs.cached_credentials(&self.org.id, provider) {
                    None => return Box::pin(actix::fut::ready(Err(not_configured(provider)))),
                    // A campaign's dials name no `from`.
                    Some(account) if !account.dials_alone() => {
                        return Box::pin(actix::fut::ready(Err(dial_path::flow_required())))
                    }
                    Some(_) => {}
                }
                // A re-run goes over the pending and failed contacts (and those a cancel skipped).
                let mut reopened = Vec::new();
                for (i, c) in self.contacts.iter_mut().enumerate() {
                    let again = c.status == ContactStatus::Failed.as_str()
                        || (c.status == ContactStatus::Skipped.as_str()
                            && c.last_error.as_deref() == Some("cancelled"));
                    if again {
                        c.status = ContactStatus::Pending.as_str().to_owned();
                        c.attempts = 0;
                        c.next_attempt_at = None;
                        reopened.push(i);
                    }
                }
                for i in reopened {
                    drop(self.save_contact(i));
                }
                if self.queue.is_empty() {
                    return conflict(
                        Code::NothingToDial,
                        "the campaign has no contact left to dial".into(),
                    );
                }
                self.set_status(CampaignStatus::Running, None)
            }
            Control::Pause if status == CampaignStatus::Running => {
                self.set_status(CampaignStatus::Paused, None)
            }
            Control::Resume if status == CampaignStatus::Paused => {
                self.set_status(CampaignStatus::Running, None)
            }
            Control::Cancel
                if matches!(
                    status,
                    CampaignStatus::Running | CampaignStatus::Paused | CampaignStatus::Pending
                ) =>
            {
                let skipped: Vec<usize> = self.queue.places().collect();
                for i in skipped {
                    let c = &mut self.contacts[i];
                    c.status = ContactStatus::Skipped.as_str().to_owned();
                    c.last_error = Some("cancelled".into());
                    drop(self.save_contact(i));
                }
                self.set_status(CampaignStatus::Cancelled, None)
            }
            other => {
                return conflict(
                    Code::InvalidTransition,
                    format!("cannot {other:?} a {} campaign", status.as_str()).to_lowercase(),
                );
            }
        };
        self.progress_dirty = true;
        self.tick(ctx);
        Box::pin(
            pending
                .into_actor(self)
                .map(|result, act, _| result.map(|_| act.campaign.clone())),
        )
    }
}

impl Handler<CallChanged> for CampaignActor {
    type Result = ();

    fn handle(&mut self, msg: CallChanged, ctx: &mut Context<Self>) {
        self.used_at = Instant::now();
        let seen = SeenCall {
            status: msg.status,
            analytics: msg.has_analytics,
            answered: msg.answered,
            machine: msg.amd.as_deref() == Some("machine"),
            abandoned: msg.abandoned,
        };
        self.calls.insert(msg.call_id.clone(), seen);
        if let Some(code) = &msg.disposition {
            self.dispositions.insert(msg.call_id.clone(), code.clone());
        }
        self.progress_dirty = true;
        if !msg.status.is_live() {
            self.live.remove(&msg.call_id);
        }
        self.measure_answer(&msg);
        let machine = msg.amd.as_deref() == Some("machine");
        if machine && msg.status.is_live() && matches!(self.amd(), AmdRule::Hangup | AmdRule::Retry)
        {
            self.hang_up(msg.call_id.clone());
        }
        if !machine && msg.status == CallStatus::Answered && self.mode() != DialMode::Fixed {
            self.hand_to_agent(msg.call_id.clone());
        }
        if msg.status.is_final() {
            let contact = msg.contact_id.as_deref().and_then(|c| self.index(c));
            if let Some(i) = contact {
                if seen.reached_a_person() {
                    let contact_id = self.contacts[i].contact_id.clone();
                    self.answered_by_person.insert(contact_id);
                }
                let current = self.contacts[i].call_id.as_deref() == Some(msg.call_id.as_str());
                if current && self.contacts[i].status == ContactStatus::InCall.as_str() {
                    self.conclude(i, msg.status, msg.amd.as_deref(), msg.abandoned);
                    drop(self.save_contact(i));
                } else if (current || seen.reached_a_person())
                    && self.correct(i, msg.status, msg.amd.as_deref(), msg.abandoned)
                {
                    drop(self.save_contact(i));
                }
            }
        }
        self.tick(ctx);
    }
}

impl CampaignActor {
    /// A call answered or ended: when answered, the time from its dial to the answer moves the
    /// mean that a predictive campaign looks ahead by.
    fn measure_answer(&mut self, msg: &CallChanged) {
        let answered = msg.status == CallStatus::Answered;
        if !answered && msg.status.is_live() {
            return;
        }
        let dialed_at = msg
            .contact_id
            .as_ref()
            .and_then(|c| self.dialed_at.remove(c));
        if let (Some(dialed_at), true) = (dialed_at, answered) {
            let took = dialed_at.elapsed();
            self.answer_after = Some(match self.answer_after {
                Some(mean) => mean.mul_f64(1.0 - ANSWER_WEIGHT) + took.mul_f64(ANSWER_WEIGHT),
                None => took,
            });
        }
    }

    /// Hangs up a live call of the campaign through its provider (a machine answered it).
    fn hang_up(&self, call_id: String) {
        let (engine, org_id) = (self.engine.clone(), self.org.id.clone());
        actix::spawn(async move {
            let hung = async {
                let call = crate::engine::calls::find(&engine, &org_id, &call_id).await?;
                let provider =
                    Provider::parse(&call.provider).ok_or(AppError::not_found("provider"))?;
                let credentials = engine.orgs.required_credentials(&org_id, provider).await?;
                let sid = call.provider_call_id.ok_or(AppError::not_found("call"))?;
                crate::providers::outbound::hang_up(&engine.http, &credentials, &sid)
                    .await
                    .map_err(|e| AppError::new(Code::ProviderError, e.to_string()))
            };
            if let Err(error) = hung.await {
                tracing::warn!(%error, %call_id, "a machine's call not hung up");
            }
        });
    }
}

/// Contacts were added to the campaign (already stored): they are read and dialed in their turn,
/// also while it runs.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ContactsAdded;

impl Handler<ContactsAdded> for CampaignActor {
    type Result = ();

    fn handle(&mut self, _: ContactsAdded, ctx: &mut Context<Self>) {
        self.used_at = Instant::now();
        let after = self.contacts.iter().map(|c| c.position).max();
        let campaign_id = self.campaign.id.clone();
        let read = self.engine.read(move |conn| {
            Ok(queries::campaign_contacts(
                conn,
                &campaign_id,
                after,
                i64::MAX,
            )?)
        });
        ctx.wait(read.into_actor(self).map(|added, act, ctx| match added {
            Ok(added) => {
                let new = added
                    .into_iter()
                    .filter(|c| !act.at.contains_key(&c.contact_id));
                act.contacts.extend(new);
                act.order_contacts();
                act.progress_dirty = true;
                act.tick(ctx);
            }
            Err(error) => {
                tracing::error!(%error, campaign = %act.campaign.id, "added contacts not read");
                act.diverged.store(true, Ordering::SeqCst);
            }
        }));
    }
}

/// A due callback of one of the campaign's contacts (a `CALLBACK` disposition): while the
/// campaign runs it takes the callback — dialed before any other contact, in one of its own
/// slots, under its mode, window and daily cap — and stores how the dial went. False when it does
/// not run, or has no such contact: the scheduler dials it itself.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct CallbackDue(pub CallbackRow);

impl Handler<CallbackDue> for CampaignActor {
    type Result = bool;

    fn handle(&mut self, msg: CallbackDue, ctx: &mut Context<Self>) -> bool {
        self.used_at = Instant::now();
        let known = msg.0.contact_id.as_deref().and_then(|c| self.index(c));
        if self.status() != CampaignStatus::Running || known.is_none() {
            return false;
        }
        self.callbacks.push_back(msg.0);
        self.tick(ctx);
        true
    }
}

/// Appends to a window of the last `limit` values.
fn push_bounded(window: &mut VecDeque<bool>, value: bool, limit: usize) {
    window.push_back(value);
    while window.len() > limit {
        window.pop_front();
    }
}

/// The campaign's progress as its actor has it (its contacts, calls and dispositions, committed
/// before it hears of them), with the dialer's live figures (`dialRate`, `abandonRate`,
/// `agentsIdle`, `etaSeconds`, …).
#[derive(Message)]
#[rtype(result = "Value")]
pub struct CurrentProgress;

impl Handler<CurrentProgress> for CampaignActor {
    type Result = MessageResult<CurrentProgress>;

    fn handle(&mut self, _: CurrentProgress, _: &mut Context<Self>) -> Self::Result {
        self.used_at = Instant::now();
        MessageResult(self.progress())
    }
}

/// Midnight (UTC) of `now`'s day: where a day's attempts are counted from.
fn start_of_day(now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |midnight| midnight.and_utc())
}

/// The contact's place in the dial queue when it may still be dialed: due now when pending (or
/// its retry time is unreadable), else at its retry time.
fn dialable(contact: &CampaignContactRow) -> Option<Dialable> {
    let due = match ContactStatus::parse(&contact.status)? {
        ContactStatus::Pending => None,
        ContactStatus::RetryScheduled => contact.next_attempt_at.as_deref().and_then(from_text),
        _ => return None,
    };
    Some(Dialable {
        zone: zone_for(contact),
        due,
    })
}

/// The zone a contact's calling window is read in: its own `tz`, else the one its number says
/// (None: the campaign window's).
fn zone_for(contact: &CampaignContactRow) -> Option<String> {
    (contact.tz.clone()).or_else(|| zone_of(&contact.phone).map(str::to_owned))
}

/// The campaign actors, by campaign id; a campaign's actor is started (and loaded) when first
/// needed and stays while it runs — one that does not run leaves memory after its grace without
/// use (`campaign_grace`) and is loaded again when next needed.
pub struct CampaignRegistry {
    campaigns: HashMap<String, Addr<CampaignActor>>,
    /// Why the last load of a campaign failed, by campaign id (until one succeeds).
    failed: HashMap<String, AppError>,
    engine: Arc<Engine>,
    dialer: Dialer,
    desks: Addr<DeskRegistry>,
}

impl CampaignRegistry {
    /// The registry; its campaigns dial through `calls` and `extensions`.
    pub fn new(
        engine: Arc<Engine>,
        calls: Addr<CallRegistry>,
        extensions: Addr<ExtensionRegistry>,
        desks: Addr<DeskRegistry>,
    ) -> Self {
        CampaignRegistry {
            campaigns: HashMap::new(),
            failed: HashMap::new(),
            dialer: Dialer::new(engine.clone(), calls, extensions),
            engine,
            desks,
        }
    }
}

impl Actor for CampaignRegistry {
    type Context = Context<Self>;
}

/// The actor of a campaign of the org (None when the org has no such campaign; the error when it
/// could not be loaded).
#[derive(Message)]
#[rtype(result = "Result<Option<Addr<CampaignActor>>, AppError>")]
pub struct RouteCampaign {
    pub org_id: OrgId,
    pub campaign_id: String,
}

impl Handler<RouteCampaign> for CampaignRegistry {
    type Result = ResponseActFuture<Self, Result<Option<Addr<CampaignActor>>, AppError>>;

    fn handle(&mut self, msg: RouteCampaign, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(actor) = self
            .campaigns
            .get(&msg.campaign_id)
            .filter(|a| a.connected())
        {
            return Box::pin(actix::fut::ready(Ok(Some(actor.clone()))));
        }
        let engine = self.engine.clone();
        let id = msg.campaign_id.clone();
        let msg_id = msg.campaign_id.clone();
        let load = async move {
            let (org_id, id) = (msg.org_id.to_string(), msg.campaign_id);
            let row = engine
                .read(move |conn| Ok(queries::campaign(conn, &org_id, &id)?))
                .await?;
            let org = engine.orgs.by_id(msg.org_id.as_str()).await?;
            // The account's pace is read from memory while dialing: load its credentials now.
            if let Some(provider) = row.as_ref().and_then(|r| Provider::parse(&r.provider)) {
                engine.orgs.credentials(&msg.org_id, provider).await?;
            }
            Ok::<_, AppError>(row.zip(org))
        };
        // Loads one campaign at a time, so two messages never start two actors for it.
        ctx.wait(load.into_actor(self).map(|result, act, _| {
            let found = match result {
                Ok(found) => {
                    act.failed.remove(&msg_id);
                    found
                }
                Err(error) => {
                    act.failed.insert(msg_id, error);
                    None
                }
            };
            if let Some((campaign, org)) = found {
                let running = campaign.status == CampaignStatus::Running.as_str();
                if !act
                    .campaigns
                    .get(&campaign.id)
                    .is_some_and(|a| a.connected())
                {
                    let id = campaign.id.clone();
                    let window = campaign
                        .calling_window
                        .as_deref()
                        .and_then(|w| serde_json::from_str(w).ok());
                    let actor = CampaignActor {
                        engine: act.engine.clone(),
                        dialer: act.dialer.clone(),
                        org,
                        campaign,
                        contacts: Vec::new(),
                        at: HashMap::new(),
                        live: HashMap::new(),
                        calls: HashMap::new(),
                        answered_by_person: HashSet::new(),
                        dispositions: HashMap::new(),
                        in_flight: 0,
                        gate: Arc::new(AtomicBool::new(running)),
                        progress_dirty: true,
                        progress_at: Instant::now() - PROGRESS_EVERY,
                        queue: DialQueue::default(),
                        window,
                        diverged: Arc::new(AtomicBool::new(false)),
                        resynced_at: Instant::now() - RESYNC_EVERY,
                        desks: act.desks.clone(),
                        agents: Outlook::default(),
                        asking: false,
                        idle_epoch: 0,
                        answers: VecDeque::new(),
                        reached: VecDeque::new(),
                        dial_times: VecDeque::new(),
                        dialed_at: HashMap::new(),
                        answer_after: None,
                        callbacks: VecDeque::new(),
                        used_at: Instant::now(),
                    }
                    .start();
                    act.campaigns.insert(id, actor);
                }
            }
        }));
        Box::pin(actix::fut::ready(()).map(move |_, act: &mut Self, _| {
            match (act.campaigns.get(&id), act.failed.get(&id)) {
                (Some(actor), _) => Ok(Some(actor.clone())),
                (None, Some(error)) => Err(error.clone()),
                (None, None) => Ok(None),
            }
        }))
    }
}

impl Handler<CallChanged> for CampaignRegistry {
    type Result = ();

    fn handle(&mut self, msg: CallChanged, ctx: &mut Context<Self>) {
        let route = RouteCampaign {
            org_id: msg.org_id.clone(),
            campaign_id: msg.campaign_id.clone(),
        };
        let found = Handler::<RouteCampaign>::handle(self, route, ctx);
        ctx.spawn(found.map(move |result, _, _| {
            if let Ok(Some(actor)) = result {
                actor.do_send(msg);
            }
        }));
    }
}
