//! The HTTP surface: one handler per operation, shared state, org auth and list paging.

pub mod calls;
pub mod campaigns;
pub mod contacts;
pub mod dnc;
pub mod extensions;
pub mod health;
pub mod org_metrics;
pub mod orgs;
pub mod providers;
pub mod webhooks;
pub mod ws;

use crate::actors::extension::ExtensionRegistry;
use crate::actors::org_hub::HubDirectory;
use crate::actors::registry::CallRegistry;
use crate::actors::writer::Writer;
use crate::config::Settings;
use crate::db::DbPool;
use crate::error::AppError;
use crate::orgs::{Org, OrgDirectory};
use actix::Addr;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// What every handler can reach.
pub struct AppState {
    pub settings: Settings,
    /// The base URL providers call back (and sign): `SWITCHBOARD_PUBLIC_URL` or `http://<bound address>`.
    pub public_url: String,
    pub pool: DbPool,
    pub writer: Writer,
    pub registry: Addr<CallRegistry>,
    pub extensions: Addr<ExtensionRegistry>,
    pub hubs: Addr<HubDirectory>,
    /// Outbound HTTP to providers' APIs.
    pub http: reqwest::Client,
    pub campaigns: Addr<crate::actors::campaign::CampaignRegistry>,
    /// Dial pacing per provider account, shared by every campaign.
    pub pacer: crate::actors::campaign::Pacer,
    /// Each org's PBX API tokens.
    pub pbx_sessions: crate::providers::yeastar::PbxSessions,
    pub orgs: OrgDirectory,
    /// Migrations ran and live state was recovered.
    pub ready: AtomicBool,
}

/// Runs a blocking read on the read pool.
pub async fn read<T, F>(state: &AppState, query: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConnection) -> Result<T, AppError> + Send + 'static,
{
    crate::db::read(&state.pool, query).await
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(1 << 20)
            .error_handler(|err, _| AppError::bad_request("invalid_json", err.to_string()).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|err, _| AppError::bad_request("invalid_query", err.to_string()).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _| AppError::bad_request("invalid_path", err.to_string()).into()),
    )
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/metrics", web::get().to(health::metrics))
    .service(
        web::scope("/api/v1")
            .route("/orgs", web::post().to(orgs::create_org))
            .route("/providers", web::get().to(providers::list_providers))
            .route(
                "/providers/{provider}",
                web::put().to(providers::put_provider),
            )
            .route("/calls", web::get().to(calls::list_calls))
            .route("/calls", web::post().to(calls::create_call))
            .route("/calls/{id}", web::get().to(calls::get_call))
            .route("/calls/{id}/events", web::get().to(calls::call_timeline))
            .route("/campaigns", web::post().to(campaigns::create_campaign))
            .route("/campaigns", web::get().to(campaigns::list_campaigns))
            .route("/campaigns/{id}", web::get().to(campaigns::get_campaign))
            .route(
                "/campaigns/{id}/contacts",
                web::post().to(campaigns::post_contacts),
            )
            .route(
                "/campaigns/{id}/contacts",
                web::get().to(campaigns::campaign_contacts),
            )
            .route(
                "/campaigns/{id}/progress",
                web::get().to(campaigns::progress),
            )
            .route("/campaigns/{id}/{action}", web::post().to(campaigns::steer))
            .route("/contacts", web::post().to(contacts::create_contact))
            .route("/contacts", web::get().to(contacts::list_contacts))
            .route(
                "/contacts/by-phone/{phone}",
                web::get().to(contacts::contact_by_phone),
            )
            .route("/contacts/{id}", web::get().to(contacts::get_contact))
            .route("/contacts/{id}", web::patch().to(contacts::patch_contact))
            .route("/extensions", web::get().to(extensions::list_extensions))
            .route(
                "/extensions/{number}",
                web::put().to(extensions::put_extension),
            )
            .route(
                "/extensions/{number}/dial",
                web::post().to(extensions::dial),
            )
            .route(
                "/extensions/{number}/reset",
                web::post().to(extensions::reset),
            )
            .route("/dnc", web::post().to(dnc::add))
            .route("/dnc", web::get().to(dnc::list))
            .route("/dnc/{phone}", web::delete().to(dnc::remove))
            .route("/metrics", web::get().to(org_metrics::org_metrics))
            .route("/webhooks", web::get().to(webhooks::list_inbox))
            .route("/ws", web::get().to(ws::connect)),
    )
    .service(
        web::scope("/webhooks")
            .route(
                "/twilio/{org}/status",
                web::route().to(webhooks::twilio_status),
            )
            .route(
                "/twilio/{org}/voice",
                web::route().to(webhooks::twilio_voice),
            )
            .route("/plivo/{org}/ring", web::route().to(webhooks::plivo_ring))
            .route(
                "/plivo/{org}/hangup",
                web::route().to(webhooks::plivo_hangup),
            )
            .route(
                "/plivo/{org}/answer",
                web::route().to(webhooks::plivo_answer),
            )
            .route(
                "/exotel/{org}/status",
                web::post().to(webhooks::exotel_status),
            )
            .route("/bolna/{org}", web::post().to(webhooks::bolna_execution))
            .route("/analytics/{org}", web::post().to(webhooks::analytics))
            .route("/yeastar/{org}", web::post().to(webhooks::yeastar)),
    )
    .default_service(web::to(not_found));
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("endpoint"))
}

/// The org whose api token the request carries (`Authorization: Bearer …`, or `?token=` where a
/// browser cannot set headers: the WebSocket).
pub struct ApiOrg(pub Arc<Org>);

/// The bearer token of a request, or its `token` query parameter.
pub fn request_token(req: &HttpRequest) -> Option<String> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    header.or_else(|| {
        form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    })
}

impl FromRequest for ApiOrg {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = request_token(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let (Some(token), Some(state)) = (token, state) else {
                return Err(AppError::Unauthorized);
            };
            if token.is_empty() {
                return Err(AppError::Unauthorized);
            }
            match state.orgs.by_api_token(&token).await? {
                Some(org) => Ok(ApiOrg(org)),
                None => Err(AppError::Unauthorized),
            }
        })
    }
}

/// `limit` and `cursor` of every list endpoint. `limit` is read as text: query structs flatten
/// this one, and serde's flatten cannot read numbers from a query string.
#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

impl PageQuery {
    /// 50 by default; above 1,000 clamped to 1,000 (CONTRACT.md); below 1 refused.
    pub fn limit(&self) -> Result<i64, AppError> {
        let Some(text) = &self.limit else {
            return Ok(50);
        };
        match text.trim().parse::<i64>() {
            Ok(n) if n >= 1 => Ok(n.min(1000)),
            _ => Err(AppError::bad_request(
                "invalid_query",
                "limit must be a whole number of at least 1",
            )),
        }
    }
}

/// One page of an org's list: `fetch(conn, org id, cursor, limit + 1)` reads the rows after the
/// cursor; `cursor_of` names the last row shown, `render` writes each.
pub async fn list_page<T, F>(
    state: &AppState,
    org: &Org,
    query: PageQuery,
    fetch: F,
    cursor_of: impl Fn(&T) -> String,
    render: impl Fn(&T) -> serde_json::Value,
) -> Result<HttpResponse, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConnection, &str, Option<&str>, i64) -> diesel::QueryResult<Vec<T>>
        + Send
        + 'static,
{
    let limit = query.limit()?;
    let (org_id, cursor) = (org.id.to_string(), query.cursor);
    let rows = read(state, move |conn| {
        Ok(fetch(conn, &org_id, cursor.as_deref(), limit + 1)?)
    })
    .await?;
    Ok(page(rows, limit, cursor_of, render))
}

/// A list page: `{"items": [...], "next_cursor": …}` from rows fetched with one extra row.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> String,
    render: impl Fn(&T) -> serde_json::Value,
) -> HttpResponse {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(&cursor_of)
    } else {
        None
    };
    let items: Vec<serde_json::Value> = rows.iter().map(render).collect();
    HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_cursor": next_cursor }))
}
