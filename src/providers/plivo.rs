//! Plivo Voice: ring, answer and hangup callbacks, the V3 signature and status words (providers.md §2).

use super::webhook::{
    pairs_json, recording_webhook, Auth, CallWebhook, Hold, Incoming, Reading, Reply, Webhook,
    WebhookRequest,
};
use super::Provider;
use super::{field, ParseError};
use crate::domain::call::{possible_duration, CallEvent, CallStatus, Direction};
use crate::domain::phone::party;
use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

/// Which of Plivo's callback URLs a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    Ring,
    Answer,
    Hangup,
}

impl Callback {
    pub fn kind(self) -> &'static str {
        match self {
            Self::Ring => "plivo.ring",
            Self::Answer => "plivo.answer",
            Self::Hangup => "plivo.hangup",
        }
    }
}

/// A Plivo status word as the mapping reads it: lower case, with `_` and spaces as `-`
/// (providers.md: variants are case-insensitive, `-`/`_`/space alike).
fn status_word(word: &str) -> String {
    word.trim().to_ascii_lowercase().replace(['_', ' '], "-")
}

/// Plivo's `CallStatus` words (providers.md §2.2, §8) in the canonical model, in any of their
/// written variants. `completed` and `timeout` depend on the rest of the hangup: see
/// [`PlivoCallback::status`].
pub fn map_status(word: &str) -> Option<CallStatus> {
    Some(match status_word(word).as_str() {
        "ringing" => CallStatus::Ringing,
        "in-progress" | "answered" => CallStatus::Answered,
        "completed" => CallStatus::Completed,
        "busy" => CallStatus::Busy,
        "no-answer" | "noanswer" | "timeout" => CallStatus::NoAnswer,
        "failed" => CallStatus::Failed,
        "cancel" | "canceled" | "cancelled" => CallStatus::Canceled,
        _ => return None,
    })
}

/// One Plivo callback.
#[derive(Debug, Clone, PartialEq)]
pub struct PlivoCallback {
    pub callback: Callback,
    pub call_uuid: String,
    pub event: Option<String>,
    pub call_status: String,
    pub direction: Option<Direction>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub answer_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    /// The whole call's seconds (`Duration`): dates the start when `StartTime` is missing.
    pub duration: Option<i64>,
    pub bill_duration: Option<i64>,
    /// Answering-machine detection's verdict (`Machine=true|false`), where it ran.
    pub machine: Option<bool>,
    pub hangup_cause_code: Option<i64>,
    pub hangup_cause_name: Option<String>,
    pub total_cost: Option<String>,
}

/// Plivo's times: `YYYY-MM-DD HH:MM:SS`, read as UTC (Plivo's callbacks carry no zone).
fn plivo_time(
    pairs: &[(String, String)],
    name: &'static str,
) -> Result<Option<DateTime<Utc>>, ParseError> {
    field(pairs, name)
        .map(|t| {
            NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
                .map(|t| t.and_utc())
                .map_err(|_| ParseError::Invalid {
                    field: name,
                    reason: format!("`{t}` is not YYYY-MM-DD HH:MM:SS"),
                })
        })
        .transpose()
}

fn int(pairs: &[(String, String)], name: &'static str) -> Result<Option<i64>, ParseError> {
    field(pairs, name)
        .map(|v| {
            v.parse::<i64>().map_err(|_| ParseError::Invalid {
                field: name,
                reason: format!("`{v}` is not a whole number"),
            })
        })
        .transpose()
}

impl PlivoCallback {
    pub fn parse(callback: Callback, pairs: &[(String, String)]) -> Result<Self, ParseError> {
        let call_uuid = field(pairs, "CallUUID").ok_or(ParseError::Missing("CallUUID"))?;
        let call_status = field(pairs, "CallStatus").ok_or(ParseError::Missing("CallStatus"))?;
        let total_cost = field(pairs, "TotalCost")
            .map(|c| {
                c.parse::<f64>()
                    .map(|_| c.to_owned())
                    .map_err(|_| ParseError::Invalid {
                        field: "TotalCost",
                        reason: format!("`{c}` is not a number"),
                    })
            })
            .transpose()?;
        Ok(PlivoCallback {
            callback,
            call_uuid: call_uuid.to_owned(),
            event: field(pairs, "Event").map(str::to_owned),
            call_status: call_status.to_owned(),
            direction: field(pairs, "Direction").and_then(|d| match d {
                "inbound" => Some(Direction::Inbound),
                "outbound" => Some(Direction::Outbound),
                _ => None,
            }),
            from: field(pairs, "From").map(str::to_owned),
            to: field(pairs, "To").map(str::to_owned),
            start_time: plivo_time(pairs, "StartTime")?,
            answer_time: plivo_time(pairs, "AnswerTime")?,
            end_time: plivo_time(pairs, "EndTime")?,
            duration: int(pairs, "Duration")?,
            bill_duration: int(pairs, "BillDuration")?,
            machine: field(pairs, "Machine").and_then(|m| {
                match m.trim().to_ascii_lowercase().as_str() {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => None,
                }
            }),
            hangup_cause_code: int(pairs, "HangupCauseCode")?,
            hangup_cause_name: field(pairs, "HangupCauseName").map(str::to_owned),
            total_cost,
        })
    }

    /// Invariant 3's key: CallUUID + Event (answer_url: CallUUID + "answer").
    pub fn dedupe_key(&self) -> String {
        match self.callback {
            Callback::Answer => format!("{}:answer", self.call_uuid),
            _ => format!(
                "{}:{}",
                self.call_uuid,
                self.event.as_deref().unwrap_or(match self.callback {
                    Callback::Ring => "Ring",
                    _ => "Hangup",
                })
            ),
        }
    }

    /// The canonical status this callback reports, with providers.md §7.2/§8's rules: a
    /// `completed` hangup that was never answered is no_answer; `timeout` is failed for
    /// 2xxx/5xxx causes (connection), no_answer otherwise (ring timeout).
    pub fn status(&self) -> Option<CallStatus> {
        let answered = self.answer_time.is_some() || self.bill_duration.is_some_and(|d| d > 0);
        match (status_word(&self.call_status).as_str(), self.callback) {
            ("completed", _) if !answered => Some(CallStatus::NoAnswer),
            ("timeout", _)
                if self
                    .hangup_cause_code
                    .is_some_and(|c| (2000..3000).contains(&c) || (5000..6000).contains(&c)) =>
            {
                Some(CallStatus::Failed)
            }
            // A hangup's own status word is final even when Plivo says `in-progress`.
            ("in-progress", Callback::Hangup) => Some(if answered {
                CallStatus::Completed
            } else {
                CallStatus::NoAnswer
            }),
            (word, _) => map_status(word),
        }
    }

    /// The provider-neutral event; numbers read in `default_country`.
    pub fn to_event(&self, default_country: &str) -> CallEvent {
        let status = self.status();
        let hangup = self.callback == Callback::Hangup;
        CallEvent {
            final_record: hangup,
            status,
            occurred_at: if hangup { self.end_time } else { None },
            // Without `StartTime`, the start is `Duration` before the end (`BillDuration` is what
            // Plivo bills, rounded to its pulse: not a time).
            started_at: self.start_time.or_else(|| {
                // A duration no call can last gives no start (and no overflow).
                let seconds = self.duration.filter(|s| possible_duration(*s))?;
                self.end_time?
                    .checked_sub_signed(chrono::Duration::try_seconds(seconds)?)
            }),
            answered_at: self.answer_time,
            from: self.from.as_deref().map(|n| party(n, default_country)),
            to: self.to.as_deref().map(|n| party(n, default_country)),
            direction: self.direction,
            cost: self.total_cost.clone(),
            currency: self.total_cost.as_ref().map(|_| "USD".to_owned()),
            amd: self
                .machine
                .map(|machine| if machine { "machine" } else { "human" }.to_owned()),
            hangup_cause: hangup
                .then(|| self.hangup_cause_name.clone())
                .flatten()
                .filter(|_| status != Some(CallStatus::Completed)),
            ..CallEvent::default()
        }
    }
}

/// The string Plivo signs with V3 (plivo-python `construct_get_url` / `construct_post_url`):
/// `scheme://host/path`, then for POST: `?` + the URL's sorted query `k=v&…` + `.` when both a
/// query and body parameters exist (just `?` when only body parameters do), then the body
/// parameters sorted, each `keyvalue`; for GET: `?` + every parameter (query and given) sorted
/// as `k=v&…`.
pub fn v3_base(method_is_get: bool, url: &str, params: &[(String, String)]) -> String {
    let without_fragment = url.split('#').next().unwrap_or(url);
    let (base, query) = without_fragment
        .split_once('?')
        .unwrap_or((without_fragment, ""));
    let mut query_pairs = super::form_pairs(query.as_bytes());
    if method_is_get {
        query_pairs.extend(params.iter().cloned());
    }
    query_pairs.sort();
    let query_string = query_pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut out = base.to_owned();
    let post_params = !method_is_get && !params.is_empty();
    if !query_string.is_empty() || post_params {
        out.push('?');
        out.push_str(&query_string);
    }
    if !query_string.is_empty() && post_params {
        out.push('.');
    }
    if !method_is_get {
        let mut sorted: Vec<&(String, String)> = params.iter().collect();
        sorted.sort();
        for (k, v) in sorted {
            out.push_str(k);
            out.push_str(v);
        }
    }
    out
}

/// `X-Plivo-Signature-V3`: Base64(HMAC-SHA256(auth token, base + "." + nonce)).
pub fn v3_signature(auth_token: &str, base: &str, nonce: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(base.as_bytes());
    mac.update(b".");
    mac.update(nonce.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks the header (which may hold several comma-separated signatures) in constant time.
pub fn verify_v3(
    auth_token: &str,
    method_is_get: bool,
    url: &str,
    params: &[(String, String)],
    nonce: &str,
    header: &str,
) -> bool {
    if nonce.is_empty() {
        return false;
    }
    let expected = v3_signature(auth_token, &v3_base(method_is_get, url, params), nonce);
    header
        .split(',')
        .any(|candidate| bool::from(expected.as_bytes().ct_eq(candidate.trim().as_bytes())))
}

/// Plivo XML answering a call: dial `target` when set, else say `message` and hang up.
pub fn answer_xml(target: Option<&str>, message: &str) -> String {
    let body = match target {
        Some(target) if target.contains('@') || target.starts_with("sip:") => {
            format!("<Dial><User>{}</User></Dial>", xml_escape(target))
        }
        Some(target) => format!("<Dial><Number>{}</Number></Dial>", xml_escape(target)),
        None => format!("<Speak>{}</Speak><Hangup/>", xml_escape(message)),
    };
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{body}</Response>")
}

/// Plivo XML holding a caller for the agent desk: `message` (if any), then silence for up to
/// `wait_s` seconds, until the engine transfers the call to an agent (the Transfer API points the
/// call at the engine's `connect` URL, which answers [`connect_xml`] with the agent). A queued
/// inbound caller hears the hold message; an answered campaign call waits in silence (at most
/// 2 s before it is given to an agent or abandoned).
pub fn hold_xml(message: Option<&str>, wait_s: i64) -> String {
    let speak = message.map_or_else(String::new, |m| format!("<Speak>{}</Speak>", xml_escape(m)));
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{speak}<Wait length=\"{}\"/></Response>",
        wait_s.clamp(1, 14_400)
    )
}

/// Plivo XML connecting a queued caller to an agent (what the `connect` URL answers), recording
/// the conversation when `record` names where Plivo reports it.
pub fn connect_xml(target: &str, record: Option<&str>) -> String {
    let dial = answer_xml(Some(target), "");
    match record {
        Some(callback) => recorded(&dial, callback),
        None => dial,
    }
}

/// The same answer XML, recording the whole call session from its start (`<Record
/// recordSession>` goes on in the background through a later Transfer); Plivo reports the
/// recording to `callback`.
pub fn recorded(xml: &str, callback: &str) -> String {
    xml.replacen(
        "<Response>",
        &format!(
            "<Response><Record recordSession=\"true\" redirect=\"false\" maxLength=\"14400\" callbackUrl=\"{}\" callbackMethod=\"POST\"/>",
            xml_escape(callback)
        ),
        1,
    )
}

/// Escapes text for an XML element.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

// ---------------------------------------------------------------------------------------------
// Its webhooks

/// Plivo's ring, hangup and answer callbacks; the answer is answered with Plivo XML.
impl Webhook for Callback {
    fn provider(&self) -> Provider {
        Provider::Plivo
    }

    fn auth(&self) -> Auth {
        Auth::Signature
    }

    fn verify(&self, secret: &str, request: &WebhookRequest) -> bool {
        verify_v3(
            secret,
            request.get,
            request.url,
            &request.signed_fields(),
            request.header("X-Plivo-Signature-V3-Nonce"),
            request.header("X-Plivo-Signature-V3"),
        )
    }

    fn parse(&self, request: &WebhookRequest, reading: &Reading) -> Result<Incoming, ParseError> {
        let country = reading.default_country;
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
        Ok(Incoming::of(CallWebhook {
            provider: Provider::Plivo,
            kind: self.kind(),
            provider_call_id: parsed.call_uuid.clone(),
            dedupe_key: parsed.dedupe_key(),
            direction: parsed.direction.unwrap_or(Direction::Outbound),
            event,
            raw_status: Some(parsed.call_status.clone()),
            data: pairs_json(&fields),
            inbound_start,
            // The answer URL's XML holds a caller starting for the desk.
            hold: match inbound_start {
                true => Hold::AnyQueue,
                false => Hold::Nowhere,
            },
            pbx: None,
        }))
    }

    fn reply(&self) -> Reply {
        if *self == Callback::Answer {
            Reply::PlivoXml
        } else {
            Reply::Status
        }
    }
}

/// Plivo's `<Record callbackUrl>` (`/webhooks/plivo/{org}/recording?call=<id>`): `CallUUID`,
/// `RecordingID`, `RecordUrl`, signed as every Plivo callback.
pub struct PlivoRecording;

impl Webhook for PlivoRecording {
    fn provider(&self) -> Provider {
        Provider::Plivo
    }

    fn auth(&self) -> Auth {
        Auth::Signature
    }

    fn verify(&self, secret: &str, request: &WebhookRequest) -> bool {
        Callback::Answer.verify(secret, request)
    }

    fn parse(&self, request: &WebhookRequest, _: &Reading) -> Result<Incoming, ParseError> {
        let fields = ("CallUUID", "RecordingID", "RecordUrl");
        let form = request.form();
        recording_webhook(Provider::Plivo, &form, fields, "plivo.recording").map(Incoming::of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_answer_url_is_answered_with_xml() {
        use crate::providers::webhook::Reply;
        assert_eq!(Callback::Answer.reply(), Reply::PlivoXml);
        assert_eq!(Callback::Ring.reply(), Reply::Status);
        assert_eq!(Callback::Hangup.reply(), Reply::Status);
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn v3_base_strings_follow_the_sdk() {
        let body = pairs(&[
            ("To", "919000000000"),
            ("CallUUID", "u1"),
            ("Event", "Hangup"),
        ]);
        // POST, no query: `?` then the sorted body as keyvalue.
        assert_eq!(
            v3_base(false, "https://sb.example/webhooks/plivo/o/hangup", &body),
            "https://sb.example/webhooks/plivo/o/hangup?CallUUIDu1EventHangupTo919000000000"
        );
        // POST with a query: `?` sorted query `.` sorted body; the fragment is never signed.
        assert_eq!(
            v3_base(false, "https://sb.example/h?call=c1&a=2#rc=3", &body),
            "https://sb.example/h?a=2&call=c1.CallUUIDu1EventHangupTo919000000000"
        );
        // POST, no body: the query alone.
        assert_eq!(
            v3_base(false, "https://sb.example/h?b=1", &[]),
            "https://sb.example/h?b=1"
        );
        assert_eq!(
            v3_base(false, "https://sb.example/h", &[]),
            "https://sb.example/h"
        );
        // GET: everything as a sorted query string.
        assert_eq!(
            v3_base(true, "https://sb.example/h?b=1", &pairs(&[("a", "2")])),
            "https://sb.example/h?a=2&b=1"
        );
    }

    #[test]
    fn v3_signature_matches_a_vector_computed_by_hand() {
        // By hand, with Python's hmac (auth token "MY_TOKEN", nonce "12345"):
        //   base = "https://sb.example/h?CallUUIDu1EventRing"
        //   base64(hmac.new(b"MY_TOKEN", (base + ".12345").encode(), sha256).digest())
        let base = "https://sb.example/h?CallUUIDu1EventRing";
        let expected = "omRhmGMtJJqOouQG/+nxuyR7maytU3WOMcb0kN3hAOM=";
        assert_eq!(v3_signature("MY_TOKEN", base, "12345"), expected);
        let body = pairs(&[("Event", "Ring"), ("CallUUID", "u1")]);
        assert!(verify_v3(
            "MY_TOKEN",
            false,
            "https://sb.example/h",
            &body,
            "12345",
            expected
        ));
        let several = format!("bm90IHRoaXMgb25l,{expected}");
        assert!(verify_v3(
            "MY_TOKEN",
            false,
            "https://sb.example/h",
            &body,
            "12345",
            &several
        ));
        assert!(!verify_v3(
            "MY_TOKEN",
            false,
            "https://sb.example/h",
            &body,
            "12346",
            expected
        ));
        assert!(!verify_v3(
            "MY_TOKEN",
            false,
            "https://sb.example/h",
            &body,
            "",
            expected
        ));
        assert!(!verify_v3(
            "OTHER",
            false,
            "https://sb.example/h",
            &body,
            "12345",
            expected
        ));
    }

    fn hangup(list: &[(&str, &str)]) -> PlivoCallback {
        let mut all = pairs(&[("CallUUID", "u1"), ("Event", "Hangup")]);
        all.extend(pairs(list));
        PlivoCallback::parse(Callback::Hangup, &all).unwrap()
    }

    #[test]
    fn every_status_word_maps() {
        let table = [
            ("ringing", Some(CallStatus::Ringing)),
            ("in-progress", Some(CallStatus::Answered)),
            ("completed", Some(CallStatus::Completed)),
            ("busy", Some(CallStatus::Busy)),
            ("no-answer", Some(CallStatus::NoAnswer)),
            ("failed", Some(CallStatus::Failed)),
            ("timeout", Some(CallStatus::NoAnswer)),
            ("cancel", Some(CallStatus::Canceled)),
            // Variants: any case, `-`/`_`/space alike, the usual spellings.
            ("canceled", Some(CallStatus::Canceled)),
            ("Cancelled", Some(CallStatus::Canceled)),
            ("no_answer", Some(CallStatus::NoAnswer)),
            ("No Answer", Some(CallStatus::NoAnswer)),
            ("NO-ANSWER", Some(CallStatus::NoAnswer)),
            ("in_progress", Some(CallStatus::Answered)),
            ("Busy", Some(CallStatus::Busy)),
            ("whatever", None),
        ];
        for (word, expected) in table {
            assert_eq!(map_status(word), expected, "{word}");
        }
    }

    #[test]
    fn hangups_follow_the_answered_rule() {
        let answered = hangup(&[
            ("CallStatus", "completed"),
            ("AnswerTime", "2025-03-04 10:00:09"),
            ("BillDuration", "61"),
        ]);
        assert_eq!(answered.status(), Some(CallStatus::Completed));
        let never = hangup(&[
            ("CallStatus", "completed"),
            ("AnswerTime", ""),
            ("BillDuration", "0"),
        ]);
        assert_eq!(never.status(), Some(CallStatus::NoAnswer));
        let ring_timeout = hangup(&[("CallStatus", "timeout"), ("HangupCauseCode", "3000")]);
        assert_eq!(ring_timeout.status(), Some(CallStatus::NoAnswer));
        let connect_timeout = hangup(&[("CallStatus", "timeout"), ("HangupCauseCode", "2010")]);
        assert_eq!(connect_timeout.status(), Some(CallStatus::Failed));
        let canceled = hangup(&[("CallStatus", "cancel"), ("HangupCauseCode", "1000")]);
        assert_eq!(canceled.status(), Some(CallStatus::Canceled));
        for word in ["no_answer", "canceled", "In Progress"] {
            let variant = hangup(&[("CallStatus", word)]);
            assert!(variant.status().is_some_and(CallStatus::is_final), "{word}");
        }
        let machine = hangup(&[("CallStatus", "completed"), ("Machine", "true")]);
        assert_eq!(machine.to_event("IN").amd.as_deref(), Some("machine"));
        let person = hangup(&[("CallStatus", "completed"), ("Machine", "False")]);
        assert_eq!(person.to_event("IN").amd.as_deref(), Some("human"));
    }

    #[test]
    fn a_hangup_carries_times_cost_and_cause() {
        let cb = hangup(&[
            ("CallStatus", "completed"),
            ("Direction", "outbound"),
            ("From", "918000000000"),
            ("To", "919000000000"),
            ("StartTime", "2025-03-04 10:00:01"),
            ("AnswerTime", "2025-03-04 10:00:09"),
            ("EndTime", "2025-03-04 10:01:10"),
            ("Duration", "69"),
            ("BillDuration", "61"),
            ("TotalCost", "0.00850"),
            ("HangupCauseName", "Normal Hangup"),
        ]);
        assert_eq!(cb.dedupe_key(), "u1:Hangup");
        let e = cb.to_event("IN");
        assert!(e.final_record);
        assert_eq!(e.status, Some(CallStatus::Completed));
        assert_eq!(e.from.as_deref(), Some("+918000000000"));
        assert_eq!(e.cost.as_deref(), Some("0.00850"));
        assert_eq!(
            e.answered_at.unwrap().to_rfc3339(),
            "2025-03-04T10:00:09+00:00"
        );
        assert_eq!(
            e.occurred_at.unwrap().to_rfc3339(),
            "2025-03-04T10:01:10+00:00"
        );
        assert_eq!(
            e.hangup_cause, None,
            "a completed call has no failure cause"
        );
    }

    #[test]
    fn without_a_start_time_the_start_is_the_duration_before_the_end() {
        let cb = hangup(&[
            ("CallStatus", "completed"),
            ("AnswerTime", "2025-03-04 10:00:09"),
            ("EndTime", "2025-03-04 10:01:10"),
            ("Duration", "69"),
            ("BillDuration", "120"),
        ]);
        let e = cb.to_event("IN");
        assert_eq!(
            e.started_at.unwrap().to_rfc3339(),
            "2025-03-04T10:00:01+00:00",
            "Duration, not BillDuration"
        );
    }

    #[test]
    fn malformed_callbacks_say_what_is_wrong() {
        assert_eq!(
            PlivoCallback::parse(Callback::Ring, &pairs(&[("CallStatus", "ringing")])),
            Err(ParseError::Missing("CallUUID"))
        );
        assert!(PlivoCallback::parse(
            Callback::Hangup,
            &pairs(&[
                ("CallUUID", "u"),
                ("CallStatus", "completed"),
                ("EndTime", "yesterday")
            ])
        )
        .is_err());
    }

    #[test]
    fn answer_xml_dials_or_apologizes() {
        assert_eq!(
            answer_xml(Some("+919000000000"), "x"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial><Number>+919000000000</Number></Dial></Response>"
        );
        assert!(answer_xml(None, "Sorry & goodbye")
            .contains("<Speak>Sorry &amp; goodbye</Speak><Hangup/>"));
    }

    #[test]
    fn holds_and_recordings_read_as_plivo_expects() {
        assert_eq!(
            hold_xml(None, 30),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Wait length=\"30\"/></Response>"
        );
        assert!(hold_xml(Some("Please hold"), 99_999)
            .contains("<Speak>Please hold</Speak><Wait length=\"14400\"/>"));
        let xml = recorded(&hold_xml(None, 30), "https://sb.example/r?call=c&x=1");
        assert!(xml.contains(
            "<Response><Record recordSession=\"true\" redirect=\"false\" maxLength=\"14400\" callbackUrl=\"https://sb.example/r?call=c&amp;x=1\" callbackMethod=\"POST\"/><Wait"
        ));
    }
}
