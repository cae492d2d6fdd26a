//! `GET /api/v1/ws`: dashboard sessions. actix-web-actors is confined to this module, so a later
//! move to actix-ws is one module's work.

pub mod protocol;
pub mod session;

use super::{ApiCaller, AppState};
use crate::actors::org_hub::SessionSocket;
use crate::error::{AppError, Code};
use actix_web::dev::Extensions;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::any::Any;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

/// The descriptor of a connection's socket, recorded when the connection is accepted.
#[derive(Clone, Copy)]
struct ConnectionFd(RawFd);

/// `HttpServer::on_connect`: remembers each TCP connection's descriptor, so a WebSocket session
/// can be cut off at the socket (see [`SessionSocket`]).
pub fn remember_socket(connection: &dyn Any, data: &mut Extensions) {
    if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        data.insert(ConnectionFd(tcp.as_raw_fd()));
    }
}

/// A duplicate of the descriptor of the connection `req` came on.
fn session_socket(req: &HttpRequest) -> Option<SessionSocket> {
    let fd = req.conn_data::<ConnectionFd>()?.0;
    // SAFETY: `req` is being served on that connection, and the server keeps its socket open
    // for as long as one of its requests is handled; the duplicate owns a descriptor of its own.
    let socket = unsafe { BorrowedFd::borrow_raw(fd) }
        .try_clone_to_owned()
        .ok()?;
    Some(SessionSocket::new(std::net::TcpStream::from(socket)))
}

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    since: Option<i64>,
    /// The agent this session is the desk of (an agent token's own when absent).
    agent: Option<String>,
}

/// Upgrades to a WebSocket session of the token's org; a bad token is refused with 401 before any
/// upgrade.
#[utoipa::path(get, path = "/api/v1/ws", tag = "websocket", params(("token" = Option<String>, Query, description = "the api token (browsers cannot set headers)"), ("since" = Option<i64>, Query, description = "replay every event after this seq"), ("agent" = Option<String>, Query, description = "the agent this session is the desk of: it is reachable for offers while the session is open")), responses((status = 101, description = "A WebSocket of the org's committed events")))]
pub async fn connect(
    ApiCaller(caller): ApiCaller,
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
    query: web::Query<WsQuery>,
) -> Result<HttpResponse, AppError> {
    if query.since.is_some_and(|s| s < 0) {
        return Err(AppError::new(Code::InvalidQuery, "since must be 0 or more"));
    }
    let org = caller.org.clone();
    let agent = query.agent.clone().or_else(|| caller.agent_id.clone());
    if let Some(agent_id) = &agent {
        super::agents::act_as(&caller, agent_id)?;
        super::agents::known_agent(&state, &org, agent_id).await?;
    }
    let mut session = session::WsSession::new(
        org.id.clone(),
        query.since,
        state.engine.clone(),
        state.actors.hubs.clone(),
        session_socket(&req),
    );
    if let Some(agent_id) = agent {
        session = session.for_agent(agent_id, state.actors.desks.clone());
    }
    actix_web_actors::ws::start(session, &req, stream)
        .map_err(|e| AppError::new(Code::NotAWebsocket, e.to_string()))
}
