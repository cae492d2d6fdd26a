//! One actor per PBX extension: it owns the extension's presence, applies changes through the
//! pure domain, and commits each change (with the webhook that caused it) through the writer.

use crate::db::models::{ExtensionRow, InboxRow};
use crate::db::queries;
use crate::db::writes::{WriteOp, WriteOutcome, WriteRequest};
use crate::domain::events::{EventType, NewEvent};
use crate::domain::extension::{self, Extension, ExtensionChange, Presence};
use crate::domain::ids::OrgId;
use crate::engine::Engine;
use crate::error::AppError;
use actix::prelude::*;
use chrono::Utc;
use std::collections::HashMap;
use std::sync::Arc;

/// Applies a change to the extension; answered with the extension once it is committed. A raw
/// webhook, when given, is stored in the same commit (and a duplicate one changes nothing).
#[derive(Message)]
#[rtype(result = "Result<Extension, AppError>")]
pub struct ChangeExtension {
    pub change: ExtensionChange,
    pub inbox: Option<InboxRow>,
}

/// An extension's presence, as committed (with its `extension:updated`): the org's desk hears it
/// (an agent's extension busy is an agent not to offer calls to).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ExtensionPresence {
    pub org_id: OrgId,
    pub number: String,
    pub presence: Presence,
    /// The seq of its `extension:updated`: commits answered together may be heard in another
    /// order, and an older presence never replaces a newer one.
    pub seq: i64,
}

/// The extension as it is now (for the busy check before a dial).
#[derive(Message)]
#[rtype(result = "Option<Extension>")]
pub struct GetExtension;

/// A PBX extension's actor. Changes apply in arrival order; commits are pipelined through the
/// writer, whose queue keeps them in the same order.
pub struct ExtensionActor {
    org_id: OrgId,
    ext: Extension,
    /// Not in the database yet (nor announced).
    unsaved: bool,
    engine: Arc<Engine>,
    /// Hears each committed presence.
    presence: Recipient<ExtensionPresence>,
}

impl ExtensionActor {
    fn load(&mut self, ctx: &mut Context<Self>) {
        let (org_id, number) = (self.org_id.to_string(), self.ext.number.clone());
        let read = self.engine.read(move |conn| {
            queries::extension(conn, &org_id, &number)?
                .map(|row| Extension::try_from(row).map_err(AppError::internal))
                .transpose()
        });
        ctx.wait(read.into_actor(self).map(|result, act, ctx| match result {
            Ok(Some(ext)) => {
                act.ext = ext;
                act.unsaved = false;
            }
            Ok(None) => {
                act.ext = Extension::new(&act.ext.number, Utc::now());
                act.unsaved = true;
            }
            Err(error) => {
                tracing::error!(%error, number = %act.ext.number, "cannot load extension");
                ctx.stop();
            }
        }));
    }
}

impl Actor for ExtensionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        crate::metrics::METRICS.actor("extension", 1);
        self.load(ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        crate::metrics::METRICS.actor("extension", -1);
    }
}

impl Handler<ChangeExtension> for ExtensionActor {
    type Result = ResponseActFuture<Self, Result<Extension, AppError>>;

    fn handle(&mut self, msg: ChangeExtension, _: &mut Context<Self>) -> Self::Result {
        let now = Utc::now();
        let (next, visible) = extension::apply(&self.ext, &msg.change, now);
        let mut ops = Vec::new();
        if let Some(inbox) = msg.inbox {
            ops.push(WriteOp::AcceptWebhook(inbox));
        }
        let mut events = Vec::new();
        if visible || self.unsaved {
            ops.push(WriteOp::UpsertExtension(ExtensionRow::new(
                &self.org_id,
                &next,
                now,
            )));
            events.push(NewEvent {
                event_type: EventType::ExtensionUpdated,
                subject: next.number.clone(),
                data: next.to_json(now),
            });
        }
        // Even with nothing to write this waits its turn, so the answer never precedes an earlier
        // commit of this extension.
        let announced = (!events.is_empty()).then(|| (self.org_id.clone(), next.presence));
        let pending = self.engine.writer.submit(WriteRequest {
            org_id: self.org_id.clone(),
            ops,
            events,
        });
        self.ext = next.clone();
        self.unsaved = false;
        Box::pin(
            pending
                .outcome()
                .into_actor(self)
                .map(move |result, act, ctx| match result {
                    Ok(WriteOutcome::Committed(committed)) => {
                        if let (Some((org_id, presence)), Some(event)) =
                            (announced, committed.first())
                        {
                            act.presence.do_send(ExtensionPresence {
                                org_id,
                                number: next.number.clone(),
                                presence,
                                seq: event.seq,
                            });
                        }
                        Ok(next)
                    }
                    Ok(WriteOutcome::Duplicate) => {
                        act.load(ctx);
                        Ok(act.ext.clone())
                    }
                    Err(error) => {
                        act.load(ctx);
                        Err(error)
                    }
                }),
        )
    }
}

impl Handler<GetExtension> for ExtensionActor {
    type Result = Option<Extension>;

    fn handle(&mut self, _: GetExtension, _: &mut Context<Self>) -> Option<Extension> {
        (!self.unsaved).then(|| self.ext.clone())
    }
}

/// The extension actors, by org and number (extensions are few and long-lived: they stay).
pub struct ExtensionRegistry {
    extensions: HashMap<(OrgId, String), Addr<ExtensionActor>>,
    engine: Arc<Engine>,
    presence: Recipient<ExtensionPresence>,
}

impl ExtensionRegistry {
    /// The registry; every extension's committed presence goes to `presence` (the desks).
    pub fn new(engine: Arc<Engine>, presence: Recipient<ExtensionPresence>) -> Self {
        ExtensionRegistry {
            extensions: HashMap::new(),
            engine,
            presence,
        }
    }
}

impl Actor for ExtensionRegistry {
    type Context = Context<Self>;
}

/// The actor of an extension, started (and loaded) on first use.
#[derive(Message)]
#[rtype(result = "Addr<ExtensionActor>")]
pub struct RouteExtension {
    pub org_id: OrgId,
    pub number: String,
}

impl Handler<RouteExtension> for ExtensionRegistry {
    type Result = MessageResult<RouteExtension>;

    fn handle(&mut self, msg: RouteExtension, _: &mut Context<Self>) -> Self::Result {
        let key = (msg.org_id, msg.number);
        if let Some(actor) = self.extensions.get(&key).filter(|a| a.connected()) {
            return MessageResult(actor.clone());
        }
        let actor = ExtensionActor {
            org_id: key.0.clone(),
            ext: Extension::new(&key.1, Utc::now()),
            unsaved: true,
            engine: self.engine.clone(),
            presence: self.presence.clone(),
        }
        .start();
        self.extensions.insert(key, actor.clone());
        MessageResult(actor)
    }
}

/// Applies a change to an extension and waits until it is committed.
pub async fn change_extension(
    registry: &Addr<ExtensionRegistry>,
    org_id: &OrgId,
    number: &str,
    change: ExtensionChange,
    inbox: Option<InboxRow>,
) -> Result<Extension, AppError> {
    for _ in 0..3 {
        let actor = registry
            .send(RouteExtension {
                org_id: org_id.clone(),
                number: number.to_owned(),
            })
            .await?;
        match actor
            .send(ChangeExtension {
                change: change.clone(),
                inbox: inbox.clone(),
            })
            .await
        {
            Ok(result) => return result,
            Err(MailboxError::Closed) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(AppError::unavailable(
        "the extension's actor keeps stopping",
    ))
}

/// The extension as it is now; None when the org has never had it.
pub async fn current_extension(
    registry: &Addr<ExtensionRegistry>,
    org_id: &OrgId,
    number: &str,
) -> Result<Option<Extension>, AppError> {
    let actor = registry
        .send(RouteExtension {
            org_id: org_id.clone(),
            number: number.to_owned(),
        })
        .await?;
    Ok(actor.send(GetExtension).await?)
}
