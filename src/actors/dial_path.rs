//! The one dial path (invariant 8), taken by every outbound dial — a REST call, a campaign's
//! contact, an extension dialing through the PBX: validate and check do-not-call once (a refusal
//! stores nothing), write the call, then ask the provider; the answer — the provider's id, or its
//! refusal — lands on the call. Every callback URL handed to a provider carries our call id (and
//! Twilio's and Plivo's retry fragment). The PBX's API cannot carry our id: the dial is left
//! pending, and the PBX's first call event for that extension and callee adopts the call.

use super::call::registry::{deliver, CallRef, CallRegistry, Create};
use super::call::{placement, ProviderEvent};
use super::extension::{change_extension, current_extension, ExtensionRegistry};
use crate::domain::call::{Authority, Call, CallEvent, CallStatus, Direction};
use crate::domain::extension::{ExtensionChange, Membership, Presence};
use crate::domain::ids::CallId;
use crate::domain::phone::{party, PhoneNumber};
use crate::engine::callback_urls::CallbackUrls;
use crate::engine::orgs::{Credentials, Org};
use crate::engine::{billing, calls, dnc, Engine};
use crate::error::{AppError, Code};
use crate::providers::outbound::{originate, OriginateError, OriginateRequest};
use crate::providers::yeastar::{DialError, YeastarApi};
use crate::providers::{twilio, Provider};
use actix::Addr;
use serde_json::{json, Value};
use std::sync::Arc;

/// Whose line a call is placed through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A voice provider's account (Twilio, Plivo, Exotel, Bolna).
    Provider(Provider),
    /// A PBX extension, through the PBX's API: the extension rings first, then the callee.
    Extension(String),
}

/// A call to place.
#[derive(Debug, Clone)]
pub struct Dial {
    pub via: Via,
    /// The callee as given: a phone number in any written form, or (from an extension) another
    /// extension's number.
    pub to: String,
    /// The caller id; the account's own number when None.
    pub from: Option<String>,
    pub campaign_id: Option<String>,
    pub contact_id: Option<String>,
    /// Ask the provider to record the call.
    pub record: bool,
    /// Ask the provider to detect an answering machine (Twilio `MachineDetection`, Plivo
    /// `machine_detection`).
    pub amd: bool,
    /// An agent takes the call once answered (progressive, predictive): the callee holds in
    /// silence until the desk connects an agent, instead of hearing the account's message.
    pub for_agent: bool,
    /// Not while the callee is on a live call with the org (a campaign's or a callback's dial:
    /// nobody is rung a second time while talking to the center): 409 `number_in_call`.
    pub not_while_in_call: bool,
}

/// What became of a dial: the call as stored, and the provider's refusal if it refused.
pub struct Dialed {
    pub call: Call,
    pub refused: Option<OriginateError>,
}

/// Places calls; cheap to clone.
#[derive(Clone)]
pub struct Dialer {
    engine: Arc<Engine>,
    calls: Addr<CallRegistry>,
    extensions: Addr<ExtensionRegistry>,
}

/// A dial that passed every check: what to write and whom to ask.
struct Checked {
    direction: Direction,
    /// The callee as the call stores it: E.164, or an extension's number.
    to: String,
    from: String,
    extensions: Vec<String>,
    line: Line,
}

/// Who is asked to place the call.
enum Line {
    Provider(Provider, Credentials, PhoneNumber),
    Pbx {
        api: YeastarApi,
        extension: String,
        callee: String,
    },
}

impl Dialer {
    pub fn new(
        engine: Arc<Engine>,
        calls: Addr<CallRegistry>,
        extensions: Addr<ExtensionRegistry>,
    ) -> Self {
        Dialer {
            engine,
            calls,
            extensions,
        }
    }

    /// Checks, writes the call, asks the provider, records the answer. A provider's refusal is
    /// recorded on the call (`failed`, its message as `hangup_cause`) and returned beside it; the
    /// PBX's refusal also frees the extension and is answered 502.
    pub async fn place(&self, org: &Org, dial: Dial) -> Result<Dialed, AppError> {
        let checked = self.check(org, &dial).await?;
        if dial.not_while_in_call
            && calls::number_in_live_call(&self.engine, &org.id, &checked.to).await?
        {
            return Err(AppError::new(
                Code::NumberInCall,
                "the number is on a live call with the org: dial it once that call ends",
            ));
        }
        billing::check_credits(&self.engine, &org.id).await?;
        let call_id = self.write(org, &dial, &checked).await?;
        let (event, kind, data, refused) = match &checked.line {
            Line::Provider(provider, credentials, to) => {
                let request =
                    self.request(org, credentials, &call_id, *provider, to, &dial, &checked);
                match originate(&self.engine.http, credentials, &request).await {
                    Ok(placed) => {
                        let event = CallEvent {
                            provider_call_id: placed.provider_call_id.clone(),
                            ..CallEvent::default()
                        };
                        (event, placement::PLACED, placed.answer, None)
                    }
                    Err(refusal) => {
                        tracing::warn!(call_id = %call_id, provider = provider.as_str(), error = %refusal, "provider did not place the call");
                        let data = json!({"error": refusal.to_string()});
                        (
                            refused_event(&refusal.to_string()),
                            placement::FAILED,
                            data,
                            Some(refusal),
                        )
                    }
                }
            }
            Line::Pbx {
                api,
                extension,
                callee,
            } => {
                let engine = &self.engine;
                engine
                    .pbx_dials
                    .expect(&org.id, extension, &checked.to, &call_id);
                let answer = api
                    .dial(
                        &engine.http,
                        &engine.pbx_sessions,
                        org.id.as_str(),
                        extension,
                        callee,
                    )
                    .await;
                engine.pbx_dials.settle(&call_id);
                match answer {
                    Ok(pbx_call_id) => {
                        let event = CallEvent {
                            provider_call_id: Some(pbx_call_id.clone()),
                            status: Some(CallStatus::Dialing),
                            ..CallEvent::default()
                        };
                        let data = json!({"extension": extension, "to": callee, "pbx_call_id": pbx_call_id});
                        (event, placement::DIALED, data, None)
                    }
                    Err(refusal) => {
                        tracing::warn!(call_id = %call_id, error = %refusal, "the PBX did not place the call");
                        let data = json!({"error": refusal.to_string()});
                        self.record(
                            org,
                            &call_id,
                            placement::FAILED,
                            refused_event(&refusal.to_string()),
                            data,
                        )
                        .await?;
                        let left = ExtensionChange::Left {
                            call_id: call_id.to_string(),
                        };
                        change_extension(&self.extensions, &org.id, extension, left, None).await?;
                        return Err(refusal.into());
                    }
                }
            }
        };
        // A placed call's answer that the engine failed to store (a database refusing writes
        // for a moment) is offered again, never reported as a dial that did not go out: the
        // campaign would dial the person a second time.
        let tries = if refused.is_none() {
            crate::engine::keep::TRIES
        } else {
            1
        };
        let every = crate::engine::keep::EVERY;
        crate::engine::keep::until_kept("a placed call's answer", tries, every, || {
            self.record(org, &call_id, kind, event.clone(), data.clone())
        })
        .await?;
        let call = calls::find(&self.engine, &org.id, call_id.as_str()).await?;
        Ok(Dialed { call, refused })
    }

    /// Everything that can refuse a dial before anything is stored: the callee, the line (an
    /// extension's presence, the account's credentials), and the do-not-call list.
    async fn check(&self, org: &Org, dial: &Dial) -> Result<Checked, AppError> {
        let raw = dial.to.trim();
        match &dial.via {
            Via::Provider(Provider::Yeastar) => Err(AppError::new(
                Code::InvalidProvider,
                "yeastar places calls from an extension: use /extensions/{number}/dial",
            )),
            Via::Provider(provider) => {
                let to = PhoneNumber::parse(raw, &org.default_country)
                    .map_err(|e| AppError::new(Code::InvalidPhone, e.to_string()))?;
                dnc::check(&self.engine, org, &to).await?;
                let credentials = self
                    .engine
                    .orgs
                    .required_credentials(&org.id, *provider)
                    .await?;
                if dial.from.is_none() && !credentials.dials_alone() {
                    return Err(flow_required());
                }
                let from = dial
                    .from
                    .clone()
                    .or_else(|| credentials.caller_id().map(str::to_owned))
                    .unwrap_or_default();
                Ok(Checked {
                    direction: Direction::Outbound,
                    to: to.e164().to_owned(),
                    from,
                    extensions: Vec::new(),
                    line: Line::Provider(*provider, credentials, to),
                })
            }
            Via::Extension(number) => {
                let ext = current_extension(&self.extensions, &org.id, number)
                    .await?
                    .ok_or(AppError::not_found("extension"))?;
                if ext.is_busy() {
                    return Err(AppError::new(
                        Code::ExtensionBusy,
                        format!(
                            "extension {} is {} right now",
                            ext.number,
                            ext.presence.as_str()
                        ),
                    ));
                }
                if ext.presence == Presence::Offline {
                    return Err(AppError::new(
                        Code::ExtensionOffline,
                        format!("extension {} is offline", ext.number),
                    ));
                }
                if raw.is_empty() {
                    return Err(AppError::new(Code::InvalidBody, "`to` is required"));
                }
                // A callee longer than an extension number that reads as a phone number is one.
                let phone = PhoneNumber::parse(raw, &org.default_country)
                    .ok()
                    .filter(|_| raw.len() > 6);
                if let Some(phone) = &phone {
                    dnc::check(&self.engine, org, phone).await?;
                }
                let credentials = self
                    .engine
                    .orgs
                    .credentials(&org.id, Provider::Yeastar)
                    .await?
                    .ok_or(DialError::NotConfigured)?;
                let api = YeastarApi::from_credentials(&credentials)?;
                Ok(Checked {
                    direction: if phone.is_some() {
                        Direction::Outbound
                    } else {
                        Direction::Internal
                    },
                    to: party(raw, &org.default_country),
                    from: ext.number.clone(),
                    extensions: vec![ext.number.clone()],
                    line: Line::Pbx {
                        api,
                        extension: ext.number,
                        callee: raw.to_owned(),
                    },
                })
            }
        }
    }

    /// Writes the call (`queued`) and makes its extension, if any, busy with it at once.
    async fn write(&self, org: &Org, dial: &Dial, checked: &Checked) -> Result<CallId, AppError> {
        let provider = match &checked.line {
            Line::Provider(provider, ..) => *provider,
            Line::Pbx { .. } => Provider::Yeastar,
        };
        let mut call = Call::new(
            CallId::generate(),
            org.id.clone(),
            provider.as_str(),
            None,
            checked.direction,
            chrono::Utc::now(),
        );
        call.campaign_id.clone_from(&dial.campaign_id);
        call.contact_id.clone_from(&dial.contact_id);
        let call_id = call.id.clone();
        self.calls.send(Create(call)).await?;
        let queued = CallEvent {
            authority: Authority::Engine,
            status: Some(CallStatus::Queued),
            from: Some(checked.from.clone()).filter(|f| !f.is_empty()),
            to: Some(checked.to.clone()),
            direction: Some(checked.direction),
            extensions: checked.extensions.clone(),
            ..CallEvent::default()
        };
        let data = json!({"to": dial.to.trim(), "from": checked.from});
        self.record(org, &call_id, "originate", queued, data)
            .await?;
        for number in &checked.extensions {
            let busy = ExtensionChange::Member {
                call_id: call_id.to_string(),
                membership: Membership::Busy,
            };
            change_extension(&self.extensions, &org.id, number, busy, None).await?;
        }
        Ok(call_id)
    }

    /// Applies one of the engine's own events to the call and waits for its commit.
    async fn record(
        &self,
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
            snapshot: false,
        };
        deliver(
            &self.calls,
            CallRef::Ours(org.id.clone(), call_id.clone()),
            event,
        )
        .await?;
        Ok(())
    }

    /// The provider request, with callback URLs that name the call.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        org: &Org,
        credentials: &Credentials,
        call_id: &CallId,
        provider: Provider,
        to: &PhoneNumber,
        dial: &Dial,
        checked: &Checked,
    ) -> OriginateRequest {
        let urls = CallbackUrls::new(&self.engine.public_url, provider, &org.id, call_id);
        // Plivo asks the answer URL what to do: it says whether to hold the call for an agent and
        // to record it (the URL is covered by Plivo's signature).
        let answer_flags = [(dial.for_agent, "&hold=1"), (dial.record, "&record=1")]
            .iter()
            .filter_map(|(on, flag)| on.then_some(*flag))
            .collect::<String>();
        let (status_url, ring_url, answer_url) = match provider {
            Provider::Plivo => (urls.hangup(), urls.ring(), urls.answer(&answer_flags)),
            Provider::Exotel => {
                let url = urls.signed_status(&org.callback_token(call_id.as_str()));
                (url, String::new(), String::new())
            }
            _ => (urls.status(), String::new(), String::new()),
        };
        let message = credentials
            .common
            .inbound_message
            .as_deref()
            .unwrap_or("Hello, this is a call from your service provider.");
        let twiml = if dial.for_agent {
            twilio::hold_twiml()
        } else {
            twilio::answer_twiml(credentials.common.inbound_dial.as_deref(), message)
        };
        let agent = dial.from.as_deref().map(|from| {
            PhoneNumber::parse(from, &org.default_country)
                .map_or_else(|_| from.to_owned(), |n| n.e164().to_owned())
        });
        OriginateRequest {
            call_id: call_id.to_string(),
            to: to.e164().to_owned(),
            from: checked.from.clone(),
            agent,
            status_url,
            ring_url,
            answer_url,
            recording_url: urls.recording(),
            twiml,
            record: dial.record,
            amd: dial.amd,
            user_data: json!({
                "call_id": call_id,
                "campaign_id": dial.campaign_id,
                "contact_id": dial.contact_id,
            }),
        }
    }
}

/// 400: Exotel connects a call to a flow, or two numbers; this dial gave neither.
pub fn flow_required() -> AppError {
    AppError::new(
        Code::FlowUrlRequired,
        "this Exotel account has no flow_url: give `from` (the number connected first) or set flow_url",
    )
}

/// The engine's record of a refusal: the call failed, with the provider's words as its cause.
fn refused_event(refusal: &str) -> CallEvent {
    CallEvent {
        status: Some(CallStatus::Failed),
        final_record: true,
        hangup_cause: Some(format!("provider_error: {refusal}")),
        ..CallEvent::default()
    }
}
