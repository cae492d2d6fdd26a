//! One dashboard WebSocket session.

use super::protocol::opening;
use crate::actors::desk::{AgentSession, DeskRegistry, ForOrg};
use crate::actors::org_hub::{HubRegistry, SessionFeed, SessionSocket, Subscribe, Unsubscribe};
use crate::domain::ids::OrgId;
use crate::engine::Engine;
use crate::error::AppError;
use crate::metrics;
use actix::prelude::*;
use actix_web_actors::ws;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

static NEXT_SESSION_ID: AtomicU64 = AtomicU64::new(1);

/// A dashboard session of one org: joins the org's hub, sends the opening (snapshot or replay),
/// then every committed event in seq order. Pings the client; a client silent for three heartbeats,
/// or too slow to keep its mailbox from filling, is disconnected.
pub struct WsSession {
    id: u64,
    org_id: OrgId,
    since: Option<i64>,
    engine: Arc<Engine>,
    hubs: Addr<HubRegistry>,
    /// Handed to the hub when the session joins.
    socket: Option<SessionSocket>,
    /// The last seq sent: anything at or below it is not sent again.
    last_seq: i64,
    heard_at: Instant,
    /// The agent this session is the desk of (`&agent=`, or an agent token's): the agent is
    /// reachable while the session is open.
    agent: Option<(String, Addr<DeskRegistry>)>,
    /// The desk was told this session is open (and must be told when it closes).
    desk_told: bool,
}

impl WsSession {
    /// Makes this session the desk of `agent_id`.
    pub fn for_agent(mut self, agent_id: String, desks: Addr<DeskRegistry>) -> Self {
        self.agent = Some((agent_id, desks));
        self
    }

    fn agent_session(&mut self, opened: bool) {
        if self.desk_told == opened {
            return;
        }
        self.desk_told = opened;
        if let Some((agent_id, desks)) = &self.agent {
            let session = AgentSession {
                agent_id: agent_id.clone(),
                opened,
            };
            desks.do_send(ForOrg(self.org_id.clone(), session));
        }
    }

    /// A session of `org_id` over `socket` that will join its hub through `hubs`.
    pub fn new(
        org_id: OrgId,
        since: Option<i64>,
        engine: Arc<Engine>,
        hubs: Addr<HubRegistry>,
        socket: Option<SessionSocket>,
    ) -> Self {
        WsSession {
            id: NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed),
            org_id,
            since,
            engine,
            hubs,
            socket,
            last_seq: i64::MAX,
            heard_at: Instant::now(),
            agent: None,
            desk_told: false,
        }
    }

    fn heartbeat(&self, ctx: &mut ws::WebsocketContext<Self>) {
        let every = self.engine.settings.ws_heartbeat;
        ctx.run_interval(every, move |act, ctx| {
            if act.heard_at.elapsed() > every * 3 {
                tracing::info!(session = act.id, "dashboard session timed out");
                ctx.stop();
                return;
            }
            ctx.ping(b"");
        });
    }
}

impl Actor for WsSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        metrics::METRICS.ws_sessions.inc();
        ctx.set_mailbox_capacity(self.engine.settings.ws_mailbox);
        self.heartbeat(ctx);
        // A stopping engine closes its sessions (1012 "service restart"): the board reconnects,
        // with `since`, to whichever engine answers next. (Those that cannot close in time are
        // aborted by their hub: `AbortAll`.)
        ctx.spawn(self.engine.stopped().into_actor(self).map(|(), _, ctx| {
            ctx.close(Some(ws::CloseReason {
                code: ws::CloseCode::Restart,
                description: Some("the engine is restarting".into()),
            }));
            ctx.stop();
        }));
        // Join the hub first, then read: whatever commits after the read reaches us live, and the
        // seq filter drops what the opening already covered.
        let subscribe = self.hubs.send(Subscribe {
            org_id: self.org_id.clone(),
            session_id: self.id,
            feed: ctx.address().recipient(),
            socket: self.socket.take(),
        });
        let (engine, org_id, since) = (self.engine.clone(), self.org_id.clone(), self.since);
        let first = async move {
            subscribe.await?;
            let limit = engine.settings.replay_limit;
            let stale_after_s = engine.settings.stale_after().as_secs();
            engine
                .read(move |conn| opening(conn, &org_id, since, limit, stale_after_s))
                .await
        };
        ctx.wait(first.into_actor(self).map(
            |result: Result<_, AppError>, act, ctx| match result {
                Ok(opening) => {
                    for frame in opening.frames {
                        ctx.text(frame);
                    }
                    act.last_seq = opening.last_seq;
                    // Reachable only now: an offer its opening triggers comes after the opening.
                    act.agent_session(true);
                }
                Err(error) => {
                    tracing::error!(%error, "dashboard session could not open");
                    ctx.close(Some(ws::CloseReason {
                        code: ws::CloseCode::Error,
                        description: Some("cannot read the live state".into()),
                    }));
                    ctx.stop();
                }
            },
        ));
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.hubs.do_send(Unsubscribe {
            org_id: self.org_id.clone(),
            session_id: self.id,
        });
        Running::Stop
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        metrics::METRICS.ws_sessions.dec();
        self.agent_session(false);
    }
}

impl Handler<SessionFeed> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: SessionFeed, ctx: &mut Self::Context) {
        match msg {
            SessionFeed::Event(frame) => {
                if frame.seq > self.last_seq {
                    ctx.text(frame.text.clone());
                    self.last_seq = frame.seq;
                }
            }
            SessionFeed::SlowConsumer => {
                tracing::warn!(
                    session = self.id,
                    "dashboard session too slow; disconnecting"
                );
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Again,
                    description: Some("slow consumer: reconnect with since".into()),
                }));
                ctx.stop();
            }
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.heard_at = Instant::now();
        match msg {
            Ok(ws::Message::Ping(payload)) => ctx.pong(&payload),
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Ok(_) => {}
            Err(_) => ctx.stop(),
        }
    }
}
