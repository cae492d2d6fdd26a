//! Property tests over every webhook parser (proptest): whatever bytes, content types, field names
//! and values arrive — truncated, invalid UTF-8, NUL bytes, deep or wrongly typed JSON, numbers
//! too big for any type, times in the year 10000 — parsing never panics, and what reaches a call
//! after the engine's choke point ([`CallEvent::drop_impossible`]) is possible: times within
//! 2000–2100, talk times within 31 days, costs decimals of at least 0, and the state machine takes it.
//!
//! 256 cases per property in `cargo test`; for a long run raise `PROPTEST_CASES` (README,
//! "Reliability"): `PROPTEST_CASES=100000 cargo test --release --lib providers::fuzz`.

use super::analytics::AnalyticsPush;
use super::body_fields;
use super::bolna::BolnaExecutionWebhook;
use super::exotel::ExotelStatusCallback;
use super::plivo::Callback;
use super::twilio::{TwilioStatus, TwilioVoice};
use super::webhook::{Incoming, Reading, Webhook, WebhookRequest};
use super::yeastar::{self, PbxWebhook};
use crate::domain::call::{apply, Call, CallEvent, Direction};
use crate::domain::ids::{CallId, OrgId};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Field names the parsers read, of every provider.
const NAMES: &[&str] = &[
    "CallSid",
    "CallStatus",
    "SequenceNumber",
    "Timestamp",
    "CallDuration",
    "From",
    "To",
    "Direction",
    "Caller",
    "RecordingUrl",
    "SipResponseCode",
    "CallUUID",
    "Event",
    "StartTime",
    "AnswerTime",
    "EndTime",
    "Duration",
    "BillDuration",
    "TotalCost",
    "HangupCauseName",
    "HangupCauseCode",
    "Status",
    "EventType",
    "ConversationDuration",
    "OnCallDuration",
    "DateUpdated",
    "Legs",
    "CustomField",
    "id",
    "status",
    "updated_at",
    "conversation_duration",
    "conversation_time",
    "total_cost",
    "telephony_data",
    "provider_call_id",
    "from_number",
    "to_number",
    "hangup_reason",
    "error_message",
    "recording_url",
    "call_type",
    "transcript",
    "summary",
    "extracted_data",
    "call_id",
    "callUUID",
    "sentiment",
    "type",
    "sn",
    "msg",
    "members",
    "extension",
    "number",
    "member_status",
    "time_start",
    "call_from",
    "call_to",
    "call_duration",
    "talk_duration",
    "reason",
    "callid",
    "callduraction",
    "talkduraction",
];

/// Status words of every provider, and words of none.
const WORDS: &[&str] = &[
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "in_progress",
    "completed",
    "busy",
    "no-answer",
    "no_answer",
    "failed",
    "canceled",
    "cancelled",
    "answered",
    "ANSWERED",
    "NO ANSWER",
    "BUSY",
    "FAILED",
    "RING",
    "ALERT",
    "ANSWER",
    "BYE",
    "HOLD",
    "Hangup",
    "Ring",
    "call-disconnected",
    "voicemail",
    "",
    "\0",
    "ñ",
    "completed\u{202e}",
];

/// A field's text: status words, numbers of every size and shape, times possible and not.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(WORDS).prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        any::<u128>().prop_map(|n| format!("{n}{n}")),
        prop::sample::select(
            &[
                "NaN",
                "inf",
                "-inf",
                "1e400",
                "-5",
                "1e13",
                "9.3e15",
                "-1e300",
                "0x10",
                "+10000-01-01",
                "9999-12-31 23:59:59",
                "0000-00-00 00:00:00",
                "2025-03-04 10:00:00",
                "2025-03-04T10:00:00Z",
                "Tue, 04 Mar 2025 10:00:00 +0000",
                "+919812300001",
                "09876543210",
                "1970-01-01T00:00:00Z",
                "2262-04-12T00:00:00Z",
            ][..]
        )
        .prop_map(str::to_owned),
        (0i64..4_200_000_000_000).prop_map(|s| {
            chrono::DateTime::from_timestamp(s.min(253_402_300_799), 0)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default()
        }),
        ".{0,40}",
    ]
}

/// A JSON value: texts, numbers as numbers, nesting, the wrong types.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(prop::sample::select(NAMES), inner, 0..4).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// The ids and status each provider needs before it reads anything else, so that most cases get
/// past them to the values.
const REQUIRED: &[(&str, &str)] = &[
    ("CallSid", "CA0001"),
    ("CallUUID", "9f0c"),
    ("id", "bolna-1"),
    ("call_id", "pbx-1"),
];

/// Form fields: the ids, a status word, then known names (some twice) with any text.
fn form() -> impl Strategy<Value = Vec<(String, String)>> {
    let known = prop::collection::vec(
        (prop::sample::select(NAMES).prop_map(str::to_owned), text()),
        0..16,
    );
    (known, prop::sample::select(WORDS), any::<bool>()).prop_map(|(known, word, ids)| {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if ids {
            pairs.extend(REQUIRED.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            for name in ["CallStatus", "Status", "Event"] {
                pairs.push((name.to_owned(), word.to_owned()));
            }
        }
        pairs.extend(known);
        pairs
    })
}

/// A JSON object: the ids and a status word (mostly), then known names with any values.
fn object() -> impl Strategy<Value = Map<String, Value>> {
    let known = prop::collection::vec((prop::sample::select(NAMES), value()), 0..16);
    (known, prop::sample::select(WORDS), any::<bool>()).prop_map(|(known, word, ids)| {
        let mut fields = Map::new();
        if ids {
            for (k, v) in REQUIRED {
                fields.insert(k.to_string(), json!(v));
            }
            for name in ["CallStatus", "Status", "status", "EventType"] {
                fields.insert(name.to_owned(), json!(word));
            }
        }
        // Known names after the ids: a case may replace an id with any value.
        fields.extend(known.into_iter().map(|(k, v)| (k.to_owned(), v)));
        fields
    })
}

fn encoded(pairs: &[(String, String)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// Every webhook parser, as the generic webhook path holds them.
fn parsers() -> Vec<Box<dyn Webhook>> {
    vec![
        Box::new(TwilioStatus),
        Box::new(TwilioVoice),
        Box::new(Callback::Ring),
        Box::new(Callback::Answer),
        Box::new(Callback::Hangup),
        Box::new(ExotelStatusCallback),
        Box::new(BolnaExecutionWebhook),
        Box::new(PbxWebhook),
    ]
}

fn request<'a>(
    content_type: &'a [(String, String)],
    body: &'a [u8],
    get: bool,
) -> WebhookRequest<'a> {
    WebhookRequest {
        get,
        url: "https://switchboard.example/webhooks/x",
        query: std::str::from_utf8(body).unwrap_or(""),
        headers: content_type,
        body,
    }
}

/// What the engine does with a parsed event: the choke point, then the state machine. What is
/// left must be storable and readable back (checked here in plain terms, not with the choke
/// point's own functions).
fn reaches_a_call(mut event: CallEvent) {
    event.drop_impossible();
    for at in [event.occurred_at, event.started_at, event.answered_at]
        .into_iter()
        .flatten()
    {
        assert!((2000..=2100).contains(&chrono::Datelike::year(&at)), "{at}");
    }
    assert!(
        event.talk_s.is_none_or(|t| (0..=31 * 86_400).contains(&t)),
        "{:?}",
        event.talk_s
    );
    if let Some(cost) = &event.cost {
        // Exactly as the engine reads money: a decimal of at least 0 (to the millionth).
        let amount = crate::domain::money::Money::parse(cost).expect("a cost is a decimal");
        assert!(amount >= crate::domain::money::Money::ZERO, "{cost}");
    }
    let now = chrono::Utc::now();
    let direction = event.direction.unwrap_or(Direction::Outbound);
    let call = Call::new(
        CallId::generate(),
        OrgId::generate(),
        "twilio",
        None,
        direction,
        now,
    );
    let call = apply(&call, &event, now).call;
    let shown = call.to_json();
    for seconds in ["duration_s", "talk_s"] {
        let value = &shown[seconds];
        assert!(
            value.is_null() || value.as_i64().is_some_and(|s| s >= 0),
            "{shown}"
        );
    }
}

fn parsed(result: Result<Incoming, super::ParseError>) {
    match result {
        Ok(Incoming::Call(webhook)) => {
            assert!(!webhook.dedupe_key.is_empty());
            let _ = webhook.data.to_string();
            reaches_a_call(webhook.event);
        }
        Ok(Incoming::Extension(change)) => assert!(!change.dedupe_key.is_empty()),
        Ok(Incoming::Ignored { dedupe_key, .. }) => assert!(!dedupe_key.is_empty()),
        Err(_) => {}
    }
}

const CONTENT_TYPES: &[&str] = &[
    "application/x-www-form-urlencoded",
    "application/json",
    "multipart/form-data; boundary=XyZ",
    "multipart/form-data",
    "text/plain",
    "",
];

proptest! {
    /// Any bytes under any content type, to every parser: an answer, never a panic.
    #[test]
    fn any_bytes_are_parsed_or_refused(
        body in prop::collection::vec(any::<u8>(), 0..512),
        content_type in prop::sample::select(CONTENT_TYPES),
        get in any::<bool>(),
    ) {
        let headers = vec![("content-type".to_owned(), content_type.to_owned())];
        for parser in parsers() {
            parsed(parser.parse(&request(&headers, &body, get), &Reading::in_country("IN")));
        }
        let _ = yeastar::parse(&body);
        if let Ok(fields) = body_fields(content_type, &body) {
            let _ = AnalyticsPush::parse(&fields);
        }
    }

    /// Forms of the fields providers send, with any values: parsed into possible events only.
    #[test]
    fn forms_of_known_fields_give_possible_events(pairs in form(), get in any::<bool>()) {
        let body = encoded(&pairs);
        let headers = vec![("content-type".to_owned(), CONTENT_TYPES[0].to_owned())];
        for parser in parsers() {
            parsed(parser.parse(&request(&headers, body.as_bytes(), get), &Reading::in_country("IN")));
        }
    }

    /// JSON objects of the fields providers send, with any values and types: possible events only.
    #[test]
    fn json_of_known_fields_gives_possible_events(fields in object()) {
        let body = Value::Object(fields.clone()).to_string();
        let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        for parser in parsers() {
            parsed(parser.parse(&request(&headers, body.as_bytes(), false), &Reading::in_country("IN")));
        }
        let _ = AnalyticsPush::parse(&fields);
    }

    /// Yeastar envelopes and flat bodies of every event type with any fields: CDRs give
    /// possible events (and no chrono overflow on any duration).
    #[test]
    fn yeastar_events_of_any_fields_give_possible_events(
        event_type in prop_oneof![Just(30011i64), Just(30012), Just(30015), Just(30016), Just(30007), Just(30008), Just(30009), any::<i64>()],
        msg in object(),
        nested in any::<bool>(),
        offset in prop::sample::select(&[None, Some("+05:30"), Some("-12:00"), Some("+99:99")][..]),
    ) {
        let body = if nested {
            json!({"type": event_type, "sn": "SN1", "msg": Value::Object(msg).to_string()})
        } else {
            let mut flat = msg;
            flat.insert("type".into(), event_type.into());
            Value::Object(flat)
        };
        if let Ok((_, yeastar::PbxEvent::Cdr(cdr))) = yeastar::parse(body.to_string().as_bytes()) {
            reaches_a_call(cdr.to_event("IN", offset));
        }
    }
}
