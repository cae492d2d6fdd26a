//! The one trait every provider callback implements — how it is authenticated, how its signature
//! is checked, how it is read into the call model (with its dedupe key) and how it is answered —
//! so the HTTP layer has one webhook path for all of them.

use super::bolna::BolnaExecution;
use super::exotel::ExotelStatus;
use super::plivo::{self, Callback, PlivoCallback};
use super::{body_fields, field, form_pairs, twilio, ParseError, Provider};
use crate::domain::call::{CallEvent, CallStatus, Direction};
use crate::domain::phone::party;
use serde_json::Value;

/// A webhook as it arrived, in the terms providers sign and read it (no web framework types).
pub struct WebhookRequest<'a> {
    /// Fields in the query (GET) rather than the body.
    pub get: bool,
    /// The URL the provider called, as it signed it: the public base + path + query.
    pub url: &'a str,
    pub query: &'a str,
    /// Header names lower-case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl WebhookRequest<'_> {
    /// A header's value; empty when absent.
    pub fn header(&self, name: &str) -> &str {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The form fields of a form webhook: the query of a GET, the body of a POST.
    pub fn form(&self) -> Vec<(String, String)> {
        if self.get {
            form_pairs(self.query.as_bytes())
        } else {
            form_pairs(self.body)
        }
    }

    /// What a POST form's signature covers (a GET signs the URL alone).
    fn signed_fields(&self) -> Vec<(String, String)> {
        if self.get {
            Vec::new()
        } else {
            form_pairs(self.body)
        }
    }

    /// The body as fields, read by its content type (JSON, urlencoded or multipart).
    fn fields(&self) -> Result<serde_json::Map<String, Value>, ParseError> {
        body_fields(self.header("content-type"), self.body)
    }
}

/// How a provider proves a webhook is its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// A signature under the account's secret ([`Webhook::verify`]).
    Signature,
    /// The org's webhook token (or a placed call's callback token), checked by the engine.
    WebhookToken,
}

/// What the provider expects back once the event is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// `{"status": "accepted" | "duplicate", "call_id"}`.
    Status,
    /// TwiML that connects the caller (Twilio's voice URL).
    Twiml,
    /// Plivo XML that connects the caller (Plivo's answer URL).
    PlivoXml,
}

/// A provider's event for one call, normalized: what the engine hands to the call's actor.
#[derive(Debug, Clone)]
pub struct CallWebhook {
    pub provider: Provider,
    /// What kind of webhook it was, e.g. `twilio.status`.
    pub kind: &'static str,
    pub provider_call_id: String,
    /// Invariant 3's key: the same key twice is the same event.
    pub dedupe_key: String,
    /// The direction of a call not seen before.
    pub direction: Direction,
    pub event: CallEvent,
    /// The provider's own status word.
    pub raw_status: Option<String>,
    /// The webhook's fields, for the timeline.
    pub data: Value,
    /// An incoming call is starting: the engine adds the caller's contact and screen pop.
    pub inbound_start: bool,
}

/// One kind of provider callback.
pub trait Webhook {
    fn provider(&self) -> Provider;

    /// How the callback is authenticated.
    fn auth(&self) -> Auth;

    /// Whether a [`Auth::Signature`] callback is signed with `secret`.
    fn verify(&self, _secret: &str, _request: &WebhookRequest) -> bool {
        false
    }

    /// Reads the callback into the call model; numbers in national form are read in
    /// `default_country`.
    fn parse(
        &self,
        request: &WebhookRequest,
        default_country: &str,
    ) -> Result<CallWebhook, ParseError>;

    /// How the callback is answered.
    fn reply(&self) -> Reply {
        Reply::Status
    }
}

fn pairs_json(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect(),
    )
}

/// Twilio's status callback (`/webhooks/twilio/{org}/status`).
pub struct TwilioStatus;

/// Twilio's incoming-call webhook (`/webhooks/twilio/{org}/voice`), answered with TwiML.
pub struct TwilioVoice;

fn twilio_verify(secret: &str, request: &WebhookRequest) -> bool {
    twilio::verify(
        secret,
        request.url,
        &request.signed_fields(),
        request.header("X-Twilio-Signature"),
    )
}

impl Webhook for TwilioStatus {
    fn provider(&self) -> Provider {
        Provider::Twilio
    }

    fn auth(&self) -> Auth {
        Auth::Signature
    }

    fn verify(&self, secret: &str, request: &WebhookRequest) -> bool {
        twilio_verify(secret, request)
    }

    fn parse(&self, request: &WebhookRequest, country: &str) -> Result<CallWebhook, ParseError> {
        let pairs = request.form();
        let callback = twilio::StatusCallback::parse(&pairs)?;
        let mut event = callback.to_event();
        // Twilio posts a status callback as the status changes; one without `Timestamp` (the
        // field is optional) is dated when it arrives, so an answered and ended call has its times.
        event.occurred_at = event.occurred_at.or_else(|| Some(chrono::Utc::now()));
        event.from = event.from.map(|n| party(&n, country));
        event.to = event.to.map(|n| party(&n, country));
        Ok(CallWebhook {
            provider: Provider::Twilio,
            kind: "twilio.status",
            provider_call_id: callback.call_sid.clone(),
            dedupe_key: callback.dedupe_key(),
            direction: callback.direction.unwrap_or(Direction::Outbound),
            event,
            raw_status: Some(callback.call_status.clone()),
            data: pairs_json(&pairs),
            inbound_start: false,
        })
    }
}

impl Webhook for TwilioVoice {
    fn provider(&self) -> Provider {
        Provider::Twilio
    }

    fn auth(&self) -> Auth {
        Auth::Signature
    }

    fn verify(&self, secret: &str, request: &WebhookRequest) -> bool {
        twilio_verify(secret, request)
    }

    fn parse(&self, request: &WebhookRequest, country: &str) -> Result<CallWebhook, ParseError> {
        let pairs = request.form();
        let call_sid = field(&pairs, "CallSid")
            .ok_or(ParseError::Missing("CallSid"))?
            .to_owned();
        let event = CallEvent {
            status: Some(CallStatus::Ringing),
            direction: Some(Direction::Inbound),
            from: field(&pairs, "From").map(|n| party(n, country)),
            to: field(&pairs, "To").map(|n| party(n, country)),
            ..CallEvent::default()
        };
        Ok(CallWebhook {
            provider: Provider::Twilio,
            kind: "twilio.voice",
            dedupe_key: format!("{call_sid}:voice"),
            provider_call_id: call_sid,
            direction: Direction::Inbound,
            event,
            raw_status: field(&pairs, "CallStatus").map(str::to_owned),
            data: pairs_json(&pairs),
            inbound_start: true,
        })
    }

    fn reply(&self) -> Reply {
        Reply::Twiml
    }
}

/// A recording's callback (`/webhooks/{twilio|plivo}/{org}/recording?call=<id>`): Twilio's
/// `RecordingStatusCallback` (`CallSid`, `RecordingSid`, `RecordingStatus`, `RecordingUrl`) or
/// Plivo's `<Record callbackUrl>` (`CallUUID`, `RecordingID`, `RecordUrl`), signed as each signs
/// its callbacks. A finished recording's URL goes on the call; nothing else changes.
pub struct RecordingCallback(pub Provider);

impl Webhook for RecordingCallback {
    fn provider(&self) -> Provider {
        self.0
    }

    fn auth(&self) -> Auth {
        Auth::Signature
    }

    fn verify(&self, secret: &str, request: &WebhookRequest) -> bool {
        match self.0 {
            Provider::Plivo => Callback::Answer.verify(secret, request),
            _ => twilio_verify(secret, request),
        }
    }

    fn parse(&self, request: &WebhookRequest, _: &str) -> Result<CallWebhook, ParseError> {
        let pairs = request.form();
        let (call_field, id_field, url_field) = match self.0 {
            Provider::Plivo => ("CallUUID", "RecordingID", "RecordUrl"),
            _ => ("CallSid", "RecordingSid", "RecordingUrl"),
        };
        let call = field(&pairs, call_field).ok_or(ParseError::Missing(call_field))?;
        let recording = field(&pairs, id_field).unwrap_or_default();
        // Twilio reports `in-progress` and `absent` too; Plivo calls back once it is done.
        let status = field(&pairs, "RecordingStatus").unwrap_or("completed");
        let event = CallEvent {
            recording_url: field(&pairs, url_field)
                .filter(|_| status == "completed")
                .map(str::to_owned),
            ..CallEvent::default()
        };
        Ok(CallWebhook {
            provider: self.0,
            kind: match self.0 {
                Provider::Plivo => "plivo.recording",
                _ => "twilio.recording",
            },
            dedupe_key: format!("{call}:recording:{recording}:{status}"),
            provider_call_id: call.to_owned(),
            direction: Direction::Inbound,
            event,
            raw_status: None,
            data: pairs_json(&pairs),
            inbound_start: false,
        })
    }
}

/// Plivo's ring, hangup and answer callbacks; the answer is answered with Plivo XML.
impl Webhook for Callback {
    fn provider(&self) -> Provider {
        Provider::Plivo
    }

    fn auth(&self) -> Auth {
        Auth::Signature
    }

    fn verify(&self, secret: &str, request: &WebhookRequest) -> bool {
        plivo::verify_v3(
            secret,
            request.get,
            request.url,
            &request.signed_fields(),
            request.header("X-Plivo-Signature-V3-Nonce"),
            request.header("X-Plivo-Signature-V3"),
        )
    }

    fn parse(&self, request: &WebhookRequest, country: &str) -> Result<CallWebhook, ParseError> {
        let fields = request.form();
        let parsed = PlivoCallback::parse(*self, &fields)?;
        let mut event = parsed.to_event(country);
        if *self == Callback::Ring {
            // Plivo posts ring_url as the call rings (with no time of its own): it dates the ring.
            event.occurred_at = event.occurred_at.or_else(|| Some(chrono::Utc::now()));
        }
        let inbound_start =
            *self == Callback::Answer && parsed.direction == Some(Direction::Inbound);
        if inbound_start {
            event.status = Some(CallStatus::Ringing);
        }
        Ok(CallWebhook {
            provider: Provider::Plivo,
            kind: self.kind(),
            provider_call_id: parsed.call_uuid.clone(),
            dedupe_key: parsed.dedupe_key(),
            direction: parsed.direction.unwrap_or(Direction::Outbound),
            event,
            raw_status: Some(parsed.call_status.clone()),
            data: pairs_json(&fields),
            inbound_start,
        })
    }

    fn reply(&self) -> Reply {
        if *self == Callback::Answer {
            Reply::PlivoXml
        } else {
            Reply::Status
        }
    }
}

/// Exotel's StatusCallback (JSON, urlencoded or multipart).
pub struct ExotelStatusCallback;

impl Webhook for ExotelStatusCallback {
    fn provider(&self) -> Provider {
        Provider::Exotel
    }

    fn auth(&self) -> Auth {
        Auth::WebhookToken
    }

    fn parse(&self, request: &WebhookRequest, country: &str) -> Result<CallWebhook, ParseError> {
        let fields = request.fields()?;
        let status = ExotelStatus::parse(&fields)?;
        let event = status.to_event(country);
        // An inbound call still on the line: its caller pops up on the agents' screens.
        let inbound_start = status.direction == Some(Direction::Inbound)
            && event.status.is_some_and(CallStatus::is_live);
        Ok(CallWebhook {
            provider: Provider::Exotel,
            kind: "exotel.status",
            provider_call_id: status.call_sid.clone(),
            dedupe_key: status.dedupe_key(),
            direction: status.direction.unwrap_or(Direction::Outbound),
            event,
            raw_status: status.status.clone().or(Some(status.event_type.clone())),
            data: Value::Object(fields),
            inbound_start,
        })
    }
}

/// Bolna's execution webhook (JSON snapshots of the execution).
pub struct BolnaExecutionWebhook;

impl Webhook for BolnaExecutionWebhook {
    fn provider(&self) -> Provider {
        Provider::Bolna
    }

    fn auth(&self) -> Auth {
        Auth::WebhookToken
    }

    fn parse(&self, request: &WebhookRequest, country: &str) -> Result<CallWebhook, ParseError> {
        let fields = request.fields()?;
        let execution = BolnaExecution::parse(&fields)?;
        Ok(CallWebhook {
            provider: Provider::Bolna,
            kind: "bolna.execution",
            provider_call_id: execution.id.clone(),
            dedupe_key: execution.dedupe_key(),
            direction: execution.direction.unwrap_or(Direction::Outbound),
            event: execution.to_event(country),
            raw_status: Some(execution.status.clone()),
            data: Value::Object(fields),
            inbound_start: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(
        headers: &'a [(String, String)],
        body: &'a [u8],
        url: &'a str,
    ) -> WebhookRequest<'a> {
        WebhookRequest {
            get: false,
            url,
            query: "",
            headers,
            body,
        }
    }

    #[test]
    fn twilio_status_is_signed_over_url_and_form_and_normalized() {
        let url = "https://sb.example/webhooks/twilio/o/status";
        let body = b"CallSid=CA1&CallStatus=ringing&SequenceNumber=1&From=09876543210&To=%2B14155550100&Direction=outbound-api";
        let pairs = form_pairs(body);
        let signature = twilio::signature("secret", url, &pairs);
        let headers = [("x-twilio-signature".to_owned(), signature)];
        let req = request(&headers, body, url);
        assert!(TwilioStatus.verify("secret", &req));
        assert!(!TwilioStatus.verify("other", &req));
        let parsed = TwilioStatus.parse(&req, "IN").unwrap();
        assert_eq!(parsed.provider_call_id, "CA1");
        assert_eq!(parsed.event.status, Some(CallStatus::Ringing));
        assert_eq!(parsed.event.from.as_deref(), Some("+919876543210"));
        assert_eq!(TwilioStatus.reply(), Reply::Status);
        assert_eq!(TwilioVoice.reply(), Reply::Twiml);
        assert_eq!(Callback::Answer.reply(), Reply::PlivoXml);
        assert!(!parsed.inbound_start);
    }

    #[test]
    fn token_providers_read_json_and_forms_alike() {
        let json = br#"{"CallSid":"x1","EventType":"terminal","Status":"completed","ConversationDuration":30,"Direction":"outbound-api"}"#;
        let headers = [("content-type".to_owned(), "application/json".to_owned())];
        let parsed = ExotelStatusCallback
            .parse(&request(&headers, json, ""), "IN")
            .unwrap();
        assert_eq!(parsed.kind, "exotel.status");
        assert_eq!(parsed.event.status, Some(CallStatus::Completed));
        assert_eq!(ExotelStatusCallback.auth(), Auth::WebhookToken);
        let form = b"CallSid=x1&EventType=terminal&Status=busy";
        let headers = [(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        let parsed = ExotelStatusCallback
            .parse(&request(&headers, form, ""), "IN")
            .unwrap();
        assert_eq!(parsed.event.status, Some(CallStatus::Busy));
        assert!(BolnaExecutionWebhook
            .parse(&request(&headers, b"", ""), "IN")
            .is_err());
    }
}
