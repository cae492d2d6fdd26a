//! Bolna voice-bot executions (providers.md §5): a full snapshot on every status change;
//! `call-disconnected` is not final, `completed` follows with cost, recording and transcript.

use super::webhook::{Auth, CallWebhook, Hold, Incoming, Reading, Webhook, WebhookRequest};
use super::Provider;
use super::{json_number, json_text, ParseError};
use crate::domain::call::{CallEvent, CallStatus, Direction};
use crate::domain::phone::party;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Bolna's status words (providers.md §5.2, §8). `completed` depends on whether a conversation
/// happened: see [`BolnaExecution::canonical_status`].
pub fn map_status(word: &str) -> Option<CallStatus> {
    let word = word.trim().to_ascii_lowercase().replace('_', "-");
    Some(match word.as_str() {
        "scheduled" | "queued" | "rescheduled" => CallStatus::Queued,
        "initiated" => CallStatus::Dialing,
        "ringing" => CallStatus::Ringing,
        "in-progress" => CallStatus::Answered,
        "call-disconnected" => CallStatus::Disconnected,
        "completed" => CallStatus::Completed,
        "busy" => CallStatus::Busy,
        "no-answer" => CallStatus::NoAnswer,
        "canceled" | "stopped" => CallStatus::Canceled,
        "failed" | "error" | "balance-low" => CallStatus::Failed,
        _ => return super::field_status(&word),
    })
}

/// One execution snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct BolnaExecution {
    pub id: String,
    pub status: String,
    pub updated_at: Option<DateTime<Utc>>,
    pub conversation_time: Option<f64>,
    /// Cents.
    pub total_cost_cents: Option<f64>,
    pub voicemail: bool,
    pub analytics: Map<String, Value>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub direction: Option<Direction>,
    pub recording_url: Option<String>,
    pub carrier_call_id: Option<String>,
    pub hangup_reason: Option<String>,
}

fn iso_time(
    object: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<DateTime<Utc>>, ParseError> {
    json_text(object, name)
        .map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%.f")
                        .map(|t| t.and_utc())
                })
                .map_err(|_| ParseError::Invalid {
                    field: name,
                    reason: format!("`{t}` is not an ISO time"),
                })
        })
        .transpose()
}

impl BolnaExecution {
    pub fn parse(object: &Map<String, Value>) -> Result<Self, ParseError> {
        let id = json_text(object, "id").ok_or(ParseError::Missing("id"))?;
        let status = json_text(object, "status").ok_or(ParseError::Missing("status"))?;
        let telephony = object
            .get("telephony_data")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let conversation_time = match json_number(object, "conversation_time")? {
            Some(t) => Some(t),
            None => json_number(object, "conversation_duration")?,
        };
        let mut analytics = Map::new();
        for key in ["transcript", "summary", "extracted_data"] {
            match object.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s.is_empty() => {}
                Some(value) => {
                    analytics.insert(key.to_owned(), value.clone());
                }
            }
        }
        let voicemail = object
            .get("answered_by_voice_mail")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if voicemail {
            analytics.insert("voicemail".into(), Value::Bool(true));
        }
        Ok(BolnaExecution {
            id,
            status,
            updated_at: iso_time(object, "updated_at")?,
            conversation_time,
            total_cost_cents: json_number(object, "total_cost")?,
            voicemail,
            analytics,
            from: json_text(&telephony, "from_number"),
            to: json_text(&telephony, "to_number"),
            direction: json_text(&telephony, "call_type").and_then(|t| match t.as_str() {
                "inbound" => Some(Direction::Inbound),
                "outbound" => Some(Direction::Outbound),
                _ => None,
            }),
            recording_url: json_text(&telephony, "recording_url"),
            carrier_call_id: json_text(&telephony, "provider_call_id"),
            hangup_reason: json_text(&telephony, "hangup_reason")
                .or_else(|| json_text(object, "error_message")),
        })
    }

    /// Invariant 3's key: id + status + updated_at.
    pub fn dedupe_key(&self) -> String {
        let updated = self.updated_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        format!("{}:{}:{updated}", self.id, self.status)
    }

    /// `completed` with no conversation (or reaching voicemail) is no_answer (providers.md §8).
    pub fn canonical_status(&self) -> Option<CallStatus> {
        match map_status(&self.status)? {
            // A voicemail, or a conversation of no length, is nobody answering; a `completed`
            // with no conversation figure is decided by the call model (answered or not).
            CallStatus::Completed
                if self.voicemail || self.conversation_time.is_some_and(|t| t <= 0.0) =>
            {
                Some(CallStatus::NoAnswer)
            }
            status => Some(status),
        }
    }

    pub fn to_event(&self, default_country: &str) -> CallEvent {
        let status = self.canonical_status();
        let is_final = status.is_some_and(CallStatus::is_final);
        CallEvent {
            final_record: is_final,
            status,
            occurred_at: self.updated_at,
            from: self.from.as_deref().map(|n| party(n, default_country)),
            to: self.to.as_deref().map(|n| party(n, default_country)),
            direction: self.direction,
            talk_s: self
                .conversation_time
                .filter(|t| is_final && *t > 0.0)
                .map(|t| t.round() as i64),
            cost: self
                .total_cost_cents
                .filter(|c| *c > 0.0)
                .map(cents_to_units),
            currency: self
                .total_cost_cents
                .filter(|c| *c > 0.0)
                .map(|_| "USD".to_owned()),
            hangup_cause: self
                .hangup_reason
                .clone()
                .filter(|_| is_final && status != Some(CallStatus::Completed)),
            recording_url: self.recording_url.clone(),
            analytics: (!self.analytics.is_empty()).then(|| self.analytics.clone()),
            carrier_call_id: self.carrier_call_id.clone(),
            completed_if_answered: self.conversation_time.is_none(),
            ..CallEvent::default()
        }
    }
}

/// `9.8` cents → `"0.098"`: a decimal string in currency units, without trailing zeros.
pub fn cents_to_units(cents: f64) -> String {
    let text = format!("{:.6}", cents / 100.0);
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').unwrap_or(text).to_owned()
}

// ---------------------------------------------------------------------------------------------
// Its webhooks

/// Bolna's execution webhook (JSON snapshots of the execution).
pub struct BolnaExecutionWebhook;

impl Webhook for BolnaExecutionWebhook {
    fn provider(&self) -> Provider {
        Provider::Bolna
    }

    fn auth(&self) -> Auth {
        Auth::WebhookToken
    }

    fn parse(&self, request: &WebhookRequest, reading: &Reading) -> Result<Incoming, ParseError> {
        let country = reading.default_country;
        let fields = request.fields()?;
        let execution = BolnaExecution::parse(&fields)?;
        Ok(Incoming::of(CallWebhook {
            provider: Provider::Bolna,
            kind: "bolna.execution",
            provider_call_id: execution.id.clone(),
            dedupe_key: execution.dedupe_key(),
            direction: execution.direction.unwrap_or(Direction::Outbound),
            event: execution.to_event(country),
            raw_status: Some(execution.status.clone()),
            data: Value::Object(fields),
            inbound_start: false,
            hold: Hold::Nowhere,
            pbx: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_webhook_without_an_execution_is_refused() {
        let headers = [(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        let empty = WebhookRequest::posted(&headers, b"", "");
        assert!(BolnaExecutionWebhook
            .parse(&empty, &Reading::in_country("IN"))
            .is_err());
    }
    use serde_json::json;

    fn parse(v: Value) -> BolnaExecution {
        BolnaExecution::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn every_status_word_maps() {
        use CallStatus::*;
        let table = [
            ("scheduled", Queued),
            ("queued", Queued),
            ("rescheduled", Queued),
            ("initiated", Dialing),
            ("ringing", Ringing),
            ("in-progress", Answered),
            ("call-disconnected", Disconnected),
            ("completed", Completed),
            ("busy", Busy),
            ("no-answer", NoAnswer),
            ("canceled", Canceled),
            ("stopped", Canceled),
            ("failed", Failed),
            ("error", Failed),
            ("balance-low", Failed),
            ("balance_low", Failed),
            ("cancelled", Canceled),
        ];
        for (word, expected) in table {
            assert_eq!(map_status(word), Some(expected), "{word}");
        }
        assert_eq!(map_status("levitating"), None);
    }

    #[test]
    fn completed_without_conversation_is_no_answer() {
        let talked = parse(json!({"id": "b1", "status": "completed", "conversation_time": 61}));
        assert_eq!(talked.canonical_status(), Some(CallStatus::Completed));
        let silent = parse(json!({"id": "b1", "status": "completed", "conversation_time": 0}));
        assert_eq!(silent.canonical_status(), Some(CallStatus::NoAnswer));
        let voicemail = parse(
            json!({"id": "b1", "status": "completed", "conversation_time": 20, "answered_by_voice_mail": true}),
        );
        assert_eq!(voicemail.canonical_status(), Some(CallStatus::NoAnswer));
        assert_eq!(voicemail.analytics["voicemail"], true);
    }

    #[test]
    fn the_final_snapshot_carries_cost_recording_and_bot_data() {
        let e = parse(json!({
            "id": "b714", "status": "completed", "conversation_time": 61, "total_cost": 9.8,
            "updated_at": "2025-03-04T10:03:00Z", "transcript": "hello", "extracted_data": {"interested": true},
            "telephony_data": {"duration": 63, "provider": "plivo", "provider_call_id": "8f01",
                               "recording_url": "https://rec.example/1.mp3", "to_number": "+919876543210",
                               "from_number": "+918035739222", "call_type": "outbound"}
        }))
        .to_event("IN");
        assert_eq!(e.status, Some(CallStatus::Completed));
        assert_eq!(e.cost.as_deref(), Some("0.098"));
        assert_eq!(e.currency.as_deref(), Some("USD"));
        assert_eq!(e.talk_s, Some(61));
        assert_eq!(e.carrier_call_id.as_deref(), Some("8f01"));
        assert_eq!(e.analytics.as_ref().unwrap()["transcript"], "hello");
        assert_eq!(
            e.recording_url.as_deref(),
            Some("https://rec.example/1.mp3")
        );
    }

    #[test]
    fn cents_become_currency_units() {
        assert_eq!(cents_to_units(9.8), "0.098");
        assert_eq!(cents_to_units(100.0), "1");
        assert_eq!(cents_to_units(0.5), "0.005");
    }

    #[test]
    fn malformed_snapshots_say_what_is_wrong() {
        for body in [
            json!({"status": "completed"}),
            json!({"id": "b1"}),
            json!({"id": "b1", "status": "completed", "updated_at": "later"}),
            json!({"id": "b1", "status": "completed", "total_cost": "a lot"}),
        ] {
            assert!(
                BolnaExecution::parse(body.as_object().unwrap()).is_err(),
                "{body}"
            );
        }
    }
}
