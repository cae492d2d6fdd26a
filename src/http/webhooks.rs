//! Inbound webhooks: one path for every provider callback — authenticate, parse, normalize, hand
//! to the call's actor, answer once committed (CONTRACT.md, Webhooks) — through the provider's
//! [`Webhook`] implementation; the PBX's and the analytics pushes, which are not one call's
//! event, beside it; the raw inbox listing.

use super::agents::desk_of;
use super::{page, ApiOrg, AppState, PageQuery};
use crate::actors::call::registry::{deliver, CallRef};
use crate::actors::call::{Accepted, CallKey, ProviderEvent};
use crate::actors::desk::QueueFor;
use crate::actors::extension::change_extension;
use crate::actors::pbx_resync::{Heard, Refused};
use crate::db::models::InboxRow;
use crate::db::queries;
use crate::domain::call::{CallEvent, CallStatus, Direction};
use crate::domain::extension::{ExtensionChange, Membership};
use crate::domain::ids::CallId;
use crate::domain::phone::PhoneNumber;
use crate::domain::time::to_text;
use crate::engine::inbox;
use crate::engine::orgs::{Credentials, Org};
use crate::engine::{calls, contacts};
use crate::error::{AppError, Code};
use crate::metrics;
use crate::providers::analytics::{AnalyticsPush, CallName};
use crate::providers::credentials::Account;
use crate::providers::webhook::{Auth, CallWebhook, Reply, Webhook, WebhookRequest};
use crate::providers::yeastar::{self, PbxEvent};
use crate::providers::{body_fields, plivo, twilio, ParseError, Provider};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// What a caller waiting for an agent hears first.
const DEFAULT_HOLD_MESSAGE: &str =
    "Thank you for calling. Please hold: an agent will be with you shortly.";

/// What an inbound call hears when nobody is configured to take it.
const DEFAULT_INBOUND_MESSAGE: &str =
    "Sorry, nobody is available to take your call right now. Please try again later.";

fn malformed(error: ParseError) -> AppError {
    error.into()
}

/// A webhook request as providers read it: the URL they signed (the public base + path + query),
/// the headers, the body.
struct Arrived {
    url: String,
    headers: Vec<(String, String)>,
}

impl Arrived {
    fn new(state: &AppState, req: &HttpRequest) -> Self {
        let headers = req
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        Arrived {
            url: format!("{}{}", state.engine.public_url, req.uri()),
            headers,
        }
    }

    fn request<'a>(&'a self, req: &'a HttpRequest, body: &'a [u8]) -> WebhookRequest<'a> {
        WebhookRequest {
            get: req.method() == actix_web::http::Method::GET,
            url: &self.url,
            query: req.query_string(),
            headers: &self.headers,
            body,
        }
    }
}

/// The org a webhook path names: 404 for an org id that does not exist, whatever its form.
async fn webhook_org(state: &AppState, org_path: &str) -> Result<Arc<Org>, AppError> {
    state
        .engine
        .orgs
        .by_id(org_path)
        .await?
        .ok_or_else(|| AppError::not_found("org"))
}

/// The credentials of a provider that signs its webhooks, once `verify` accepts the request's
/// signature under the account's secret; 401 otherwise (also without credentials to check with).
async fn signed_credentials(
    state: &AppState,
    org: &Org,
    provider: Provider,
    verify: impl FnOnce(&str) -> bool,
) -> Result<Credentials, AppError> {
    let credentials = state.engine.orgs.credentials(&org.id, provider).await?;
    credentials
        .filter(|c| {
            c.signing_secret()
                .is_some_and(|s| !s.is_empty() && verify(s))
        })
        .ok_or_else(AppError::unauthorized)
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
        Err(AppError::unauthorized())
    }
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
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    InboxRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org.id.to_string(),
        provider: provider.as_str().to_owned(),
        dedupe_key: dedupe_key.to_owned(),
        kind: kind.to_owned(),
        content_type,
        body: body.to_vec(),
        outcome: outcome.to_owned(),
        received_at: to_text(chrono::Utc::now()),
    }
}

/// Stores the webhook with its event through the call's actor; answers once committed. The call
/// is `ours` when the caller knows it already; else a callback URL's `?call=<our id>` names it
/// (the engine puts it in every callback URL of a call it places, so a callback that beats the
/// provider API's answer finds its call; the call registry trusts it only for the org's call of
/// that provider); else the provider's own id routes the event.
async fn accept(
    state: &AppState,
    req: &HttpRequest,
    org: &Org,
    body: &[u8],
    incoming: CallWebhook,
    screen_pop: Option<Value>,
    ours: Option<CallId>,
) -> Result<Accepted, AppError> {
    let provider = incoming.provider;
    if let (None, Some(word)) = (incoming.event.status, &incoming.raw_status) {
        tracing::warn!(provider = provider.as_str(), kind = incoming.kind, status = %word,
            "status word not known: kept on the timeline, state unchanged");
    }
    let inbox = inbox_row(
        req,
        org,
        provider,
        incoming.kind,
        &incoming.dedupe_key,
        body,
        "applied",
    );
    let mut event = incoming.event;
    let named = query_value(req, "call").and_then(|v| CallId::parse(&v));
    let key = CallKey {
        org_id: org.id.clone(),
        provider: provider.as_str().to_owned(),
        provider_call_id: incoming.provider_call_id,
    };
    let call = match (ours, named) {
        (Some(call_id), _) => {
            event.provider_call_id = Some(key.provider_call_id).filter(|id| !id.is_empty());
            CallRef::Ours(org.id.clone(), call_id)
        }
        (None, Some(call_id)) => CallRef::Named(call_id, key, incoming.direction),
        (None, None) => CallRef::Provider(key, incoming.direction),
    };
    let event = ProviderEvent {
        event,
        dedupe_key: incoming.dedupe_key,
        inbox: Some(inbox),
        kind: incoming.kind,
        raw_status: incoming.raw_status,
        data: incoming.data,
        screen_pop,
        snapshot: incoming.kind == yeastar::CALL_STATE,
    };
    let accepted = deliver(&state.actors.calls, call, event).await?;
    let result = if accepted.duplicate {
        "duplicate"
    } else {
        "accepted"
    };
    metrics::METRICS.webhook(provider.as_str(), result);
    Ok(accepted)
}

/// What Plivo's answer URL replies for a call that does not wait in a queue. A dial of ours
/// says in its URL whether to hold it in silence for an agent (a progressive or predictive
/// campaign's call: the desk transfers it within 2 s) and whether to record it from the answer;
/// any other call dials the account's inbound target or says its message.
fn plivo_answer(
    state: &AppState,
    req: &HttpRequest,
    org: &Org,
    accepted: &Accepted,
    target: Option<&str>,
    message: Option<&str>,
) -> String {
    let flag = |name| query_value(req, name).is_some_and(|v| v == "1");
    let xml = match flag("hold") {
        true => plivo::hold_xml(None, 30),
        false => plivo::answer_xml(target, message.unwrap_or(DEFAULT_INBOUND_MESSAGE)),
    };
    match flag("record") {
        true => plivo::recorded(&xml, &plivo_recording_url(state, org, &accepted.call_id)),
        false => xml,
    }
}

/// Where Plivo reports a call's recording.
fn plivo_recording_url(state: &AppState, org: &Org, call_id: &impl std::fmt::Display) -> String {
    format!(
        "{}/webhooks/plivo/{}/recording?call={call_id}",
        state.engine.public_url, org.id
    )
}

/// The value of one field of the request's query (the first, if it repeats).
fn query_value(req: &HttpRequest, name: &str) -> Option<String> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn accepted_json(accepted: &Accepted) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "status": if accepted.duplicate { "duplicate" } else { "accepted" },
        "call_id": accepted.call_id,
    }))
}

/// For an incoming call: the caller's contact (created on first call) and its screen pop.
async fn caller_screen_pop(
    state: &AppState,
    org: &Org,
    from: Option<&str>,
) -> Result<(Option<String>, Value), AppError> {
    let Some(phone) = from.and_then(|f| PhoneNumber::parse(f, &org.default_country).ok()) else {
        let pop =
            serde_json::json!({"contact": null, "previous_calls": 0, "suggested_agent": null});
        return Ok((None, pop));
    };
    let engine = &state.engine;
    let contact = contacts::find_or_create(&engine.pool, &engine.writer, org, &phone).await?;
    let pop = contacts::screen_pop(&engine.pool, &contact).await?;
    Ok((Some(contact.id), pop))
}

/// The one path of every provider's call webhook (Twilio status and voice, Plivo ring, hangup and
/// answer, Exotel, Bolna): authenticate, parse, add the caller's screen pop to an incoming call,
/// store through the call's actor, answer as the provider expects.
pub async fn call_webhook(
    webhook: impl Webhook,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let arrived = Arrived::new(&state, &req);
    let request = arrived.request(&req, &body);
    let org = webhook_org(&state, &path).await?;
    let credentials = match webhook.auth() {
        Auth::WebhookToken => {
            check_webhook_token(&req, &org)?;
            None
        }
        Auth::Signature => Some(
            signed_credentials(&state, &org, webhook.provider(), |secret| {
                webhook.verify(secret, &request)
            })
            .await?,
        ),
    };
    let _permit = state.engine.admission.admit(&org.id)?;
    let mut incoming = webhook
        .parse(&request, &org.default_country)
        .map_err(malformed)?;
    let mut queue = None;
    let screen_pop = if incoming.inbound_start {
        let (contact_id, pop) =
            caller_screen_pop(&state, &org, incoming.event.from.as_deref()).await?;
        incoming.event.contact_id = contact_id;
        // A caller of a provider that can move a live call waits in the org's queue, if any.
        if webhook.reply() != Reply::Status {
            let to = incoming.event.to.clone();
            let desk = desk_of(&state, &org).await?;
            queue = desk
                .send(QueueFor {
                    to,
                    numbered_only: false,
                })
                .await?;
            incoming.event.queue_id = queue.as_ref().map(|(id, _)| id.clone());
        }
        Some(pop)
    } else {
        None
    };
    let accepted = accept(&state, &req, &org, &body, incoming, screen_pop, None).await?;
    let routing = credentials.as_ref().map(|c| &c.common);
    let target = routing.and_then(|c| c.inbound_dial.as_deref());
    let message = routing.and_then(|c| c.inbound_message.as_deref());
    let twiml = match &queue {
        Some((_, name)) => twilio::enqueue_twiml(name, message.unwrap_or(DEFAULT_HOLD_MESSAGE)),
        None => twilio::answer_twiml(target, message.unwrap_or(DEFAULT_INBOUND_MESSAGE)),
    };
    let plivo_xml = match &queue {
        Some(_) => plivo::hold_xml(Some(message.unwrap_or(DEFAULT_HOLD_MESSAGE)), 14_400),
        None => plivo_answer(&state, &req, &org, &accepted, target, message),
    };
    Ok(match webhook.reply() {
        Reply::Status => accepted_json(&accepted),
        Reply::Twiml => HttpResponse::Ok()
            .content_type("text/xml; charset=utf-8")
            .body(twiml),
        Reply::PlivoXml => HttpResponse::Ok()
            .content_type("application/xml; charset=utf-8")
            .body(plivo_xml),
    })
}

/// `POST /webhooks/plivo/{org}/connect?call=<id>`: where the Transfer API points a queued Plivo
/// caller once the desk moves it (signed like every Plivo callback). Answers Plivo XML: the
/// dial to the agent who accepted the call, or — for a caller past its queue's maximum wait —
/// the queue's overflow message and a hang-up.
pub async fn plivo_connect(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let arrived = Arrived::new(&state, &req);
    let request = arrived.request(&req, &body);
    let org = webhook_org(&state, &path).await?;
    let webhook = crate::providers::plivo::Callback::Answer;
    signed_credentials(&state, &org, Provider::Plivo, |secret| {
        webhook.verify(secret, &request)
    })
    .await?;
    let named = query_value(&req, "call").unwrap_or_default();
    let call = calls::find(&state.engine, &org.id, &named).await?;
    if call.provider != Provider::Plivo.as_str() {
        return Err(AppError::not_found("call"));
    }
    let desk = desk_of(&state, &org).await?;
    let agent = match &call.agent_id {
        Some(agent_id) => {
            let agents = desk.send(crate::actors::desk::AgentsNow).await?;
            agents.into_iter().find(|a| a["id"] == agent_id.as_str())
        }
        None => None,
    };
    let xml = match agent {
        Some(agent) => {
            let target = agent["phone"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    format!(
                        "sip:{}@phone.plivo.com",
                        agent["id"].as_str().unwrap_or_default()
                    )
                });
            // A campaign's call records from its answer, when its campaign or org says so.
            let record = org.record && call.campaign_id.is_none();
            let recording = plivo_recording_url(&state, &org, &call.id);
            plivo::connect_xml(&target, record.then_some(recording.as_str()))
        }
        // No agent: the desk's goodbye (a queue's overflow message, a campaign's abandon
        // message) is in the URL it transferred the call to.
        None => {
            let say = query_value(&req, "say");
            plivo::answer_xml(None, say.as_deref().unwrap_or(DEFAULT_INBOUND_MESSAGE))
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .body(xml))
}

/// `POST /webhooks/analytics/{org}`: bot analytics merged into a call named by our `call_id`,
/// or by `provider_call_id` / `callUUID`; a call the org does not have is a 404.
pub async fn analytics(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let org = webhook_org(&state, &path).await?;
    check_webhook_token(&req, &org)?;
    let _permit = state.engine.admission.admit(&org.id)?;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let fields = body_fields(content_type, &body).map_err(malformed)?;
    let push = AnalyticsPush::parse(&fields).map_err(malformed)?;
    let named = match &push.call {
        CallName::Ours(id) | CallName::Provider(id) => id.clone(),
    };
    let org_id = org.id.to_string();
    let row = state
        .engine
        .read(move |conn| Ok(queries::call_by_any_id(conn, &org_id, &named)?))
        .await?;
    let Some((row, provider)) = row.and_then(|r| Provider::parse(&r.provider).map(|p| (r, p)))
    else {
        return Err(AppError::not_found("call"));
    };
    let incoming = CallWebhook {
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
        inbound_start: false,
    };
    let ours = Some(CallId::from_stored(row.id));
    let accepted = accept(&state, &req, &org, &body, incoming, None, ours).await?;
    Ok(accepted_json(&accepted))
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
    // Heard once kept. The PBX does not send again what the engine refused (overloaded, or a
    // database that could not store it): those events are as lost as a silence's, and are
    // looked for at the PBX once the refusals stop. (What the PBX got wrong, a bad signature or
    // body, is its own to fix.)
    match yeastar_event(req, &state, &org, body).await {
        Ok(answer) => {
            state.actors.pbx_watch.do_send(Heard(org.id.clone()));
            Ok(answer)
        }
        Err(error) => {
            if error.is_for_now() {
                state.actors.pbx_watch.do_send(Refused(org.id.clone()));
            }
            Err(error)
        }
    }
}

/// A PBX event, verified and applied (see [`yeastar`]).
async fn yeastar_event(
    req: HttpRequest,
    state: &web::Data<AppState>,
    org: &Arc<Org>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let signature = req
        .headers()
        .get("X-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let credentials = signed_credentials(state, org, Provider::Yeastar, |secret| {
        yeastar::verify(secret, &body, signature)
    })
    .await?;
    let _permit = state.engine.admission.admit(&org.id)?;
    let (_sn, event) = yeastar::parse(&body).map_err(malformed)?;
    let dedupe_key = format!("sha256:{}", hex::encode(Sha256::digest(&body)));
    let data: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let utc_offset = match &credentials.account {
        Account::Yeastar(account) => account.utc_offset.as_deref(),
        _ => None,
    };
    let mut caller_channel = None;
    let (call_id, kind, direction, mut event, raw_status, members) = match event {
        PbxEvent::CallState { call_id, members } => {
            caller_channel = yeastar::inbound_channel(&members);
            let (direction, mut event) = yeastar::call_state_event(&members, &org.default_country);
            // A 30011 snapshot carries no time: the PBX pushes it the moment it happens, so its
            // arrival dates it (ringing, answered, ended) until the CDR's own, earlier times
            // replace these.
            event.occurred_at = Some(chrono::Utc::now());
            let words: Vec<&str> = members.iter().map(|m| m.status.as_str()).collect();
            let raw = words.join(",");
            (
                call_id,
                yeastar::CALL_STATE,
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
                yeastar::CDR,
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
        other => return yeastar_extension_event(state, &req, org, &body, dedupe_key, other).await,
    };
    event.extensions = members.iter().map(|(n, _)| n.clone()).collect();
    // The first event of a call an extension dialed through the PBX's API may beat the API's
    // answer: it adopts the call the engine wrote for that dial.
    let adopted = (kind == yeastar::CALL_STATE)
        .then(|| {
            let dials = &state.engine.pbx_dials;
            dials.adopt(&org.id, &event.extensions, event.to.as_deref())
        })
        .flatten();
    if adopted.is_some() {
        // The dial knows whom it called; a first snapshot with only the caller's extension in it
        // would read as internal.
        event.direction = None;
    }
    // A caller from outside ringing an extension: the screen pop, with the caller's contact —
    // once, for the call's first ringing snapshot (a ring group repeats them). A caller who
    // dialed a desk queue's number (held by the PBX's IVR or queue) waits in that queue, its
    // channel kept for the transfer to the agent who accepts.
    let first = kind == yeastar::CALL_STATE
        && direction == Direction::Inbound
        && !calls::is_known(&state.engine, &org.id, Provider::Yeastar.as_str(), &call_id).await?;
    let queue = match (first, &caller_channel) {
        (true, Some(_)) => {
            let to = event.to.clone();
            let desk = desk_of(state, org).await?;
            desk.send(QueueFor {
                to,
                numbered_only: true,
            })
            .await?
        }
        _ => None,
    };
    let screen_pop = if first && (queue.is_some() || event.status == Some(CallStatus::Ringing)) {
        let (contact_id, mut pop) = caller_screen_pop(state, org, event.from.as_deref()).await?;
        event.contact_id = contact_id;
        if let (Some((queue_id, _)), Some(channel)) = (&queue, caller_channel) {
            event.queue_id = Some(queue_id.clone());
            pop["pbx_channel"] = Value::String(channel);
        }
        Some(pop)
    } else {
        None
    };
    let incoming = CallWebhook {
        provider: Provider::Yeastar,
        kind,
        provider_call_id: call_id,
        dedupe_key,
        direction,
        event,
        raw_status,
        data,
        inbound_start: false,
    };
    let accepted = accept(state, &req, org, &body, incoming, screen_pop, adopted).await?;
    sync_extensions(state, org, &accepted, &members).await?;
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
        change_extension(&state.actors.extensions, &org.id, &number, change, None).await
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
            let status = match inbox::keep(&state.engine, &org.id, inbox).await? {
                true => "ignored",
                false => "duplicate",
            };
            let result = if status == "duplicate" {
                "duplicate"
            } else {
                "accepted"
            };
            metrics::METRICS.webhook(Provider::Yeastar.as_str(), result);
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
    let ext = change_extension(
        &state.actors.extensions,
        &org.id,
        &number,
        change,
        Some(inbox),
    )
    .await?;
    Ok(HttpResponse::Ok().json(
        serde_json::json!({ "status": "accepted", "extension": ext.to_json(chrono::Utc::now()) }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    provider: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /api/v1/webhooks`: the org's raw inbox, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(("provider" = Option<String>, Query), PageQuery), responses((status = 200, description = "A page of the raw webhook inbox, newest first")))]
pub async fn list_inbox(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    if let Some(provider) = &query.provider {
        Provider::parse(provider).ok_or_else(|| {
            AppError::new(
                Code::InvalidQuery,
                format!("`{provider}` is not a provider"),
            )
        })?;
    }
    let limit = query.page.limit()?;
    let org_id = org.id.to_string();
    let (provider, cursor) = (query.provider, query.page.cursor);
    let rows = state
        .engine
        .read(move |conn| {
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
