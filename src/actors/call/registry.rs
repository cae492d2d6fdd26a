//! Finds the actor of a call — by the provider's id (webhooks) or by our own id (calls the engine
//! placed, whose provider id may not exist yet) — starting it, and loading its state, on first use.

use super::actor::{
    Accepted, Alias, Annotate, Annotation, ApplyEvent, CallActor, CallDeps, CallKey, ForceEnd,
    Forget, Lookup, ProviderEvent, Receipt, Registrar,
};
use super::names::{Claim, Names, Running};
use crate::domain::call::{Call, Direction};
use crate::domain::ids::{CallId, OrgId};
use crate::engine::calls;
use crate::error::AppError;
use actix::prelude::*;
use chrono::Utc;
use std::collections::HashSet;

/// How a message names its call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallRef {
    /// By the provider's id; a call the engine has not heard of is created with this direction
    /// (a status callback for an unknown call id creates the call).
    Provider(CallKey, Direction),
    /// By our id; the call must exist.
    Ours(OrgId, CallId),
    /// By the id a callback URL of ours carries (`?call=<our id>`, so that a callback that beats
    /// the provider API's answer finds its call), trusted only when the org has that call of the
    /// same provider; otherwise by the provider's id, as [`CallRef::Provider`].
    Named(CallId, CallKey, Direction),
}

/// The live call actors, by provider key and by our id.
pub struct CallRegistry {
    names: Names<Addr<CallActor>>,
    deps: CallDeps,
}

impl Running for Addr<CallActor> {
    /// A retired actor's address stays until it is forgotten.
    fn running(&self) -> bool {
        self.connected()
    }
}

impl CallRegistry {
    /// The registry; every call actor it starts talks to `deps`.
    pub fn new(deps: CallDeps) -> Self {
        CallRegistry {
            names: Names::default(),
            deps,
        }
    }

    fn spawn(&mut self, call: Call, lookup: Lookup, ctx: &mut Context<Self>) -> Addr<CallActor> {
        let id = call.id.clone();
        let actor = CallActor::new(call, lookup.clone(), registrar(ctx), self.deps.clone()).start();
        match lookup {
            Lookup::Provider(key) => self.names.started_by_key(key, actor.clone()),
            Lookup::Ours { .. } => self.names.started_by_id(id, actor.clone()),
        }
        actor
    }
}

impl CallRegistry {
    /// The actor of a call the database has, by our id: it reads the call itself on start.
    fn spawn_stored(
        &mut self,
        org_id: OrgId,
        call_id: CallId,
        ctx: &mut Context<Self>,
    ) -> Addr<CallActor> {
        let placeholder = Call::new(call_id, org_id, "", None, Direction::Outbound, Utc::now());
        self.spawn(placeholder, Lookup::Ours { create: false }, ctx)
    }
}

impl Actor for CallRegistry {
    type Context = Context<Self>;
}

/// The actor of a call, started if there is none.
#[derive(Message)]
#[rtype(result = "Addr<CallActor>")]
pub struct Route(pub CallRef);

impl Handler<Route> for CallRegistry {
    type Result = MessageResult<Route>;

    fn handle(&mut self, msg: Route, ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.route(msg.0, ctx))
    }
}

impl CallRegistry {
    /// The live actor of a call, started if there is none.
    fn route(&mut self, call: CallRef, ctx: &mut Context<Self>) -> Addr<CallActor> {
        match call {
            CallRef::Provider(key, direction) => match self.names.by_key(&key) {
                Some(actor) => actor,
                None => {
                    let call = Call::new(
                        CallId::generate(),
                        key.org_id.clone(),
                        &key.provider,
                        Some(key.provider_call_id.clone()),
                        direction,
                        Utc::now(),
                    );
                    self.spawn(call, Lookup::Provider(key), ctx)
                }
            },
            CallRef::Ours(org_id, call_id) => match self.names.by_id(&call_id) {
                Some(actor) => actor,
                None => self.spawn_stored(org_id, call_id, ctx),
            },
            // Resolved by the database first ([`Deliver`]); routed without it, by the
            // provider's id.
            CallRef::Named(_, key, direction) => self.route(CallRef::Provider(key, direction), ctx),
        }
    }
}

/// Hands a provider event to its call's actor (started if need be) and answers with the actor's
/// receipt: one message from the HTTP worker to this thread, which the call actors share, so the
/// worker waits for one answer instead of an address and then an answer.
#[derive(Message)]
#[rtype(result = "Result<Receipt, AppError>")]
pub struct Deliver {
    pub call: CallRef,
    pub event: ProviderEvent,
    /// Actors found stopped so far (retired, or a second actor of the call that found the
    /// first): routed again, up to [`DELIVERY_ATTEMPTS`].
    pub attempts: u8,
}

/// How many actors a delivery tries before it gives up (each retired between routing and delivery).
const DELIVERY_ATTEMPTS: u8 = 3;

impl Handler<Deliver> for CallRegistry {
    type Result = ResponseFuture<Result<Receipt, AppError>>;

    fn handle(&mut self, msg: Deliver, ctx: &mut Context<Self>) -> Self::Result {
        let registry = ctx.address();
        let msg = match msg.call {
            // The live actor known by both names is that call of that provider: no read.
            CallRef::Named(call_id, key, direction) if self.holds_both(&call_id, &key) => Deliver {
                call: CallRef::Provider(key, direction),
                ..msg
            },
            CallRef::Named(call_id, key, direction) => {
                return self.resolve(call_id, key, direction, msg.event, msg.attempts, registry)
            }
            call => Deliver { call, ..msg },
        };
        let actor = self.route(msg.call.clone(), ctx);
        Box::pin(async move {
            match actor.send(ApplyEvent(msg.event.clone())).await {
                Ok(receipt) => Ok(receipt),
                // The actor stopped in between: routed again, to the call's owner or to a fresh
                // actor that reads the call back from the database.
                Err(MailboxError::Closed) if msg.attempts + 1 < DELIVERY_ATTEMPTS => {
                    let retry = Deliver {
                        attempts: msg.attempts + 1,
                        ..msg
                    };
                    registry.send(retry).await?
                }
                Err(MailboxError::Closed) => {
                    Err(AppError::unavailable("the call's actor keeps stopping"))
                }
                Err(error) => Err(error.into()),
            }
        })
    }
}

impl CallRegistry {
    /// Whether one live actor is known by our id and by the provider's key (the key names the
    /// org and the provider): the call a callback URL names is then that provider's.
    fn holds_both(&self, call_id: &CallId, key: &CallKey) -> bool {
        match (self.names.by_id(call_id), self.names.by_key(key)) {
            (Some(by_id), Some(by_key)) => by_id == by_key,
            _ => false,
        }
    }

    /// A call named by a callback URL of ours: by our id when the org has that call of the same
    /// provider (the event then carries the provider's id to it), else by the provider's id.
    fn resolve(
        &self,
        call_id: CallId,
        key: CallKey,
        direction: Direction,
        mut event: ProviderEvent,
        attempts: u8,
        registry: Addr<CallRegistry>,
    ) -> ResponseFuture<Result<Receipt, AppError>> {
        let engine = self.deps.engine.clone();
        Box::pin(async move {
            let (org_id, provider) = (&key.org_id, key.provider.as_str());
            let call = match calls::is_providers(&engine, org_id, &call_id, provider).await? {
                true => {
                    let id = Some(key.provider_call_id.clone()).filter(|id| !id.is_empty());
                    event.event.provider_call_id = id;
                    CallRef::Ours(key.org_id.clone(), call_id)
                }
                false => CallRef::Provider(key, direction),
            };
            let resolved = Deliver {
                call,
                event,
                attempts,
            };
            registry.send(resolved).await?
        })
    }
}

/// Whether the engine has a call of the provider's already: its live actor, else the database.
#[derive(Message)]
#[rtype(result = "Result<bool, AppError>")]
pub struct Known(pub CallKey);

impl Handler<Known> for CallRegistry {
    type Result = ResponseFuture<Result<bool, AppError>>;

    fn handle(&mut self, msg: Known, _: &mut Context<Self>) -> Self::Result {
        let live = self.names.by_key(&msg.0).is_some();
        let engine = self.deps.engine.clone();
        Box::pin(async move {
            let key = msg.0;
            let (org_id, provider, id) = (&key.org_id, &key.provider, &key.provider_call_id);
            Ok(live || calls::is_known(&engine, org_id, provider, id).await?)
        })
    }
}

/// Starts the actor of a call the engine creates itself (an originated call), before anything
/// about it is stored.
#[derive(Message)]
#[rtype(result = "Addr<CallActor>")]
pub struct Create(pub Call);

impl Handler<Create> for CallRegistry {
    type Result = MessageResult<Create>;

    fn handle(&mut self, msg: Create, ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.spawn(msg.0, Lookup::Ours { create: true }, ctx))
    }
}

/// How a call actor started here reaches this registry.
fn registrar(ctx: &Context<CallRegistry>) -> Registrar {
    Registrar {
        alias: ctx.address().recipient(),
        forget: ctx.address().recipient(),
    }
}

impl Handler<Alias> for CallRegistry {
    type Result = MessageResult<Alias>;

    fn handle(&mut self, msg: Alias, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.names.claim(msg.call_id, msg.key, msg.actor) == Claim::Owner)
    }
}

/// Respawns the actors of calls that were unfinished when the engine last stopped (invariant 7),
/// each with its call and dedupe keys as read back from the database; answers how many started.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Recover(pub Vec<(Call, HashSet<String>)>);

impl Handler<Recover> for CallRegistry {
    type Result = usize;

    fn handle(&mut self, msg: Recover, ctx: &mut Context<Self>) -> usize {
        let mut started = 0;
        for (call, keys) in msg.0 {
            let (id, key) = (call.id.clone(), CallKey::of(&call));
            let running = self.names.by_id(&id).is_some()
                || key.as_ref().is_some_and(|k| self.names.by_key(k).is_some());
            if running {
                continue;
            }
            let actor = CallActor::stored(call, keys, registrar(ctx), self.deps.clone()).start();
            // The owner, by both its names at once: a webhook of the call routed before the
            // actor's own alias arrives (the providers' retries come the moment a restarted
            // engine listens) finds it.
            self.names.claim(id, key, actor);
            started += 1;
        }
        started
    }
}

impl Handler<Forget> for CallRegistry {
    type Result = ();

    fn handle(&mut self, msg: Forget, _: &mut Context<Self>) {
        self.names.forget(&msg.call_id, &msg.keys, &msg.actor);
    }
}

/// Hands a provider event to its call's actor and waits, on the caller's thread, until it is
/// committed. An actor that stopped in between is routed around: to the call's owner, or to a
/// fresh one that reads the call back from the database.
pub async fn deliver(
    registry: &Addr<CallRegistry>,
    call: CallRef,
    event: ProviderEvent,
) -> Result<Accepted, AppError> {
    let delivery = Deliver {
        call,
        event,
        attempts: 0,
    };
    registry.send(delivery).await??.committed().await
}

/// Applies the agent desk's annotation to a call of the org (by our id) and answers the call once
/// committed; a call the org does not have is a 404.
pub async fn annotate(
    registry: &Addr<CallRegistry>,
    org_id: &OrgId,
    call_id: &str,
    annotation: Annotation,
) -> Result<Call, AppError> {
    let id = CallId::parse(call_id).ok_or(AppError::not_found("call"))?;
    let answer = to_call(registry, org_id, &id, || Annotate(annotation.clone())).await?;
    answer.ok_or_else(|| AppError::not_found("call"))?
}

/// Ends a call of the org the engine's way (a supervisor's reset, a PBX that no longer has it, a
/// demo restart): its answer once committed, or None when the org has no such call.
pub async fn force_end(
    registry: &Addr<CallRegistry>,
    org_id: &OrgId,
    call_id: &CallId,
    reason: &'static str,
    trigger: &'static str,
) -> Result<Option<Accepted>, AppError> {
    let end = || ForceEnd { reason, trigger };
    to_call(registry, org_id, call_id, end).await?.transpose()
}

/// Sends `message()` to the actor of a call of the org (by our id) and answers its answer; None
/// when the call is not in the database. An actor that stops before it answers — one that
/// retired, or a second actor of the call that found the first ([`super::names`]) — is routed
/// around: the message goes again, to the call's actor then.
async fn to_call<M>(
    registry: &Addr<CallRegistry>,
    org_id: &OrgId,
    call_id: &CallId,
    message: impl Fn() -> M,
) -> Result<Option<M::Result>, AppError>
where
    M: Message + Send + 'static,
    M::Result: Send,
    CallActor: Handler<M>,
{
    for _ in 0..3 {
        let actor = registry
            .send(Route(CallRef::Ours(org_id.clone(), call_id.clone())))
            .await?;
        match actor.send(message()).await {
            Ok(answer) => return Ok(Some(answer)),
            Err(MailboxError::Closed) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    // Stopped every time: an actor for an id the database does not have stops on loading.
    Ok(None)
}
