//! The HTTP surface: one handler per operation, shared state, org auth and list paging.

pub mod agents;
pub mod billing;
pub mod calls;
pub mod campaigns;
pub mod contacts;
pub mod dashboard;
pub mod dispositions;
pub mod dnc;
pub mod export;
pub mod extensions;
pub mod health;
pub mod openapi;
pub mod org_metrics;
pub mod orgs;
pub mod providers;
pub mod queues;
pub mod tokens;
pub mod webhooks;
pub mod ws;

use crate::actors::Actors;
use crate::engine::orgs::{Caller, Org, Role};
use crate::engine::Engine;
use crate::error::{AppError, Code};
use crate::providers::bolna::BolnaExecutionWebhook;
use crate::providers::exotel::ExotelStatusCallback;
use crate::providers::plivo::{Callback, PlivoRecording};
use crate::providers::twilio::{TwilioRecording, TwilioStatus, TwilioVoice};
use crate::providers::webhook::Webhook;
use crate::providers::yeastar::PbxWebhook;
use crate::providers::Provider;
use actix_web::dev::Payload;
use actix_web::HttpMessage;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::sync::Arc;

/// What every handler can reach: the engine core and the actors' addresses.
pub struct AppState {
    pub engine: Arc<Engine>,
    pub actors: Actors,
}

/// Body limits (CONTRACT.md): webhooks 512 KiB, JSON API 1 MiB, CSV uploads 32 MiB.
pub const WEBHOOK_LIMIT: usize = 512 << 10;
pub const JSON_LIMIT: usize = 1 << 20;
pub const CSV_LIMIT: usize = 32 << 20;

/// 413 `payload_too_large`.
fn too_large(limit: usize) -> AppError {
    AppError::new(
        Code::PayloadTooLarge,
        format!(
            "the body is larger than this endpoint takes ({} KiB)",
            limit >> 10
        ),
    )
}

/// Every error answer that is not already the JSON error, as the JSON error: actix's body readers
/// answer in plain text (a 413 over a body limit, a 400 for broken chunking or a body that ends
/// early).
pub fn json_errors<B>(
    response: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::middleware::ErrorHandlerResponse;
    use actix_web::ResponseError;
    let is_json = response
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let reason = response.response().error().map(|e| e.to_string());
    let (request, _) = response.into_parts();
    let error = match status.as_u16() {
        413 if request.path().starts_with("/webhooks/") => too_large(WEBHOOK_LIMIT),
        413 => too_large(CSV_LIMIT),
        400..=499 => AppError::new(
            Code::InvalidRequest,
            reason.unwrap_or_else(|| status.to_string()),
        ),
        _ => AppError::internal(reason.unwrap_or_else(|| status.to_string())),
    };
    let answer = error.error_response().map_into_right_body();
    Ok(ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(request, answer),
    ))
}

/// The access log, by path only (query strings can carry tokens): every request at DEBUG; at INFO
/// the ones a person looks for — refused (4xx) or slow (1 s or more) — and at WARN the failed
/// (5xx), so a floor sending thousands of webhooks a second does not write a line for each (the
/// counts are in `/metrics`).
pub async fn access_log(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let (method, path) = (request.method().clone(), request.path().to_owned());
    let started = std::time::Instant::now();
    let answered = next.call(request).await;
    let status = match &answered {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(provider) = webhook_provider(&path) {
        let m = &*crate::metrics::METRICS;
        m.webhook_seconds
            .get_or_create(&crate::metrics::ProviderLabel { provider })
            .observe(elapsed);
        // Accepted and duplicate webhooks are counted where they are stored; refusals here.
        let overloaded = answered
            .as_ref()
            .ok()
            .and_then(|r| r.response().error())
            .and_then(|e| e.as_error::<AppError>())
            .is_some_and(|e| e.code == Code::Overloaded);
        let refusal = match status {
            _ if overloaded => Some("shed"),
            s if s.is_client_error() => Some("rejected"),
            s if s.is_server_error() => Some("failed"),
            _ => None,
        };
        if let Some(result) = refusal {
            m.webhook(provider, result);
        }
    }
    let ms = elapsed * 1000.0;
    if status.is_server_error() {
        tracing::warn!("{method} {path} {} {ms:.1}ms", status.as_u16());
    } else if status.is_client_error() || ms >= 1000.0 {
        tracing::info!("{method} {path} {} {ms:.1}ms", status.as_u16());
    } else {
        tracing::debug!("{method} {path} {} {ms:.1}ms", status.as_u16());
    }
    answered
}

/// The provider a webhook path names, as a metric label (`/webhooks/twilio/…` → `twilio`).
fn webhook_provider(path: &str) -> Option<&'static str> {
    let name = path.strip_prefix("/webhooks/")?.split('/').next()?;
    Some(match Provider::parse(name) {
        Some(provider) => provider.as_str(),
        None if name == "analytics" => "analytics",
        None => "other",
    })
}

/// The operations of the admin (`SWITCHBOARD_ADMIN_TOKEN`), which check that token themselves.
const ADMIN_ROUTES: &[&str] = &["/api/v1/orgs", "/api/v1/orgs/{org_id}/credits"];

/// Refuses a `/api/v1` request whose token is missing or unknown before its body is read (the
/// admin's operations check their own token).
async fn token_first(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    // An unknown endpoint stays a 404, whoever asks.
    let pattern = request.match_pattern();
    let admin = pattern
        .as_deref()
        .is_some_and(|p| ADMIN_ROUTES.contains(&p));
    if pattern.is_some() && !admin {
        let token = request_token(request.request()).filter(|t| !t.is_empty());
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let known = match (token, state) {
            (Some(token), Some(state)) => state.engine.orgs.by_api_token(&token).await,
            _ => Ok(None),
        };
        match known {
            // The handler's extractor ([`ApiCaller`]) takes it from here.
            Ok(Some(caller)) => {
                request.extensions_mut().insert(caller);
            }
            // Answered here rather than returned as an error, so the access log shows it too.
            Ok(None) => {
                let refused = request.error_response(AppError::unauthorized());
                return Ok(refused.map_into_right_body());
            }
            Err(error) => return Ok(request.error_response(error).map_into_right_body()),
        }
    }
    Ok(next.call(request).await?.map_into_left_body())
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(JSON_LIMIT)
            .error_handler(|err, _| match err {
                actix_web::error::JsonPayloadError::Overflow { .. }
                | actix_web::error::JsonPayloadError::OverflowKnownLength { .. } => {
                    too_large(JSON_LIMIT).into()
                }
                other => AppError::new(Code::InvalidJson, other.to_string()).into(),
            }),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|err, _| AppError::new(Code::InvalidQuery, err.to_string()).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _| AppError::new(Code::InvalidPath, err.to_string()).into()),
    )
    .route("/", web::get().to(dashboard::index))
    .route("/assets/app.js", web::get().to(dashboard::script))
    .route("/assets/app.css", web::get().to(dashboard::style))
    .route("/api/openapi.json", web::get().to(openapi::document))
    .route("/api/reference", web::get().to(dashboard::reference))
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/metrics", web::get().to(health::metrics))
    .service(
        web::scope("/api/v1")
            // Raw bodies here are CSV contact lists: room for 100k contacts.
            .app_data(web::PayloadConfig::new(CSV_LIMIT))
            // The token is checked before any body is read (CONTRACT.md).
            .wrap(actix_web::middleware::from_fn(token_first))
            .configure(api_v1),
    )
    .service(
        web::scope("/webhooks")
            .app_data(web::PayloadConfig::new(WEBHOOK_LIMIT))
            .route(
                "/twilio/{org}/status",
                webhook(web::route(), || TwilioStatus),
            )
            .route("/twilio/{org}/voice", webhook(web::route(), || TwilioVoice))
            .route(
                "/twilio/{org}/recording",
                webhook(web::route(), || TwilioRecording),
            )
            .route(
                "/plivo/{org}/recording",
                webhook(web::route(), || PlivoRecording),
            )
            .route(
                "/plivo/{org}/ring",
                webhook(web::route(), || Callback::Ring),
            )
            .route(
                "/plivo/{org}/hangup",
                webhook(web::route(), || Callback::Hangup),
            )
            .route(
                "/plivo/{org}/answer",
                webhook(web::route(), || Callback::Answer),
            )
            .route(
                "/plivo/{org}/connect",
                web::route().to(webhooks::plivo_connect),
            )
            .route(
                "/exotel/{org}/status",
                webhook(web::post(), || ExotelStatusCallback),
            )
            .route(
                "/bolna/{org}",
                webhook(web::post(), || BolnaExecutionWebhook),
            )
            .route("/analytics/{org}", web::post().to(webhooks::analytics))
            .route("/yeastar/{org}", webhook(web::post(), || PbxWebhook)),
    )
    .default_service(web::to(not_found));
}

/// The REST operations under `/api/v1`: method, path, handler — one table that registers the
/// routes and that the OpenAPI document is checked against (`API_ROUTES`), so neither can drift.
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path,)*) => {
        fn api_v1(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }

        /// Every REST operation under `/api/v1` as (method, path).
        pub const API_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path),)*];
    };
}

api_routes! {
    post "/orgs" => orgs::create_org,
    get "/org" => orgs::current_org,
    patch "/org" => orgs::patch_org,
    post "/tokens" => tokens::create_token,
    get "/tokens" => tokens::list_tokens,
    delete "/tokens/{id}" => tokens::revoke_token,
    get "/providers" => providers::list_providers,
    put "/providers/{provider}" => providers::put_provider,
    get "/calls" => calls::list_calls,
    post "/calls" => calls::create_call,
    get "/calls/export.csv" => export::calls_csv,
    get "/calls/{id}" => calls::get_call,
    get "/calls/{id}/events" => calls::call_timeline,
    post "/calls/{id}/accept" => agents::accept,
    post "/calls/{id}/reject" => agents::reject,
    post "/calls/{id}/disposition" => dispositions::dispose,
    post "/agents" => agents::create_agent,
    get "/agents" => agents::list_agents,
    get "/agents/{id}" => agents::get_agent,
    patch "/agents/{id}" => agents::patch_agent,
    delete "/agents/{id}" => agents::delete_agent,
    post "/queues" => queues::create_queue,
    get "/queues" => queues::list_queues,
    get "/queues/{id}" => queues::get_queue,
    patch "/queues/{id}" => queues::patch_queue,
    delete "/queues/{id}" => queues::delete_queue,
    put "/dispositions" => dispositions::put_codes,
    get "/dispositions" => dispositions::get_codes,
    get "/callbacks" => dispositions::list_callbacks,
    post "/campaigns" => campaigns::create_campaign,
    get "/campaigns" => campaigns::list_campaigns,
    get "/campaigns/{id}" => campaigns::get_campaign,
    post "/campaigns/{id}/contacts" => campaigns::post_contacts,
    get "/campaigns/{id}/contacts" => campaigns::campaign_contacts,
    get "/campaigns/{id}/progress" => campaigns::progress,
    post "/campaigns/{id}/{action}" => campaigns::steer,
    post "/contacts" => contacts::create_contact,
    get "/contacts" => contacts::list_contacts,
    get "/contacts/by-phone/{phone}" => contacts::contact_by_phone,
    get "/contacts/{id}" => contacts::get_contact,
    patch "/contacts/{id}" => contacts::patch_contact,
    get "/extensions" => extensions::list_extensions,
    post "/extensions/resync" => extensions::resync,
    put "/extensions/{number}" => extensions::put_extension,
    post "/extensions/{number}/dial" => extensions::dial,
    post "/extensions/{number}/reset" => extensions::reset,
    post "/dnc" => dnc::add,
    get "/dnc" => dnc::list,
    delete "/dnc/{phone}" => dnc::remove,
    get "/metrics" => org_metrics::org_metrics,
    put "/rates" => billing::put_rates,
    get "/rates" => billing::get_rates,
    get "/credits" => billing::get_credits,
    put "/credits" => billing::put_credits,
    get "/credits/ledger" => billing::ledger,
    post "/orgs/{org_id}/credits" => billing::top_up,
    get "/webhooks" => webhooks::list_inbox,
    get "/ws" => ws::connect,
}

/// The route (`web::route()` for any method: Twilio and Plivo may call back with GET) of one kind
/// of webhook, through the one webhook path.
fn webhook<W: Webhook + 'static>(route: actix_web::Route, kind: fn() -> W) -> actix_web::Route {
    route.to(
        move |req: HttpRequest,
              state: web::Data<AppState>,
              path: web::Path<String>,
              body: web::Bytes| { webhooks::receive(kind(), req, state, path, body) },
    )
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::not_found("endpoint"))
}

/// The calls a total or an export covers: created in `[from, to)` (RFC 3339, each optional) of one
/// campaign (optional) — `GET /api/v1/metrics` and `GET /api/v1/calls/export.csv`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct PeriodQuery {
    /// Calls created at or after this moment (RFC 3339).
    from: Option<String>,
    /// Calls created before this moment (RFC 3339).
    to: Option<String>,
    /// Only this campaign's calls.
    campaign_id: Option<String>,
}

impl PeriodQuery {
    /// The bounds as stored times; 400 `invalid_query` for a bound that is not an RFC 3339 time.
    pub fn filter(self) -> Result<crate::db::queries::TotalsFilter, AppError> {
        let moment = |name: &str, text: Option<String>| {
            text.map(|t| {
                chrono::DateTime::parse_from_rfc3339(&t)
                    .map(|at| crate::domain::time::to_text(at.with_timezone(&chrono::Utc)))
                    .map_err(|_| {
                        AppError::new(
                            Code::InvalidQuery,
                            format!("`{name}` must be an RFC 3339 time"),
                        )
                    })
            })
            .transpose()
        };
        Ok(crate::db::queries::TotalsFilter {
            from: moment("from", self.from)?,
            to: moment("to", self.to)?,
            campaign_id: self.campaign_id,
        })
    }
}

/// Who the request's token speaks for (`Authorization: Bearer …`, or `?token=` where a browser
/// cannot set headers: the WebSocket). A viewer token passes only for reads (GET), an agent token
/// for reads and [`AGENT_ACTIONS`] (whose handlers check it acts as its own agent): anything else
/// is a 403 `forbidden`, checked here once for every operation.
pub struct ApiCaller(pub Caller);

/// What an agent token may do besides reading: its availability, its offers, its dispositions.
const AGENT_ACTIONS: &[&str] = &[
    "/api/v1/agents/{id}",
    "/api/v1/calls/{id}/accept",
    "/api/v1/calls/{id}/reject",
    "/api/v1/calls/{id}/disposition",
];

/// The org of the request's token (see [`ApiCaller`]).
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

impl FromRequest for ApiCaller {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    /// The caller `token_first` resolved for this request (every `/api/v1` operation passes it).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let reads = req.method() == actix_web::http::Method::GET;
        let agent_action = req.method() != actix_web::http::Method::DELETE
            && req
                .match_pattern()
                .is_some_and(|p| AGENT_ACTIONS.contains(&p.as_str()));
        let caller = req.extensions().get::<Caller>().cloned();
        std::future::ready(match caller {
            None => Err(AppError::unauthorized()),
            Some(caller) if caller.role == Role::Viewer && !reads => Err(AppError::new(
                Code::Forbidden,
                "a viewer token reads and changes nothing",
            )),
            Some(caller) if caller.role == Role::Agent && !reads && !agent_action => {
                Err(AppError::new(
                    Code::Forbidden,
                    "an agent token reads, and acts only as its agent",
                ))
            }
            Some(caller) => Ok(ApiCaller(caller)),
        })
    }
}

impl FromRequest for ApiOrg {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = ApiCaller::from_request(req, payload).into_inner();
        std::future::ready(caller.map(|caller| ApiOrg(caller.0.org)))
    }
}

/// `limit` and `cursor` of every list endpoint. `limit` is read as text: query structs flatten
/// this one, and serde's flatten cannot read numbers from a query string.
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size: 50 by default, at most 1,000 (larger is clamped).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// 50 by default; above 1,000 clamped to 1,000 (CONTRACT.md); below 1 refused.
    pub fn limit(&self) -> Result<i64, AppError> {
        let Some(text) = &self.limit else {
            return Ok(50);
        };
        let text = text.trim();
        match text.parse::<i64>() {
            Ok(n) if n >= 1 => Ok(n.min(1000)),
            // A whole number too large to read is still above 1,000: clamped, not refused.
            Err(_) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => Ok(1000),
            _ => Err(AppError::new(
                Code::InvalidQuery,
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
    let rows = state
        .engine
        .read(move |conn| Ok(fetch(conn, &org_id, cursor.as_deref(), limit + 1)?))
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
