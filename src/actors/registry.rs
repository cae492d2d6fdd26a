//! Finds the actor of a call by its key, starting it (and loading its state) on first use.

use super::call::{Accepted, ApplyEvent, CallActor, CallDeps, ProviderEvent};
use crate::domain::call::{Call, Direction};
use crate::domain::ids::{CallId, OrgId};
use crate::error::AppError;
use actix::prelude::*;
use chrono::Utc;
use std::collections::HashMap;

/// A call as providers name it: unique per org and provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallKey {
    pub org_id: OrgId,
    pub provider: String,
    pub provider_call_id: String,
}

/// The live call actors, by key.
pub struct CallRegistry {
    calls: HashMap<CallKey, Addr<CallActor>>,
    deps: CallDeps,
}

impl CallRegistry {
    pub fn new(deps: CallDeps) -> Self {
        CallRegistry {
            calls: HashMap::new(),
            deps,
        }
    }

    fn spawn(&mut self, key: CallKey, call: Call, ctx: &mut Context<Self>) -> Addr<CallActor> {
        let actor = CallActor::new(call, key.clone(), ctx.address(), self.deps.clone()).start();
        self.calls.insert(key, actor.clone());
        actor
    }

    fn live(&self, key: &CallKey) -> Option<Addr<CallActor>> {
        self.calls.get(key).filter(|a| a.connected()).cloned()
    }
}

impl Actor for CallRegistry {
    type Context = Context<Self>;
}

/// The actor of a call, started if there is none. A call the engine has not heard of before is
/// created with `direction` (a status callback for an unknown call id creates the call).
#[derive(Message)]
#[rtype(result = "Addr<CallActor>")]
pub struct Route {
    pub key: CallKey,
    pub direction: Direction,
}

impl Handler<Route> for CallRegistry {
    type Result = MessageResult<Route>;

    fn handle(&mut self, msg: Route, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(actor) = self.live(&msg.key) {
            return MessageResult(actor);
        }
        let call = Call::new(
            CallId::generate(),
            msg.key.org_id.clone(),
            &msg.key.provider,
            Some(msg.key.provider_call_id.clone()),
            msg.direction,
            Utc::now(),
        );
        MessageResult(self.spawn(msg.key, call, ctx))
    }
}

/// Respawns the actors of calls that were unfinished when the engine last stopped (invariant 7).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Recover(pub Vec<Call>);

impl Handler<Recover> for CallRegistry {
    type Result = usize;

    fn handle(&mut self, msg: Recover, ctx: &mut Context<Self>) -> usize {
        let mut started = 0;
        for call in msg.0 {
            let Some(provider_call_id) = call.provider_call_id.clone() else {
                continue;
            };
            let key = CallKey {
                org_id: call.org_id.clone(),
                provider: call.provider.clone(),
                provider_call_id,
            };
            if self.live(&key).is_none() {
                self.spawn(key, call, ctx);
                started += 1;
            }
        }
        started
    }
}

/// A call actor retires: forget it, unless a newer actor already took its key.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Forget {
    pub key: CallKey,
    pub actor: Addr<CallActor>,
}

impl Handler<Forget> for CallRegistry {
    type Result = ();

    fn handle(&mut self, msg: Forget, _: &mut Context<Self>) {
        if self.calls.get(&msg.key) == Some(&msg.actor) {
            self.calls.remove(&msg.key);
        }
    }
}

/// Hands a provider event to its call's actor and waits until it is committed. An actor that
/// retired in between is replaced by a fresh one, which reads the call back from the database.
pub async fn deliver(
    registry: &Addr<CallRegistry>,
    key: CallKey,
    direction: Direction,
    event: ProviderEvent,
) -> Result<Accepted, AppError> {
    for _ in 0..3 {
        let actor = registry
            .send(Route {
                key: key.clone(),
                direction,
            })
            .await?;
        match actor.send(ApplyEvent(event.clone())).await {
            Ok(result) => return result,
            Err(MailboxError::Closed) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(AppError::Unavailable(
        "the call's actor keeps stopping".into(),
    ))
}
