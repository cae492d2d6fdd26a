//! The agent desk: one actor per org owning its agents' live states, its queues and the callers
//! waiting in them ([`crate::domain::desk::Desk`]). Routing is a match over all of an org's
//! agents and queues at once, so one actor holds them: an offer is decided in one step, never
//! reserved across actors (the reservation mod_callcenter leaves stuck "Reserved" when a message
//! is lost). The actor only carries out what the domain decides: it publishes offers
//! (`incoming:call` with `offer`), `agent:updated` and `queue:updated` through the writer, asks
//! the call's actor to commit an assignment, connects the caller through the provider, and wakes
//! at the desk's next deadline (offer expiry, wrap-up end, maximum wait).

use super::call::news::QueuedCallChanged;
use super::call::registry::{annotate, CallRegistry};
use super::call::Annotation;
use super::extension::ExtensionPresence;
use crate::db::desk::{self as rows, QueuedCall};
use crate::db::writer::Pending;
use crate::db::writes::{DeskOp, WriteOp, WriteRequest};
use crate::domain::call::{Call, QueueOutcome};
use crate::domain::desk::{Agent, Availability, Desk, Effect, OfferRefusal, Outlook, Queue};
use crate::domain::events::{EventType, NewEvent};
use crate::domain::extension::Presence;
use crate::domain::ids::OrgId;
use crate::domain::time::to_text;
use crate::engine::callback_urls::CallbackUrls;
use crate::engine::Engine;
use crate::error::{AppError, Code};
use crate::metrics;
use actix::prelude::*;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Starts and finds each org's desk.
pub struct DeskRegistry {
    engine: Arc<Engine>,
    calls: Addr<CallRegistry>,
    desks: HashMap<OrgId, Addr<DeskActor>>,
}

impl DeskRegistry {
    pub fn new(engine: Arc<Engine>, calls: Addr<CallRegistry>) -> Self {
        DeskRegistry {
            engine,
            calls,
            desks: HashMap::new(),
        }
    }

    fn desk(&mut self, org_id: &OrgId) -> Addr<DeskActor> {
        if let Some(desk) = self.desks.get(org_id).filter(|d| d.connected()) {
            return desk.clone();
        }
        let desk = DeskActor {
            engine: self.engine.clone(),
            calls: self.calls.clone(),
            org_id: org_id.clone(),
            desk: Desk::default(),
            timer: None,
            counted_day: Utc::now().date_naive(),
            abandon_messages: HashMap::new(),
            presence_seq: HashMap::new(),
        }
        .start();
        self.desks.insert(org_id.clone(), desk.clone());
        desk
    }
}

impl Actor for DeskRegistry {
    type Context = Context<Self>;
}

/// The desk of an org, started (and loaded) on first use.
#[derive(Message)]
#[rtype(result = "Addr<DeskActor>")]
pub struct DeskOf(pub OrgId);

impl Handler<DeskOf> for DeskRegistry {
    type Result = MessageResult<DeskOf>;

    fn handle(&mut self, msg: DeskOf, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.desk(&msg.0))
    }
}

/// A message for an org's desk, from those who do not wait for an answer (call actors, the
/// writer's publisher, dashboard sessions): the registry forwards it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ForOrg<M>(pub OrgId, pub M);

impl<M> Handler<ForOrg<M>> for DeskRegistry
where
    M: Message<Result = ()> + Send + 'static,
    DeskActor: Handler<M>,
{
    type Result = ();

    fn handle(&mut self, msg: ForOrg<M>, _: &mut Context<Self>) {
        self.desk(&msg.0).do_send(msg.1);
    }
}

/// The desk of one org.
pub struct DeskActor {
    engine: Arc<Engine>,
    calls: Addr<CallRegistry>,
    org_id: OrgId,
    desk: Desk,
    timer: Option<SpawnHandle>,
    /// The day the queues' counts are of (UTC); they start again at midnight.
    counted_day: NaiveDate,
    /// What each campaign's answered call hears if no agent takes it (its campaign's message).
    abandon_messages: HashMap<String, Option<String>>,
    /// The seq of the last presence heard of each extension.
    presence_seq: HashMap<String, i64>,
}

/// What the desk reads at start: agents, queues, extension presence, and the calls queued today
/// or still unfinished.
type Loaded = (
    Vec<rows::AgentRow>,
    Vec<rows::QueueRow>,
    Vec<(String, String)>,
    Vec<rows::QueuedCall>,
);

impl Actor for DeskActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        metrics::METRICS.actor("desk", 1);
        let org_id = self.org_id.to_string();
        let since = to_text(start_of_day(Utc::now()));
        let read = self.engine.read(move |conn| -> Result<Loaded, AppError> {
            Ok((
                rows::agents_of(conn, &org_id)?,
                rows::queues_of(conn, &org_id)?,
                rows::extension_presence(conn, &org_id)?,
                rows::queued_calls_since(conn, &org_id, &since)?,
            ))
        });
        ctx.wait(read.into_actor(self).map(|loaded, act, ctx| match loaded {
            Ok(loaded) => {
                act.restore(loaded);
                let effects = act.desk.route(Utc::now());
                act.carry_out(effects, ctx);
            }
            Err(error) => {
                tracing::error!(%error, org_id = %act.org_id, "cannot load the agent desk");
                ctx.stop();
            }
        }));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        metrics::METRICS.actor("desk", -1);
    }
}

fn start_of_day(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |midnight| midnight.and_utc())
}

impl DeskActor {
    /// Rebuilds the desk from what is stored: a caller still live without an agent waits again
    /// (in the order it first queued), a live call with an agent keeps its agent busy, and the
    /// day's answered and abandoned calls are counted again.
    fn restore(&mut self, (agents, queues, presence, calls): Loaded) {
        let now = Utc::now();
        for row in queues {
            let queue = row.queue();
            self.desk.queues.insert(queue.id.clone(), queue);
        }
        for row in agents {
            let mut agent = row.agent();
            for (number, word) in &presence {
                if agent.extensions.contains(number) {
                    if let Some(p) = Presence::parse(word) {
                        agent.presence.insert(number.clone(), p);
                    }
                }
            }
            self.desk.agents.insert(agent.id.clone(), agent);
        }
        let today = to_text(start_of_day(now));
        let mut waiting = Vec::new();
        for call in calls {
            let QueuedCall {
                id: call_id,
                queue_id,
                status,
                agent_id,
                queued_at,
                assigned_at,
                campaign_id,
                answered_at,
                hangup_cause,
            } = call;
            let outbound = campaign_id.is_some();
            let Some(queue) = self.desk.queues.get(&queue_id) else {
                continue;
            };
            let status = crate::domain::call::CallStatus::parse(&status);
            let live = status.is_some_and(|s| s.is_live());
            let queued = queued_at
                .as_deref()
                .and_then(crate::domain::time::from_text);
            let assigned = assigned_at
                .as_deref()
                .and_then(crate::domain::time::from_text);
            let within_sla = match (queued, assigned) {
                (Some(q), Some(a)) => (a - q).num_seconds() <= queue.sla_s,
                _ => false,
            };
            if !outbound && queued_at.as_deref().is_some_and(|q| q >= today.as_str()) {
                let counts = self.desk.counts.entry(queue_id.clone()).or_default();
                // As the live desk counts: answered once accepted (while it is being connected
                // too), abandoned or overflowed as the call's own outcome says.
                let connected = agent_id.is_some() && answered_at.is_some();
                match QueueOutcome::of(live, connected, hangup_cause.as_deref()) {
                    QueueOutcome::Handled => counts.answer(within_sla),
                    QueueOutcome::Waiting if agent_id.is_some() => counts.answer(within_sla),
                    QueueOutcome::Waiting => {}
                    QueueOutcome::Overflowed => counts.overflowed += 1,
                    QueueOutcome::Abandoned => counts.abandoned += 1,
                }
            }
            match (live, agent_id) {
                (true, Some(agent_id)) => {
                    if let Some(agent) = self.desk.agents.get_mut(&agent_id) {
                        agent.call = Some(call_id.clone());
                    }
                    self.desk.assigned.insert(
                        call_id,
                        crate::domain::desk::Assigned {
                            agent_id,
                            queue_id,
                            within_sla,
                            outbound,
                            since: assigned.unwrap_or(now),
                        },
                    );
                }
                (true, None) if !outbound => {
                    waiting.push((queued.unwrap_or(now), call_id, queue_id))
                }
                _ => {}
            }
        }
        waiting.sort();
        for (since, call_id, queue_id) in waiting {
            let pop = json!({"call_id": call_id});
            self.desk.enqueue(&call_id, &queue_id, since, pop, now);
        }
    }

    /// Publishes what the desk decided, stores what must be stored, and re-arms the timer.
    /// Answers the commit, for the one operation that waits for it (availability).
    fn carry_out(&mut self, effects: Vec<Effect>, ctx: &mut Context<Self>) -> Option<Pending> {
        let now = Utc::now();
        if now.date_naive() != self.counted_day {
            self.counted_day = now.date_naive();
            self.desk.counts.clear();
        }
        let mut ops = Vec::new();
        let mut events = Vec::new();
        let mut agents: Vec<String> = Vec::new();
        let mut queues: Vec<String> = Vec::new();
        for effect in effects {
            match effect {
                Effect::Offer {
                    call_id,
                    agent_id,
                    expires_at,
                } => {
                    metrics::METRICS.desk_offer("offered");
                    events.push(self.offer_event(&call_id, &agent_id, expires_at));
                }
                Effect::AgentChanged { agent_id, stored } => {
                    if let (true, Some(agent)) = (stored, self.desk.agents.get(&agent_id)) {
                        ops.push(WriteOp::Desk(DeskOp::SetAgentAvailability {
                            org_id: self.org_id.to_string(),
                            id: agent_id.clone(),
                            availability: agent.availability.as_str().to_owned(),
                            reason: agent.availability_reason.clone(),
                            since: to_text(agent.availability_since),
                        }));
                    }
                    if !agents.contains(&agent_id) {
                        agents.push(agent_id);
                    }
                }
                Effect::QueueChanged(queue_id) => {
                    if !queues.contains(&queue_id) {
                        queues.push(queue_id);
                    }
                }
                Effect::Overflowed { call_id, message } => {
                    metrics::METRICS.desk_offer("overflowed");
                    self.overflow(call_id, message);
                }
                Effect::Connect { call_id, agent_id } => {
                    metrics::METRICS.desk_offer("connected");
                    self.connect_answered(call_id, agent_id, ctx);
                }
                Effect::Abandon { call_id } => {
                    metrics::METRICS.desk_offer("abandoned");
                    self.abandon(call_id);
                }
            }
        }
        // Every queue an agent can serve shows that agent among its figures.
        if !agents.is_empty() {
            for queue_id in self.desk.queues.keys() {
                if !queues.contains(queue_id) {
                    queues.push(queue_id.clone());
                }
            }
        }
        for agent_id in agents {
            if let Some(agent) = self.desk.agents.get(&agent_id) {
                events.push(NewEvent {
                    event_type: EventType::AgentUpdated,
                    subject: agent_id,
                    data: agent.to_json(now),
                });
            }
        }
        for queue_id in queues {
            if let Some(queue) = self.desk.queues.get(&queue_id) {
                let figures = self.desk.figures(&queue_id, now);
                events.push(NewEvent {
                    event_type: EventType::QueueUpdated,
                    subject: queue_id,
                    data: queue.to_json(figures.as_ref()),
                });
            }
        }
        self.arm_timer(ctx);
        if ops.is_empty() && events.is_empty() {
            return None;
        }
        Some(self.engine.writer.submit(WriteRequest {
            org_id: self.org_id.clone(),
            ops,
            events,
        }))
    }

    /// Like [`Self::carry_out`] for changes nobody waits on: a failed commit is logged (the
    /// state stays in memory and the next change publishes it again).
    fn publish(&mut self, effects: Vec<Effect>, ctx: &mut Context<Self>) {
        if let Some(pending) = self.carry_out(effects, ctx) {
            let org_id = self.org_id.clone();
            actix::spawn(async move {
                if let Err(error) = pending.outcome().await {
                    tracing::error!(%error, %org_id, "desk events not stored");
                }
            });
        }
    }

    /// `incoming:call` for an offer: the screen pop, the call's id and `offer`.
    fn offer_event(&self, call_id: &str, agent_id: &str, expires_at: DateTime<Utc>) -> NewEvent {
        let waiting = self.desk.waiting.iter().find(|w| w.call_id == call_id);
        let mut data = match waiting.map(|w| w.pop.clone()) {
            Some(Value::Object(pop)) => pop,
            _ => serde_json::Map::new(),
        };
        data.insert("call_id".into(), json!(call_id));
        data.insert(
            "offer".into(),
            json!({
                "agent_id": agent_id,
                "queue_id": waiting.map(|w| &w.queue_id),
                "expires_at": expires_at,
            }),
        );
        NewEvent {
            event_type: EventType::IncomingCall,
            subject: call_id.to_owned(),
            data: Value::Object(data),
        }
    }

    fn arm_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.timer.take() {
            ctx.cancel_future(handle);
        }
        let Some(due) = self.desk.next_deadline() else {
            return;
        };
        let wait = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        self.timer = Some(ctx.run_later(wait + Duration::from_millis(5), |act, ctx| {
            act.timer = None;
            let effects = act.desk.tick(Utc::now());
            act.publish(effects, ctx);
        }));
    }

    /// A campaign's answered call given to an agent: the assignment is committed on the call,
    /// then the person is connected to the agent (a failure abandons the call).
    fn connect_answered(&mut self, call_id: String, agent_id: String, ctx: &mut Context<Self>) {
        let (calls, org_id) = (self.calls.clone(), self.org_id.clone());
        let (id, agent) = (call_id.clone(), agent_id.clone());
        let assign = async move { annotate(&calls, &org_id, &id, Annotation::Assign(agent)).await };
        ctx.spawn(assign.into_actor(self).map(move |assigned, act, ctx| match assigned {
            Ok(call) => act.connect(call, agent_id, None, ctx),
            Err(error) => {
                tracing::warn!(%error, %call_id, "an answered campaign call could not be given to its agent");
                let effects = act.desk.connect_failed(&call_id, Utc::now());
                act.publish(effects, ctx);
            }
        }));
    }

    /// A campaign's answered call no agent took in time hears the campaign's abandon message
    /// (a default without one) and is hung up; `abandoned` on its timeline.
    fn abandon(&mut self, call_id: String) {
        let message = self
            .abandon_messages
            .remove(&call_id)
            .flatten()
            .unwrap_or_else(|| "Sorry, all our agents are busy. We will call you back.".to_owned());
        self.goodbye(call_id, message, "abandoned");
    }

    /// A caller past the queue's maximum wait with nowhere to go hears the message and is hung up.
    fn overflow(&self, call_id: String, message: String) {
        let message = if message.is_empty() {
            "All our agents are busy. Please call again later.".to_owned()
        } else {
            message
        };
        self.goodbye(call_id, message, "overflowed");
    }

    /// Says `message` to the caller and hangs up through the call's provider; `kind` on its
    /// timeline, with the provider's refusal if it refused.
    fn goodbye(&self, call_id: String, message: String, kind: &'static str) {
        let (engine, calls, org_id) =
            (self.engine.clone(), self.calls.clone(), self.org_id.clone());
        actix::spawn(async move {
            let done = move_call(&engine, &org_id, &call_id, Instruction::Goodbye(&message)).await;
            let note = match &done {
                Ok(()) => json!({"message": message}),
                Err(error) => json!({"message": message, "error": error.to_string()}),
            };
            // The caller was sent away (or not): the call must say so, or an overflow would
            // count as an abandon.
            let note = Annotation::Note(kind, note);
            keep_outcome(&calls, &org_id, &call_id, note, "a goodbye's outcome").await;
        });
    }

    /// After an accept is committed: connect the caller to the agent through the call's
    /// provider — a PBX caller's channel to the agent's first extension, a provider's caller to
    /// the agent's phone (a Twilio `client:` identity when it has none); a failure puts the
    /// call back in the queue for the next agent.
    fn connect(
        &self,
        call: Call,
        agent_id: String,
        channel: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let pbx = call.provider == crate::providers::Provider::Yeastar.as_str();
        let target = self.desk.agents.get(&agent_id).and_then(|a| match pbx {
            true => a.extensions.first().cloned(),
            false => Some(
                a.phone
                    .clone()
                    .unwrap_or_else(|| format!("client:{}", a.id)),
            ),
        });
        let (engine, calls, org_id) =
            (self.engine.clone(), self.calls.clone(), self.org_id.clone());
        let me = ctx.address();
        actix::spawn(async move {
            let call_id = call.id.to_string();
            let instruction = match (&target, &channel) {
                (Some(number), Some(channel)) if pbx => {
                    Some(Instruction::Transfer { channel, number })
                }
                (Some(target), _) if !pbx => Some(Instruction::Connect(target)),
                _ => None,
            };
            let done = match instruction {
                Some(instruction) => move_call(&engine, &org_id, &call_id, instruction).await,
                None => Err(AppError::new(
                    Code::InvalidBody,
                    "the agent has no extension, or the caller's PBX channel is not known",
                )),
            };
            let note = match &done {
                Ok(()) => Annotation::Connected {
                    at: Utc::now(),
                    data: json!({"agent_id": agent_id, "to": target}),
                },
                Err(error) => {
                    tracing::warn!(%error, %call_id, "caller not connected to the agent; offered again");
                    Annotation::Unassign(json!({"agent_id": agent_id, "error": error.to_string()}))
                }
            };
            // The caller was moved (or not): what the provider did must reach the board.
            keep_outcome(&calls, &org_id, &call_id, note, "a connect's outcome").await;
            // Offered again only once the call is free of the agent who could not take it.
            if done.is_err() {
                me.do_send(ConnectFailed { call_id });
            }
        });
    }
}

/// Stores on the call what the provider did with it (`what`, for the log), through a store that
/// refuses for a moment too ([`crate::engine::keep::until_kept`]).
async fn keep_outcome(
    calls: &Addr<CallRegistry>,
    org_id: &OrgId,
    call_id: &str,
    outcome: Annotation,
    what: &'static str,
) {
    use crate::engine::keep::{until_kept, EVERY, TRIES};
    let offer = || annotate(calls, org_id, call_id, outcome.clone());
    if let Err(error) = until_kept(what, TRIES, EVERY, offer).await {
        tracing::error!(%error, %call_id, "{what} not stored");
    }
}

/// What to do with a live call.
#[derive(Clone, Copy)]
enum Instruction<'a> {
    /// Connect the caller to this number, `sip:` URI or `client:` identity.
    Connect(&'a str),
    /// Say this and hang up.
    Goodbye(&'a str),
    /// Blind-transfer this PBX channel to this extension.
    Transfer { channel: &'a str, number: &'a str },
}

/// Moves a live call through its provider's API (providers.md, "Moving a live call").
async fn move_call(
    engine: &Engine,
    org_id: &OrgId,
    call_id: &str,
    instruction: Instruction<'_>,
) -> Result<(), AppError> {
    use crate::providers::{outbound, twilio, Provider};
    let call = crate::engine::calls::find(engine, org_id, call_id).await?;
    let provider = Provider::parse(&call.provider).ok_or(AppError::not_found("provider"))?;
    let credentials = engine.orgs.required_credentials(org_id, provider).await?;
    let provider_call_id = call
        .provider_call_id
        .as_deref()
        .ok_or_else(|| AppError::new(Code::ProviderError, "the provider's call id is not known"))?;
    let record = engine
        .orgs
        .by_id(org_id.as_str())
        .await?
        .is_some_and(|org| org.record);
    let urls = CallbackUrls::new(&engine.public_url, provider, org_id, &call.id);
    let recording = urls.recording();
    let twiml = match instruction {
        Instruction::Connect(target) => {
            twilio::dial_twiml(target, record.then_some(recording.as_str()))
        }
        Instruction::Goodbye(message) => twilio::answer_twiml(None, message),
        Instruction::Transfer { channel, number } => {
            let refused = |e: crate::providers::yeastar::DialError| {
                AppError::new(Code::ProviderError, e.to_string())
            };
            let api = crate::providers::yeastar::YeastarApi::from_credentials(&credentials)
                .map_err(refused)?;
            let sessions = &engine.pbx_sessions;
            return api
                .transfer(&engine.http, sessions, org_id.as_str(), channel, number)
                .await
                .map_err(refused);
        }
    };
    // Plivo's Transfer points the call at our connect URL, which answers with the agent, or
    // says the goodbye the URL carries (covered by Plivo's signature).
    let plivo_url = urls.connect(match instruction {
        Instruction::Goodbye(message) => Some(message),
        _ => None,
    });
    outbound::redirect(
        &engine.http,
        &credentials,
        provider_call_id,
        &twiml,
        &plivo_url,
    )
    .await
    .map(|_| ())
    .map_err(|refused| AppError::new(Code::ProviderError, refused.to_string()))
}

fn refusal(refused: OfferRefusal) -> AppError {
    match refused {
        OfferRefusal::Expired => AppError::new(
            Code::OfferExpired,
            "the offer moved on, or the call was already accepted",
        ),
        OfferRefusal::UnknownAgent => AppError::not_found("agent"),
    }
}

impl Handler<QueuedCallChanged> for DeskRegistry {
    type Result = ();

    fn handle(&mut self, msg: QueuedCallChanged, _: &mut Context<Self>) {
        self.desk(&msg.org_id).do_send(msg);
    }
}

impl Handler<QueuedCallChanged> for DeskActor {
    type Result = ();

    fn handle(&mut self, msg: QueuedCallChanged, ctx: &mut Context<Self>) {
        let now = Utc::now();
        let effects = if !msg.live {
            self.abandon_messages.remove(&msg.call_id);
            self.desk.call_ended(&msg.call_id, msg.connected, now)
        } else if !msg.assigned && !msg.outbound {
            let pop = msg.pop.unwrap_or_else(|| json!({}));
            self.desk
                .enqueue(&msg.call_id, &msg.queue_id, msg.queued_at, pop, now)
        } else {
            Vec::new()
        };
        self.publish(effects, ctx);
    }
}

/// The agent accepts the call offered to it: the assignment is committed on the call (it gains
/// `agent_id`), then the caller is connected. Answers the call.
#[derive(Message)]
#[rtype(result = "Result<Value, AppError>")]
pub struct Accept {
    pub call_id: String,
    pub agent_id: String,
}

impl Handler<Accept> for DeskActor {
    type Result = ResponseActFuture<Self, Result<Value, AppError>>;

    fn handle(&mut self, msg: Accept, _: &mut Context<Self>) -> Self::Result {
        if let Err(refused) = self
            .desk
            .begin_accept(&msg.call_id, &msg.agent_id, Utc::now())
        {
            return Box::pin(actix::fut::ready(Err(refusal(refused))));
        }
        let assignment = Annotation::Assign(msg.agent_id.clone());
        let commit = {
            let (calls, org_id, call_id) =
                (self.calls.clone(), self.org_id.clone(), msg.call_id.clone());
            async move { annotate(&calls, &org_id, &call_id, assignment).await }
        };
        Box::pin(commit.into_actor(self).map(move |result, act, ctx| {
            let now = Utc::now();
            match result {
                Ok(call) => {
                    // A PBX caller is moved by its channel, which came with its screen pop.
                    let channel = act
                        .desk
                        .waiting
                        .iter()
                        .find(|w| w.call_id == msg.call_id)
                        .and_then(|w| w.pop.get("pbx_channel")?.as_str().map(str::to_owned));
                    let effects = act.desk.accepted(&msg.call_id, &msg.agent_id, now);
                    act.publish(effects, ctx);
                    metrics::METRICS.desk_offer("accepted");
                    let answer = call.to_json();
                    act.connect(call, msg.agent_id, channel, ctx);
                    Ok(answer)
                }
                Err(error) => {
                    let effects = act.desk.accept_failed(&msg.call_id, &msg.agent_id, now);
                    act.publish(effects, ctx);
                    Err(error)
                }
            }
        }))
    }
}

/// The agent turns the offer down: the call goes to the next agent.
#[derive(Message)]
#[rtype(result = "Result<(), AppError>")]
pub struct Reject {
    pub call_id: String,
    pub agent_id: String,
}

impl Handler<Reject> for DeskActor {
    type Result = Result<(), AppError>;

    fn handle(&mut self, msg: Reject, ctx: &mut Context<Self>) -> Self::Result {
        let effects = self
            .desk
            .reject(&msg.call_id, &msg.agent_id, Utc::now())
            .map_err(refusal)?;
        metrics::METRICS.desk_offer("rejected");
        self.publish(effects, ctx);
        Ok(())
    }
}

/// Connecting an accepted caller failed: it waits again.
#[derive(Message)]
#[rtype(result = "()")]
struct ConnectFailed {
    call_id: String,
}

impl Handler<ConnectFailed> for DeskActor {
    type Result = ();

    fn handle(&mut self, msg: ConnectFailed, ctx: &mut Context<Self>) {
        metrics::METRICS.desk_offer("connect_failed");
        let effects = self.desk.connect_failed(&msg.call_id, Utc::now());
        self.publish(effects, ctx);
    }
}

/// An agent's availability, set by the agent or a supervisor: stored before it is answered.
/// Answers the agent.
#[derive(Message)]
#[rtype(result = "Result<Value, AppError>")]
pub struct SetAvailability {
    pub agent_id: String,
    pub availability: Availability,
    pub reason: Option<String>,
}

impl Handler<SetAvailability> for DeskActor {
    type Result = ResponseActFuture<Self, Result<Value, AppError>>;

    fn handle(&mut self, msg: SetAvailability, ctx: &mut Context<Self>) -> Self::Result {
        if !self.desk.agents.contains_key(&msg.agent_id) {
            return Box::pin(actix::fut::ready(Err(AppError::not_found("agent"))));
        }
        let effects =
            self.desk
                .set_availability(&msg.agent_id, msg.availability, msg.reason, Utc::now());
        let pending = self.carry_out(effects, ctx);
        Box::pin(
            async move {
                match pending {
                    Some(pending) => pending.outcome().await.map(|_| ()),
                    None => Ok(()),
                }
            }
            .into_actor(self)
            .map(move |stored, act, _| {
                stored?;
                let agent = act.desk.agents.get(&msg.agent_id);
                agent
                    .map(|a| a.to_json(Utc::now()))
                    .ok_or(AppError::not_found("agent"))
            }),
        )
    }
}

/// An agent was created or its configuration changed (already stored).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentConfigured(pub Agent);

impl Handler<AgentConfigured> for DeskActor {
    type Result = ();

    fn handle(&mut self, msg: AgentConfigured, ctx: &mut Context<Self>) {
        let effects = self.desk.put_agent(msg.0, Utc::now());
        self.publish(effects, ctx);
    }
}

/// An agent was deleted (already stored).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentRemoved(pub String);

impl Handler<AgentRemoved> for DeskActor {
    type Result = ();

    fn handle(&mut self, msg: AgentRemoved, ctx: &mut Context<Self>) {
        let effects = self.desk.remove_agent(&msg.0, Utc::now());
        self.publish(effects, ctx);
    }
}

/// A queue was created or changed (already stored).
#[derive(Message)]
#[rtype(result = "()")]
pub struct QueueConfigured(pub Queue);

impl Handler<QueueConfigured> for DeskActor {
    type Result = ();

    fn handle(&mut self, msg: QueueConfigured, ctx: &mut Context<Self>) {
        let queue_id = msg.0.id.clone();
        self.desk.queues.insert(queue_id.clone(), msg.0);
        let mut effects = vec![Effect::QueueChanged(queue_id)];
        effects.extend(self.desk.route(Utc::now()));
        self.publish(effects, ctx);
    }
}

/// A queue was deleted (already stored): its callers stay where they are until they hang up.
#[derive(Message)]
#[rtype(result = "()")]
pub struct QueueRemoved(pub String);

impl Handler<QueueRemoved> for DeskActor {
    type Result = ();

    fn handle(&mut self, msg: QueueRemoved, _: &mut Context<Self>) {
        self.desk.queues.remove(&msg.0);
    }
}

/// A dashboard session of an agent opened or closed: an agent is reachable while one is open.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentSession {
    pub agent_id: String,
    pub opened: bool,
}

impl Handler<AgentSession> for DeskActor {
    type Result = ();

    fn handle(&mut self, msg: AgentSession, ctx: &mut Context<Self>) {
        let effects = self.desk.session(&msg.agent_id, msg.opened, Utc::now());
        self.publish(effects, ctx);
    }
}

impl Handler<ExtensionPresence> for DeskRegistry {
    type Result = ();

    fn handle(&mut self, msg: ExtensionPresence, _: &mut Context<Self>) {
        self.desk(&msg.org_id).do_send(msg);
    }
}

impl Handler<ExtensionPresence> for DeskActor {
    type Result = ();

    fn handle(&mut self, msg: ExtensionPresence, ctx: &mut Context<Self>) {
        let last = self.presence_seq.entry(msg.number.clone()).or_insert(0);
        if msg.seq <= *last {
            return;
        }
        *last = msg.seq;
        let effects = self.desk.presence(&msg.number, msg.presence, Utc::now());
        self.publish(effects, ctx);
    }
}

/// The queue a new inbound call to `to` waits in, if the org has one: `(id, name)`.
#[derive(Message)]
#[rtype(result = "Option<(String, String)>")]
pub struct QueueFor {
    pub to: Option<String>,
    /// Only a queue with that number (a PBX call rings extensions unless it dialed a queue).
    pub numbered_only: bool,
}

impl Handler<QueueFor> for DeskActor {
    type Result = Option<(String, String)>;

    fn handle(&mut self, msg: QueueFor, _: &mut Context<Self>) -> Self::Result {
        self.desk
            .queue_for(msg.to.as_deref())
            .filter(|q| !msg.numbered_only || q.number.is_some())
            .map(|q| (q.id.clone(), q.name.clone()))
    }
}

/// A campaign's call was answered by a person: it is queued on its record and goes to a free
/// agent of the campaign's queue within 2 s, or is abandoned with `abandon_message`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CampaignAnswered {
    pub call_id: String,
    pub queue_id: String,
    pub abandon_message: Option<String>,
}

impl Handler<CampaignAnswered> for DeskActor {
    type Result = ();

    fn handle(&mut self, msg: CampaignAnswered, ctx: &mut Context<Self>) {
        self.abandon_messages
            .insert(msg.call_id.clone(), msg.abandon_message);
        // The call waits in the queue on its record too (an unanswered wait is its abandonment).
        let (calls, org_id) = (self.calls.clone(), self.org_id.clone());
        let (call_id, queued) = (
            msg.call_id.clone(),
            Annotation::Queued(msg.queue_id.clone()),
        );
        actix::spawn(async move {
            if let Err(error) = annotate(&calls, &org_id, &call_id, queued).await {
                tracing::error!(%error, %call_id, "an answered campaign call not queued");
            }
        });
        let effects = self
            .desk
            .campaign_answered(&msg.call_id, &msg.queue_id, Utc::now());
        self.publish(effects, ctx);
    }
}

/// A campaign asks how many agents of its queue are idle now (less the answered calls already
/// waiting for one) and how many will be free within `horizon` (its measured time to answer).
#[derive(Message)]
#[rtype(result = "Outlook")]
pub struct AgentOutlook {
    pub queue_id: String,
    pub horizon: Duration,
}

impl Handler<AgentOutlook> for DeskActor {
    type Result = MessageResult<AgentOutlook>;

    fn handle(&mut self, msg: AgentOutlook, _: &mut Context<Self>) -> Self::Result {
        let horizon = chrono::Duration::from_std(msg.horizon).unwrap_or_default();
        MessageResult(self.desk.outlook_for(&msg.queue_id, Utc::now(), horizon))
    }
}

/// The org's agents with their live state, by id.
#[derive(Message)]
#[rtype(result = "Vec<Value>")]
pub struct AgentsNow;

impl Handler<AgentsNow> for DeskActor {
    type Result = MessageResult<AgentsNow>;

    fn handle(&mut self, _: AgentsNow, _: &mut Context<Self>) -> Self::Result {
        let now = Utc::now();
        let mut agents: Vec<&Agent> = self.desk.agents.values().collect();
        agents.sort_by(|a, b| a.id.cmp(&b.id));
        MessageResult(agents.into_iter().map(|a| a.to_json(now)).collect())
    }
}

/// The org's queues with their live figures, by id.
#[derive(Message)]
#[rtype(result = "Vec<Value>")]
pub struct QueuesNow;

impl Handler<QueuesNow> for DeskActor {
    type Result = MessageResult<QueuesNow>;

    fn handle(&mut self, _: QueuesNow, _: &mut Context<Self>) -> Self::Result {
        let now = Utc::now();
        let mut queues: Vec<&Queue> = self.desk.queues.values().collect();
        queues.sort_by(|a, b| a.id.cmp(&b.id));
        MessageResult(
            queues
                .into_iter()
                .map(|q| q.to_json(self.desk.figures(&q.id, now).as_ref()))
                .collect(),
        )
    }
}
