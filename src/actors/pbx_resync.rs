//! Presence that resyncs with the PBX (issue 28, part 1): after a gap in a PBX's webhooks, or on a
//! supervisor's demand, the engine asks the PBX's own API what is true — its extensions and its
//! live calls (providers.md §4.6) — and applies the difference as if the missed webhooks had come:
//! a call the engine still believes live that the PBX no longer has is ended (`reconciled`,
//! `pbx_resync`, its extensions released); an extension's registration and do-not-disturb follow
//! the PBX (which confirms its state); an extension still counted in a call that is no longer live
//! leaves it. A PBX whose API fails, or answers what cannot be read, leaves everything as it is,
//! and says so.

use super::call::registry::{deliver, force_end, CallRef, CallRegistry};
use super::call::{CallKey, ProviderEvent};
use super::extension::{change_extension, ExtensionRegistry};
use crate::db::queries;
use crate::db::writes::WriteRequest;
use crate::domain::events::{EventType, NewEvent};
use crate::domain::extension::{Extension, ExtensionChange};
use crate::domain::ids::{CallId, OrgId};
use crate::engine::pbx_records;
use crate::engine::Engine;
use crate::error::{AppError, Code};
use crate::providers::credentials::Credentials;
use crate::providers::yeastar::{self, PbxState, YeastarApi};
use crate::providers::Provider;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a resync changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Resynced {
    /// Live calls the PBX no longer had, ended.
    pub calls_ended: usize,
    /// Extensions whose registration or do-not-disturb changed.
    pub extensions_changed: usize,
    /// Calls extensions were taken out of (the PBX did not show them in those calls).
    pub memberships_left: usize,
    /// Extensions the PBX listed as the engine had them (confirmed).
    pub extensions_confirmed: usize,
    /// Calls whose records the PBX has and whose end the engine had not heard (it never heard of
    /// them at all, or still believed them live): applied as their missed 30012s.
    pub records_applied: usize,
    /// Changes the look found but could not store for the moment (503): the engine looks again.
    pub unapplied: usize,
}

impl std::ops::AddAssign for Resynced {
    fn add_assign(&mut self, part: Resynced) {
        self.calls_ended += part.calls_ended;
        self.extensions_changed += part.extensions_changed;
        self.memberships_left += part.memberships_left;
        self.extensions_confirmed += part.extensions_confirmed;
        self.records_applied += part.records_applied;
        self.unapplied += part.unapplied;
    }
}

/// The hang-up cause of a call a resync ended.
pub const RESYNC_REASON: &str = "pbx_resync";

/// Why the engine looked at the PBX (the `trigger` of `presence:resynced`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `POST /api/v1/extensions/resync`.
    Demand,
    /// The PBX was silent for a period while the engine believed calls on it live.
    Silence,
    /// The PBX was heard again after such a silence (at once, and a period later).
    Heard,
    /// The engine started (or took the org over): what it believes may be stale.
    Start,
    /// The engine refused some of the PBX's events (overloaded, or its store could not keep
    /// them): the PBX does not send them again, so it is looked at once the refusals stop.
    Refused,
}

/// What a resync talks to.
#[derive(Clone)]
pub struct ResyncDeps {
    pub engine: Arc<Engine>,
    pub calls: Addr<CallRegistry>,
    pub extensions: Addr<ExtensionRegistry>,
}

/// How many changes of one look are offered at once: enough for the writer to store a 2,000-seat
/// PBX's in a few batches, instead of one commit's wait after another (minutes on a busy store,
/// while the look's debts wait for it).
const AT_ONCE: usize = 16;

/// Runs the changes of a look [`AT_ONCE`] at a time, and answers each one's outcome.
async fn side_by_side<T>(changes: impl Iterator<Item = impl Future<Output = T>>) -> Vec<T> {
    stream::iter(changes)
        .buffer_unordered(AT_ONCE)
        .collect()
        .await
}

/// Asks the org's PBX what is true and brings the engine's view in line with it. The engine's
/// view is read first (extensions, then live calls: a call an extension is in was created before
/// it was read, so it is in the list), then the PBX is asked: a call that starts in between is on
/// the PBX and is left alone, and one the engine is still placing (no PBX call id yet) too.
///
/// Then the PBX's call records of calls that started from `silent_since` (less the longest a
/// call may ring and talk) are read: a call the engine never heard of (all its webhooks lost),
/// believed live until now, or closed by a deadline, gets its record applied as the 30012 it
/// missed.
///
/// Either way the org's dashboards hear of it (`presence:resynced`, on its event log): what the
/// look changed, or that the PBX could not be asked and why (the board may then be stale).
pub async fn resync(
    deps: &ResyncDeps,
    org_id: &OrgId,
    trigger: Trigger,
    silent_since: Option<DateTime<Utc>>,
) -> Result<Resynced, AppError> {
    let result = bring_in_line(deps, org_id, silent_since).await;
    let data = match &result {
        Ok(done) => {
            crate::metrics::METRICS.pbx_resync("ok");
            serde_json::json!({ "trigger": trigger, "ok": true, "changed": done })
        }
        // A PBX whose API the org never configured: after a start, or when it speaks again, there
        // is nothing to say (its silence with calls live, and a supervisor's demand, are said).
        Err(error)
            if error.code == Code::ProviderNotConfigured
                && matches!(trigger, Trigger::Start | Trigger::Heard | Trigger::Refused) =>
        {
            return result;
        }
        // The PBX could not be asked; other failures (the store) could not be announced either.
        Err(error)
            if matches!(
                error.code,
                Code::ProviderError | Code::ProviderNotConfigured
            ) =>
        {
            crate::metrics::METRICS.pbx_resync("failed");
            serde_json::json!({ "trigger": trigger, "ok": false, "error": error.message() })
        }
        Err(_) => return result,
    };
    let event = NewEvent {
        event_type: EventType::PresenceResynced,
        subject: Provider::Yeastar.as_str().to_owned(),
        data,
    };
    let request = WriteRequest {
        org_id: org_id.clone(),
        ops: Vec::new(),
        events: vec![event],
    };
    if let Err(error) = deps.engine.writer.commit(request).await {
        tracing::warn!(%error, org_id = %org_id, "a resync's outcome could not be announced");
    }
    result
}

/// The look itself (see [`resync`]).
async fn bring_in_line(
    deps: &ResyncDeps,
    org_id: &OrgId,
    silent_since: Option<DateTime<Utc>>,
) -> Result<Resynced, AppError> {
    let engine = &deps.engine;
    let credentials = engine
        .orgs
        .required_credentials(org_id, Provider::Yeastar)
        .await?;
    let api = YeastarApi::from_credentials(&credentials)?;
    let org = org_id.to_string();
    let (extensions, live) = engine
        .read(move |conn| {
            let extensions = queries::extensions_page(conn, &org, None, i64::MAX)?;
            let live = queries::live_calls(conn, &org)?;
            Ok((extensions, live))
        })
        .await?;
    let asked_at = Utc::now();
    let pbx = api
        .state(&engine.http, &engine.pbx_sessions, org_id.as_str())
        .await
        .map_err(|error| AppError::new(Code::ProviderError, error.to_string()))?;
    let mut done = Resynced::default();
    let gone = live.iter().filter(|call| {
        call.provider == Provider::Yeastar.as_str()
            // One still being placed has no PBX id yet: the PBX's answer names it.
            && call.provider_call_id.as_deref().is_some_and(|id| !pbx.has_call(id))
    });
    let endings = gone
        .filter_map(|call| CallId::parse(&call.id))
        .map(|id| async move {
            let ended = force_end(&deps.calls, org_id, &id, RESYNC_REASON, "pbx_resync").await;
            let ended = ended.and_then(|ended| ended.ok_or_else(|| AppError::not_found("call")));
            (id, ended)
        });
    // Side by side (the writer stores them in a few batches); one change that cannot be stored
    // keeps none of the others from being applied.
    let endings: Vec<_> = side_by_side(endings).await;
    let mut ended: HashSet<String> = HashSet::new();
    for (id, outcome) in endings {
        match outcome {
            Ok(_) => {
                ended.insert(id.to_string());
                done.calls_ended += 1;
            }
            Err(error) => {
                done.unapplied +=
                    not_applied("a call the PBX no longer has, ended", id.as_str(), &error);
            }
        }
    }
    let still_live = live_ids(&live, &ended);
    let extensions = extensions.into_iter().filter_map(|row| {
        Extension::try_from(row)
            .map_err(|error| tracing::error!(%error, "a stored extension cannot be read back"))
            .ok()
    });
    let looks = extensions.map(|ext| {
        let changes = differences(&ext, &pbx, &still_live, asked_at);
        async move {
            let mut done = Resynced::default();
            for change in changes {
                let listed = matches!(change, ExtensionChange::Resynced { .. });
                if !listed {
                    done.memberships_left += 1;
                }
                let change = change_extension(&deps.extensions, org_id, &ext.number, change, None);
                let after = match change.await {
                    Ok(after) => after,
                    Err(error) => {
                        done.unapplied +=
                            not_applied("an extension brought in line", &ext.number, &error);
                        continue;
                    }
                };
                if listed && (after.registered, after.dnd) != (ext.registered, ext.dnd) {
                    done.extensions_changed += 1;
                } else if listed {
                    done.extensions_confirmed += 1;
                }
            }
            done
        }
    });
    // Extensions side by side, each one's changes in order.
    for one in side_by_side(looks).await {
        done += one;
    }
    let since = silent_since.unwrap_or(asked_at).min(asked_at) - pbx_records::lookback(engine);
    let was_live: HashSet<String> = live
        .iter()
        .filter_map(|call| call.provider_call_id.clone())
        .collect();
    // The state is applied by now: records that cannot be read leave it so, and say so.
    match apply_records(deps, org_id, &credentials, since, &was_live).await {
        Ok((applied, unapplied)) => {
            done.records_applied = applied;
            done.unapplied += unapplied;
        }
        Err(error) => {
            done.unapplied += not_applied("the PBX's call records, read", org_id.as_str(), &error);
        }
    }
    tracing::info!(org_id = %org_id, ?done, "presence resynced with the PBX");
    Ok(done)
}

/// Applies the PBX's records (from `since`) of calls whose end the engine has not heard from the
/// PBX: unknown to it, closed by its own inference (a deadline), or in `was_live` (the PBX ids
/// of the calls it believed live when the resync began, some of which it just ended). Answers
/// how many were applied, and how many could not be stored.
async fn apply_records(
    deps: &ResyncDeps,
    org_id: &OrgId,
    credentials: &Credentials,
    since: DateTime<Utc>,
    was_live: &HashSet<String>,
) -> Result<(usize, usize), AppError> {
    let engine = &deps.engine;
    let records = pbx_records::records_since(engine, org_id, credentials, since).await?;
    if records.is_empty() {
        return Ok((0, 0));
    }
    let (org, ids) = (
        org_id.to_string(),
        records
            .iter()
            .map(|r| r.call_id.clone())
            .collect::<Vec<_>>(),
    );
    let told = engine
        .read(move |conn| {
            Ok(queries::provider_ended_calls(
                conn,
                &org,
                Provider::Yeastar.as_str(),
                &ids,
            )?)
        })
        .await?;
    let missed = records
        .into_iter()
        .filter(|record| !told.contains(&record.call_id) || was_live.contains(&record.call_id));
    let deliveries = missed.map(|record| async move {
        let event = ProviderEvent {
            event: record.event,
            dedupe_key: pbx_records::record_key(&record.call_id),
            inbox: None,
            kind: yeastar::CDR,
            raw_status: Some(record.status),
            data: record.data,
            screen_pop: None,
            snapshot: false,
        };
        let call = CallRef::Provider(
            CallKey {
                org_id: org_id.clone(),
                provider: Provider::Yeastar.as_str().to_owned(),
                provider_call_id: record.call_id.clone(),
            },
            record.direction,
        );
        (record.call_id, deliver(&deps.calls, call, event).await)
    });
    // Side by side (each its own call); one record that cannot be applied (the store refusing
    // for a moment) keeps none of the others from being applied; the next look tries it again.
    let delivered: Vec<_> = side_by_side(deliveries).await;
    let (mut applied, mut unapplied) = (0, 0);
    for (call_id, outcome) in delivered {
        match outcome {
            Ok(accepted) => applied += usize::from(!accepted.duplicate),
            Err(error) => {
                unapplied += not_applied("a PBX call record, applied", &call_id, &error);
            }
        }
    }
    Ok((applied, unapplied))
}

/// Says that a change of a look (`what`, of `whose`) failed; 1 when the store refused it for the
/// moment (a 503: the look is made again), else 0.
fn not_applied(what: &str, whose: &str, error: &AppError) -> usize {
    tracing::warn!(%error, whose, "not done: {what}");
    usize::from(error.is_for_now())
}

/// Our ids of the org's calls still live after the resync ended the ones the PBX no longer has.
fn live_ids(live: &[crate::db::models::CallRow], ended: &HashSet<String>) -> HashSet<String> {
    live.iter()
        .filter(|call| !ended.contains(&call.id))
        .map(|call| call.id.clone())
        .collect()
}

/// What must change for the extension to be as the PBX says: its registration and do-not-disturb
/// as the PBX listed them at `as_of` (the extension's actor keeps a newer word of the PBX's, a
/// webhook that came after), and leaving the calls it is still counted in that are no longer live
/// (ended by this resync, or long over with the leave lost).
fn differences(
    ext: &Extension,
    pbx: &PbxState,
    live: &HashSet<String>,
    as_of: chrono::DateTime<Utc>,
) -> Vec<ExtensionChange> {
    let mut changes = Vec::new();
    if let Some(on_pbx) = pbx.extensions.iter().find(|e| e.number == ext.number) {
        changes.push(ExtensionChange::Resynced {
            registered: on_pbx.registered,
            dnd: on_pbx.dnd,
            as_of,
        });
    }
    for call_id in ext.calls.keys() {
        if !live.contains(call_id) {
            changes.push(ExtensionChange::Left {
                call_id: call_id.clone(),
            });
        }
    }
    changes
}

/// Watches every org's PBX for silence: each yeastar webhook kept is [`Heard`]; a PBX silent for
/// `SWITCHBOARD_PBX_RESYNC_S` while the engine believes calls or busy extensions on it are live is
/// resynced, at most once per period per org; when it is heard again after such a gap, at once
/// and a period later (the calls that ended after the last look, or were under way when the
/// webhooks came back, lost theirs too). After a start every org with a PBX is due ([`Due`]):
/// looked at at once and a period later, the same way. A PBX whose events the engine
/// [`Refused`] is as good as silent for those events, though others keep coming: it is looked at
/// the same way once no event of its has been refused for a quarter of a period (at most once a
/// period). So is an org whose look could not store all it found (after a start, the store is
/// busiest): the look is owed, and made again.
pub struct PbxWatch {
    deps: ResyncDeps,
    period: Duration,
    /// When each org's PBX was last heard from (or last looked at).
    heard: HashMap<OrgId, Instant>,
    /// Orgs with a resync under way.
    running: HashSet<OrgId>,
    /// Orgs resynced for their silence, and since when they were silent: when such a PBX is
    /// heard again, one more resync covers the end of its gap (the calls that ended after the
    /// last look, whose webhooks were lost too).
    after_silence: HashMap<OrgId, DateTime<Utc>>,
    /// Orgs owed a look (events refused since their last one, or a look that could not store
    /// all it found): from when, the last refusal or failure, and why.
    owed: HashMap<OrgId, Owed>,
    /// When each org was last given a look it was owed.
    owed_looks: HashMap<OrgId, Instant>,
    /// Looks in a row each org was owed again (see [`MAX_OWED_IN_A_ROW`]).
    owed_in_a_row: HashMap<OrgId, u32>,
}

/// A webhook from the org's PBX arrived.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Heard(pub OrgId);

/// How many looks in a row an org may be owed again before the debt is given up.
const MAX_OWED_IN_A_ROW: u32 = 5;

/// A look an org is owed (see [`PbxWatch`]).
#[derive(Debug, Clone, Copy)]
struct Owed {
    since: DateTime<Utc>,
    last: Instant,
    trigger: Trigger,
}

impl Owed {
    /// The same debt grown by one more refusal or failure, from `since` at the earliest.
    fn and(self, since: DateTime<Utc>) -> Owed {
        Owed {
            since: self.since.min(since),
            last: Instant::now(),
            trigger: self.trigger,
        }
    }
}

/// An event of the org's PBX was refused for the moment (a 503: the engine overloaded, or its
/// store unable to keep it): the PBX will not send it again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Refused(pub OrgId);

/// The org's view of its PBX may be stale (after a restart): look at it at once, and at the
/// PBX's records of the calls that started within a call's longest life before now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Due(pub OrgId);

/// A look at the org's PBX finished (either way); `gap`: it found the PBX silent while calls
/// were live, silent since then; `owed`: it could not store all it found (or anything), so the
/// same look is made again, covering from then.
#[derive(Message)]
#[rtype(result = "()")]
struct Finished {
    org_id: OrgId,
    gap: Option<DateTime<Utc>>,
    owed: Option<(DateTime<Utc>, Trigger)>,
}

impl PbxWatch {
    pub fn new(deps: ResyncDeps) -> Self {
        let period = deps.engine.settings.pbx_resync.max(Duration::from_secs(1));
        PbxWatch {
            deps,
            period,
            heard: HashMap::new(),
            running: HashSet::new(),
            after_silence: HashMap::new(),
            owed: HashMap::new(),
            owed_looks: HashMap::new(),
            owed_in_a_row: HashMap::new(),
        }
    }

    /// Every org owed a look whose refusals (or failures) stopped a quarter of a period ago, and
    /// which was not given one within a period: looked at now and a period later, from the first.
    fn pay_owed_looks(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let (period, settle) = (self.period, self.period / 4);
        let due: Vec<(OrgId, Owed)> = self
            .owed
            .iter()
            .filter(|(org, owed)| {
                now.duration_since(owed.last) >= settle
                    && !self.running.contains(*org)
                    && self
                        .owed_looks
                        .get(*org)
                        .is_none_or(|at| now.duration_since(*at) >= period)
            })
            .map(|(org, owed)| (org.clone(), *owed))
            .collect();
        for (org_id, owed) in due {
            self.owed.remove(&org_id);
            self.owed_looks.insert(org_id.clone(), now);
            self.start(org_id, owed.since, owed.trigger, ctx);
        }
    }

    /// Records a look the org is owed (or adds to one it already is).
    fn owe(&mut self, org_id: OrgId, since: DateTime<Utc>, trigger: Trigger) {
        self.owed
            .entry(org_id)
            .and_modify(|owed| *owed = owed.and(since))
            .or_insert(Owed {
                since,
                last: Instant::now(),
                trigger,
            });
    }

    /// Every org silent for a period: resynced if it believes anything live on its PBX.
    fn look(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let period = self.period;
        let silent: Vec<(OrgId, Duration)> = self
            .heard
            .iter()
            .filter(|(org, at)| now.duration_since(**at) >= period && !self.running.contains(*org))
            .map(|(org, at)| (org.clone(), now.duration_since(*at)))
            .collect();
        for (org_id, silence) in silent {
            let silent_since = chrono::Duration::from_std(silence)
                .map(|silence| Utc::now() - silence)
                .unwrap_or_else(|_| Utc::now());
            // The silence began with the first look that found it, however many looks follow.
            let silent_since = self
                .after_silence
                .get(&org_id)
                .copied()
                .unwrap_or(silent_since);
            // The next look at this org is a period from now, whatever this one finds.
            self.heard.insert(org_id.clone(), now);
            self.start(org_id, silent_since, Trigger::Silence, ctx);
        }
    }

    /// Resyncs the org (when `only_if_live`, only if it believes anything live on its PBX).
    fn start(
        &mut self,
        org_id: OrgId,
        silent_since: DateTime<Utc>,
        trigger: Trigger,
        ctx: &mut Context<Self>,
    ) {
        let only_if_live = trigger == Trigger::Silence;
        self.running.insert(org_id.clone());
        let (deps, me) = (self.deps.clone(), ctx.address());
        actix::spawn(async move {
            let due = match only_if_live {
                true => believes_live(&deps, &org_id).await,
                false => Ok(true),
            };
            let (mut gap, mut owed) = (None, None);
            match due {
                Ok(true) => {
                    // What could not be stored (the store refusing for a moment) is looked
                    // for again; a PBX that cannot be asked is left to the next silence — but
                    // one whose events were refused keeps talking, so it is asked again too.
                    owed = match resync(&deps, &org_id, trigger, Some(silent_since)).await {
                        Ok(done) => (done.unapplied > 0).then_some((silent_since, trigger)),
                        Err(error) => {
                            tracing::warn!(%error, org_id = %org_id, "the PBX could not be resynced; its state is left as it is");
                            let again = error.is_for_now()
                                || (trigger == Trigger::Refused
                                    && error.code != Code::ProviderNotConfigured);
                            again.then_some((silent_since, trigger))
                        }
                    };
                    // A silence while calls were live is a gap: once the PBX is heard again,
                    // one more look (even after a failed one).
                    gap = only_if_live.then_some(silent_since);
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "a PBX's silence could not be checked"),
            }
            me.do_send(Finished { org_id, gap, owed });
        });
    }

    /// Resyncs the org now and once more a period later: a call under way when the webhooks came
    /// back (or the engine did) may have lost all of its own, and its record is written when it
    /// ends.
    fn look_twice(
        &mut self,
        org_id: OrgId,
        silent_since: DateTime<Utc>,
        trigger: Trigger,
        ctx: &mut Context<Self>,
    ) {
        if !self.running.contains(&org_id) {
            self.start(org_id.clone(), silent_since, trigger, ctx);
        }
        ctx.run_later(self.period, move |act, ctx| {
            if !act.running.contains(&org_id) {
                act.start(org_id, silent_since, trigger, ctx);
            }
        });
    }
}

/// Whether the engine believes a call or a busy extension is live on the org's PBX.
async fn believes_live(deps: &ResyncDeps, org_id: &OrgId) -> Result<bool, AppError> {
    let org = org_id.to_string();
    deps.engine
        .read(move |conn| {
            let calls = queries::live_calls(conn, &org)?;
            if calls
                .iter()
                .any(|c| c.provider == Provider::Yeastar.as_str())
            {
                return Ok(true);
            }
            let busy = queries::extensions_by_presence(conn, &org)?;
            Ok(busy
                .iter()
                .any(|(presence, n)| *n > 0 && (presence == "ringing" || presence == "incall")))
        })
        .await
}

impl Actor for PbxWatch {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let every = (self.period / 4).max(Duration::from_millis(250));
        ctx.run_interval(every, |act, ctx| {
            act.look(ctx);
            act.pay_owed_looks(ctx);
        });
    }
}

impl Handler<Heard> for PbxWatch {
    type Result = ();

    fn handle(&mut self, msg: Heard, ctx: &mut Context<Self>) {
        let org_id = msg.0;
        self.heard.insert(org_id.clone(), Instant::now());
        if self.running.contains(&org_id) {
            return;
        }
        if let Some(silent_since) = self.after_silence.remove(&org_id) {
            self.look_twice(org_id, silent_since, Trigger::Heard, ctx);
        }
    }
}

impl Handler<Refused> for PbxWatch {
    type Result = ();

    fn handle(&mut self, msg: Refused, _: &mut Context<Self>) {
        self.owe(msg.0, Utc::now(), Trigger::Refused);
    }
}

impl Handler<Due> for PbxWatch {
    type Result = ();

    fn handle(&mut self, msg: Due, ctx: &mut Context<Self>) {
        // Whatever it believes live: calls that began and ended while no engine listened are
        // known only to the PBX's records.
        self.heard.insert(msg.0.clone(), Instant::now());
        self.look_twice(msg.0, Utc::now(), Trigger::Start, ctx);
    }
}

impl Handler<Finished> for PbxWatch {
    type Result = ();

    fn handle(&mut self, msg: Finished, _: &mut Context<Self>) {
        self.running.remove(&msg.org_id);
        if let Some(since) = msg.gap {
            self.after_silence
                .entry(msg.org_id.clone())
                .or_insert(since);
        }
        match msg.owed {
            Some((since, trigger)) => {
                let in_a_row = self.owed_in_a_row.entry(msg.org_id.clone()).or_default();
                *in_a_row += 1;
                if *in_a_row > MAX_OWED_IN_A_ROW {
                    // Something the store refuses for good, or a PBX that stays unreadable:
                    // the deadlines and the next silence are left to repair what this missed.
                    tracing::warn!(org_id = %msg.org_id, "a look at the PBX kept failing; given up");
                    self.owed_in_a_row.remove(&msg.org_id);
                } else {
                    self.owe(msg.org_id, since, trigger);
                }
            }
            None => {
                self.owed_in_a_row.remove(&msg.org_id);
            }
        }
    }
}
