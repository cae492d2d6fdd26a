//! Exotel StatusCallback (providers.md §3): urlencoded, multipart or JSON; `answered` and
//! `terminal` events; 0-prefixed Indian numbers; times in IST.

use super::webhook::{Auth, CallWebhook, Hold, Incoming, Reading, Webhook, WebhookRequest};
use super::Provider;
use super::{field_status, json_number, json_text, ParseError};
use crate::domain::call::{CallEvent, CallStatus, Direction};
use crate::domain::phone::party;
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

/// Exotel's status words, as its callbacks, its Call Details API and the integrations this engine
/// replaces spell them (any case; `-`, `_` and space alike). `completed` is subject to the
/// conversation rule of [`ExotelStatus::canonical_status`].
pub fn map_status(word: &str) -> Option<CallStatus> {
    let word = word.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    Some(match word.as_str() {
        "initiated" | "queued" => CallStatus::Queued,
        "ringing" => CallStatus::Ringing,
        "answered" | "in-progress" => CallStatus::Answered,
        "completed" | "ended" => CallStatus::Completed,
        "busy" => CallStatus::Busy,
        "no-answer" => CallStatus::NoAnswer,
        "failed" => CallStatus::Failed,
        "cancelled" | "canceled" => CallStatus::Canceled,
        _ => return field_status(&word),
    })
}

/// One Exotel status callback.
#[derive(Debug, Clone, PartialEq)]
pub struct ExotelStatus {
    pub call_sid: String,
    /// `answered` or `terminal`; absent, it is read from the status word: `terminal` for a
    /// final word (the default, end-only callback), `status` for a live one.
    pub event_type: String,
    pub status: Option<String>,
    pub date_updated: Option<DateTime<Utc>>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub conversation_duration: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub direction: Option<Direction>,
    pub recording_url: Option<String>,
    /// The second leg (the customer) reached a conversation.
    pub callee_completed: bool,
}

/// Exotel's naive times are Indian Standard Time (+05:30); its dummy `1970-…` means "none".
fn ist_time(
    object: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<DateTime<Utc>>, ParseError> {
    let Some(text) = json_text(object, name) else {
        return Ok(None);
    };
    let naive = NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S").map_err(|_| {
        ParseError::Invalid {
            field: name,
            reason: format!("`{text}` is not YYYY-MM-DD HH:MM:SS"),
        }
    })?;
    let ist = FixedOffset::east_opt(5 * 3600 + 1800).expect("IST is a valid offset");
    let at = ist
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc));
    Ok(at.filter(|t| t.timestamp() > 86_400))
}

impl ExotelStatus {
    pub fn parse(object: &Map<String, Value>) -> Result<Self, ParseError> {
        let call_sid = json_text(object, "CallSid").ok_or(ParseError::Missing("CallSid"))?;
        let status = json_text(object, "Status");
        let live_word = status
            .as_deref()
            .and_then(map_status)
            .is_some_and(|s| !s.is_final());
        let event_type = json_text(object, "EventType")
            .unwrap_or_else(|| if live_word { "status" } else { "terminal" }.into())
            .to_ascii_lowercase();
        if status.is_none() && event_type == "terminal" {
            return Err(ParseError::Missing("Status"));
        }
        let callee_completed = object
            .get("Legs")
            .and_then(Value::as_array)
            .and_then(|legs| legs.get(1))
            .and_then(|leg| leg.get("Status"))
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("completed"));
        Ok(ExotelStatus {
            call_sid,
            event_type,
            status,
            date_updated: ist_time(object, "DateUpdated")?,
            start_time: ist_time(object, "StartTime")?,
            end_time: ist_time(object, "EndTime")?,
            conversation_duration: json_number(object, "ConversationDuration")?.map(|d| d as i64),
            from: json_text(object, "From"),
            to: json_text(object, "To"),
            direction: json_text(object, "Direction").and_then(|d| match d.as_str() {
                "inbound" => Some(Direction::Inbound),
                d if d.starts_with("outbound") => Some(Direction::Outbound),
                _ => None,
            }),
            recording_url: json_text(object, "RecordingUrl"),
            callee_completed,
        })
    }

    /// Invariant 3's key: CallSid + EventType + Status.
    pub fn dedupe_key(&self) -> String {
        format!(
            "{}:{}:{}",
            self.call_sid,
            self.event_type,
            self.status.as_deref().unwrap_or("")
        )
    }

    /// The canonical status: an `answered` event is answered; a live word moves the call forward
    /// (never back, never to an end); a `completed` that says there was no conversation
    /// (`ConversationDuration` 0 and the second leg not completed; providers.md §7.2) is
    /// no_answer; one with no conversation figure at all is completed, and the call model
    /// decides by whether the call was answered.
    pub fn canonical_status(&self) -> Option<CallStatus> {
        if self.event_type == "answered" {
            return Some(CallStatus::Answered);
        }
        match map_status(self.status.as_deref()?)? {
            CallStatus::Completed
                if self.conversation_duration == Some(0) && !self.callee_completed =>
            {
                Some(CallStatus::NoAnswer)
            }
            // A terminal callback is the end: a live word there means nothing was concluded.
            status if !status.is_final() && self.is_terminal() => None,
            status => Some(status),
        }
    }

    /// The call's end record (the default, end-only callback, or `EventType=terminal`).
    pub fn is_terminal(&self) -> bool {
        self.event_type == "terminal"
    }

    pub fn to_event(&self, default_country: &str) -> CallEvent {
        let status = self.canonical_status();
        let terminal = self.is_terminal();
        CallEvent {
            final_record: terminal && status.is_some(),
            status,
            occurred_at: if terminal {
                self.end_time.or(self.date_updated)
            } else {
                self.date_updated
            },
            started_at: self.start_time,
            from: self.from.as_deref().map(|n| party(n, default_country)),
            to: self.to.as_deref().map(|n| party(n, default_country)),
            direction: self.direction,
            talk_s: self.conversation_duration.filter(|_| terminal),
            completed_if_answered: self.conversation_duration.is_none() && !self.callee_completed,
            recording_url: self.recording_url.clone(),
            ..CallEvent::default()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Its webhooks

/// Exotel's StatusCallback (JSON, urlencoded or multipart).
pub struct ExotelStatusCallback;

impl Webhook for ExotelStatusCallback {
    fn provider(&self) -> Provider {
        Provider::Exotel
    }

    fn auth(&self) -> Auth {
        Auth::WebhookToken
    }

    fn parse(&self, request: &WebhookRequest, reading: &Reading) -> Result<Incoming, ParseError> {
        let country = reading.default_country;
        let fields = request.fields()?;
        let status = ExotelStatus::parse(&fields)?;
        let event = status.to_event(country);
        // An inbound call still on the line: its caller pops up on the agents' screens.
        let inbound_start = status.direction == Some(Direction::Inbound)
            && event.status.is_some_and(CallStatus::is_live);
        Ok(Incoming::of(CallWebhook {
            provider: Provider::Exotel,
            kind: "exotel.status",
            provider_call_id: status.call_sid.clone(),
            dedupe_key: status.dedupe_key(),
            direction: status.direction.unwrap_or(Direction::Outbound),
            event,
            raw_status: status.status.clone().or(Some(status.event_type.clone())),
            data: Value::Object(fields),
            inbound_start,
            hold: Hold::Nowhere,
            pbx: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_callback_reads_json_and_forms_alike() {
        let json = br#"{"CallSid":"x1","EventType":"terminal","Status":"completed","ConversationDuration":30,"Direction":"outbound-api"}"#;
        let headers = [("content-type".to_owned(), "application/json".to_owned())];
        let parsed = ExotelStatusCallback
            .parse(
                &WebhookRequest::posted(&headers, json, ""),
                &Reading::in_country("IN"),
            )
            .unwrap()
            .call()
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
            .parse(
                &WebhookRequest::posted(&headers, form, ""),
                &Reading::in_country("IN"),
            )
            .unwrap()
            .call()
            .unwrap();
        assert_eq!(parsed.event.status, Some(CallStatus::Busy));
    }
    use serde_json::json;

    fn parse(v: Value) -> ExotelStatus {
        ExotelStatus::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn a_terminal_no_answer_from_the_docs_example() {
        let cb = parse(
            json!({"CallSid":"80bf","EventType":"terminal","Status":"no-answer","DateUpdated":"2025-03-04 10:00:48","From":"09876543210","To":"09123456789","StartTime":"2025-03-04 10:00:01","EndTime":"2025-03-04 10:00:48","ConversationDuration":0,"Direction":"outbound-api","CustomField":"job-42","RecordingUrl":null,"Legs":[{"OnCallDuration":40,"Status":"completed"},{"OnCallDuration":0,"Status":"no-answer"}]}),
        );
        assert_eq!(cb.dedupe_key(), "80bf:terminal:no-answer");
        let e = cb.to_event("IN");
        assert_eq!(e.status, Some(CallStatus::NoAnswer));
        assert!(e.final_record);
        assert_eq!(e.from.as_deref(), Some("+919876543210"));
        assert_eq!(e.to.as_deref(), Some("+919123456789"));
        assert_eq!(
            e.occurred_at.unwrap().to_rfc3339(),
            "2025-03-04T04:30:48+00:00",
            "IST to UTC"
        );
        assert_eq!(e.talk_s, Some(0));
    }

    #[test]
    fn every_status_word_maps_with_the_conversation_rule() {
        let table = [
            (
                json!({"Status": "completed", "ConversationDuration": 35}),
                Some(CallStatus::Completed),
            ),
            (
                json!({"Status": "completed", "ConversationDuration": 0}),
                Some(CallStatus::NoAnswer),
            ),
            (
                json!({"Status": "completed", "ConversationDuration": "0", "Legs": [{"Status": "completed"}, {"Status": "completed"}]}),
                Some(CallStatus::Completed),
            ),
            (json!({"Status": "busy"}), Some(CallStatus::Busy)),
            (json!({"Status": "no-answer"}), Some(CallStatus::NoAnswer)),
            (json!({"Status": "failed"}), Some(CallStatus::Failed)),
            (json!({"Status": "canceled"}), Some(CallStatus::Canceled)),
            // Live words without an EventType move the call forward (the issue's list).
            (json!({"Status": "answered"}), Some(CallStatus::Answered)),
            (json!({"Status": "in-progress"}), Some(CallStatus::Answered)),
            (json!({"Status": "in_progress"}), Some(CallStatus::Answered)),
            (json!({"Status": "ringing"}), Some(CallStatus::Ringing)),
            (json!({"Status": "initiated"}), Some(CallStatus::Queued)),
            (json!({"Status": "queued"}), Some(CallStatus::Queued)),
            (
                json!({"Status": "ended", "ConversationDuration": 12}),
                Some(CallStatus::Completed),
            ),
            // No conversation figure: completed, and the call model decides by its answer.
            (json!({"Status": "ended"}), Some(CallStatus::Completed)),
            (
                json!({"Status": "ended", "ConversationDuration": 0}),
                Some(CallStatus::NoAnswer),
            ),
            (json!({"Status": "no_answer"}), Some(CallStatus::NoAnswer)),
            (json!({"Status": "cancelled"}), Some(CallStatus::Canceled)),
            (json!({"Status": "BUSY"}), Some(CallStatus::Busy)),
            // A terminal callback with a live word concluded nothing.
            (
                json!({"EventType": "terminal", "Status": "in-progress"}),
                None,
            ),
            (json!({"Status": "mystery"}), None),
            (
                json!({"EventType": "answered", "Status": "in-progress"}),
                Some(CallStatus::Answered),
            ),
        ];
        for (mut body, expected) in table {
            body["CallSid"] = json!("c1");
            assert_eq!(parse(body.clone()).canonical_status(), expected, "{body}");
        }
    }

    #[test]
    fn a_live_word_is_not_the_end_record() {
        let answered = parse(json!({"CallSid": "c1", "Status": "in_progress"}));
        assert!(!answered.is_terminal());
        let event = answered.to_event("IN");
        assert_eq!(event.status, Some(CallStatus::Answered));
        assert!(!event.final_record);
        let ended =
            parse(json!({"CallSid": "c1", "Status": "completed", "ConversationDuration": 5}));
        assert!(ended.is_terminal() && ended.to_event("IN").final_record);
        assert_ne!(answered.dedupe_key(), ended.dedupe_key());
    }

    #[test]
    fn malformed_callbacks_say_what_is_wrong() {
        for body in [
            json!({"Status": "completed"}),
            json!({"CallSid": "c1"}),
            json!({"CallSid": "c1", "Status": "busy", "EndTime": "noon"}),
            json!({"CallSid": "c1", "Status": "busy", "ConversationDuration": "long"}),
        ] {
            assert!(
                ExotelStatus::parse(body.as_object().unwrap()).is_err(),
                "{body}"
            );
        }
    }
}
