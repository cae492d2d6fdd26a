//! Inbound webhooks: one path for every provider callback and PBX event — authenticate, parse,
//! normalize, hand to the call's actor (a PBX extension's change to the extension's), answer once
//! committed (CONTRACT.md, Webhooks) — through the sender's [`Webhook`] implementation; the
//! analytics push and Plivo's connect URL beside it; the raw inbox listing.

use super::agents::desk_of;
use super::{page, ApiOrg, AppState, PageQuery};
use crate::actors::call::registry::{deliver, CallRef, Known};
use crate::actors::call::{Accepted, CallKey, ProviderEvent};
use crate::actors::desk::QueueFor;
use crate::actors::extension::change_extension;
use crate::actors::pbx_resync::{Heard, Refused};
use crate::db::models::InboxRow;
use crate::db::queries;
use crate::domain::call::{CallEvent, Direction};
use crate::domain::extension::{ExtensionChange, Membership};
use crate::domain::ids::CallId;
use crate::domain::phone::PhoneNumber;
use crate::domain::time::to_text;
use crate::engine::callback_urls::CallbackUrls;
use crate::engine::inbox;
use crate::engine::orgs::{Credentials, Org};
use crate::engine::{calls, contacts};
use crate::error::{AppError, Code};
use crate::metrics;
use crate::providers::analytics::{AnalyticsPush, CallName};
use crate::providers::webhook::{
    Auth, CallWebhook, ExtensionWebhook, Hold, Incoming, Reading, Reply, Webhook, WebhookRequest,
};
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
        snapshot: incoming.pbx.as_ref().is_some_and(|pbx| pbx.snapshot),
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
fn plivo_recording_url(state: &AppState, org: &Org, call_id: &CallId) -> String {
    CallbackUrls::new(&state.engine.public_url, Provider::Plivo, &org.id, call_id).recording()
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

/// The one path of every webhook (Twilio status and voice, Plivo ring, hangup and answer,
/// Exotel, Bolna, the PBX): authenticate, parse, add the caller's screen pop (and the queue it
/// waits in) to an incoming call, store through the call's actor — a PBX extension's change
/// through the extension's — and answer as the sender expects.
pub async fn receive(
    webhook: impl Webhook,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let org = webhook_org(&state, &path).await?;
    let answer = handle(&webhook, &req, &state, &org, &body).await;
    if webhook.pushes_once() {
        // Heard once kept. The PBX does not send again what the engine refused (overloaded, or
        // a database that could not store it): those events are as lost as a silence's, and
        // are looked for at the PBX once the refusals stop. (What the PBX got wrong, a bad
        // signature or body, is its own to fix.)
        match &answer {
            Ok(_) => state.actors.pbx_watch.do_send(Heard(org.id.clone())),
            Err(error) if error.is_for_now() => {
                state.actors.pbx_watch.do_send(Refused(org.id.clone()))
            }
            Err(_) => {}
        }
    }
    answer
}

/// A webhook of the org's, received (see [`receive`]).
async fn handle(
    webhook: &impl Webhook,
    req: &HttpRequest,
    state: &AppState,
    org: &Arc<Org>,
    body: &[u8],
) -> Result<HttpResponse, AppError> {
    let arrived = Arrived::new(state, req);
    let request = arrived.request(req, body);
    let credentials = match webhook.auth() {
        Auth::WebhookToken => {
            check_webhook_token(req, org)?;
            None
        }
        Auth::Signature => Some(
            signed_credentials(state, org, webhook.provider(), |secret| {
                webhook.verify(secret, &request)
            })
            .await?,
        ),
    };
    let _permit = state.engine.admission.admit(&org.id)?;
    let reading = Reading {
        default_country: &org.default_country,
        account: credentials.as_ref().map(|c| &c.account),
    };
    let mut incoming = match webhook.parse(&request, &reading).map_err(malformed)? {
        Incoming::Call(call) => *call,
        Incoming::Extension(change) => {
            return extension_changed(state, req, org, body, webhook.provider(), change).await
        }
        Incoming::Ignored { kind, dedupe_key } => {
            let provider = webhook.provider();
            return ignored(state, req, org, body, provider, &kind, &dedupe_key).await;
        }
    };
    let snapshot = incoming.pbx.as_ref().is_some_and(|pbx| pbx.snapshot);
    // The first snapshot of a call an extension dialed through the PBX's API may beat the API's
    // answer: it adopts the call the engine wrote for that dial. The dial knows whom it called;
    // a first snapshot with only the caller's extension in it would read as internal.
    let adopted = snapshot
        .then(|| {
            let (extensions, to) = (&incoming.event.extensions, incoming.event.to.as_deref());
            state.engine.pbx_dials.adopt(&org.id, extensions, to)
        })
        .flatten();
    if adopted.is_some() {
        incoming.event.direction = None;
    }
    // A caller from outside starting a call: its screen pop, with its contact, and the queue it
    // waits in. The PBX pushes a snapshot per change (a ring group repeats them): only its call's
    // first starts it.
    let starting = incoming.inbound_start && !(snapshot && known(state, org, &incoming).await?);
    let queue = match incoming.hold.numbered_only().filter(|_| starting) {
        Some(numbered_only) => queue_for(state, org, &incoming, numbered_only).await?,
        None => None,
    };
    let screen_pop = match starting {
        true => {
            let from = incoming.event.from.as_deref();
            let (contact_id, mut pop) = caller_screen_pop(state, org, from).await?;
            incoming.event.contact_id = contact_id;
            incoming.event.queue_id = queue.as_ref().map(|(id, _)| id.clone());
            if let (Some(_), Hold::NumberedQueue { channel }) = (&queue, &incoming.hold) {
                pop["pbx_channel"] = Value::String(channel.clone());
            }
            Some(pop)
        }
        false => None,
    };
    let members = incoming.pbx.as_ref().map(|pbx| pbx.members.clone());
    let accepted = accept(state, req, org, body, incoming, screen_pop, adopted).await?;
    if let Some(members) = members {
        sync_extensions(state, org, &accepted, &members).await?;
    }
    let routing = credentials.as_ref().map(|c| &c.common);
    Ok(reply(
        webhook.reply(),
        state,
        req,
        org,
        &accepted,
        queue,
        routing,
    ))
}

/// The answer the sender expects once its webhook is stored: the status, or what an incoming
/// call hears — the queue's hold, else the account's inbound dial or message.
fn reply(
    kind: Reply,
    state: &AppState,
    req: &HttpRequest,
    org: &Org,
    accepted: &Accepted,
    queue: Option<(String, String)>,
    routing: Option<&crate::providers::credentials::Common>,
) -> HttpResponse {
    let target = routing.and_then(|c| c.inbound_dial.as_deref());
    let message = routing.and_then(|c| c.inbound_message.as_deref());
    match kind {
        Reply::Status => accepted_json(accepted),
        Reply::Twiml => {
            let twiml = match &queue {
                Some((_, name)) => {
                    twilio::enqueue_twiml(name, message.unwrap_or(DEFAULT_HOLD_MESSAGE))
                }
                None => twilio::answer_twiml(target, message.unwrap_or(DEFAULT_INBOUND_MESSAGE)),
            };
            HttpResponse::Ok()
                .content_type("text/xml; charset=utf-8")
                .body(twiml)
        }
        Reply::PlivoXml => {
            let plivo_xml = match &queue {
                Some(_) => plivo::hold_xml(Some(message.unwrap_or(DEFAULT_HOLD_MESSAGE)), 14_400),
                None => plivo_answer(state, req, org, accepted, target, message),
            };
            HttpResponse::Ok()
                .content_type("application/xml; charset=utf-8")
                .body(plivo_xml)
        }
    }
}

/// Whether the engine has the call of this webhook already (its live actor, else the database).
async fn known(state: &AppState, org: &Org, incoming: &CallWebhook) -> Result<bool, AppError> {
    let key = CallKey {
        org_id: org.id.clone(),
        provider: incoming.provider.as_str().to_owned(),
        provider_call_id: incoming.provider_call_id.clone(),
    };
    state.actors.calls.send(Known(key)).await?
}

/// The org's queue a starting caller waits in, by the number it called (`numbered_only`: no
/// queue for any number), with the queue's name.
async fn queue_for(
    state: &AppState,
    org: &Org,
    incoming: &CallWebhook,
    numbered_only: bool,
) -> Result<Option<(String, String)>, AppError> {
    let desk = desk_of(state, org).await?;
    let to = incoming.event.to.clone();
    Ok(desk.send(QueueFor { to, numbered_only }).await?)
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
        hold: Hold::Nowhere,
        pbx: None,
    };
    let ours = Some(CallId::from_stored(row.id));
    let accepted = accept(&state, &req, &org, &body, incoming, None, ours).await?;
    Ok(accepted_json(&accepted))
}

// ---------------------------------------------------------------------------------------------
// The PBX's extensions

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

/// A webhook nothing uses, kept in the inbox: it changes nothing.
async fn ignored(
    state: &AppState,
    req: &HttpRequest,
    org: &Org,
    body: &[u8],
    provider: Provider,
    kind: &str,
    dedupe_key: &str,
) -> Result<HttpResponse, AppError> {
    let inbox = inbox_row(req, org, provider, kind, dedupe_key, body, "ignored");
    let kept = inbox::keep(&state.engine, &org.id, inbox).await?;
    let (status, result) = match kept {
        true => ("ignored", "accepted"),
        false => ("duplicate", "duplicate"),
    };
    metrics::METRICS.webhook(provider.as_str(), result);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": status })))
}

/// A PBX extension's change (30007 / 30008 / 30009), stored with the raw webhook by the
/// extension's actor; answers the extension.
async fn extension_changed(
    state: &AppState,
    req: &HttpRequest,
    org: &Org,
    body: &[u8],
    provider: Provider,
    webhook: ExtensionWebhook,
) -> Result<HttpResponse, AppError> {
    let ExtensionWebhook {
        kind,
        dedupe_key,
        number,
        change,
    } = webhook;
    let inbox = inbox_row(req, org, provider, kind, &dedupe_key, body, "applied");
    let extensions = &state.actors.extensions;
    let ext = change_extension(extensions, &org.id, &number, change, Some(inbox)).await?;
    let now = chrono::Utc::now();
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "status": "accepted", "extension": ext.to_json(now) })))
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
