//! Placing calls through the providers' REST APIs (providers.md §1.1, §2.1, §3.1, §5.1). The call
//! already exists when this runs (invariant 8); every callback URL handed out carries its id.

use super::credentials::{Account, Credentials};
use super::Provider;
use crate::domain::call::CallEvent;
use base64::Engine as _;
use serde_json::{json, Value};

/// What the engine asks a provider to do.
#[derive(Debug, Clone)]
pub struct OriginateRequest {
    /// Our id of the call.
    pub call_id: String,
    /// E.164.
    pub to: String,
    pub from: String,
    /// The number the dial named as its `from` (E.164 where it reads as one): Exotel connects it
    /// first when the account has no flow.
    pub agent: Option<String>,
    /// Where the provider sends status callbacks (Twilio StatusCallback, Plivo hangup_url,
    /// Exotel StatusCallback), `?call=<id>` and the retry fragment included.
    pub status_url: String,
    /// Plivo ring_url.
    pub ring_url: String,
    /// Plivo answer_url (answers Plivo XML).
    pub answer_url: String,
    /// Where Twilio reports the recording of a recorded call.
    pub recording_url: String,
    /// TwiML spoken to the callee (Twilio, which takes it inline).
    pub twiml: String,
    /// Extra data for a voice bot (Bolna `user_data`).
    pub user_data: Value,
    /// Record the call (Twilio `Record`, Exotel `Record`; Plivo records from its answer XML).
    pub record: bool,
    /// Detect an answering machine (Twilio `MachineDetection=Enable`, its result as `AnsweredBy`
    /// on the answered callback; Plivo `machine_detection`, its result as `Machine`).
    pub amd: bool,
}

/// The provider accepted the call.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// The id its callbacks will carry, when the API answer says it (Plivo's does not).
    pub provider_call_id: Option<String>,
    /// The API's answer, for the timeline.
    pub answer: Value,
}

/// The provider did not take the call. Messages are the provider's own; credentials never appear.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OriginateError {
    #[error("{provider} refused the call ({status}): {message}")]
    Rejected {
        provider: &'static str,
        status: u16,
        message: String,
    },
    #[error("{provider} could not be reached: {message}")]
    Unreachable {
        provider: &'static str,
        message: String,
    },
    #[error("the {0} account lacks `{1}`")]
    Misconfigured(&'static str, &'static str),
}

impl OriginateError {
    /// The provider said the credentials are wrong: no later call of this account can succeed.
    pub fn credentials_rejected(&self) -> bool {
        matches!(
            self,
            Self::Rejected {
                status: 401 | 403,
                ..
            }
        )
    }
}

/// The provider's own words for a refusal, from the usual places in its JSON.
fn provider_message(answer: &Value, raw: &str) -> String {
    let found = ["message", "error", "detail", "errmsg"]
        .iter()
        .find_map(|k| answer.get(*k).and_then(Value::as_str).map(str::to_owned))
        .or_else(|| {
            answer
                .pointer("/RestException/Message")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    found.unwrap_or_else(|| raw.chars().take(200).collect())
}

/// Sends the request; a 2xx JSON answer is the provider's acceptance.
async fn send(
    provider: Provider,
    request: reqwest::RequestBuilder,
) -> Result<Value, OriginateError> {
    let answer = answer_of(provider, request).await;
    crate::metrics::METRICS.provider_api(provider.as_str(), answer.is_ok());
    answer
}

async fn answer_of(
    provider: Provider,
    request: reqwest::RequestBuilder,
) -> Result<Value, OriginateError> {
    let unreachable = |e: reqwest::Error| OriginateError::Unreachable {
        provider: provider.as_str(),
        message: super::unreachable_reason(e),
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let raw = response.text().await.map_err(unreachable)?;
    let answer: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        Ok(answer)
    } else {
        Err(OriginateError::Rejected {
            provider: provider.as_str(),
            status,
            message: provider_message(&answer, &raw),
        })
    }
}

/// An E.164 number as Exotel's connect API takes it: the country code and the digits, no `+`
/// (`919876543210`), as Exotel's docs prefer and the integrations this engine replaces sent.
pub fn exotel_number(e164: &str) -> String {
    e164.trim_start_matches('+').to_owned()
}

fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Places the call through the API of the account's provider.
pub async fn originate(
    http: &reqwest::Client,
    credentials: &Credentials,
    call: &OriginateRequest,
) -> Result<Placed, OriginateError> {
    let (provider, request, id_pointer) = match &credentials.account {
        Account::Twilio(account) => {
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Calls.json",
                credentials.api_base("https://api.twilio.com"),
                account.account_sid
            );
            let mut form = vec![
                ("To", call.to.clone()),
                ("From", call.from.clone()),
                ("Twiml", call.twiml.clone()),
                ("StatusCallback", call.status_url.clone()),
                ("StatusCallbackMethod", "POST".to_owned()),
            ];
            for event in ["initiated", "ringing", "answered", "completed"] {
                form.push(("StatusCallbackEvent", event.to_owned()));
            }
            if call.amd {
                form.push(("MachineDetection", "Enable".to_owned()));
            }
            if call.record {
                form.push(("Record", "true".to_owned()));
                form.push(("RecordingStatusCallback", call.recording_url.clone()));
            }
            let auth = basic(&account.account_sid, &account.auth_token);
            let request = http.post(url).header("Authorization", auth).form(&form);
            (Provider::Twilio, request, "/sid")
        }
        Account::Plivo(account) => {
            let url = format!(
                "{}/v1/Account/{}/Call/",
                credentials.api_base("https://api.plivo.com"),
                account.auth_id
            );
            let mut body = json!({
                "from": call.from.trim_start_matches('+'),
                "to": call.to.trim_start_matches('+'),
                "answer_url": call.answer_url, "answer_method": "POST",
                "ring_url": call.ring_url, "ring_method": "POST",
                "hangup_url": call.status_url, "hangup_method": "POST",
            });
            if call.amd {
                body["machine_detection"] = json!("true");
            }
            let auth = basic(&account.auth_id, &account.auth_token);
            let request = http.post(url).header("Authorization", auth).json(&body);
            // `request_uuid` is not the CallUUID the callbacks carry: they name the call by our id.
            (Provider::Plivo, request, "")
        }
        Account::Exotel(account) => {
            let url = format!(
                "{}/v1/Accounts/{}/Calls/connect.json",
                credentials.api_base("https://api.exotel.com"),
                account.account_sid
            );
            // To a flow: the customer is `From` and the flow takes the call. Without one, Exotel
            // connects two numbers: the agent (`From`, dialled first), then the customer (`To`).
            let mut form = match (&account.flow_url, &call.agent) {
                (Some(flow), _) => vec![("From", exotel_number(&call.to)), ("Url", flow.clone())],
                (None, Some(agent)) => vec![
                    ("From", exotel_number(agent)),
                    ("To", exotel_number(&call.to)),
                ],
                (None, None) => return Err(OriginateError::Misconfigured("exotel", "flow_url")),
            };
            form.extend([
                ("CallerId", account.caller_id.clone()),
                ("StatusCallback", call.status_url.clone()),
                ("StatusCallbackContentType", "application/json".to_owned()),
                ("StatusCallbackEvents[0]", "terminal".to_owned()),
                ("StatusCallbackEvents[1]", "answered".to_owned()),
                ("CustomField", call.call_id.clone()),
            ]);
            if call.record {
                form.push(("Record", "true".to_owned()));
            }
            let auth = basic(&account.api_key, &account.api_token);
            let request = http.post(url).header("Authorization", auth).form(&form);
            (Provider::Exotel, request, "/Call/Sid")
        }
        Account::Bolna(account) => {
            let mut body = json!({
                "agent_id": account.agent_id,
                "recipient_phone_number": call.to,
                "user_data": call.user_data,
            });
            if !call.from.is_empty() {
                body["from_phone_number"] = json!(call.from);
            }
            let url = format!("{}/call", credentials.api_base("https://api.bolna.ai"));
            let request = http.post(url).bearer_auth(&account.api_key).json(&body);
            (Provider::Bolna, request, "/execution_id")
        }
        Account::Yeastar(_) => {
            return Err(OriginateError::Misconfigured(
                "yeastar",
                "an extension (use /extensions/{number}/dial)",
            ))
        }
    };
    let answer = send(provider, request).await?;
    let provider_call_id = (!id_pointer.is_empty())
        .then(|| {
            answer
                .pointer(id_pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .flatten();
    Ok(Placed {
        provider_call_id,
        answer,
    })
}

/// A live call's resource in the provider's API, with the account's authorization: Twilio
/// `…/Calls/{CallSid}.json`, Plivo `…/Call/{CallUUID}/`; None for a provider whose API cannot
/// change a live call.
fn live_call(
    credentials: &Credentials,
    provider_call_id: &str,
) -> Option<(Provider, String, String)> {
    match &credentials.account {
        Account::Twilio(account) => Some((
            Provider::Twilio,
            format!(
                "{}/2010-04-01/Accounts/{}/Calls/{}.json",
                credentials.api_base("https://api.twilio.com"),
                account.account_sid,
                provider_call_id
            ),
            basic(&account.account_sid, &account.auth_token),
        )),
        Account::Plivo(account) => Some((
            Provider::Plivo,
            format!(
                "{}/v1/Account/{}/Call/{}/",
                credentials.api_base("https://api.plivo.com"),
                account.auth_id,
                provider_call_id
            ),
            basic(&account.auth_id, &account.auth_token),
        )),
        Account::Exotel(_) | Account::Bolna(_) | Account::Yeastar(_) => None,
    }
}

fn no_live_call_api() -> OriginateError {
    OriginateError::Misconfigured("this provider", "an API that changes a live call")
}

/// Moves a live call to new instructions (providers.md, "Moving a live call"): Twilio — the Calls
/// API update (`POST …/Calls/{CallSid}.json` with inline `Twiml`; a caller in `<Enqueue>` leaves
/// the queue for it); Plivo — the Transfer API (`POST …/Call/{CallUUID}/` with `legs=aleg` and
/// `aleg_url`, which answers the new XML). Other providers cannot move a call.
pub async fn redirect(
    http: &reqwest::Client,
    credentials: &Credentials,
    provider_call_id: &str,
    twiml: &str,
    plivo_url: &str,
) -> Result<Value, OriginateError> {
    let (provider, url, auth) =
        live_call(credentials, provider_call_id).ok_or_else(no_live_call_api)?;
    let request = http.post(url).header("Authorization", auth);
    let request = match provider {
        Provider::Plivo => {
            request.json(&json!({"legs": "aleg", "aleg_url": plivo_url, "aleg_method": "POST"}))
        }
        _ => request.form(&[("Twiml", twiml)]),
    };
    send(provider, request).await
}

/// Hangs up a live call (a machine the campaign's rule hangs up on): Twilio's Calls API update
/// with `Status=completed`, Plivo's `DELETE …/Call/{CallUUID}/`.
pub async fn hang_up(
    http: &reqwest::Client,
    credentials: &Credentials,
    provider_call_id: &str,
) -> Result<Value, OriginateError> {
    let (provider, url, auth) =
        live_call(credentials, provider_call_id).ok_or_else(no_live_call_api)?;
    let request = match provider {
        Provider::Plivo => http.delete(url),
        _ => http.post(url).form(&[("Status", "completed")]),
    };
    send(provider, request.header("Authorization", auth)).await
}

/// A call's record from the provider's call-details API (Twilio, Exotel, Bolna): the provider and
/// the request; None for a provider without one (Plivo keeps no record of a live call).
fn call_details(
    http: &reqwest::Client,
    credentials: &Credentials,
    provider_call_id: &str,
) -> Option<(Provider, reqwest::RequestBuilder)> {
    let (provider, request) = match &credentials.account {
        Account::Twilio(account) => {
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Calls/{provider_call_id}.json",
                credentials.api_base("https://api.twilio.com"),
                account.account_sid
            );
            let auth = basic(&account.account_sid, &account.auth_token);
            (
                Provider::Twilio,
                http.get(url).header("Authorization", auth),
            )
        }
        Account::Exotel(account) => {
            let url = format!(
                "{}/v1/Accounts/{}/Calls/{provider_call_id}.json",
                credentials.api_base("https://api.exotel.com"),
                account.account_sid
            );
            let auth = basic(&account.api_key, &account.api_token);
            (
                Provider::Exotel,
                http.get(url).header("Authorization", auth),
            )
        }
        Account::Bolna(account) => {
            let url = format!(
                "{}/executions/{provider_call_id}",
                credentials.api_base("https://api.bolna.ai")
            );
            (Provider::Bolna, http.get(url).bearer_auth(&account.api_key))
        }
        Account::Plivo(_) | Account::Yeastar(_) => return None,
    };
    Some((provider, request.timeout(std::time::Duration::from_secs(5))))
}

/// Asks the provider's call-details API how a call it placed stands (Twilio, Exotel, Bolna; Plivo
/// keeps no such record of a live call): its canonical status and, where the provider writes it
/// there (Twilio), the final record of a call that is over. None when the provider has no such
/// API or the word is not known.
pub async fn poll_call(
    http: &reqwest::Client,
    credentials: &Credentials,
    provider_call_id: &str,
) -> Result<Option<CallEvent>, OriginateError> {
    let Some((provider, request)) = call_details(http, credentials, provider_call_id) else {
        return Ok(None);
    };
    let answer = send(provider, request).await?;
    if provider == Provider::Twilio {
        return Ok(super::twilio::call_resource_event(&answer));
    }
    let pointer = match provider {
        Provider::Exotel => "/Call/Status",
        _ => "/status",
    };
    let word = answer
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default();
    let status = match provider {
        Provider::Bolna => super::bolna::map_status(word),
        Provider::Exotel => super::exotel::map_status(word),
        _ => super::field_status(word),
    };
    Ok(status.map(|status| CallEvent {
        status: Some(status),
        ..CallEvent::default()
    }))
}

/// A price as a provider's call API reports it: the amount (what the call cost, at least 0) and
/// its currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedPrice {
    pub amount: String,
    pub currency: String,
}

/// Asks the provider's call-details API what a finished call cost (Twilio `price`/`price_unit`,
/// Exotel `Call.Price`, in the account's currency, INR unless it says). None while the provider
/// has not priced the call yet, or for a provider with no such field.
pub async fn fetch_price(
    http: &reqwest::Client,
    credentials: &Credentials,
    provider_call_id: &str,
) -> Result<Option<ReportedPrice>, OriginateError> {
    let (amount, unit, default_unit) = match &credentials.account {
        Account::Twilio(_) => ("/price", "/price_unit", "USD"),
        Account::Exotel(_) => ("/Call/Price", "/Call/PriceUnit", "INR"),
        _ => return Ok(None),
    };
    let Some((provider, request)) = call_details(http, credentials, provider_call_id) else {
        return Ok(None);
    };
    let answer = send(provider, request).await?;
    let text = |pointer: &str| match answer.pointer(pointer) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    // Twilio writes a charge as a negative amount: the call cost its magnitude.
    Ok(text(amount).map(|amount| ReportedPrice {
        amount: amount.trim_start_matches('-').to_owned(),
        currency: text(unit).unwrap_or_else(|| default_unit.to_owned()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exotel_gets_the_country_code_without_a_plus() {
        assert_eq!(exotel_number("+919876543210"), "919876543210");
        assert_eq!(exotel_number("+14155550123"), "14155550123");
    }

    #[test]
    fn refusals_carry_the_providers_words() {
        assert_eq!(
            provider_message(&json!({"message": "Authenticate", "code": 20003}), ""),
            "Authenticate"
        );
        assert_eq!(
            provider_message(
                &json!({"RestException": {"Message": "Invalid CallerId"}}),
                ""
            ),
            "Invalid CallerId"
        );
        assert_eq!(provider_message(&Value::Null, "plain text"), "plain text");
        let rejected = OriginateError::Rejected {
            provider: "twilio",
            status: 401,
            message: "Authenticate".into(),
        };
        assert!(rejected.credentials_rejected());
        assert_eq!(
            rejected.to_string(),
            "twilio refused the call (401): Authenticate"
        );
    }
}
