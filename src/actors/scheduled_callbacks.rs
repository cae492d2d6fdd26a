//! Scheduled callbacks (a `CALLBACK` disposition): one actor holds every pending callback,
//! soonest first, and wakes when the next is due. A callback of a running campaign's contact is
//! handed to the campaign, which dials it first among its contacts, in one of its own slots
//! (under its mode, window and daily cap); any other is dialed here through the one dial path
//! (with the campaign and contact of the call it came from, so the campaign's progress counts
//! it). Each is stored before it is scheduled and marked `dialed` (with the call) or `failed`
//! (with why) once tried: a restart reads the pending ones back, and none is dialed twice.

use super::campaign::{CallbackDue, CampaignRegistry, RouteCampaign};
use super::dial_path::{Dial, Dialer, Via};
use crate::db::desk::{self as rows, CallbackRow};
use crate::db::writes::{DeskOp, WriteOp, WriteRequest};
use crate::domain::ids::OrgId;
use crate::domain::time::{from_text, to_text};
use crate::engine::Engine;
use crate::error::{AppError, Code};
use crate::providers::Provider;
use actix::prelude::*;
use chrono::Utc;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The pending callbacks, by due time.
pub struct CallbackScheduler {
    engine: Arc<Engine>,
    dialer: Dialer,
    campaigns: Addr<CampaignRegistry>,
    pending: BTreeMap<(String, String), CallbackRow>,
    timer: Option<SpawnHandle>,
}

impl CallbackScheduler {
    pub fn new(engine: Arc<Engine>, dialer: Dialer, campaigns: Addr<CampaignRegistry>) -> Self {
        CallbackScheduler {
            engine,
            dialer,
            campaigns,
            pending: BTreeMap::new(),
            timer: None,
        }
    }

    fn add(&mut self, row: CallbackRow) {
        self.pending
            .insert((row.due_at.clone(), row.id.clone()), row);
    }

    fn arm(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.timer.take() {
            ctx.cancel_future(handle);
        }
        let Some(((due, _), _)) = self.pending.first_key_value() else {
            return;
        };
        let at = from_text(due).unwrap_or_else(Utc::now);
        let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        self.timer = Some(ctx.run_later(wait, |act, ctx| {
            act.timer = None;
            act.dial_due(ctx);
        }));
    }

    /// Dials every callback that is due.
    fn dial_due(&mut self, ctx: &mut Context<Self>) {
        let now = to_text(Utc::now());
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let row = entry.remove();
            let (engine, dialer) = (self.engine.clone(), self.dialer.clone());
            let (campaigns, me) = (self.campaigns.clone(), ctx.address());
            actix::spawn(async move {
                if through_campaign(&campaigns, &row).await {
                    return;
                }
                let outcome = match dial(&engine, &dialer, &row).await {
                    // The customer is still on a call with the center (the agent who took the
                    // callback request, say): not now, a minute later.
                    Err(busy) if busy.code == Code::NumberInCall => {
                        let later = Utc::now() + chrono::Duration::seconds(60);
                        me.do_send(Schedule(CallbackRow {
                            due_at: to_text(later),
                            ..row
                        }));
                        return;
                    }
                    outcome => outcome,
                };
                let outcome = outcome.map_err(|error| {
                    tracing::warn!(%error, callback = %row.id, "callback not dialed");
                    error.to_string()
                });
                if let Err(error) = store(&engine, row.tried(outcome)).await {
                    tracing::error!(%error, "callback outcome not stored");
                }
            });
        }
        self.arm(ctx);
    }
}

/// Hands a due callback to its campaign, which takes it while it runs (and then stores how its
/// dial went); false when the campaign does not run, or has no such contact.
async fn through_campaign(campaigns: &Addr<CampaignRegistry>, row: &CallbackRow) -> bool {
    let (Some(campaign_id), Some(_)) = (row.campaign_id.clone(), &row.contact_id) else {
        return false;
    };
    let org_id = OrgId::from_stored(row.org_id.clone());
    match campaigns
        .send(RouteCampaign {
            org_id,
            campaign_id,
        })
        .await
    {
        Ok(Ok(Some(campaign))) => campaign
            .send(CallbackDue(row.clone()))
            .await
            .unwrap_or(false),
        _ => false,
    }
}

/// Places the callback's call: through the provider of the call it came from, or, for a PBX
/// call, from the first extension that took part.
async fn dial(engine: &Engine, dialer: &Dialer, row: &CallbackRow) -> Result<String, AppError> {
    let org = engine
        .orgs
        .by_id(&row.org_id)
        .await?
        .ok_or(AppError::not_found("org"))?;
    let via = match Provider::parse(&row.provider) {
        Some(Provider::Yeastar) => Via::Extension(row.from_number.clone().unwrap_or_default()),
        Some(provider) => Via::Provider(provider),
        None => return Err(AppError::not_found("provider")),
    };
    let from = match &via {
        Via::Provider(_) => row.from_number.clone(),
        Via::Extension(_) => None,
    };
    let dialed = dialer
        .place(
            &org,
            Dial {
                via,
                to: row.phone.clone(),
                from,
                campaign_id: row.campaign_id.clone(),
                contact_id: row.contact_id.clone(),
                record: org.record,
                amd: false,
                for_agent: false,
                not_while_in_call: true,
            },
        )
        .await?;
    match dialed.refused {
        Some(refusal) => Err(AppError::new(
            crate::error::Code::ProviderError,
            refusal.to_string(),
        )),
        None => Ok(dialed.call.id.to_string()),
    }
}

/// Stores a callback as it stands.
pub async fn store(engine: &Engine, row: CallbackRow) -> Result<(), AppError> {
    engine
        .writer
        .commit(WriteRequest {
            org_id: OrgId::from_stored(row.org_id.clone()),
            ops: vec![WriteOp::Desk(DeskOp::PutCallback(row))],
            events: Vec::new(),
        })
        .await
        .map(|_| ())
}

impl Actor for CallbackScheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let read = self.engine.read(|conn| Ok(rows::pending_callbacks(conn)?));
        ctx.wait(read.into_actor(self).map(|rows, act, ctx| {
            match rows {
                Ok(rows) => rows.into_iter().for_each(|row| act.add(row)),
                Err(error) => tracing::error!(%error, "cannot read the pending callbacks"),
            }
            act.arm(ctx);
        }));
    }
}

/// A callback to dial when due (already stored as `pending`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Schedule(pub CallbackRow);

impl Handler<Schedule> for CallbackScheduler {
    type Result = ();

    fn handle(&mut self, msg: Schedule, ctx: &mut Context<Self>) {
        self.add(msg.0);
        self.arm(ctx);
    }
}
