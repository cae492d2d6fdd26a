//! Fan-out of committed events to dashboard sessions, one hub per org (invariant 2 and 6).

use crate::domain::events::OrgEvent;
use crate::domain::ids::OrgId;
use crate::metrics;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// One committed event, serialized once for every session that receives it.
#[derive(Debug)]
pub struct Frame {
    pub seq: i64,
    pub text: String,
}

impl Frame {
    pub fn new(event: &OrgEvent) -> Self {
        Frame {
            seq: event.seq,
            text: serde_json::to_string(event).unwrap_or_default(),
        }
    }
}

/// What a hub tells a session.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub enum SessionFeed {
    /// A committed event of the session's org.
    Event(Arc<Frame>),
    /// The session fell behind: its mailbox was full. It is dropped and should close.
    SlowConsumer,
}

/// Hands an org's committed events, in commit order, to its hub.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish {
    pub org_id: OrgId,
    pub events: Vec<OrgEvent>,
}

/// The TCP connection under a dashboard session (a duplicate of its descriptor), so that a hub
/// can cut off a client that stopped reading. Closing a session with a frame does not reach such
/// a client: the frame waits behind everything the socket has not sent, and the server stops
/// running the session while its send buffer is full. Aborting the socket does.
pub struct SessionSocket(std::net::TcpStream);

impl SessionSocket {
    pub fn new(stream: std::net::TcpStream) -> Self {
        SessionSocket(stream)
    }

    /// Resets the connection: unsent data is discarded (linger 0) and both directions are shut,
    /// which wakes the server's connection task with an error so it drops the session at once.
    pub fn abort(&self) {
        let socket = socket2::SockRef::from(&self.0);
        let _ = socket.set_linger(Some(std::time::Duration::ZERO));
        let _ = socket.shutdown(std::net::Shutdown::Both);
    }
}

/// Adds a session to its org's hub. Answered once the hub has it: every event published after the
/// answer reaches the session.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    pub org_id: OrgId,
    pub session_id: u64,
    pub feed: Recipient<SessionFeed>,
    /// The session's connection, when it has one to abort (sessions in unit tests have none).
    pub socket: Option<SessionSocket>,
}

/// Removes a session from its org's hub.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub org_id: OrgId,
    pub session_id: u64,
}

/// Finds (or starts) each org's hub and routes publications and subscriptions to it.
#[derive(Default)]
pub struct HubRegistry {
    hubs: HashMap<OrgId, Addr<OrgHub>>,
}

impl Actor for HubRegistry {
    type Context = Context<Self>;
}

impl HubRegistry {
    fn hub(&mut self, org_id: &OrgId) -> Addr<OrgHub> {
        self.hubs
            .entry(org_id.clone())
            .or_insert_with(|| OrgHub::default().start())
            .clone()
    }
}

impl Handler<Publish> for HubRegistry {
    type Result = ();

    fn handle(&mut self, msg: Publish, _: &mut Context<Self>) {
        let frames = msg.events.iter().map(|e| Arc::new(Frame::new(e))).collect();
        self.hub(&msg.org_id).do_send(Broadcast(frames));
    }
}

impl Handler<Subscribe> for HubRegistry {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) -> Self::Result {
        let hub = self.hub(&msg.org_id);
        Box::pin(async move {
            let _ = hub
                .send(Join {
                    session_id: msg.session_id,
                    member: Member {
                        feed: msg.feed,
                        socket: msg.socket,
                    },
                })
                .await;
        })
    }
}

impl Handler<Unsubscribe> for HubRegistry {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, _: &mut Context<Self>) {
        if let Some(hub) = self.hubs.get(&msg.org_id) {
            hub.do_send(Leave(msg.session_id));
        }
    }
}

/// One org's dashboard sessions; forwards every event to each with `try_send`, never waiting: a
/// session whose mailbox is full is dropped, told so, and its connection aborted.
#[derive(Default)]
pub struct OrgHub {
    sessions: HashMap<u64, Member>,
}

/// A session as its hub holds it.
struct Member {
    feed: Recipient<SessionFeed>,
    socket: Option<SessionSocket>,
}

impl Actor for OrgHub {
    type Context = Context<Self>;
}

/// Frames to forward to every session of the hub's org.
#[derive(Message)]
#[rtype(result = "()")]
struct Broadcast(Vec<Arc<Frame>>);

#[derive(Message)]
#[rtype(result = "()")]
struct Join {
    session_id: u64,
    member: Member,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Leave(u64);

impl Handler<Broadcast> for OrgHub {
    type Result = ();

    fn handle(&mut self, msg: Broadcast, _: &mut Context<Self>) {
        self.sessions.retain(|_, member| {
            for frame in &msg.0 {
                match member.feed.try_send(SessionFeed::Event(frame.clone())) {
                    Ok(()) => {}
                    Err(SendError::Full(_)) => {
                        metrics::METRICS.ws_slow_consumers.inc();
                        member.feed.do_send(SessionFeed::SlowConsumer);
                        if let Some(socket) = &member.socket {
                            socket.abort();
                        }
                        return false;
                    }
                    Err(SendError::Closed(_)) => return false,
                }
            }
            true
        });
    }
}

impl Handler<Join> for OrgHub {
    type Result = ();

    fn handle(&mut self, msg: Join, _: &mut Context<Self>) {
        self.sessions.insert(msg.session_id, msg.member);
    }
}

impl Handler<Leave> for OrgHub {
    type Result = ();

    fn handle(&mut self, msg: Leave, _: &mut Context<Self>) {
        self.sessions.remove(&msg.0);
    }
}

/// The engine is stopping and its sessions were told to close: the connections of those still
/// here (clients that did not close, or a session stuck behind a full send buffer, which cannot
/// even send its close frame) are aborted, so that a graceful stop waits for nobody.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AbortAll;

impl Handler<AbortAll> for HubRegistry {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: AbortAll, _: &mut Context<Self>) -> Self::Result {
        let hubs: Vec<Addr<OrgHub>> = self.hubs.values().cloned().collect();
        Box::pin(async move {
            for hub in hubs {
                let _ = hub.send(AbortAll).await;
            }
        })
    }
}

impl Handler<AbortAll> for OrgHub {
    type Result = ();

    fn handle(&mut self, _: AbortAll, _: &mut Context<Self>) {
        for (_, member) in self.sessions.drain() {
            if let Some(socket) = &member.socket {
                socket.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A session that never gets to its mailbox (as when its socket does not drain).
    struct Stuck;

    impl Actor for Stuck {
        type Context = Context<Self>;

        fn started(&mut self, ctx: &mut Context<Self>) {
            ctx.set_mailbox_capacity(4);
            ctx.wait(actix::fut::wrap_future(std::future::pending::<()>()));
        }
    }

    impl Handler<SessionFeed> for Stuck {
        type Result = ();
        fn handle(&mut self, _: SessionFeed, _: &mut Context<Self>) {}
    }

    /// A session that keeps up, counting what it gets (its mailbox raised as WsSession's is).
    struct Fast(Arc<AtomicUsize>);

    impl Actor for Fast {
        type Context = Context<Self>;

        fn started(&mut self, ctx: &mut Context<Self>) {
            ctx.set_mailbox_capacity(4096);
        }
    }

    impl Handler<SessionFeed> for Fast {
        type Result = ();
        fn handle(&mut self, msg: SessionFeed, _: &mut Context<Self>) {
            if let SessionFeed::Event(_) = msg {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    fn event(seq: i64) -> OrgEvent {
        OrgEvent {
            seq,
            event_type: crate::domain::events::EventType::CallUpdated,
            at: chrono::Utc::now(),
            subject: "c".into(),
            data: serde_json::json!({}),
        }
    }

    #[actix_web::test]
    async fn a_slow_session_is_dropped_and_never_holds_up_the_others() {
        let hubs = HubRegistry::default().start();
        let org = OrgId::generate();
        let received = Arc::new(AtomicUsize::new(0));
        let fast = Fast(received.clone()).start();
        let stuck = Stuck.start();
        let before = metrics::METRICS.ws_slow_consumers.get();
        for (id, feed) in [(1, fast.recipient()), (2, stuck.recipient())] {
            hubs.send(Subscribe {
                org_id: org.clone(),
                session_id: id,
                feed,
                socket: None,
            })
            .await
            .unwrap();
        }
        for seq in 1..=50 {
            hubs.do_send(Publish {
                org_id: org.clone(),
                events: vec![event(seq)],
            });
        }
        for _ in 0..100 {
            if received.load(Ordering::SeqCst) == 50 {
                break;
            }
            actix::clock::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            received.load(Ordering::SeqCst),
            50,
            "the fast session got every event"
        );
        assert!(
            metrics::METRICS.ws_slow_consumers.get() > before,
            "the stuck one was dropped"
        );
    }
}
