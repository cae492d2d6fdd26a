//! The one trait every provider callback implements — how it is authenticated, how its signature
//! is checked, how it is read into the call model (with its dedupe key) and how it is answered —
//! so the HTTP layer has one webhook path for all of them.

use super::credentials::Account;
use super::{body_fields, field, form_pairs, ParseError, Provider};
use crate::domain::call::{CallEvent, Direction};
use crate::domain::extension::{ExtensionChange, Membership};
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
    pub(super) fn signed_fields(&self) -> Vec<(String, String)> {
        if self.get {
            Vec::new()
        } else {
            form_pairs(self.body)
        }
    }

    /// The body as fields, read by its content type (JSON, urlencoded or multipart).
    pub(super) fn fields(&self) -> Result<serde_json::Map<String, Value>, ParseError> {
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
    /// An incoming call is starting: the engine adds the caller's contact and screen pop (for a
    /// PBX snapshot, which the PBX repeats, when it is its call's first).
    pub inbound_start: bool,
    /// Where a starting caller may wait for an agent.
    pub hold: Hold,
    /// What the PBX adds: the extensions in the call; None for a provider's call.
    pub pbx: Option<PbxCall>,
}

/// Where a caller starting an incoming call may wait for one of the desk's agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Nowhere: the provider cannot move a live call.
    Nowhere,
    /// In the queue of the number it called, else the org's queue for any number; the webhook's
    /// answer holds it (TwiML, Plivo XML).
    AnyQueue,
    /// Only in a queue of the number it called (the PBX's IVR or queue holds it meanwhile); the
    /// caller's PBX channel, what the transfer to the agent moves.
    NumberedQueue { channel: String },
}

impl Hold {
    /// Whether a caller may wait only in a queue of the number it called (None: in no queue).
    pub fn numbered_only(&self) -> Option<bool> {
        match self {
            Hold::Nowhere => None,
            Hold::AnyQueue => Some(false),
            Hold::NumberedQueue { .. } => Some(true),
        }
    }
}

/// What a PBX event adds to its call's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxCall {
    /// The extensions the event names and each one's part in the call (None: it left).
    pub members: Vec<(String, Option<Membership>)>,
    /// A snapshot of the call's members (the PBX pushes one per change, so an incoming call
    /// starts with the first of its call's only); a call the engine dialed through the PBX's API
    /// may be named by it before the API answers.
    pub snapshot: bool,
}

/// What a webhook says, read.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// An event of one call.
    Call(Box<CallWebhook>),
    /// A change of one PBX extension, outside any call's event.
    Extension(ExtensionWebhook),
    /// An event nothing uses: kept in the inbox, it changes nothing.
    Ignored { kind: String, dedupe_key: String },
}

impl Incoming {
    /// A call's event.
    pub fn of(call: CallWebhook) -> Self {
        Incoming::Call(Box::new(call))
    }

    /// The call's event, if it is one.
    pub fn call(self) -> Option<CallWebhook> {
        match self {
            Incoming::Call(call) => Some(*call),
            _ => None,
        }
    }
}

/// A PBX event that changes one extension (its registration, do-not-disturb, or a word on its
/// calls that the call snapshots tell better).
#[derive(Debug, Clone)]
pub struct ExtensionWebhook {
    pub kind: &'static str,
    pub dedupe_key: String,
    pub number: String,
    pub change: ExtensionChange,
}

/// What a webhook is read with: the org's country (numbers in national form are read in it)
/// and the account's settings (a PBX's clock offset).
#[derive(Clone, Copy)]
pub struct Reading<'a> {
    pub default_country: &'a str,
    pub account: Option<&'a Account>,
}

impl<'a> Reading<'a> {
    /// Numbers read in `default_country`, with no account.
    pub fn in_country(default_country: &'a str) -> Self {
        Reading {
            default_country,
            account: None,
        }
    }
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

    /// Reads the callback into the call model (see [`Reading`]).
    fn parse(&self, request: &WebhookRequest, reading: &Reading) -> Result<Incoming, ParseError>;

    /// How the callback is answered.
    fn reply(&self) -> Reply {
        Reply::Status
    }

    /// Whether its sender never sends again what the engine refused (a PBX): the engine then
    /// looks for what it missed at the sender.
    fn pushes_once(&self) -> bool {
        false
    }
}

/// A form's fields as a JSON object, for the timeline.
pub(super) fn pairs_json(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect(),
    )
}

/// A recording's callback (`/webhooks/{twilio|plivo}/{org}/recording?call=<id>`), read by its
/// provider's field names: a finished recording's URL goes on the call; nothing else changes.
/// Twilio reports `in-progress` and `absent` too (`RecordingStatus`); Plivo calls back once done.
pub(super) fn recording_webhook(
    provider: Provider,
    pairs: &[(String, String)],
    (call_field, id_field, url_field): (&'static str, &'static str, &'static str),
    kind: &'static str,
) -> Result<CallWebhook, ParseError> {
    let call = field(pairs, call_field).ok_or(ParseError::Missing(call_field))?;
    let recording = field(pairs, id_field).unwrap_or_default();
    let status = field(pairs, "RecordingStatus").unwrap_or("completed");
    let event = CallEvent {
        recording_url: field(pairs, url_field)
            .filter(|_| status == "completed")
            .map(str::to_owned),
        ..CallEvent::default()
    };
    Ok(CallWebhook {
        provider,
        kind,
        dedupe_key: format!("{call}:recording:{recording}:{status}"),
        provider_call_id: call.to_owned(),
        direction: Direction::Inbound,
        event,
        raw_status: None,
        data: pairs_json(pairs),
        inbound_start: false,
        hold: Hold::Nowhere,
        pbx: None,
    })
}

#[cfg(test)]
impl<'a> WebhookRequest<'a> {
    /// A POST as a provider sends it, for the providers' tests.
    pub fn posted(headers: &'a [(String, String)], body: &'a [u8], url: &'a str) -> Self {
        Self {
            get: false,
            url,
            query: "",
            headers,
            body,
        }
    }
}
