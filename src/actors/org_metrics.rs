//! `metrics:updated`: an org's totals re-published on its dashboards a moment after its calls or
//! extensions change (coalesced: at most once per interval per org).

use crate::db::queries::TotalsFilter;
use crate::db::writes::WriteRequest;
use crate::domain::events::{EventType, NewEvent};
use crate::domain::ids::OrgId;
use crate::engine::totals::totals;
use crate::engine::Engine;
use actix::prelude::*;
use std::collections::HashSet;
use std::sync::Arc;

/// Re-publishes the totals of orgs whose calls or extensions changed, every
/// `SWITCHBOARD_METRICS_INTERVAL_S`.
pub struct MetricsPublisher {
    engine: Arc<Engine>,
    changed: HashSet<OrgId>,
}

impl MetricsPublisher {
    pub fn new(engine: Arc<Engine>) -> Self {
        MetricsPublisher {
            engine,
            changed: HashSet::new(),
        }
    }
}

impl Actor for MetricsPublisher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.engine.settings.metrics_interval, |act, ctx| {
            for org_id in act.changed.drain() {
                let (engine, me) = (act.engine.clone(), ctx.address());
                actix::spawn(async move {
                    let id = org_id.to_string();
                    let published = match engine
                        .read(move |conn| totals(conn, &id, &TotalsFilter::default()))
                        .await
                    {
                        Ok(data) => {
                            let event = NewEvent {
                                event_type: EventType::MetricsUpdated,
                                subject: org_id.to_string(),
                                data,
                            };
                            let request = WriteRequest {
                                org_id: org_id.clone(),
                                ops: Vec::new(),
                                events: vec![event],
                            };
                            engine.writer.commit(request).await.map(|_| ())
                        }
                        Err(error) => Err(error),
                    };
                    // Not published this tick: the org stays due for the next one.
                    if let Err(error) = published {
                        tracing::warn!(%error, "org totals not re-published; retrying next tick");
                        me.do_send(Touched(org_id));
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
