//! Twilio Programmable Voice: status callbacks, their signature and status words (providers.md §1).

use super::webhook::{
    pairs_json, recording_webhook, Auth, CallWebhook, Hold, Incoming, Reading, Reply, Webhook,
    WebhookRequest,
};
use super::Provider;
use super::{field, ParseError};
use crate::domain::call::{CallEvent, CallStatus, Direction};
use crate::domain::phone::party;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

/// Twilio's `CallStatus` words (providers.md §1.2) in the canonical model. Twilio's `completed`
/// means the call connected (person, IVR or voicemail), so it stays `completed`.
pub fn map_status(word: &str) -> Option<CallStatus> {
    Some(match word.to_ascii_lowercase().as_str() {
        "queued" => CallStatus::Queued,
        "initiated" => CallStatus::Dialing,
        "ringing" => CallStatus::Ringing,
        "in-progress" => CallStatus::Answered,
        "completed" => CallStatus::Completed,
        "busy" => CallStatus::Busy,
        "no-answer" => CallStatus::NoAnswer,
        "canceled" => CallStatus::Canceled,
        "failed" => CallStatus::Failed,
        _ => return None,
    })
}

/// One status callback, as Twilio sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusCallback {
    pub call_sid: String,
    pub call_status: String,
    pub sequence_number: Option<i64>,
    pub timestamp: Option<DateTime<Utc>>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub direction: Option<Direction>,
    /// Seconds of the call, on terminal events only.
    pub call_duration: Option<i64>,
    pub sip_response_code: Option<String>,
    pub recording_url: Option<String>,
    /// Answering-machine detection's `AnsweredBy`, when it ran.
    pub answered_by: Option<String>,
}

impl StatusCallback {
    /// Reads the form fields of a status callback; absent optional fields are fine.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ParseError> {
        let call_sid = field(pairs, "CallSid").ok_or(ParseError::Missing("CallSid"))?;
        let call_status = field(pairs, "CallStatus").ok_or(ParseError::Missing("CallStatus"))?;
        let sequence_number = parse_int(pairs, "SequenceNumber")?;
        let call_duration = parse_int(pairs, "CallDuration")?;
        let timestamp = field(pairs, "Timestamp")
            .map(|t| {
                DateTime::parse_from_rfc2822(t)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| ParseError::Invalid {
                        field: "Timestamp",
                        reason: e.to_string(),
                    })
            })
            .transpose()?;
        let direction = field(pairs, "Direction").and_then(|d| match d {
            "inbound" => Some(Direction::Inbound),
            d if d.starts_with("outbound") => Some(Direction::Outbound),
            _ => None,
        });
        Ok(StatusCallback {
            call_sid: call_sid.to_owned(),
            call_status: call_status.to_owned(),
            sequence_number,
            timestamp,
            from: field(pairs, "From").map(str::to_owned),
            to: field(pairs, "To").map(str::to_owned),
            direction,
            call_duration,
            sip_response_code: field(pairs, "SipResponseCode").map(str::to_owned),
            recording_url: field(pairs, "RecordingUrl").map(str::to_owned),
            answered_by: field(pairs, "AnsweredBy").map(str::to_owned),
        })
    }

    /// The dedupe key of invariant 3: CallSid + SequenceNumber (CallStatus when Twilio sent none).
    pub fn dedupe_key(&self) -> String {
        match self.sequence_number {
            Some(seq) => format!("{}:seq:{seq}", self.call_sid),
            None => format!("{}:status:{}", self.call_sid, self.call_status),
        }
    }

    /// The provider-neutral event this callback reports.
    pub fn to_event(&self) -> CallEvent {
        let status = map_status(&self.call_status);
        let terminal = status.is_some_and(CallStatus::is_final);
        let hangup_cause = self
            .sip_response_code
            .as_ref()
            .filter(|_| terminal && status != Some(CallStatus::Completed))
            .map(|code| format!("sip_{code}"));
        CallEvent {
            final_record: terminal,
            status,
            occurred_at: self.timestamp,
            from: self.from.clone(),
            to: self.to.clone(),
            direction: self.direction,
            talk_s: self.call_duration.filter(|_| terminal),
            hangup_cause,
            recording_url: self.recording_url.clone(),
            amd: self
                .answered_by
                .as_deref()
                .and_then(crate::domain::dialer::amd_result)
                .map(str::to_owned),
            ..CallEvent::default()
        }
    }
}

/// What Twilio's call resource (`GET …/Calls/{CallSid}.json`, providers.md §1.1) says of a call:
/// its status and, once it is over, its final record — `duration` (the seconds it was
/// connected, as a terminal callback's `CallDuration`) and `end_time` — as the terminal
/// callback lost on the way would have said them. None when the status is not one of Twilio's.
pub fn call_resource_event(resource: &serde_json::Value) -> Option<CallEvent> {
    let call_status = resource["status"].as_str()?;
    map_status(call_status)?;
    let duration = match &resource["duration"] {
        serde_json::Value::String(s) => s.trim().parse::<i64>().ok(),
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    }
    .filter(|seconds| *seconds >= 0);
    let callback = StatusCallback {
        call_sid: resource["sid"].as_str().unwrap_or_default().to_owned(),
        call_status: call_status.to_owned(),
        sequence_number: None,
        timestamp: resource["end_time"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc2822(t).ok())
            .map(|t| t.with_timezone(&Utc)),
        from: None,
        to: None,
        direction: None,
        call_duration: duration,
        sip_response_code: None,
        recording_url: None,
        answered_by: None,
    };
    let mut event = callback.to_event();
    // The record is what Twilio wrote of how long the call lasted: without it (a call nobody
    // answered, or one still being written) the status is an outcome, which a terminal
    // callback arriving late may still correct.
    event.final_record &= duration.is_some();
    Some(event)
}

fn parse_int(pairs: &[(String, String)], name: &'static str) -> Result<Option<i64>, ParseError> {
    field(pairs, name)
        .map(|v| {
            v.parse::<i64>().map_err(|_| ParseError::Invalid {
                field: name,
                reason: format!("`{v}` is not a whole number"),
            })
        })
        .transpose()
}

/// `X-Twilio-Signature` for a form POST: Base64(HMAC-SHA1(auth token, URL + every parameter sorted
/// by name, written `name` + `value`; a repeated name once per distinct value, values sorted)).
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    // The SDKs sign a repeated identical pair once.
    sorted.dedup();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks a request's `X-Twilio-Signature` in constant time, over the URL as given and over the
/// same URL with the default port added or removed (Twilio signs either way, providers.md §1.4).
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], header: &str) -> bool {
    url_port_variants(url).iter().any(|candidate| {
        let expected = signature(auth_token, candidate, params);
        expected.as_bytes().ct_eq(header.trim().as_bytes()).into()
    })
}

/// The URL, and the same URL with its scheme's default port toggled.
fn url_port_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let (scheme, default_port) = if url.starts_with("https://") {
        ("https://", "443")
    } else if url.starts_with("http://") {
        ("http://", "80")
    } else {
        return variants;
    };
    let rest = &url[scheme.len()..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let toggled = match authority.rsplit_once(':') {
        Some((host, port)) if port == default_port => format!("{scheme}{host}{tail}"),
        Some((_, port)) if port.chars().all(|c| c.is_ascii_digit()) => return variants,
        _ => format!("{scheme}{authority}:{default_port}{tail}"),
    };
    variants.push(toggled);
    variants
}

/// TwiML answering an incoming call: dial `target` when set, else say `message` and hang up.
pub fn answer_twiml(target: Option<&str>, message: &str) -> String {
    use super::plivo::xml_escape;
    let body = match target {
        Some(target) if target.starts_with("sip:") => {
            format!("<Dial><Sip>{}</Sip></Dial>", xml_escape(target))
        }
        Some(target) => format!("<Dial>{}</Dial>", xml_escape(target)),
        None => format!("<Say>{}</Say><Hangup/>", xml_escape(message)),
    };
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{body}</Response>")
}

/// TwiML putting an incoming caller on hold in the agent desk's queue: Twilio's own `<Enqueue>`
/// (its hold music plays) until the engine moves the call to an agent (the Calls API update with
/// [`dial_twiml`] takes it out of the queue), after `message`.
pub fn enqueue_twiml(queue: &str, message: &str) -> String {
    use super::plivo::xml_escape;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>{}</Say><Enqueue>{}</Enqueue></Response>",
        xml_escape(message),
        xml_escape(queue)
    )
}

/// TwiML holding an answered campaign call in silence while the desk gives it to an agent (the
/// Calls API update that connects the agent, or says the abandon message, replaces it).
pub fn hold_twiml() -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Pause length=\"30\"/></Response>"
        .to_owned()
}

/// TwiML connecting the caller to an agent: a phone number (`<Number>`), a `sip:` URI (`<Sip>`)
/// or a `client:` identity (`<Client>`, a Twilio softphone), recorded from answer when `record`
/// names where Twilio reports the recording (`recordingStatusCallback`).
pub fn dial_twiml(target: &str, record: Option<&str>) -> String {
    use super::plivo::xml_escape;
    let noun = match target {
        t if t.starts_with("sip:") => format!("<Sip>{}</Sip>", xml_escape(t)),
        t => match t.strip_prefix("client:") {
            Some(identity) => format!("<Client>{}</Client>", xml_escape(identity)),
            None => format!("<Number>{}</Number>", xml_escape(t)),
        },
    };
    let record = match record {
        Some(callback) => format!(
            " record=\"record-from-answer\" recordingStatusCallback=\"{}\"",
            xml_escape(callback)
        ),
        None => String::new(),
    };
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial{record}>{noun}</Dial></Response>")
}

// ---------------------------------------------------------------------------------------------
// Its webhooks

/// Twilio's status callback (`/webhooks/twilio/{org}/status`).
pub struct TwilioStatus;

/// Twilio's incoming-call webhook (`/webhooks/twilio/{org}/voice`), answered with TwiML.
pub struct TwilioVoice;

fn twilio_verify(secret: &str, request: &WebhookRequest) -> bool {
    verify(
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

    fn parse(&self, request: &WebhookRequest, reading: &Reading) -> Result<Incoming, ParseError> {
        let country = reading.default_country;
        let pairs = request.form();
        let callback = StatusCallback::parse(&pairs)?;
        let mut event = callback.to_event();
        // Twilio posts a status callback as the status changes; one without `Timestamp` (the
        // field is optional) is dated when it arrives, so an answered and ended call has its times.
        event.occurred_at = event.occurred_at.or_else(|| Some(chrono::Utc::now()));
        event.from = event.from.map(|n| party(&n, country));
        event.to = event.to.map(|n| party(&n, country));
        Ok(Incoming::of(CallWebhook {
            provider: Provider::Twilio,
            kind: "twilio.status",
            provider_call_id: callback.call_sid.clone(),
            dedupe_key: callback.dedupe_key(),
            direction: callback.direction.unwrap_or(Direction::Outbound),
            event,
            raw_status: Some(callback.call_status.clone()),
            data: pairs_json(&pairs),
            inbound_start: false,
            hold: Hold::Nowhere,
            pbx: None,
        }))
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

    fn parse(&self, request: &WebhookRequest, reading: &Reading) -> Result<Incoming, ParseError> {
        let country = reading.default_country;
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
        Ok(Incoming::of(CallWebhook {
            provider: Provider::Twilio,
            kind: "twilio.voice",
            dedupe_key: format!("{call_sid}:voice"),
            provider_call_id: call_sid,
            direction: Direction::Inbound,
            event,
            raw_status: field(&pairs, "CallStatus").map(str::to_owned),
            data: pairs_json(&pairs),
            inbound_start: true,
            hold: Hold::AnyQueue,
            pbx: None,
        }))
    }

    fn reply(&self) -> Reply {
        Reply::Twiml
    }
}

/// Twilio's `RecordingStatusCallback` (`/webhooks/twilio/{org}/recording?call=<id>`):
/// `CallSid`, `RecordingSid`, `RecordingStatus`, `RecordingUrl`, signed as every Twilio callback.
pub struct TwilioRecording;

impl Webhook for TwilioRecording {
    fn provider(&self) -> Provider {
        Provider::Twilio
    }

    fn auth(&self) -> Auth {
        Auth::Signature
    }

    fn verify(&self, secret: &str, request: &WebhookRequest) -> bool {
        twilio_verify(secret, request)
    }

    fn parse(&self, request: &WebhookRequest, _: &Reading) -> Result<Incoming, ParseError> {
        let fields = ("CallSid", "RecordingSid", "RecordingUrl");
        let form = request.form();
        recording_webhook(Provider::Twilio, &form, fields, "twilio.recording").map(Incoming::of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_callback_is_signed_over_url_and_form_and_normalized() {
        use crate::providers::form_pairs;
        let url = "https://sb.example/webhooks/twilio/o/status";
        let body = b"CallSid=CA1&CallStatus=ringing&SequenceNumber=1&From=09876543210&To=%2B14155550100&Direction=outbound-api";
        let pairs = form_pairs(body);
        let signature = signature("secret", url, &pairs);
        let headers = [("x-twilio-signature".to_owned(), signature)];
        let req = WebhookRequest::posted(&headers, body, url);
        assert!(TwilioStatus.verify("secret", &req));
        assert!(!TwilioStatus.verify("other", &req));
        let parsed = TwilioStatus
            .parse(&req, &Reading::in_country("IN"))
            .unwrap()
            .call()
            .unwrap();
        assert_eq!(parsed.provider_call_id, "CA1");
        assert_eq!(parsed.event.status, Some(CallStatus::Ringing));
        assert_eq!(parsed.event.from.as_deref(), Some("+919876543210"));
        assert_eq!(TwilioStatus.reply(), Reply::Status);
        assert_eq!(TwilioVoice.reply(), Reply::Twiml);
        assert!(!parsed.inbound_start);
    }

    #[test]
    fn the_call_resource_reads_as_the_callback_it_stands_for() {
        let at = |t: &str| Some(DateTime::parse_from_rfc2822(t).unwrap().with_timezone(&Utc));
        let end = "Tue, 04 Mar 2025 10:02:30 +0000";
        for (resource, status, record, talk, occurred) in [
            (
                serde_json::json!({"status": "completed", "duration": "42", "end_time": end}),
                Some(CallStatus::Completed),
                true,
                Some(42),
                at(end),
            ),
            (
                serde_json::json!({"status": "no-answer", "duration": 0, "end_time": end}),
                Some(CallStatus::NoAnswer),
                true,
                Some(0),
                at(end),
            ),
            // Nobody answered and no length written: an outcome only.
            (
                serde_json::json!({"status": "busy", "duration": null, "end_time": end}),
                Some(CallStatus::Busy),
                false,
                None,
                at(end),
            ),
            // Connected, its length not yet written: an outcome, not the record.
            (
                serde_json::json!({"status": "completed", "duration": null, "end_time": null}),
                Some(CallStatus::Completed),
                false,
                None,
                None,
            ),
            // Still on: a live status, nothing final.
            (
                serde_json::json!({"status": "in-progress", "duration": null, "start_time": end}),
                Some(CallStatus::Answered),
                false,
                None,
                None,
            ),
            (
                serde_json::json!({"status": "completed", "duration": "-3", "end_time": "soon"}),
                Some(CallStatus::Completed),
                false,
                None,
                None,
            ),
        ] {
            let event = call_resource_event(&resource).unwrap();
            assert_eq!(
                (
                    event.status,
                    event.final_record,
                    event.talk_s,
                    event.occurred_at
                ),
                (status, record, talk, occurred),
                "{resource}"
            );
        }
        assert!(call_resource_event(&serde_json::json!({"status": "teleported"})).is_none());
        assert!(call_resource_event(&serde_json::json!({})).is_none());
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const DOC_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn doc_params() -> Vec<(String, String)> {
        // Deliberately out of order: the algorithm sorts.
        pairs(&[
            ("To", "+18005551212"),
            ("CallSid", "CA1234567890ABCDE"),
            ("From", "+14158675309"),
            ("Digits", "1234"),
            ("Caller", "+14158675309"),
        ])
    }

    #[test]
    fn answer_twiml_dials_or_apologizes() {
        assert_eq!(
            answer_twiml(Some("+919000000000"), "x"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial>+919000000000</Dial></Response>"
        );
        assert!(answer_twiml(None, "Back <soon>")
            .ends_with("<Say>Back &lt;soon&gt;</Say><Hangup/></Response>"));
    }

    #[test]
    fn matches_twilios_published_vector() {
        // Twilio's security docs and SDK tests: token 12345, this URL and these parameters.
        assert_eq!(
            signature("12345", DOC_URL, &doc_params()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(verify(
            "12345",
            DOC_URL,
            &doc_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn repeated_names_contribute_every_sorted_value() {
        // The SDKs' vector for repeated parameters (sorted, identical pairs once).
        let params = pairs(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            signature("12345", DOC_URL, &params),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    #[test]
    fn rejects_any_change() {
        let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert!(!verify("12346", DOC_URL, &doc_params(), good));
        assert!(!verify(
            "12345",
            &format!("{DOC_URL}&x=1"),
            &doc_params(),
            good
        ));
        let mut tampered = doc_params();
        tampered[3].1 = "9999".into();
        assert!(!verify("12345", DOC_URL, &tampered, good));
        assert!(!verify(
            "12345",
            DOC_URL,
            &doc_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8"
        ));
        assert!(!verify("12345", DOC_URL, &doc_params(), ""));
    }

    #[test]
    fn accepts_the_url_with_or_without_its_default_port() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        let sig_with = signature("12345", with_port, &doc_params());
        assert!(verify("12345", DOC_URL, &doc_params(), &sig_with));
        let sig_without = signature("12345", DOC_URL, &doc_params());
        assert!(verify("12345", with_port, &doc_params(), &sig_without));
        assert_eq!(
            url_port_variants("http://127.0.0.1:8080/x"),
            vec!["http://127.0.0.1:8080/x".to_owned()]
        );
        assert_eq!(
            url_port_variants("http://h/x?a=1")[1],
            "http://h:80/x?a=1".to_owned()
        );
    }

    #[test]
    fn every_status_word_maps() {
        let table = [
            ("queued", Some(CallStatus::Queued)),
            ("initiated", Some(CallStatus::Dialing)),
            ("ringing", Some(CallStatus::Ringing)),
            ("in-progress", Some(CallStatus::Answered)),
            ("completed", Some(CallStatus::Completed)),
            ("busy", Some(CallStatus::Busy)),
            ("no-answer", Some(CallStatus::NoAnswer)),
            ("canceled", Some(CallStatus::Canceled)),
            ("failed", Some(CallStatus::Failed)),
            ("Ringing", Some(CallStatus::Ringing)),
            ("answered", None),
            ("", None),
        ];
        for (word, expected) in table {
            assert_eq!(map_status(word), expected, "{word}");
        }
    }

    #[test]
    fn parses_a_terminal_callback() {
        let params = pairs(&[
            ("CallSid", "CA0001"),
            ("From", "+15550001111"),
            ("To", "+15550002222"),
            ("Direction", "outbound-api"),
            ("CallStatus", "no-answer"),
            ("CallDuration", "0"),
            ("SipResponseCode", "487"),
            ("Timestamp", "Tue, 04 Mar 2025 10:00:30 +0000"),
            ("SequenceNumber", "2"),
        ]);
        let cb = StatusCallback::parse(&params).unwrap();
        assert_eq!(cb.dedupe_key(), "CA0001:seq:2");
        let event = cb.to_event();
        assert_eq!(event.status, Some(CallStatus::NoAnswer));
        assert!(event.final_record);
        assert_eq!(event.talk_s, Some(0));
        assert_eq!(event.hangup_cause.as_deref(), Some("sip_487"));
        assert_eq!(event.direction, Some(Direction::Outbound));
        assert_eq!(
            event.occurred_at.unwrap().to_rfc3339(),
            "2025-03-04T10:00:30+00:00"
        );
    }

    #[test]
    fn malformed_callbacks_say_what_is_wrong() {
        assert_eq!(
            StatusCallback::parse(&pairs(&[("CallStatus", "ringing")])),
            Err(ParseError::Missing("CallSid"))
        );
        let bad_seq = pairs(&[
            ("CallSid", "CA1"),
            ("CallStatus", "ringing"),
            ("SequenceNumber", "x"),
        ]);
        assert!(matches!(
            StatusCallback::parse(&bad_seq),
            Err(ParseError::Invalid {
                field: "SequenceNumber",
                ..
            })
        ));
        let bad_time = pairs(&[
            ("CallSid", "CA1"),
            ("CallStatus", "ringing"),
            ("Timestamp", "yesterday"),
        ]);
        assert!(StatusCallback::parse(&bad_time).is_err());
    }
}
