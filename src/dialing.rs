//! Placing an outbound call through a provider (invariant 8): the call is written (`queued`)
//! before the provider's API is asked, every callback URL carries its id (and Twilio's and Plivo's
//! retry fragment), and the API's answer — the provider's id, or its refusal — lands on the call.

use crate::actors::call::ProviderEvent;
use crate::actors::registry::{deliver, CallRef, Create};
use crate::domain::call::{Authority, Call, CallEvent, CallStatus, Direction};
use crate::domain::ids::CallId;
use crate::domain::phone::PhoneNumber;
use crate::error::AppError;
use crate::http::AppState;
use crate::orgs::{Credentials, Org};
use crate::providers::outbound::{originate, OriginateError, OriginateRequest};
use crate::providers::{twilio, Provider};
use serde_json::{json, Value};

/// Twilio and Plivo retry only connection failures unless told: this asks them to retry a 5xx too.
pub const RETRY_FRAGMENT: &str = "#rc=3&rp=ct,rt,5xx";

/// A call to place.
#[derive(Debug, Clone)]
pub struct Dial {
    pub provider: Provider,
    pub to: PhoneNumber,
    /// The caller id; the account's own number when None.
    pub from: Option<String>,
    pub campaign_id: Option<String>,
    pub contact_id: Option<String>,
}

/// What became of a dial: the call as stored, and the provider's refusal if it refused.
pub struct Dialed {
    pub call: Call,
    pub refused: Option<OriginateError>,
}

fn credential(credentials: &Credentials, name: &str) -> Option<String> {
    credentials
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Writes the call, asks the provider, records the answer. A refusal is recorded on the call
/// (`failed`, the provider's message as `hangup_cause`) and returned beside it.
pub async fn place(state: &AppState, org: &Org, dial: Dial) -> Result<Dialed, AppError> {
    let credentials = state
        .orgs
        .credentials(&org.id, dial.provider)
        .await?
        .ok_or_else(|| AppError::Conflict {
            code: "provider_not_configured",
            message: format!("set the org's {} credentials first", dial.provider.as_str()),
        })?;
    let from = dial
        .from
        .clone()
        .or_else(|| credential(&credentials, "from_number"))
        .or_else(|| credential(&credentials, "caller_id"))
        .unwrap_or_default();
    let mut call = Call::new(
        CallId::generate(),
        org.id.clone(),
        dial.provider.as_str(),
        None,
        Direction::Outbound,
        chrono::Utc::now(),
    );
    call.campaign_id.clone_from(&dial.campaign_id);
    call.contact_id.clone_from(&dial.contact_id);
    let call_id = call.id.clone();
    state.registry.send(Create(call)).await?;
    let queued = CallEvent {
        authority: Authority::Engine,
        status: Some(CallStatus::Queued),
        from: Some(from.clone()).filter(|f| !f.is_empty()),
        to: Some(dial.to.e164().to_owned()),
        direction: Some(Direction::Outbound),
        ..CallEvent::default()
    };
    record(
        state,
        org,
        &call_id,
        "originate",
        queued,
        json!({"to": dial.to.raw(), "from": from}),
    )
    .await?;

    let request = request(state, org, &credentials, &call_id, &dial, &from);
    let (event, kind, data, refused) = match originate(
        dial.provider,
        &state.http,
        &credentials,
        &request,
    )
    .await
    {
        Ok(placed) => {
            let event = CallEvent {
                provider_call_id: placed.provider_call_id.clone(),
                ..CallEvent::default()
            };
            (event, "placed", placed.answer, None)
        }
        Err(refusal) => {
            tracing::warn!(call_id = %call_id, provider = dial.provider.as_str(), error = %refusal, "provider did not place the call");
            let event = CallEvent {
                status: Some(CallStatus::Failed),
                final_record: true,
                hangup_cause: Some(format!("provider_error: {refusal}")),
                ..CallEvent::default()
            };
            (
                event,
                "place_failed",
                json!({"error": refusal.to_string()}),
                Some(refusal),
            )
        }
    };
    record(state, org, &call_id, kind, event, data).await?;
    let call = crate::http::calls::find_call(state, &org.id, call_id.as_str()).await?;
    Ok(Dialed { call, refused })
}

/// Applies one of the engine's own events to the call and waits for its commit.
async fn record(
    state: &AppState,
    org: &Org,
    call_id: &CallId,
    kind: &'static str,
    event: CallEvent,
    data: Value,
) -> Result<(), AppError> {
    let event = ProviderEvent {
        event,
        dedupe_key: format!("{kind}:{call_id}"),
        inbox: None,
        kind,
        raw_status: None,
        data,
        screen_pop: None,
    };
    deliver(
        &state.registry,
        CallRef::Ours(org.id.clone(), call_id.clone()),
        event,
    )
    .await?;
    Ok(())
}

/// The provider request, with callback URLs that name the call.
fn request(
    state: &AppState,
    org: &Org,
    credentials: &Credentials,
    call_id: &CallId,
    dial: &Dial,
    from: &str,
) -> OriginateRequest {
    let base = format!(
        "{}/webhooks/{}/{}",
        state.public_url,
        dial.provider.as_str(),
        org.id
    );
    let named = format!("?call={call_id}");
    let (status_url, ring_url, answer_url) = match dial.provider {
        Provider::Plivo => (
            format!("{base}/hangup{named}{RETRY_FRAGMENT}"),
            format!("{base}/ring{named}{RETRY_FRAGMENT}"),
            format!("{base}/answer{named}{RETRY_FRAGMENT}"),
        ),
        Provider::Exotel => {
            let url = format!(
                "{base}/status{named}&sig={}",
                org.callback_token(call_id.as_str())
            );
            (url, String::new(), String::new())
        }
        _ => (
            format!("{base}/status{named}{RETRY_FRAGMENT}"),
            String::new(),
            String::new(),
        ),
    };
    let (target, message) = (
        credential(credentials, "inbound_dial"),
        credential(credentials, "inbound_message")
            .unwrap_or_else(|| "Hello, this is a call from your service provider.".into()),
    );
    let twiml = twilio::answer_twiml(target.as_deref(), &message);
    OriginateRequest {
        call_id: call_id.to_string(),
        to: dial.to.e164().to_owned(),
        from: from.to_owned(),
        status_url,
        ring_url,
        answer_url,
        twiml,
        user_data: json!({
            "call_id": call_id,
            "campaign_id": dial.campaign_id,
            "contact_id": dial.contact_id,
        }),
    }
}
