//! Inbound webhooks: verify, parse, normalize, hand to the call's actor, answer once committed
//! (CONTRACT.md, Webhooks). One handler per provider callback; the raw inbox listing.

use super::{page, read, ApiOrg, AppState, PageQuery};
use crate::actors::call::{Accepted, ProviderEvent};
use crate::actors::extension::change_extension;
use crate::actors::registry::{deliver, CallKey, CallRef};
use crate::contacts;
use crate::db::models::InboxRow;
use crate::db::queries;
use crate::db::writes::{WriteOp, WriteOutcome, WriteRequest};
use crate::domain::call::{CallEvent, CallStatus, Direction};
use crate::domain::extension::{ExtensionChange, Membership};
use crate::domain::ids::CallId;
use crate::domain::phone::{party, PhoneNumber};
use crate::domain::time::to_text;
use crate::error::AppError;
use crate::metrics;
use crate::orgs::{Credentials, Org};
use crate::providers::analytics::{AnalyticsPush, CallName};
use crate::providers::bolna::BolnaExecution;
use crate::providers::exotel::ExotelStatus;
use crate::providers::plivo::{self, Callback, PlivoCallback};
use crate::providers::yeastar::{self, PbxEvent};
use crate::providers::{body_fields, form_pairs, twilio, ParseError, Provider};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// What an inbound call hears when nobody is configured to take it.
const DEFAULT_INBOUND_MESSAGE: &str =
    "Sorry, nobody is available to take your call right now. Please try again later.";

/// Counts a refused webhook and passes the error on.
fn rejected(error: AppError) -> AppError {
    metrics::WEBHOOKS_REJECTED.add(1);
    error
}

fn malformed(error: ParseError) -> AppError {
    rejected(AppError::bad_request(
        "malformed_webhook",
        error.to_string(),
    ))
}

/// The org a webhook path names: 404 for an id that does not exist, whatever its form.
async fn webhook_org(state: &AppState, org: &str) -> Result<Arc<Org>, AppError> {
    match state.orgs.by_id(org).await? {
        Some(org) => Ok(org),
        None => Err(rejected(AppError::NotFound("org"))),
    }
}

/// The org's credentials for a signing provider; without them no signature can be checked (401).
async fn signing_credentials(
    state: &AppState,
    org: &Org,
    provider: Provider,
) -> Result<Credentials, AppError> {
    state
        .orgs
        .credentials(&org.id, provider)
        .await?
        .ok_or_else(|| rejected(AppError::Unauthorized))
}

fn credential<'a>(credentials: &'a Credentials, name: &str) -> Option<&'a str> {
    credentials.get(name).and_then(Value::as_str)
}

/// "webhook token" auth: `X-Switchboard-Token` header or `?token=`; or, in the callback URL of a
/// call the engine placed, `?call=<id>&sig=<that call's callback token>`.
fn check_webhook_token(req: &HttpRequest, org: &Org) -> Result<(), AppError> {
    let query: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let presented = req
        .headers()
        .get("X-Switchboard-Token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| param("token"));
    let token_ok = presented.is_some_and(|token| org.webhook_token_matches(&token));
    let callback_ok = match (param("call"), param("sig")) {
        (Some(call), Some(sig)) => {
            use subtle::ConstantTimeEq;
            bool::from(org.callback_token(&call).as_bytes().ct_eq(sig.as_bytes()))
        }
        _ => false,
    };
    if token_ok || callback_ok {
        Ok(())
    } else {
        Err(rejected(AppError::Unauthorized))
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The URL the provider called, as it signed it: the public base + path + query.
fn public_url(state: &AppState, req: &HttpRequest) -> String {
    format!("{}{}", state.public_url, req.uri())
}

/// The raw webhook as the inbox keeps it.
fn inbox_row(
    req: &HttpRequest,
    org: &Org,
    provider: Provider,
    kind: &str,
    dedupe_key: &str,
    body: &[u8],
    outcome: &str,
) -> InboxRow {
    InboxRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org.id.to_string(),
        provider: provider.as_str().to_owned(),
        dedupe_key: dedupe_key.to_owned(),
        kind: kind.to_owned(),
        content_type: Some(header(req, CONTENT_TYPE.as_str()).to_owned()).filter(|c| !c.is_empty()),
        body: body.to_vec(),
        outcome: outcome.to_owned(),
        received_at: to_text(chrono::Utc::now()),
    }
}

/// A provider's event for one call, ready to hand to the call's actor.
struct Incoming {
    provider: Provider,
    kind: &'static str,
    provider_call_id: String,
    dedupe_key: String,
    direction: Direction,
    event: CallEvent,
    raw_status: Option<String>,
    data: Value,
    screen_pop: Option<Value>,
    /// Our id of the call, when the handler already knows it.
    ours: Option<CallId>,
}

/// Stores the webhook with its event through the call's actor; answers once committed.
async fn accept(
    state: &AppState,
    req: &HttpRequest,
    org: &Org,
    body: &[u8],
    incoming: Incoming,
) -> Result<Accepted, AppError> {
    if let (None, Some(word)) = (incoming.event.status, &incoming.raw_status) {
        tracing::warn!(provider = incoming.provider.as_str(), kind = incoming.kind, status = %word,
            "status word not known: kept on the timeline, state unchanged");
    }
    let inbox = inbox_row(
        req,
        org,
        incoming.provider,
        incoming.kind,
        &incoming.dedupe_key,
        body,
        "applied",
    );
    let mut event = incoming.event;
    let ours = match incoming.ours {
        Some(id) => Some(id),
        None => our_call(state, req, org, incoming.provider).await?,
    };
    let call = match ours {
        Some(call_id) => {
            event.provider_call_id = Some(incoming.provider_call_id).filter(|id| !id.is_empty());
            CallRef::Ours(org.id.clone(), call_id)
        }
        None => CallRef::Provider(
            CallKey {
                org_id: org.id.clone(),
                provider: incoming.provider.as_str().to_owned(),
                provider_call_id: incoming.provider_call_id,
            },
            incoming.direction,
        ),
    };
    let event = ProviderEvent {
        event,
        dedupe_key: incoming.dedupe_key,
        inbox: Some(inbox),
        kind: incoming.kind,
        raw_status: incoming.raw_status,
        data: incoming.data,
        screen_pop: incoming.screen_pop,
    };
    let accepted = deliver(&state.registry, call, event).await?;
    if accepted.duplicate {
        metrics::WEBHOOKS_DUPLICATE.add(1);
    } else {
        metrics::WEBHOOKS_ACCEPTED.add(1);
    }
    Ok(accepted)
}

/// The call a callback URL names with `?call=<our id>` (the engine puts it in every callback URL of
/// a call it places, so a callback that beats the provider API's answer finds its call). An id the
/// org does not have for that provider is ignored: the provider's own id routes the event then.
async fn our_call(
    state: &AppState,
    req: &HttpRequest,
    org: &Org,
    provider: Provider,
) -> Result<Option<CallId>, AppError> {
    let Some(call_id) = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "call")
        .and_then(|(_, v)| CallId::parse(&v))
    else {
        return Ok(None);
    };
    let (org_id, id) = (org.id.to_string(), call_id.to_string());
    let row = read(state, move |conn| Ok(queries::call(conn, &org_id, &id)?)).await?;
    Ok(row
        .filter(|r| r.provider == provider.as_str())
        .map(|_| call_id))
}

fn accepted_json(accepted: &Accepted) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "status": if accepted.duplicate { "duplicate" } else { "accepted" },
        "call_id": accepted.call_id,
    }))
}

fn pairs_json(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect(),
    )
}

/// For an incoming call: the caller's contact (created on first call) and its screen pop.
async fn caller_screen_pop(
    state: &AppState,
    org: &Org,
    from: Option<&str>,
) -> Result<(Option<String>, Option<Value>), AppError> {
    let Some(phone) = from.and_then(|f| PhoneNumber::parse(f, &org.default_country).ok()) else {
        return Ok((
            None,
            Some(
                serde_json::json!({"contact": null, "previous_calls": 0, "suggested_agent": null}),
            ),
        ));
    };
    let contact = contacts::find_or_create(&state.pool, &state.writer, org, &phone).await?;
    let pop = contacts::screen_pop(&state.pool, &contact).await?;
    Ok((Some(contact.id), Some(pop)))
}

/// How inbound calls of a provider account are answered.
fn inbound_routing(credentials: &Credentials) -> (Option<&str>, &str) {
    (
        credential(credentials, "inbound_dial"),
        credential(credentials, "inbound_message").unwrap_or(DEFAULT_INBOUND_MESSAGE),
    )
}

// ---------------------------------------------------------------------------------------------
// Twilio

/// Reads and checks a Twilio form webhook: 401 on a bad signature, the fields otherwise.
async fn twilio_form(
    state: &AppState,
    req: &HttpRequest,
    org: &Org,
    body: &[u8],
) -> Result<(Credentials, Vec<(String, String)>), AppError> {
    let credentials = signing_credentials(state, org, Provider::Twilio).await?;
    let auth_token = credential(&credentials, "auth_token").unwrap_or_default();
    // A GET callback (StatusCallbackMethod=GET) signs the URL alone; its fields are the query.
    let get = req.method() == actix_web::http::Method::GET;
    let signed = if get { Vec::new() } else { form_pairs(body) };
    let signature = header(req, "X-Twilio-Signature");
    if auth_token.is_empty()
        || !twilio::verify(auth_token, &public_url(state, req), &signed, signature)
    {
        return Err(rejected(AppError::Unauthorized));
    }
    let pairs = if get {
        form_pairs(req.query_string().as_bytes())
    } else {
        signed
    };
    Ok((credentials, pairs))
}

/// `POST /webhooks/twilio/{org}/status`: a Twilio status callback.
pub async fn twilio_status(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let org = webhook_org(&state, &path).await?;
    let (_, pairs) = twilio_form(&state, &req, &org, &body).await?;
    let callback = twilio::StatusCallback::parse(&pairs).map_err(malformed)?;
    let mut event = callback.to_event();
    event.from = event.from.map(|n| party(&n, &org.default_country));
    event.to = event.to.map(|n| party(&n, &org.default_country));
    let incoming = Incoming {
        provider: Provider::Twilio,
        kind: "twilio.status",
        provider_call_id: callback.call_sid.clone(),
        dedupe_key: callback.dedupe_key(),
        direction: callback.direction.unwrap_or(Direction::Outbound),
        event,
        raw_status: Some(callback.call_status.clone()),
        data: pairs_json(&pairs),
        screen_pop: None,
        ours: None,
    };
    Ok(accepted_json(
        &accept(&state, &req, &org, &body, incoming).await?,
    ))
}

/// `POST /webhooks/twilio/{org}/voice`: an incoming call. Creates the call and the caller's
/// contact, publishes the screen pop, and answers TwiML that connects the caller.
pub async fn twilio_voice(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let org = webhook_org(&state, &path).await?;
    let (credentials, pairs) = twilio_form(&state, &req, &org, &body).await?;
    let call_sid = crate::providers::field(&pairs, "CallSid")
        .ok_or_else(|| malformed(ParseError::Missing("CallSid")))?
        .to_owned();
    let from = crate::providers::field(&pairs, "From");
    let (contact_id, screen_pop) = caller_screen_pop(&state, &org, from).await?;
    let event = CallEvent {
        status: Some(CallStatus::Ringing),
        direction: Some(Direction::Inbound),
        from: from.map(|n| party(n, &org.default_country)),
        to: crate::providers::field(&pairs, "To").map(|n| party(n, &org.default_country)),
        contact_id,
        ..CallEvent::default()
    };
    let incoming = Incoming {
        provider: Provider::Twilio,
        kind: "twilio.voice",
        dedupe_key: format!("{call_sid}:voice"),
        provider_call_id: call_sid,
        direction: Direction::Inbound,
        event,
        raw_status: crate::providers::field(&pairs, "CallStatus").map(str::to_owned),
        data: pairs_json(&pairs),
        screen_pop,
        ours: None,
    };
    accept(&state, &req, &org, &body, incoming).await?;
    let (target, message) = inbound_routing(&credentials);
    Ok(HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(twilio::answer_twiml(target, message)))
}

// ---------------------------------------------------------------------------------------------
// Plivo

/// `POST /webhooks/plivo/{org}/ring`.
pub async fn plivo_ring(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    plivo_callback(Callback::Ring, req, state, path, body).await
}

/// `POST /webhooks/plivo/{org}/hangup`.
pub async fn plivo_hangup(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    plivo_callback(Callback::Hangup, req, state, path, body).await
}

/// `POST /webhooks/plivo/{org}/answer`: answers Plivo XML. An inbound call is created with the
/// caller's contact and screen pop; an outbound call is answered.
pub async fn plivo_answer(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    plivo_callback(Callback::Answer, req, state, path, body).await
}

async fn plivo_callback(
    callback: Callback,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let org = webhook_org(&state, &path).await?;
    let credentials = signing_credentials(&state, &org, Provider::Plivo).await?;
    let auth_token = credential(&credentials, "auth_token").unwrap_or_default();
    let is_get = req.method() == actix_web::http::Method::GET;
    let params = if is_get {
        Vec::new()
    } else {
        form_pairs(&body)
    };
    let signed = !auth_token.is_empty()
        && plivo::verify_v3(
            auth_token,
            is_get,
            &public_url(&state, &req),
            &params,
            header(&req, "X-Plivo-Signature-V3-Nonce"),
            header(&req, "X-Plivo-Signature-V3"),
        );
    if !signed {
        return Err(rejected(AppError::Unauthorized));
    }
    let fields = if is_get {
        form_pairs(req.query_string().as_bytes())
    } else {
        params
    };
    let parsed = PlivoCallback::parse(callback, &fields).map_err(malformed)?;
    let mut event = parsed.to_event(&org.default_country);
    let inbound = parsed.direction == Some(Direction::Inbound);
    let screen_pop = if callback == Callback::Answer && inbound {
        let (contact_id, pop) = caller_screen_pop(&state, &org, parsed.from.as_deref()).await?;
        event.contact_id = contact_id;
        event.status = Some(CallStatus::Ringing);
        pop
    } else {
        None
    };
    let incoming = Incoming {
        provider: Provider::Plivo,
        kind: callback.kind(),
        provider_call_id: parsed.call_uuid.clone(),
        dedupe_key: parsed.dedupe_key(),
        direction: parsed.direction.unwrap_or(Direction::Outbound),
        event,
        raw_status: Some(parsed.call_status.clone()),
        data: pairs_json(&fields),
        screen_pop,
        ours: None,
    };
    let accepted = accept(&state, &req, &org, &body, incoming).await?;
    if callback == Callback::Answer {
        let (target, message) = inbound_routing(&credentials);
        return Ok(HttpResponse::Ok()
            .content_type("application/xml; charset=utf-8")
            .body(plivo::answer_xml(target, message)));
    }
    Ok(accepted_json(&accepted))
}

// ---------------------------------------------------------------------------------------------
// Exotel, Bolna, analytics: webhook token auth, JSON or form bodies

/// Reads a token-authenticated webhook's body as fields.
async fn token_webhook(
    state: &AppState,
    req: &HttpRequest,
    org_path: &str,
    body: &[u8],
) -> Result<(Arc<Org>, serde_json::Map<String, Value>), AppError> {
    let org = webhook_org(state, org_path).await?;
    check_webhook_token(req, &org)?;
    let fields = body_fields(header(req, CONTENT_TYPE.as_str()), body).map_err(malformed)?;
    Ok((org, fields))
}

/// `POST /webhooks/exotel/{org}/status`: Exotel's StatusCallback.
pub async fn exotel_status(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (org, fields) = token_webhook(&state, &req, &path, &body).await?;
    let status = ExotelStatus::parse(&fields).map_err(malformed)?;
    let incoming = Incoming {
        provider: Provider::Exotel,
        kind: "exotel.status",
        provider_call_id: status.call_sid.clone(),
        dedupe_key: status.dedupe_key(),
        direction: status.direction.unwrap_or(Direction::Outbound),
        event: status.to_event(&org.default_country),
        raw_status: status.status.clone().or(Some(status.event_type.clone())),
        data: Value::Object(fields),
        screen_pop: None,
        ours: None,
    };
    Ok(accepted_json(
        &accept(&state, &req, &org, &body, incoming).await?,
    ))
}

/// `POST /webhooks/bolna/{org}`: a Bolna execution snapshot.
pub async fn bolna_execution(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (org, fields) = token_webhook(&state, &req, &path, &body).await?;
    let execution = BolnaExecution::parse(&fields).map_err(malformed)?;
    let incoming = Incoming {
        provider: Provider::Bolna,
        kind: "bolna.execution",
        provider_call_id: execution.id.clone(),
        dedupe_key: execution.dedupe_key(),
        direction: execution.direction.unwrap_or(Direction::Outbound),
        event: execution.to_event(&org.default_country),
        raw_status: Some(execution.status.clone()),
        data: Value::Object(fields),
        screen_pop: None,
        ours: None,
    };
    Ok(accepted_json(
        &accept(&state, &req, &org, &body, incoming).await?,
    ))
}

/// `POST /webhooks/analytics/{org}`: bot analytics merged into a call named by our `call_id`,
/// or by `provider_call_id` / `callUUID`; a call the org does not have is a 404.
pub async fn analytics(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (org, fields) = token_webhook(&state, &req, &path, &body).await?;
    let push = AnalyticsPush::parse(&fields).map_err(malformed)?;
    let named = match &push.call {
        CallName::Ours(id) | CallName::Provider(id) => id.clone(),
    };
    let org_id = org.id.to_string();
    let row = read(&state, move |conn| {
        Ok(queries::call_by_any_id(conn, &org_id, &named)?)
    })
    .await?;
    let Some(row) = row else {
        return Err(rejected(AppError::NotFound("call")));
    };
    let Some(provider) = Provider::parse(&row.provider) else {
        return Err(rejected(AppError::NotFound("call")));
    };
    let incoming = Incoming {
        provider,
        kind: "analytics.merged",
        provider_call_id: row.provider_call_id.clone().unwrap_or_default(),
        dedupe_key: format!("analytics:{}", hex::encode(Sha256::digest(&body))),
        direction: Direction::parse(&row.direction).unwrap_or(Direction::Outbound),
        event: CallEvent {
            analytics: Some(push.data.clone()),
            ..CallEvent::default()
        },
        raw_status: None,
        data: Value::Object(push.data),
        screen_pop: None,
        ours: Some(CallId::from_stored(row.id)),
    };
    Ok(accepted_json(
        &accept(&state, &req, &org, &body, incoming).await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Yeastar P-Series PBX

/// `POST /webhooks/yeastar/{org}`: a PBX event (`X-Signature` over the raw body). Call events
/// update the call and the presence of every extension in it before the answer; extension events
/// update the extension; unknown event types are kept in the inbox and change nothing.
pub async fn yeastar(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let org = webhook_org(&state, &path).await?;
    let credentials = signing_credentials(&state, &org, Provider::Yeastar).await?;
    let secret = credential(&credentials, "webhook_secret").unwrap_or_default();
    if secret.is_empty() || !yeastar::verify(secret, &body, header(&req, "X-Signature")) {
        return Err(rejected(AppError::Unauthorized));
    }
    let (_sn, event) = yeastar::parse(&body).map_err(malformed)?;
    let dedupe_key = format!("sha256:{}", hex::encode(Sha256::digest(&body)));
    let data: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let utc_offset = credential(&credentials, "utc_offset");
    let (call_id, kind, direction, mut event, raw_status, members) = match event {
        PbxEvent::CallState { call_id, members } => {
            let (direction, event) = yeastar::call_state_event(&members, &org.default_country);
            let words: Vec<&str> = members.iter().map(|m| m.status.as_str()).collect();
            let raw = words.join(",");
            (
                call_id,
                "yeastar.30011",
                direction,
                event,
                Some(raw),
                yeastar::extension_members(&members),
            )
        }
        PbxEvent::Cdr(cdr) => {
            let event = cdr.to_event(&org.default_country, utc_offset);
            let direction = cdr.direction.unwrap_or(Direction::Internal);
            (
                cdr.call_id.clone(),
                "yeastar.30012",
                direction,
                event,
                Some(cdr.status.clone()),
                Vec::new(),
            )
        }
        PbxEvent::CallFailed {
            call_id,
            reason,
            extensions,
        } => {
            let members = extensions.into_iter().map(|n| (n, None)).collect();
            let event = yeastar::failure_event(&reason);
            (
                call_id,
                "yeastar.30015",
                Direction::Internal,
                event,
                Some(reason),
                members,
            )
        }
        other => {
            return yeastar_extension_event(&state, &req, &org, &body, dedupe_key, other).await
        }
    };
    event.extensions = members.iter().map(|(n, _)| n.clone()).collect();
    let incoming = Incoming {
        provider: Provider::Yeastar,
        kind,
        provider_call_id: call_id,
        dedupe_key,
        direction,
        event,
        raw_status,
        data,
        screen_pop: None,
        ours: None,
    };
    let accepted = accept(&state, &req, &org, &body, incoming).await?;
    sync_extensions(&state, &org, &accepted, &members).await?;
    Ok(accepted_json(&accepted))
}

/// Brings the presence of a call's extensions in line with the call before the answer: members
/// take their part while the call is live; once it is not (BYE of all, CDR, failure), every
/// extension of the call leaves it. Repeated deliveries change nothing.
async fn sync_extensions(
    state: &AppState,
    org: &Org,
    accepted: &Accepted,
    members: &[(String, Option<Membership>)],
) -> Result<(), AppError> {
    let call_id = accepted.call_id.to_string();
    let mut changes: Vec<(String, ExtensionChange)> = Vec::new();
    if accepted.live {
        for (number, membership) in members {
            let change = match membership {
                Some(membership) => ExtensionChange::Member {
                    call_id: call_id.clone(),
                    membership: *membership,
                },
                None => ExtensionChange::Left {
                    call_id: call_id.clone(),
                },
            };
            changes.push((number.clone(), change));
        }
    } else {
        for number in &accepted.extensions {
            let left = ExtensionChange::Left {
                call_id: call_id.clone(),
            };
            changes.push((number.clone(), left));
        }
    }
    let updates = changes.into_iter().map(|(number, change)| async move {
        change_extension(&state.extensions, &org.id, &number, change, None).await
    });
    for result in futures_util::future::join_all(updates).await {
        result?;
    }
    Ok(())
}

/// 30007 / 30008 / 30009 change one extension (stored with the raw event); anything else is kept
/// in the inbox only.
async fn yeastar_extension_event(
    state: &AppState,
    req: &HttpRequest,
    org: &Org,
    body: &[u8],
    dedupe_key: String,
    event: PbxEvent,
) -> Result<HttpResponse, AppError> {
    let (number, change, kind) = match event {
        PbxEvent::Registration {
            extension,
            registered,
        } => (
            extension,
            ExtensionChange::Registration(registered),
            "yeastar.30007",
        ),
        PbxEvent::ExtensionCallStatus { extension, .. } => {
            (extension, ExtensionChange::Seen, "yeastar.30008")
        }
        PbxEvent::Presence { extension, dnd } => (
            extension,
            ExtensionChange::DoNotDisturb(dnd),
            "yeastar.30009",
        ),
        PbxEvent::Unknown { event_type } => {
            let inbox = inbox_row(
                req,
                org,
                Provider::Yeastar,
                &format!("yeastar.{event_type}"),
                &dedupe_key,
                body,
                "ignored",
            );
            let outcome = state
                .writer
                .commit(WriteRequest {
                    org_id: org.id.clone(),
                    ops: vec![WriteOp::AcceptWebhook(inbox)],
                    events: Vec::new(),
                })
                .await?;
            let status = match outcome {
                WriteOutcome::Committed(_) => "ignored",
                WriteOutcome::Duplicate => "duplicate",
            };
            return Ok(HttpResponse::Ok().json(serde_json::json!({ "status": status })));
        }
        _ => unreachable!("call events are handled by the caller"),
    };
    let inbox = inbox_row(
        req,
        org,
        Provider::Yeastar,
        kind,
        &dedupe_key,
        body,
        "applied",
    );
    let ext = change_extension(&state.extensions, &org.id, &number, change, Some(inbox)).await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "status": "accepted", "extension": ext.to_json() })))
}

#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    provider: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /api/v1/webhooks`: the org's raw inbox, newest first.
pub async fn list_inbox(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    if let Some(provider) = &query.provider {
        Provider::parse(provider).ok_or_else(|| {
            AppError::bad_request("invalid_query", format!("`{provider}` is not a provider"))
        })?;
    }
    let limit = query.page.limit()?;
    let org_id = org.id.to_string();
    let (provider, cursor) = (query.provider, query.page.cursor);
    let rows = read(&state, move |conn| {
        Ok(queries::inbox_page(
            conn,
            &org_id,
            provider.as_deref(),
            cursor.as_deref(),
            limit + 1,
        )?)
    })
    .await?;
    Ok(page(rows, limit, |r| r.id.clone(), InboxRow::to_json))
}
