//! One actor per live call: it owns the call's state, applies events through the pure state machine,
//! commits each change through the writer, and reconciles the call when its deadline passes.

use super::news::{CallChanged, Listeners, QueuedCallChanged, WantPrice};
use crate::actors::extension::{change_extension, ExtensionRegistry};
use crate::db::models::{CallEventRow, CallRow, InboxRow};
use crate::db::queries;
use crate::db::writer::{Chain, SharedOutcome};
use crate::db::writes::{WriteOp, WriteOutcome, WriteRequest};
use crate::domain::call::{self, Call, CallEvent};
use crate::domain::events::{EventType, NewEvent};
use crate::domain::extension::ExtensionChange;
use crate::domain::ids::{CallId, OrgId};
use crate::domain::tally;
use crate::domain::time::to_text;
use crate::engine::pbx_records::{self, PbxRecord};
use crate::engine::{keep, Engine, PROVIDER_TIMEOUT};
use crate::error::AppError;
use crate::metrics;
use actix::prelude::*;
use chrono::Utc;
use futures_util::FutureExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A provider's event for one call, as a webhook handler hands it over.
#[derive(Debug, Clone)]
pub struct ProviderEvent {
    pub event: CallEvent,
    /// Invariant 3's key: the same key twice is the same event.
    pub dedupe_key: String,
    /// The raw webhook, stored with the event (None for the engine's own, e.g. an API dial).
    pub inbox: Option<InboxRow>,
    /// What kind of webhook it was, e.g. `twilio.status`.
    pub kind: &'static str,
    /// The provider's own status word.
    pub raw_status: Option<String>,
    /// The webhook's fields, for the timeline.
    pub data: serde_json::Value,
    /// For an incoming call: the screen pop to publish (`incoming:call`) with the call.
    pub screen_pop: Option<serde_json::Value>,
    /// A snapshot of the call's state with no id or sequence of its own (Yeastar's 30011, keyed
    /// by its body): the same snapshot again is a retry only when nothing came between; after
    /// another one (an un-hold after a hold) it is a new event.
    pub snapshot: bool,
}

/// Applies a provider event to the call; answered at once with the commit to wait for.
#[derive(Message)]
#[rtype(result = "Receipt")]
pub struct ApplyEvent(pub ProviderEvent);

/// What a call's actor answers for an event: its commit (or, for a repeat, the first delivery's),
/// which the sender awaits on its own thread — the writer wakes it directly — and what to answer
/// once that commit is through.
pub struct Receipt {
    commit: Commit,
    accepted: Accepted,
}

impl Receipt {
    /// Waits for the commit: the event's acceptance, or the commit's error.
    pub async fn committed(self) -> Result<Accepted, AppError> {
        let duplicate = match self.commit.await? {
            WriteOutcome::Committed(_) => self.accepted.duplicate,
            WriteOutcome::Duplicate => true,
        };
        Ok(Accepted {
            duplicate,
            ..self.accepted
        })
    }
}

/// What became of an accepted event.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub call_id: CallId,
    pub duplicate: bool,
    /// The call's PBX extensions, and whether it is still live: its extensions leave it otherwise.
    pub extensions: Vec<String>,
    pub live: bool,
}

/// Ends a call the engine's way (reason e.g. `manual_reset`), unless it is already final.
#[derive(Message)]
#[rtype(result = "Result<Accepted, AppError>")]
pub struct ForceEnd {
    pub reason: &'static str,
    /// Who ended it, for its timeline (`supervisor`, `pbx_resync`, …).
    pub trigger: &'static str,
}

/// What a call actor talks to besides its registry.
#[derive(Clone)]
pub struct CallDeps {
    /// The writer, the read pool, the deadlines, and the provider APIs asked about stuck calls.
    pub engine: Arc<Engine>,
    /// Told when a call the engine closes itself had extensions in it.
    pub extensions: Addr<ExtensionRegistry>,
    /// Who hears the call's news.
    pub listeners: Listeners,
}

/// A call as providers name it: unique per org and provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallKey {
    pub org_id: OrgId,
    pub provider: String,
    pub provider_call_id: String,
}

impl CallKey {
    /// The call's key, once its provider has named it.
    pub fn of(call: &Call) -> Option<CallKey> {
        Some(CallKey {
            org_id: call.org_id.clone(),
            provider: call.provider.clone(),
            provider_call_id: call.provider_call_id.clone()?,
        })
    }
}

/// A call actor read its call (or learned the provider's id for it): it answers to both its
/// names, unless another actor of the call read it first. Answers whether the call is this
/// actor's (else it retires).
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Alias {
    pub call_id: CallId,
    pub key: Option<CallKey>,
    pub actor: Addr<CallActor>,
}

/// A call actor retires: forget it by its names, unless newer actors already took them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Forget {
    pub call_id: CallId,
    /// Every provider key the actor may be known by (the one it was started for, the call's own).
    pub keys: Vec<CallKey>,
    pub actor: Addr<CallActor>,
}

/// How a call actor reaches the registry that started it: the keys it is known by, its retirement.
#[derive(Clone)]
pub struct Registrar {
    pub alias: Recipient<Alias>,
    pub forget: Recipient<Forget>,
}

/// The dialer's word on a call it placed (its event's kind): the provider's answer, the PBX's,
/// or the refusal of either.
pub mod placement {
    pub const PLACED: &str = "placed";
    pub const DIALED: &str = "dialed";
    pub const FAILED: &str = "place_failed";
    pub const ALL: [&str; 3] = [PLACED, DIALED, FAILED];
}

/// Where an actor finds its call in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// By the provider's id; absent means a new call (a webhook for a call not seen before).
    Provider(CallKey),
    /// By our id; absent means a new call only when the engine is creating it.
    Ours { create: bool },
}

/// One call's actor. Events for the call are applied one at a time, in arrival order; commits are
/// pipelined through the writer, whose queue keeps them in the same order.
pub struct CallActor {
    call: Call,
    /// The call as first imagined, before anything was stored: what a failed first commit resets to.
    blank: Call,
    /// Dedupe keys of the provider events already applied.
    seen: HashSet<String>,
    /// Not yet in the database: its first commit announces it (`call:created`).
    unsaved: bool,
    lookup: Lookup,
    /// The registry knows this actor by both ids.
    aliased: bool,
    /// Its caller already popped up on the dashboards (`incoming:call`): once per call.
    screen_popped: bool,
    /// Commits under way, by the dedupe key of the event they store.
    in_flight: HashMap<String, Commit>,
    registry: Registrar,
    deps: CallDeps,
    timer: Option<SpawnHandle>,
    /// The call was handed over already read ([`CallActor::stored`]).
    loaded: bool,
    /// The dedupe key of the last state snapshot applied ([`ProviderEvent::snapshot`]); unknown
    /// after a restart, when a repeat is taken for a retry.
    last_snapshot: Option<String>,
    /// A PBX call whose end the engine inferred (a 30015, or a close its provider then spoke of
    /// as going on: [`call::contradicts_engine_close`]): its record is asked for once more
    /// ([`Self::second_look`]).
    in_doubt: bool,
    /// A close of the engine's that could not be stored, or a poll the provider could not
    /// answer, is tried again no sooner than this.
    retry_after: Option<Instant>,
    /// Deadline polls in a row that could not ask the provider ([`Polled::Failed`]).
    failed_polls: u8,
    /// Reading the call back after a failed commit.
    reloading: bool,
    /// A call this engine is placing: its deadline waits for the dialer's word on the placement
    /// ([`placement`]) until then — the provider's answer, offered to a store that may refuse it
    /// for a while ([`keep::WINDOW`]), must not find the call closed for want of it.
    placing_until: Option<Instant>,
    /// This actor's commits are one chain ([`Chain`]): each is built on the one before, so one
    /// that fails refuses the rest, until the call is read back and a new epoch begins.
    epoch: u64,
}

impl CallActor {
    /// An actor for `call`; on start it reads the call's stored state and dedupe keys, if any.
    pub fn new(call: Call, lookup: Lookup, registry: Registrar, deps: CallDeps) -> Self {
        let placing_until = (lookup == Lookup::Ours { create: true })
            .then(|| Instant::now() + PROVIDER_TIMEOUT + keep::WINDOW);
        CallActor {
            blank: call.clone(),
            call,
            seen: HashSet::new(),
            unsaved: true,
            lookup,
            aliased: false,
            screen_popped: false,
            in_flight: HashMap::new(),
            registry,
            deps,
            timer: None,
            loaded: false,
            last_snapshot: None,
            in_doubt: false,
            retry_after: None,
            failed_polls: 0,
            reloading: false,
            placing_until,
            epoch: Chain::next_epoch(),
        }
    }

    /// An actor for a call already read back from the database with its dedupe keys (recovery
    /// reads them by the page): it starts without a read of its own.
    pub fn stored(call: Call, keys: HashSet<String>, registry: Registrar, deps: CallDeps) -> Self {
        let mut actor = CallActor::new(call, Lookup::Ours { create: false }, registry, deps);
        actor.seen = keys;
        actor.unsaved = false;
        actor.loaded = true;
        actor
    }

    /// Reads the stored call and its dedupe keys, blocking the mailbox until done.
    fn load(&mut self, ctx: &mut Context<Self>) {
        if self.loaded {
            self.alias(ctx);
            self.arm_timer(ctx);
            return;
        }
        let lookup = self.lookup.clone();
        let (org_id, call_id) = (self.blank.org_id.to_string(), self.blank.id.to_string());
        let read = self.deps.engine.read(move |conn| {
            let row = match &lookup {
                Lookup::Provider(key) => queries::call_by_provider_id(
                    conn,
                    key.org_id.as_str(),
                    &key.provider,
                    &key.provider_call_id,
                )?,
                Lookup::Ours { .. } => queries::call(conn, &org_id, &call_id)?,
            };
            let Some(row) = row else {
                return Ok(None);
            };
            let keys = queries::dedupe_keys(conn, &row.id)?;
            let call = Call::try_from(row).map_err(AppError::internal)?;
            Ok(Some((call, keys)))
        });
        ctx.wait(read.into_actor(self).map(|result, act, ctx| {
            match result {
                Ok(Some((call, keys))) => {
                    act.call = call;
                    act.seen = keys.into_iter().collect();
                    act.unsaved = false;
                }
                Ok(None) if act.lookup == (Lookup::Ours { create: false }) => {
                    // Named by an id the database does not have: nothing to be.
                    ctx.stop();
                    return;
                }
                Ok(None) if act.reloading => {
                    // Read back after its first commit failed: nothing of the call is stored
                    // (the webhook that made it was refused and will come again, the dial that
                    // placed it failed and said so), so there is nothing to watch.
                    act.retire(ctx);
                    return;
                }
                Ok(None) => {
                    act.call = act.blank.clone();
                    act.unsaved = true;
                }
                Err(error) if !act.reloading => {
                    tracing::error!(%error, call_id = %act.call.id, "cannot load call");
                    ctx.stop();
                    return;
                }
                Err(error) if error.code != crate::error::Code::Unavailable => {
                    tracing::error!(%error, call_id = %act.call.id, "cannot read the call back");
                    ctx.stop();
                    return;
                }
                Err(error) => {
                    // A read back after a failed commit while the database is away: the call is
                    // live and nobody else watches it, so the actor stays, and reads again in a
                    // while (taking no event meanwhile: its state is not what is stored).
                    tracing::warn!(%error, call_id = %act.call.id, "cannot read the call back; again in a while");
                    let again = actix::clock::sleep(RETRY_CLOSE).into_actor(act);
                    ctx.wait(again.map(|_, act, ctx| act.load(ctx)));
                    return;
                }
            }
            act.reloading = false;
            act.alias(ctx);
            act.arm_timer(ctx);
        }));
    }

    /// Leaves the registry (unless a newer actor took its names) and stops.
    fn retire(&mut self, ctx: &mut Context<Self>) {
        self.registry.forget.do_send(Forget {
            call_id: self.call.id.clone(),
            keys: self.provider_keys(),
            actor: ctx.address(),
        });
        ctx.stop();
    }

    /// The call's key by the provider's id, once known.
    fn provider_key(&self) -> Option<CallKey> {
        CallKey::of(&self.call)
    }

    /// Every key the registry may know this actor by: the one it was started for, the call's own.
    fn provider_keys(&self) -> Vec<CallKey> {
        let started_for = match &self.lookup {
            Lookup::Provider(key) => Some(key.clone()),
            Lookup::Ours { .. } => None,
        };
        started_for.into_iter().chain(self.provider_key()).collect()
    }

    /// Makes the actor reachable by our id and, once the provider's id is known, by that too —
    /// unless another actor of the same call read it first (each started by one of the call's
    /// names before the other said who it is): this one then stops before it handles anything
    /// more, and what was sent to it is routed again, to that one.
    fn alias(&mut self, ctx: &mut Context<Self>) {
        if self.aliased {
            return;
        }
        let key = self.provider_key();
        self.aliased = key.is_some();
        let claim = self.registry.alias.send(Alias {
            call_id: self.call.id.clone(),
            key,
            actor: ctx.address(),
        });
        ctx.wait(claim.into_actor(self).map(|owner, act, ctx| {
            if owner == Ok(false) {
                tracing::info!(call_id = %act.call.id, "a second actor of the call retires");
                ctx.stop();
            }
        }));
    }

    /// Schedules what comes next: the deadline while the call is unfinished, retirement once final.
    fn arm_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.timer.take() {
            ctx.cancel_future(handle);
        }
        let handle = if self.call.status.is_final() && self.in_doubt {
            let wrapup = self.deps.engine.settings.deadlines.wrapup;
            ctx.run_later(wrapup, |act, ctx| act.second_look(ctx))
        } else if self.call.status.is_final() {
            ctx.run_later(self.deps.engine.settings.call_grace, |act, ctx| {
                act.retire(ctx)
            })
        } else if let Some(deadline) = self.call.deadline(&self.deps.engine.settings.deadlines) {
            let mut wait = (deadline - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            if let Some(at) = self.retry_after.take() {
                wait = wait.max(at.saturating_duration_since(Instant::now()));
            }
            if let Some(until) = self.placing_until {
                wait = wait.max(until.saturating_duration_since(Instant::now()));
            }
            ctx.run_later(wait, |act, ctx| act.on_deadline(ctx))
        } else {
            return;
        };
        self.timer = Some(handle);
    }

    /// The call went silent past its deadline (invariant 5): the engine asks the provider's API
    /// where it has one — a still-live answer re-arms the deadline, the provider's final record
    /// (Twilio's call resource, the PBX's call record) is applied as the webhook it stands for, an
    /// outcome without one is recorded as the engine's (the provider's own final record may
    /// still replace it) — and otherwise closes the call itself with reason `timeout`.
    fn on_deadline(&mut self, ctx: &mut Context<Self>) {
        self.timer = None;
        tracing::warn!(call_id = %self.call.id, status = self.call.status.as_str(), "call past its deadline; reconciling");
        let poll = self.poll();
        ctx.spawn(poll.into_actor(self).map(|polled, act, ctx| {
            // Events may have come in while the provider was asked: then it is not stuck any more.
            let due = act.call.deadline(&act.deps.engine.settings.deadlines);
            if due.is_none_or(|at| at > Utc::now()) {
                act.failed_polls = 0;
                act.arm_timer(ctx);
                return;
            }
            if let Polled::Failed(why) = &polled {
                if act.failed_polls < POLL_TRIES {
                    // Not knowing is not an outcome: asked again in a while.
                    act.failed_polls += 1;
                    tracing::warn!(call_id = %act.call.id, %why, tries = act.failed_polls, "the call's provider could not be asked; again in a while");
                    // As soon as a ring deadline, when that is shorter.
                    let again = RETRY_CLOSE.min(act.deps.engine.settings.deadlines.ring);
                    act.retry_after = Some(Instant::now() + again);
                    act.arm_timer(ctx);
                    return;
                }
            }
            act.failed_polls = 0;
            use futures_util::future::Either;
            let pending = match polled {
                // The provider's final record, as its lost terminal callback would have said it.
                Polled::Event(mut event) if event.final_record => {
                    let dropped = event.drop_impossible();
                    let data = serde_json::json!({"status": event.status, "talk_s": event.talk_s,
                        "dropped": dropped});
                    let entry = Entry::engine("polled", data);
                    Either::Left(act.record(&event, None, entry, None))
                }
                Polled::Event(event)
                    if event.status.is_some_and(|status| {
                        status.rank() > act.call.status.rank() || status.is_live()
                    }) =>
                {
                    // An outcome with no record: the engine's, until the provider's replaces it.
                    let event = CallEvent {
                        authority: crate::domain::call::Authority::Engine,
                        ..*event
                    };
                    let entry = Entry::engine("polled", serde_json::json!({"status": event.status}));
                    Either::Left(act.record(&event, None, entry, None))
                }
                Polled::Record(record) => Either::Left(act.record_from_pbx(*record)),
                _ => Either::Right(act.end_by_engine("timeout", "deadline")),
            };
            let epoch = act.epoch;
            ctx.spawn(pending.into_actor(act).map(move |result, act, ctx| {
                if let Err(error) = result {
                    // What was applied is not what is stored: read the call back, and try again
                    // in a while (its deadline is still past).
                    tracing::error!(%error, call_id = %act.call.id, "reconciliation not stored; retrying");
                    act.retry_after = Some(Instant::now() + RETRY_CLOSE);
                    if !act.reload_after_failure(epoch, ctx) {
                        act.arm_timer(ctx);
                    }
                    return;
                }
                if !act.call.status.is_live() {
                    act.release_extensions();
                }
                act.arm_timer(ctx);
            }));
        }));
    }

    /// A PBX call whose end the engine inferred (a 30015, or a close its provider then spoke of
    /// as going on: its webhooks came late, or some were lost): once it can have ended (a wrap-up
    /// deadline after the last word) with no CDR, the PBX's record of it is asked for, and a
    /// record found replaces the engine's outcome as its lost 30012 would have. Once, unless the record cannot
    /// be stored (then again a wrap-up later).
    fn second_look(&mut self, ctx: &mut Context<Self>) {
        self.timer = None;
        self.in_doubt = false;
        if self.call.final_by != Some(call::Authority::Engine) {
            // The provider's own final record came meanwhile.
            self.arm_timer(ctx);
            return;
        }
        let poll = self.poll();
        ctx.spawn(poll.into_actor(self).map(|polled, act, ctx| {
            let Polled::Record(record) = polled else {
                act.arm_timer(ctx);
                return;
            };
            let pending = act.record_from_pbx(*record);
            let epoch = act.epoch;
            ctx.spawn(pending.into_actor(act).map(move |result, act, ctx| {
                if let Err(error) = result {
                    tracing::warn!(%error, call_id = %act.call.id, "a PBX record asked for again could not be stored; asking again");
                    act.in_doubt = true;
                    if !act.reload_after_failure(epoch, ctx) {
                        act.arm_timer(ctx);
                    }
                    return;
                }
                act.arm_timer(ctx);
            }));
        }));
    }

    /// Applies the PBX's record of the call, as the 30012 it stands for (`source: engine`).
    fn record_from_pbx(&mut self, record: PbxRecord) -> Commit {
        let entry = Entry {
            source: "engine",
            kind: crate::providers::yeastar::CDR,
            raw_status: Some(record.status.clone()),
            dedupe_key: Some(pbx_records::record_key(&record.call_id)),
            occurred_at: record.event.occurred_at,
            data: record.data,
        };
        self.record(&record.event, None, entry, None)
    }

    /// How the provider says the call stands, when it has an API for that and answers: a status
    /// (Twilio, Plivo, Exotel, Bolna), or the PBX's record of the call (its missed 30012).
    fn poll(&self) -> impl std::future::Future<Output = Polled> + 'static {
        let engine = self.deps.engine.clone();
        let (org_id, provider, id) = (
            self.call.org_id.clone(),
            crate::providers::Provider::parse(&self.call.provider),
            self.call.provider_call_id.clone(),
        );
        let since = self.call.created_at;
        async move {
            let (Some(provider), Some(id)) = (provider, id) else {
                return Polled::Nothing;
            };
            let credentials = match engine.orgs.credentials(&org_id, provider).await {
                Ok(Some(credentials)) => credentials,
                // No account any more: nothing to ask.
                Ok(None) => return Polled::Nothing,
                Err(error) => return Polled::Failed(format!("its account not read: {error}")),
            };
            if provider == crate::providers::Provider::Yeastar {
                // A PBX whose API the org did not configure has no records to ask.
                if crate::providers::yeastar::YeastarApi::from_credentials(&credentials).is_err() {
                    return Polled::Nothing;
                }
                return match pbx_records::record_of(&engine, &org_id, &credentials, &id, since)
                    .await
                {
                    Ok(Some(record)) => Polled::Record(Box::new(record)),
                    Ok(None) => Polled::Nothing,
                    Err(error) => Polled::Failed(format!("the PBX's records not read: {error}")),
                };
            }
            match crate::providers::outbound::poll_call(&engine.http, &credentials, &id).await {
                Ok(Some(event)) => Polled::Event(Box::new(event)),
                Ok(None) => Polled::Nothing,
                Err(error) => Polled::Failed(format!("its call-status API: {error}")),
            }
        }
    }

    /// Closes the call as the engine (deadline, manual reset): an `engine` / `reconciled` entry on
    /// the timeline, `call:updated` on the WebSocket.
    fn end_by_engine(
        &mut self,
        reason: &str,
        trigger: &str,
    ) -> impl std::future::Future<Output = Result<WriteOutcome, AppError>> + 'static {
        let event = call::reconcile(&self.call, reason);
        let entry = Entry::engine(
            "reconciled",
            serde_json::json!({"reason": reason, "trigger": trigger}),
        );
        self.record(&event, None, entry, None)
    }

    /// Tells the call's extensions it is over for them (for closes no webhook handler waits on).
    fn release_extensions(&self) {
        for number in self.call.extensions.clone() {
            let (registry, org_id, call_id) = (
                self.deps.extensions.clone(),
                self.call.org_id.clone(),
                self.call.id.to_string(),
            );
            actix::spawn(async move {
                let change = ExtensionChange::Left { call_id };
                if let Err(error) =
                    change_extension(&registry, &org_id, &number, change, None).await
                {
                    tracing::error!(%error, %number, "extension not released");
                }
            });
        }
    }

    fn accepted(&self, duplicate: bool) -> Accepted {
        Accepted {
            call_id: self.call.id.clone(),
            duplicate,
            extensions: self.call.extensions.clone(),
            live: self.call.status.is_live(),
        }
    }

    /// Applies an event, queues its commit at once (so commits keep arrival order) and returns
    /// the future of that commit. A webhook's raw record goes in the same commit.
    fn record(
        &mut self,
        event: &CallEvent,
        webhook: Option<InboxRow>,
        mut entry: Entry,
        screen_pop: Option<serde_json::Value>,
    ) -> Commit {
        let now = Utc::now();
        let mut applied = call::apply(&self.call, event, now);
        if let (Some(why), serde_json::Value::Object(fields)) = (applied.ignored, &mut entry.data) {
            tracing::warn!(call_id = %self.call.id, kind = entry.kind, why, "an event not applied to its call");
            fields.insert("ignored".into(), serde_json::json!(why));
        }
        // A call is priced the moment it is final, and again when a late event moves its bill
        // (an event not applied moves nothing).
        let billing = self.deps.engine.billing.of(&applied.call.org_id);
        let before = applied.call.cost;
        let rebilled = applied.ignored.is_none() && billing.settle(&mut applied.call);
        if rebilled {
            applied.changed = true;
            if let serde_json::Value::Object(fields) = &mut entry.data {
                fields.insert(
                    "billing".into(),
                    serde_json::json!({
                        "billed_s": applied.call.billed_s,
                        "cost": applied.call.cost.map(|c| c.to_string()),
                        "previous_cost": before.map(|c| c.to_string()),
                        "currency": applied.call.currency,
                    }),
                );
            }
        }
        let mut ops = Vec::with_capacity(4);
        if let Some(key) = &entry.dedupe_key {
            // Keyed like the timeline it is written to, so a reload and this set agree.
            self.seen.insert(key.clone());
        }
        if let Some(inbox) = webhook {
            ops.push(WriteOp::AcceptWebhook(inbox));
        }
        let mut events = Vec::new();
        // The org's totals move with the call: its stored share out, its new one in.
        if self.unsaved || applied.changed {
            let before = (!self.unsaved).then_some(&self.call);
            let changes = tally::change(before, &applied.call);
            if !changes.is_empty() {
                let org_id = applied.call.org_id.to_string();
                ops.push(WriteOp::AddTotals { org_id, changes });
            }
        }
        if self.unsaved {
            ops.push(WriteOp::UpsertCall(Box::new(CallRow::from(&applied.call))));
            let created = Entry::engine("created", serde_json::json!({}));
            ops.push(WriteOp::AppendTimeline(created.row(&self.call, now)));
            events.push(call_event(EventType::CallCreated, &applied.call));
        } else if applied.changed {
            ops.push(WriteOp::UpsertCall(Box::new(CallRow::from(&applied.call))));
            events.push(call_event(EventType::CallUpdated, &applied.call));
        }
        ops.push(WriteOp::AppendTimeline(entry.row(&applied.call, now)));
        if rebilled {
            ops.extend(settle_ledger(&billing, &applied.call, now));
        }
        // A queued caller pops up with each offer the desk makes; any other incoming call now.
        let mut queued_pop = None;
        if let Some(serde_json::Value::Object(mut pop)) = screen_pop.filter(|_| !self.screen_popped)
        {
            self.screen_popped = true;
            pop.insert("call".into(), applied.call.to_json());
            if applied.call.queue_id.is_some() {
                queued_pop = Some(serde_json::Value::Object(pop));
            } else {
                events.push(NewEvent {
                    event_type: EventType::IncomingCall,
                    subject: applied.call.id.to_string(),
                    data: serde_json::Value::Object(pop),
                });
            }
        }
        let newly_queued = applied.call.queue_id.is_some() && self.call.queue_id.is_none();
        let pending = self.submit(ops, events);
        self.unsaved = false;
        let analytics_arrived = applied.call.analytics.is_some() && self.call.analytics.is_none();
        if applied.status_changed && applied.call.status.is_final() {
            self.want_price(&applied.call);
        }
        self.call = applied.call;
        // The campaign hears of the change once it is committed, never before.
        let campaign_news = self
            .call
            .campaign_id
            .clone()
            .filter(|_| applied.status_changed || analytics_arrived)
            .map(|campaign_id| CallChanged {
                org_id: self.call.org_id.clone(),
                campaign_id,
                call_id: self.call.id.to_string(),
                contact_id: self.call.contact_id.clone(),
                status: self.call.status,
                has_analytics: self.call.analytics.is_some(),
                disposition: self.call.disposition.as_ref().map(|d| d.code.clone()),
                amd: self.call.amd.clone(),
                abandoned: self.call.abandoned(),
                answered: self.call.answered_at.is_some(),
            });
        let desk_news = self.desk_news(newly_queued || applied.status_changed, queued_pop);
        let listeners = self.deps.listeners.clone();
        async move {
            let outcome = pending.outcome().await;
            if let Ok(WriteOutcome::Committed(_)) = &outcome {
                if let Some(news) = campaign_news {
                    listeners.campaigns.do_send(news);
                }
                if let Some(news) = desk_news {
                    listeners.desks.do_send(news);
                }
            }
            outcome
        }
        .boxed()
        .shared()
    }

    /// What the org's desk hears of this queued call's change, if it is one and it matters.
    fn desk_news(
        &self,
        matters: bool,
        pop: Option<serde_json::Value>,
    ) -> Option<QueuedCallChanged> {
        let queue_id = self.call.queue_id.clone().filter(|_| matters)?;
        Some(QueuedCallChanged {
            org_id: self.call.org_id.clone(),
            call_id: self.call.id.to_string(),
            queue_id,
            queued_at: self.call.queued_at.unwrap_or(self.call.created_at),
            live: self.call.status.is_live(),
            assigned: self.call.agent_id.is_some(),
            connected: self.call.connected_to_agent(),
            outbound: self.call.campaign_id.is_some(),
            pop,
        })
    }

    /// Asks for the call's price from the provider's API when its account wants that and the
    /// provider has not given one.
    fn want_price(&self, call: &Call) {
        let Some(provider) = crate::providers::Provider::parse(&call.provider) else {
            return;
        };
        let fetches = self
            .deps
            .engine
            .orgs
            .cached_credentials(&call.org_id, provider)
            .is_some_and(|c| c.fetches_prices());
        if let (true, None, Some(provider_call_id)) =
            (fetches, &call.provider_price, &call.provider_call_id)
        {
            self.deps.listeners.prices.do_send(WantPrice {
                org_id: call.org_id.clone(),
                call_id: call.id.clone(),
                provider,
                provider_call_id: provider_call_id.clone(),
                seen_ended_at: Utc::now(),
            });
        }
    }

    /// A state snapshot seen before but not the last one is the state coming back (an un-hold):
    /// it is stored under its own key, `<key>:<n>`. The last one again is a retry, left as it is
    /// for the duplicate check.
    fn key_repeated_snapshot(&mut self, event: &mut ProviderEvent) {
        let key = std::mem::take(&mut event.dedupe_key);
        let repeated = self.seen.contains(&key)
            && self.last_snapshot.as_ref().is_some_and(|last| *last != key);
        self.last_snapshot = Some(key.clone());
        event.dedupe_key = if repeated {
            let again = (2..)
                .map(|n| format!("{key}:{n}"))
                .find(|again| !self.seen.contains(again))
                .expect("a free key");
            if let Some(inbox) = &mut event.inbox {
                inbox.dedupe_key.clone_from(&again);
            }
            again
        } else {
            key
        };
    }

    /// Queues the call's next commit, as the next link of its chain.
    fn submit(&self, ops: Vec<WriteOp>, events: Vec<NewEvent>) -> crate::db::writer::Pending {
        let request = WriteRequest {
            org_id: self.call.org_id.clone(),
            ops,
            events,
        };
        let link = Chain {
            id: self.call.id.to_string(),
            epoch: self.epoch,
        };
        self.deps.engine.writer.submit_chained(request, link)
    }

    /// A commit of chain epoch `epoch` was not stored as applied: the call is read back, unless
    /// an earlier failure of that epoch did so already — the read that began the current epoch
    /// came after every commit of the old one was answered, and commits of the current one may
    /// still be on their way to the store (read now, the call would miss them).
    /// Whether it reads it back.
    fn reload_after_failure(&mut self, epoch: u64, ctx: &mut Context<Self>) -> bool {
        let current = epoch == self.epoch;
        if current {
            self.reload(ctx);
        }
        current
    }

    /// After a failed commit the in-memory state may be ahead of the database: read it back
    /// (its deadline or retirement is armed again once read).
    fn reload(&mut self, ctx: &mut Context<Self>) {
        self.seen.clear();
        self.loaded = false;
        self.reloading = true;
        self.epoch = Chain::next_epoch();
        self.load(ctx);
    }
}

/// How long after a close of the engine's could not be stored it is tried again.
const RETRY_CLOSE: Duration = Duration::from_secs(5);

/// A commit of the call's, awaited by the delivery that made it and by any repeat of it.
type Commit = SharedOutcome;

/// What the provider's API said of a call past its deadline.
enum Polled {
    /// Its status now, and the provider's final record of it when it is over and the provider
    /// has written one.
    Event(Box<CallEvent>),
    /// The PBX's record of how it went.
    Record(Box<PbxRecord>),
    /// Nothing (no such API, no answer, no record).
    Nothing,
    /// It could not be asked (its account unreadable for now, its API down or refusing): the
    /// deadline asks again a while later ([`RETRY_CLOSE`], or a ring deadline when shorter), up
    /// to [`POLL_TRIES`] times in a row, before the engine closes the call on what it knows.
    Failed(String),
}

/// How many deadline polls in a row may fail before the engine closes the call without the
/// provider's word (a provider's API down for good must not keep a call live for ever).
const POLL_TRIES: u8 = 3;

/// The writer brings the org's ledger to the call's cost when the org runs on credits — debits
/// it once whatever repeats, and a cost that changed (or went, with the rate that priced it) by
/// an adjustment.
fn settle_ledger(
    billing: &crate::domain::billing::OrgBilling,
    call: &Call,
    now: chrono::DateTime<Utc>,
) -> Option<WriteOp> {
    billing.credits.then(|| WriteOp::SettleCall {
        org_id: call.org_id.to_string(),
        call_id: call.id.to_string(),
        cost_micros: call.cost.map_or(0, |cost| cost.micros()),
        ledger_id: uuid::Uuid::now_v7().to_string(),
        at: to_text(now),
    })
}

/// One line of a call's timeline, before it is written.
struct Entry {
    source: &'static str,
    kind: &'static str,
    raw_status: Option<String>,
    dedupe_key: Option<String>,
    occurred_at: Option<chrono::DateTime<Utc>>,
    data: serde_json::Value,
}

impl Entry {
    /// An event of the engine's own (created, reconciled).
    fn engine(kind: &'static str, data: serde_json::Value) -> Self {
        Entry {
            source: "engine",
            kind,
            raw_status: None,
            dedupe_key: None,
            occurred_at: None,
            data,
        }
    }

    /// The row, with the call's status after the event.
    fn row(self, after: &Call, now: chrono::DateTime<Utc>) -> CallEventRow {
        CallEventRow {
            id: uuid::Uuid::now_v7().to_string(),
            org_id: after.org_id.to_string(),
            call_id: after.id.to_string(),
            dedupe_key: self.dedupe_key,
            source: self.source.to_owned(),
            kind: self.kind.to_owned(),
            raw_status: self.raw_status,
            status_after: after.status.as_str().to_owned(),
            occurred_at: self.occurred_at.map(to_text),
            received_at: to_text(now),
            data: self.data.to_string(),
        }
    }
}

fn call_event(event_type: EventType, call: &Call) -> NewEvent {
    NewEvent {
        event_type,
        subject: call.id.to_string(),
        data: call.to_json(),
    }
}

impl Actor for CallActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        metrics::METRICS.actor("call", 1);
        self.load(ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        metrics::METRICS.actor("call", -1);
    }
}

impl Handler<ApplyEvent> for CallActor {
    type Result = MessageResult<ApplyEvent>;

    fn handle(&mut self, msg: ApplyEvent, ctx: &mut Context<Self>) -> Self::Result {
        let mut provider_event = msg.0;
        if let Some(original) = self.in_flight.get(&provider_event.dedupe_key).cloned() {
            // The first delivery is still being stored: this one gets its outcome — a 2xx
            // "duplicate" only once the original is committed, its error otherwise.
            return MessageResult(Receipt {
                commit: original,
                accepted: self.accepted(true),
            });
        }
        if provider_event.snapshot {
            self.key_repeated_snapshot(&mut provider_event);
        }
        if self.seen.contains(&provider_event.dedupe_key) {
            // Answer only once the first delivery's commit (queued before this) is through.
            let barrier = self.deps.engine.writer.submit(WriteRequest {
                org_id: self.call.org_id.clone(),
                ops: Vec::new(),
                events: Vec::new(),
            });
            return MessageResult(Receipt {
                commit: barrier.shared(),
                accepted: self.accepted(true),
            });
        }
        // Values no call can have are dropped from the event, which is kept: its timeline entry
        // names what was dropped.
        let dropped = provider_event.event.drop_impossible();
        if !dropped.is_empty() {
            tracing::warn!(call_id = %self.call.id, kind = provider_event.kind, ?dropped, "impossible values dropped");
            if let serde_json::Value::Object(fields) = &mut provider_event.data {
                fields.insert("dropped".into(), serde_json::json!(dropped));
            }
        }
        let entry = Entry {
            source: if provider_event.inbox.is_some() {
                "provider"
            } else {
                "engine"
            },
            kind: provider_event.kind,
            raw_status: provider_event.raw_status,
            dedupe_key: Some(provider_event.dedupe_key.clone()),
            occurred_at: provider_event.event.occurred_at,
            data: provider_event.data,
        };
        // Only the PBX's records can be asked again; other providers retry their final callbacks.
        let pbx = self.call.provider == crate::providers::Provider::Yeastar.as_str();
        let was_final = self.call.status.is_final();
        let placement = placement::ALL.contains(&provider_event.kind);
        self.in_doubt |= pbx && call::contradicts_engine_close(&self.call, &provider_event.event);
        let pending = self.record(
            &provider_event.event,
            provider_event.inbox,
            entry,
            provider_event.screen_pop,
        );
        // An end the engine inferred from the PBX's word (a 30015) waits for the CDR: if that
        // never comes, the PBX's record is asked for instead.
        self.in_doubt |= pbx
            && !was_final
            && self.call.status.is_final()
            && self.call.final_by == Some(call::Authority::Engine);
        // The provider's own final record came: nothing left to ask.
        if self.call.final_by == Some(call::Authority::Provider) {
            self.in_doubt = false;
        }
        self.alias(ctx);
        self.arm_timer(ctx);
        // A second delivery of this event, until this one is committed, waits for it; after the
        // commit the actor forgets it, and reads the call back if the commit did not go as applied.
        let key = provider_event.dedupe_key;
        self.in_flight.insert(key.clone(), pending.clone());
        let epoch = self.epoch;
        ctx.spawn(
            pending
                .clone()
                .into_actor(self)
                .map(move |result, act, ctx| {
                    act.in_flight.remove(&key);
                    let committed = matches!(result, Ok(WriteOutcome::Committed(_)));
                    match (placement, committed) {
                        // The dialer's word is kept: the call's own deadline from now on.
                        (true, true) => {
                            act.placing_until = None;
                            act.arm_timer(ctx);
                        }
                        // Not kept: the dialer offers it again, an [`keep::EVERY`] and at most a
                        // store's lock wait from now.
                        (true, false) => {
                            let again = Instant::now() + keep::EVERY + keep::STORE_WAIT;
                            act.placing_until = act.placing_until.max(Some(again));
                        }
                        _ => {}
                    }
                    // A duplicate: the inbox knew the key though this actor did not.
                    if !committed {
                        act.reload_after_failure(epoch, ctx);
                    }
                }),
        );
        MessageResult(Receipt {
            commit: pending,
            accepted: self.accepted(false),
        })
    }
}

impl Handler<ForceEnd> for CallActor {
    type Result = ResponseActFuture<Self, Result<Accepted, AppError>>;

    fn handle(&mut self, msg: ForceEnd, ctx: &mut Context<Self>) -> Self::Result {
        if self.call.status.is_final() {
            return Box::pin(actix::fut::ready(Ok(self.accepted(true))));
        }
        let pending = self.end_by_engine(msg.reason, msg.trigger);
        self.arm_timer(ctx);
        let epoch = self.epoch;
        Box::pin(
            pending
                .into_actor(self)
                .map(move |result, act, ctx| match result {
                    Ok(_) => Ok(act.accepted(false)),
                    Err(error) => {
                        act.reload_after_failure(epoch, ctx);
                        Err(error)
                    }
                }),
        )
    }
}

/// A change the agent desk makes on a call, or a line it adds to the call's timeline.
#[derive(Debug, Clone)]
pub enum Annotation {
    /// The agent accepted the call (refused once the call is no longer live).
    Assign(String),
    /// The agent could not be connected: the call waits again (the data says why).
    Unassign(serde_json::Value),
    Dispose(crate::domain::call::Disposition),
    /// A campaign's answered call waits for an agent of this queue.
    Queued(String),
    /// The provider moved the caller to its agent at `at` (`connected` on the timeline, with
    /// the data): answered by a person from then on.
    Connected {
        at: chrono::DateTime<Utc>,
        data: serde_json::Value,
    },
    /// Only a timeline entry of the engine's (`overflowed`, `abandoned`).
    Note(&'static str, serde_json::Value),
}

/// Applies an annotation and answers the call once it is committed.
#[derive(Message)]
#[rtype(result = "Result<Call, AppError>")]
pub struct Annotate(pub Annotation);

impl Handler<Annotate> for CallActor {
    type Result = ResponseActFuture<Self, Result<Call, AppError>>;

    fn handle(&mut self, msg: Annotate, ctx: &mut Context<Self>) -> Self::Result {
        let now = Utc::now();
        let mut next = self.call.clone();
        let mut campaign_news = None;
        let (kind, data) = match msg.0 {
            Annotation::Assign(_) if !next.status.is_live() || next.agent_id.is_some() => {
                return Box::pin(actix::fut::ready(Err(AppError::new(
                    crate::error::Code::OfferExpired,
                    "the call is no longer waiting for an agent",
                ))));
            }
            Annotation::Assign(agent_id) => {
                next.agent_id = Some(agent_id.clone());
                next.assigned_at = Some(now);
                ("assigned", serde_json::json!({ "agent_id": agent_id }))
            }
            Annotation::Unassign(data) => {
                next.agent_id = None;
                next.assigned_at = None;
                ("unassigned", data)
            }
            Annotation::Dispose(disposition) => {
                let data = serde_json::json!(disposition);
                if let Some(campaign_id) = &next.campaign_id {
                    campaign_news = Some(CallChanged {
                        org_id: next.org_id.clone(),
                        campaign_id: campaign_id.clone(),
                        call_id: next.id.to_string(),
                        contact_id: next.contact_id.clone(),
                        status: next.status,
                        has_analytics: next.analytics.is_some(),
                        disposition: Some(disposition.code.clone()),
                        amd: next.amd.clone(),
                        abandoned: next.abandoned(),
                        answered: next.answered_at.is_some(),
                    });
                }
                next.disposition = Some(disposition);
                ("disposition", data)
            }
            Annotation::Queued(queue_id) => {
                if next.queue_id.is_none() {
                    next.queue_id = Some(queue_id.clone());
                    next.queued_at = Some(now);
                }
                ("queued", serde_json::json!({ "queue_id": queue_id }))
            }
            Annotation::Connected { at, data } => {
                next = call::connected(&next, at);
                ("connected", data)
            }
            Annotation::Note(kind, data) => {
                // Sent away only once its goodbye was said (a refused one leaves it waiting).
                let said = data.get("error").is_none();
                if kind == "overflowed" && said && next.hangup_cause.is_none() {
                    next.hangup_cause = Some(call::QUEUE_OVERFLOW.to_owned());
                }
                (kind, data)
            }
        };
        // A connect stored after the hang-up answers a call already priced: priced again.
        let billing = self.deps.engine.billing.of(&next.org_id);
        let answered_late = next.status != self.call.status && next.status.is_final();
        let rebilled = answered_late && billing.settle(&mut next);
        let changed = next != self.call;
        if changed {
            next.updated_at = now;
        }
        let mut ops = Vec::with_capacity(4);
        let mut events = Vec::new();
        if rebilled {
            ops.extend(settle_ledger(&billing, &next, now));
        }
        if changed {
            // An agent taking a queued caller answers it: the org's totals move with it.
            let changes = tally::change(Some(&self.call), &next);
            if !changes.is_empty() {
                let org_id = next.org_id.to_string();
                ops.push(WriteOp::AddTotals { org_id, changes });
            }
            ops.push(WriteOp::UpsertCall(Box::new(CallRow::from(&next))));
            events.push(call_event(EventType::CallUpdated, &next));
        }
        ops.push(WriteOp::AppendTimeline(
            Entry::engine(kind, data).row(&next, now),
        ));
        let pending = self.submit(ops, events);
        self.call = next;
        self.arm_timer(ctx);
        let campaigns = self.deps.listeners.campaigns.clone();
        let committed = async move {
            let outcome = pending.outcome().await;
            if let (Ok(_), Some(news)) = (&outcome, campaign_news) {
                campaigns.do_send(news);
            }
            outcome
        };
        let epoch = self.epoch;
        Box::pin(
            committed
                .into_actor(self)
                .map(move |outcome, act, ctx| match outcome {
                    Ok(_) => Ok(act.call.clone()),
                    Err(error) => {
                        act.reload_after_failure(epoch, ctx);
                        Err(error)
                    }
                }),
        )
    }
}
