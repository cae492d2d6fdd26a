//! `metrics:updated`: an org's totals re-published on its dashboards a moment after its calls or
//! extensions change (coalesced: at most once per interval per org).

use super::writer::Writer;
use crate::db::writes::WriteRequest;
use crate::db::{self, DbPool};
use crate::domain::events::{EventType, NewEvent};
use crate::domain::ids::OrgId;
use actix::prelude::*;
use std::collections::HashSet;
use std::time::Duration;

/// Re-publishes the totals of orgs whose calls or extensions changed.
pub struct MetricsPublisher {
    pool: DbPool,
    /// How often changed orgs get their totals re-published.
    interval: Duration,
    writer: Option<Writer>,
    changed: HashSet<OrgId>,
}

impl MetricsPublisher {
    pub fn new(pool: DbPool, interval: Duration) -> Self {
        MetricsPublisher {
            pool,
            interval,
            writer: None,
            changed: HashSet::new(),
        }
    }
}

impl Actor for MetricsPublisher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.interval, |act, _| {
            let Some(writer) = act.writer.clone() else {
                return;
            };
            for org_id in act.changed.drain() {
                let (pool, writer) = (act.pool.clone(), writer.clone());
                actix::spawn(async move {
                    let id = org_id.to_string();
                    let totals = db::read(&pool, move |conn| {
                        crate::http::org_metrics::totals(conn, &id)
                    })
                    .await;
                    match totals {
                        Ok(data) => {
                            let event = NewEvent {
                                event_type: EventType::MetricsUpdated,
                                subject: org_id.to_string(),
                                data,
                            };
                            let request = WriteRequest {
                                org_id,
                                ops: Vec::new(),
                                events: vec![event],
                            };
                            let _ = writer.submit(request);
                        }
                        Err(error) => tracing::warn!(%error, "org totals not re-published"),
                    }
                });
            }
        });
    }
}

/// An org's calls or extensions changed (from the writer, after a commit).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Touched(pub OrgId);

impl Handler<Touched> for MetricsPublisher {
    type Result = ();

    fn handle(&mut self, msg: Touched, _: &mut Context<Self>) {
        self.changed.insert(msg.0);
    }
}

/// The writer to publish through (it is built after this actor).
#[derive(Message)]
#[rtype(result = "()")]
pub struct UseWriter(pub Writer);

impl Handler<UseWriter> for MetricsPublisher {
    type Result = ();

    fn handle(&mut self, msg: UseWriter, _: &mut Context<Self>) {
        self.writer = Some(msg.0);
    }
}
