//! `GET /api/v1/ws`: dashboard sessions. actix-web-actors is confined to this module, so a later
//! move to actix-ws is one module's work.

pub mod protocol;
pub mod session;

use super::{ApiOrg, AppState};
use crate::error::{AppError, Code};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    since: Option<i64>,
}

/// Upgrades to a WebSocket session of the token's org; a bad token is refused with 401 before any
/// upgrade.
#[utoipa::path(get, path = "/api/v1/ws", tag = "websocket", params(("token" = Option<String>, Query, description = "the api token (browsers cannot set headers)"), ("since" = Option<i64>, Query, description = "replay every event after this seq")), responses((status = 101, description = "A WebSocket of the org's committed events")))]
pub async fn connect(
    ApiOrg(org): ApiOrg,
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
    query: web::Query<WsQuery>,
) -> Result<HttpResponse, AppError> {
    if query.since.is_some_and(|s| s < 0) {
        return Err(AppError::new(Code::InvalidQuery, "since must be 0 or more"));
    }
    let session = session::WsSession::new(
        org.id.clone(),
        query.since,
        state.engine.clone(),
        state.actors.hubs.clone(),
    );
    actix_web_actors::ws::start(session, &req, stream)
        .map_err(|e| AppError::new(Code::NotAWebsocket, e.to_string()))
}
