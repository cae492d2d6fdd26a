//! Yeastar P-Series PBX (providers.md §4, §8): the webhook envelope (nested `msg` string or the
//! flat form), its signature, the events the engine uses, and the OpenAPI dial.

use super::credentials::{Account, Credentials};
use super::webhook::{
    Auth, CallWebhook, ExtensionWebhook, Hold, Incoming, PbxCall, Reading, Webhook, WebhookRequest,
};
use super::{json_number, json_text, ParseError, Provider};
use crate::domain::call::{possible_duration, Authority, CallEvent, CallStatus, Direction};
use crate::domain::extension::{ExtensionChange, Membership};
use crate::domain::phone::party;
use crate::error::{AppError, Code};
use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Digest;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The PBX's `X-Signature` of a raw body: Base64(HMAC-SHA256(secret, body)).
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks `X-Signature` in constant time.
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let expected = signature(secret, body);
    !header.is_empty() && bool::from(expected.as_bytes().ct_eq(header.trim().as_bytes()))
}

/// Which side of a call a member is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberKind {
    Extension {
        number: String,
    },
    Inbound {
        from: Option<String>,
        to: Option<String>,
    },
    Outbound {
        from: Option<String>,
        to: Option<String>,
    },
}

/// The kind of a call-state snapshot (30011) on the timeline.
pub const CALL_STATE: &str = "yeastar.30011";
/// The kind of a call's CDR (30012) — the webhook's, or a record of the PBX's `cdr/list` read in
/// its place.
pub const CDR: &str = "yeastar.30012";

/// One member of a 30011 snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub kind: MemberKind,
    /// ALERT, RING, EARLYMEDIA, ANSWERED, ANSWER, HOLD, BYE (upper-cased).
    pub status: String,
    /// The member's call channel (`PJSIP/…`), what the transfer API moves.
    pub channel_id: Option<String>,
}

impl Member {
    /// An extension member's part in the call; None once it said BYE (or an unknown word).
    pub fn membership(&self) -> Option<Membership> {
        match self.status.as_str() {
            "RING" | "EARLYMEDIA" => Some(Membership::Ringing),
            "ALERT" | "ANSWER" | "ANSWERED" | "HOLD" => Some(Membership::Busy),
            _ => None,
        }
    }
}

/// The events the engine uses; everything else is kept in the inbox only.
#[derive(Debug, Clone, PartialEq)]
pub enum PbxEvent {
    /// 30011: a call's members and their states.
    CallState {
        call_id: String,
        members: Vec<Member>,
    },
    /// 30012: the call detail record, after hangup.
    Cdr(Cdr),
    /// 30015: the call failed.
    CallFailed {
        call_id: String,
        reason: String,
        extensions: Vec<String>,
    },
    /// 30007: registered or not.
    Registration { extension: String, registered: bool },
    /// 30008: the extension's call status (Ringing, Busy, Idle).
    ExtensionCallStatus { extension: String, status: String },
    /// 30009: presence status (`do_not_disturb` is DND).
    Presence { extension: String, dnd: bool },
    /// Anything else (30010 trunks, 30020, …).
    Unknown { event_type: i64 },
}

/// A 30012 CDR.
#[derive(Debug, Clone, PartialEq)]
pub struct Cdr {
    pub call_id: String,
    pub time_start: Option<NaiveDateTime>,
    pub call_from: Option<String>,
    pub call_to: Option<String>,
    pub call_duration: Option<i64>,
    pub talk_duration: Option<i64>,
    pub status: String,
    pub direction: Option<Direction>,
    pub recording: Option<String>,
}

/// Reads the envelope `{type, sn, msg}` (`msg` a JSON string, or an object), or the flat form
/// with the fields at the top level; `type` as a number or numeric text.
pub fn parse(body: &[u8]) -> Result<(Option<String>, PbxEvent), ParseError> {
    let envelope: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            return Err(ParseError::Invalid {
                field: "body",
                reason: "a JSON object is expected".into(),
            })
        }
        Err(e) => {
            return Err(ParseError::Invalid {
                field: "body",
                reason: format!("not JSON: {e}"),
            })
        }
    };
    // `type` is the event number; in the flat S-Series form a CDR's `type` is the CDR type and
    // the event is named by `event` (a number) or `action` (`NewCdr`).
    let numeric = |name: &'static str| json_number(&envelope, name).ok().flatten();
    let named = |name: &'static str| json_text(&envelope, name).and_then(|word| named_event(&word));
    // A flat CDR names its CDR type (`Inbound`, `Outbound`, `Internal`) in `type`.
    let cdr_type = json_text(&envelope, "type")
        .filter(|t| {
            matches!(
                t.to_ascii_lowercase().as_str(),
                "inbound" | "outbound" | "internal"
            )
        })
        .map(|_| 30012);
    let event_type = numeric("type")
        .map(|n| n as i64)
        .or(numeric("event").map(|n| n as i64))
        .or(named("action"))
        .or(named("event"))
        .or(cdr_type)
        .ok_or(ParseError::Missing("type"))?;
    let sn = json_text(&envelope, "sn");
    let msg = match envelope.get("msg") {
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => object,
            _ => {
                return Err(ParseError::Invalid {
                    field: "msg",
                    reason: "not a JSON object in a string".into(),
                })
            }
        },
        Some(Value::Object(object)) => object.clone(),
        _ => envelope.clone(),
    };
    Ok((sn, event(event_type, &msg)?))
}

/// The event number of an S-Series event name (`action` in API v1.1, `event` in v2).
fn named_event(word: &str) -> Option<i64> {
    Some(match word.to_ascii_lowercase().as_str() {
        "newcdr" => 30012,
        "callstatus" => 30011,
        "callfailed" => 30015,
        _ => return None,
    })
}

fn required(msg: &Map<String, Value>, name: &'static str) -> Result<String, ParseError> {
    json_text(msg, name).ok_or(ParseError::Missing(name))
}

/// `call_id`, or the S-Series `callid`.
fn required_id(msg: &Map<String, Value>) -> Result<String, ParseError> {
    json_text(msg, "call_id")
        .or_else(|| json_text(msg, "callid"))
        .ok_or(ParseError::Missing("call_id"))
}

fn event(event_type: i64, msg: &Map<String, Value>) -> Result<PbxEvent, ParseError> {
    Ok(match event_type {
        // 30016 (an inbound call's invitation) carries the same members when it has them.
        30011 | 30016 if event_type == 30011 || msg.contains_key("members") => {
            PbxEvent::CallState {
                call_id: required_id(msg)?,
                members: members(msg)?,
            }
        }
        30012 => PbxEvent::Cdr(cdr(msg)?),
        30015 => PbxEvent::CallFailed {
            call_id: required_id(msg)?,
            reason: json_text(msg, "reason").unwrap_or_else(|| "call failed".into()),
            extensions: members(msg)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| match m.kind {
                    MemberKind::Extension { number } => Some(number),
                    _ => None,
                })
                .collect(),
        },
        30007 => PbxEvent::Registration {
            extension: required(msg, "extension")?,
            registered: required(msg, "status")?.eq_ignore_ascii_case("registered"),
        },
        30008 => PbxEvent::ExtensionCallStatus {
            extension: required(msg, "extension")?,
            status: required(msg, "status")?,
        },
        30009 => PbxEvent::Presence {
            extension: required(msg, "extension")?,
            dnd: required(msg, "status")?
                .to_ascii_lowercase()
                .replace(['-', ' '], "_")
                == "do_not_disturb",
        },
        other => PbxEvent::Unknown { event_type: other },
    })
}

fn members(msg: &Map<String, Value>) -> Result<Vec<Member>, ParseError> {
    let Some(list) = msg.get("members").and_then(Value::as_array) else {
        return Err(ParseError::Missing("members"));
    };
    let mut out = Vec::new();
    for entry in list {
        let Some(object) = entry.as_object() else {
            continue;
        };
        for (kind, fields) in object {
            let Some(fields) = fields.as_object() else {
                continue;
            };
            // P-Series `member_status`; S-Series `memberstatus`.
            let status = json_text(fields, "member_status")
                .or_else(|| json_text(fields, "memberstatus"))
                .unwrap_or_default()
                .to_ascii_uppercase();
            let kind = match kind.as_str() {
                "extension" | "ext" => MemberKind::Extension {
                    number: json_text(fields, "number")
                        .or_else(|| json_text(fields, "extid"))
                        .ok_or(ParseError::Missing("extension.number"))?,
                },
                "inbound" => MemberKind::Inbound {
                    from: json_text(fields, "from"),
                    to: json_text(fields, "to"),
                },
                "outbound" => MemberKind::Outbound {
                    from: json_text(fields, "from"),
                    to: json_text(fields, "to"),
                },
                _ => continue,
            };
            let channel_id =
                json_text(fields, "channel_id").or_else(|| json_text(fields, "channelid"));
            out.push(Member {
                kind,
                status,
                channel_id,
            });
        }
    }
    Ok(out)
}

fn cdr(msg: &Map<String, Value>) -> Result<Cdr, ParseError> {
    // P-Series names first, then the S-Series spellings (providers.md §4.4, §7.6).
    let text = |names: &[&str]| names.iter().find_map(|n| json_text(msg, n));
    let number = |names: &[&'static str]| -> Result<Option<i64>, ParseError> {
        for name in names {
            if let Some(n) = json_number(msg, name)? {
                return Ok(Some(n as i64));
            }
        }
        Ok(None)
    };
    let time_start = text(&["time_start", "timestart"])
        .map(|t| {
            NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S").map_err(|_| {
                ParseError::Invalid {
                    field: "time_start",
                    reason: format!("`{t}` is not YYYY-MM-DD HH:MM:SS"),
                }
            })
        })
        .transpose()?;
    Ok(Cdr {
        call_id: text(&["call_id", "callid"]).ok_or(ParseError::Missing("call_id"))?,
        time_start,
        call_from: text(&["call_from", "callfrom"]),
        call_to: text(&["call_to", "callto"]),
        call_duration: number(&["call_duration", "callduraction", "callduration"])?,
        talk_duration: number(&["talk_duration", "talkduraction", "talkduration"])?,
        status: text(&["status"]).ok_or(ParseError::Missing("status"))?,
        direction: text(&["type"]).and_then(|t| direction_word(&t)),
        recording: text(&["recording"]),
    })
}

/// A CDR `status` (ANSWERED, ANSWERD, NO ANSWER, NO ANSWERED, BUSY, FAILED, VOICEMAIL; any case)
/// in the canonical model. An answered CDR is completed — with no talk time (under a second, which
/// the PBX rounds to 0) only if an answer event came (providers.md §7.2:
/// [`CallEvent::completed_if_answered`]).
pub fn cdr_status(word: &str) -> Option<CallStatus> {
    let word = word.trim().to_ascii_uppercase();
    if word.starts_with("NO ANSWER")
        || word.starts_with("NOANSWER")
        || word.starts_with("NO_ANSWER")
    {
        Some(CallStatus::NoAnswer)
    } else if word.starts_with("ANSWER") {
        Some(CallStatus::Completed)
    } else if word.starts_with("BUSY") {
        Some(CallStatus::Busy)
    } else if word.starts_with("FAIL") {
        Some(CallStatus::Failed)
    } else if word.starts_with("VOICEMAIL") {
        Some(CallStatus::NoAnswer)
    } else {
        None
    }
}

/// A 30015 `reason` in the canonical model: busy for 486 / User Busy, no_answer for 480 / 603
/// (ring timeout) / DND, failed for everything else.
pub fn failure_status(reason: &str) -> CallStatus {
    let reason = reason.to_ascii_lowercase();
    if reason.starts_with("486") || reason.contains("busy") {
        CallStatus::Busy
    } else if reason.starts_with("480") || reason.starts_with("603") || reason.contains("dnd") {
        CallStatus::NoAnswer
    } else {
        CallStatus::Failed
    }
}

/// The call's state in a 30011 snapshot: answered when a person took it — a callee member says
/// ANSWER, a member holds, or an extension's own call says ANSWERED (its callee answered, also
/// behind a trunk the PBX does not monitor) with nobody ringing; ringing when any member rings;
/// dialing while only the caller is there — hearing ringback (ALERT), or answered by the PBX
/// itself (an inbound trunk ANSWERED by its IVR or queue is not a person's answer);
/// disconnected when everyone said BYE.
pub fn snapshot_status(members: &[Member]) -> Option<CallStatus> {
    let any = |words: &[&str]| members.iter().any(|m| words.contains(&m.status.as_str()));
    let extension_answered = members
        .iter()
        .any(|m| matches!(m.kind, MemberKind::Extension { .. }) && m.status == "ANSWERED");
    let rings = any(&["RING", "EARLYMEDIA"]);
    if members.is_empty() {
        None
    } else if any(&["ANSWER", "HOLD"]) || (extension_answered && !rings) {
        Some(CallStatus::Answered)
    } else if rings {
        Some(CallStatus::Ringing)
    } else if any(&["ALERT", "ANSWERED"]) {
        Some(CallStatus::Dialing)
    } else if members.iter().all(|m| m.status == "BYE") {
        Some(CallStatus::Disconnected)
    } else {
        None
    }
}

/// The call event of a 30011 snapshot: status, direction (a trunk member says inbound or
/// outbound; extensions only: internal), parties.
pub fn call_state_event(members: &[Member], default_country: &str) -> (Direction, CallEvent) {
    let mut direction = Direction::Internal;
    let (mut from, mut to) = (None, None);
    for member in members {
        match &member.kind {
            MemberKind::Inbound { from: f, to: t } => {
                direction = Direction::Inbound;
                from = f.clone().or(from);
                to = t.clone().or(to);
            }
            MemberKind::Outbound { from: f, to: t } => {
                direction = Direction::Outbound;
                from = f.clone().or(from);
                to = t.clone().or(to);
            }
            MemberKind::Extension { .. } => {}
        }
    }
    if direction == Direction::Internal {
        let ext = |words: &[&str]| {
            members.iter().find_map(|m| match &m.kind {
                MemberKind::Extension { number } if words.contains(&m.status.as_str()) => {
                    Some(number.clone())
                }
                _ => None,
            })
        };
        from = ext(&["ALERT", "ANSWERED"]);
        to = ext(&["RING", "ANSWER", "EARLYMEDIA"]);
    }
    let event = CallEvent {
        status: snapshot_status(members),
        direction: Some(direction),
        from: from.map(|n| party(&n, default_country)),
        to: to.map(|n| party(&n, default_country)),
        ..CallEvent::default()
    };
    (direction, event)
}

/// The channel of the caller from outside (the inbound trunk member), if the snapshot names it.
pub fn inbound_channel(members: &[Member]) -> Option<String> {
    members.iter().find_map(|m| match m.kind {
        MemberKind::Inbound { .. } => m.channel_id.clone(),
        _ => None,
    })
}

/// The extension numbers of a snapshot, each with its part (None: it said BYE).
pub fn extension_members(members: &[Member]) -> Vec<(String, Option<Membership>)> {
    members
        .iter()
        .filter_map(|m| match &m.kind {
            MemberKind::Extension { number } => Some((number.clone(), m.membership())),
            _ => None,
        })
        .collect()
}

/// Reads a PBX local time with the account's UTC offset (`+05:30`; UTC when none is set).
pub fn pbx_time(naive: NaiveDateTime, utc_offset: Option<&str>) -> DateTime<Utc> {
    let offset = utc_offset
        .and_then(parse_offset)
        .unwrap_or(FixedOffset::east_opt(0).unwrap());
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| naive.and_utc())
}

/// `+05:30` / `-04:00` / `+0530`.
pub fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.trim().split_at_checked(1)? {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() != 4 {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

impl Cdr {
    /// The CDR as the call's final record: provider times, talk time, outcome.
    pub fn to_event(&self, default_country: &str, utc_offset: Option<&str>) -> CallEvent {
        let start = self.time_start.map(|t| pbx_time(t, utc_offset));
        // A duration outside what a call can last is dropped, not trusted (nor overflowed).
        let (call_duration, talk_duration) = (
            self.call_duration.filter(|d| possible_duration(*d)),
            self.talk_duration.filter(|d| possible_duration(*d)),
        );
        let end = start
            .zip(call_duration)
            .map(|(s, d)| s + chrono::Duration::seconds(d));
        let answered = end
            .zip(talk_duration.filter(|t| *t > 0))
            .map(|(e, t)| e - chrono::Duration::seconds(t));
        let status = cdr_status(&self.status);
        CallEvent {
            final_record: true,
            completed_if_answered: status == Some(CallStatus::Completed),
            status,
            occurred_at: end,
            started_at: start,
            answered_at: answered,
            from: self.call_from.as_deref().map(|n| party(n, default_country)),
            to: self.call_to.as_deref().map(|n| party(n, default_country)),
            direction: self.direction,
            talk_s: talk_duration,
            recording: self.recording.clone(),
            hangup_cause: (status != Some(CallStatus::Completed)).then(|| self.status.clone()),
            ..CallEvent::default()
        }
    }
}

/// A 30015 as an outcome the engine infers (the CDR, if it comes, overrides it).
pub fn failure_event(reason: &str) -> CallEvent {
    CallEvent {
        authority: Authority::Engine,
        status: Some(failure_status(reason)),
        hangup_cause: Some(reason.to_owned()),
        ..CallEvent::default()
    }
}

/// `POST /webhooks/yeastar/{org}`: every event the PBX pushes, signed with `X-Signature` over
/// the raw body. A call's snapshot (30011), record (30012) or failure (30015) is its call's
/// event, with the extensions it names; 30007/30008/30009 change one extension; anything else is
/// kept and changes nothing.
pub struct PbxWebhook;

impl Webhook for PbxWebhook {
    fn provider(&self) -> Provider {
        Provider::Yeastar
    }

    fn auth(&self) -> Auth {
        Auth::Signature
    }

    fn verify(&self, secret: &str, request: &WebhookRequest) -> bool {
        verify(secret, request.body, request.header("X-Signature"))
    }

    fn parse(&self, request: &WebhookRequest, reading: &Reading) -> Result<Incoming, ParseError> {
        let (_sn, event) = parse(request.body)?;
        // The PBX's events carry no id of their own: the body is the event.
        let dedupe_key = format!("sha256:{}", hex::encode(sha2::Sha256::digest(request.body)));
        let country = reading.default_country;
        let extension = |kind, number, change| {
            Ok(Incoming::Extension(ExtensionWebhook {
                kind,
                dedupe_key: dedupe_key.clone(),
                number,
                change,
            }))
        };
        let (call_id, kind, direction, mut event, raw_status, members, hold) = match event {
            PbxEvent::CallState { call_id, members } => {
                let (direction, mut event) = call_state_event(&members, country);
                // A 30011 snapshot carries no time: the PBX pushes it the moment it happens, so
                // its arrival dates it (ringing, answered, ended) until the CDR's own, earlier
                // times replace these.
                event.occurred_at = Some(Utc::now());
                let words: Vec<&str> = members.iter().map(|m| m.status.as_str()).collect();
                let hold = match inbound_channel(&members) {
                    Some(channel) => Hold::NumberedQueue { channel },
                    None => Hold::Nowhere,
                };
                let raw = Some(words.join(","));
                let parts = extension_members(&members);
                (call_id, CALL_STATE, direction, event, raw, parts, hold)
            }
            PbxEvent::Cdr(cdr) => {
                let utc_offset = match reading.account {
                    Some(Account::Yeastar(account)) => account.utc_offset.as_deref(),
                    _ => None,
                };
                let event = cdr.to_event(country, utc_offset);
                let direction = cdr.direction.unwrap_or(Direction::Internal);
                let raw = Some(cdr.status.clone());
                (
                    cdr.call_id,
                    CDR,
                    direction,
                    event,
                    raw,
                    Vec::new(),
                    Hold::Nowhere,
                )
            }
            PbxEvent::CallFailed {
                call_id,
                reason,
                extensions,
            } => {
                let event = failure_event(&reason);
                let parts = extensions.into_iter().map(|n| (n, None)).collect();
                let kind = "yeastar.30015";
                let direction = Direction::Internal;
                (
                    call_id,
                    kind,
                    direction,
                    event,
                    Some(reason),
                    parts,
                    Hold::Nowhere,
                )
            }
            PbxEvent::Registration {
                extension: number,
                registered,
            } => {
                let change = ExtensionChange::Registration(registered);
                return extension("yeastar.30007", number, change);
            }
            PbxEvent::ExtensionCallStatus {
                extension: number, ..
            } => return extension("yeastar.30008", number, ExtensionChange::Seen),
            PbxEvent::Presence {
                extension: number,
                dnd,
            } => {
                let change = ExtensionChange::DoNotDisturb(dnd);
                return extension("yeastar.30009", number, change);
            }
            PbxEvent::Unknown { event_type } => {
                let kind = format!("yeastar.{event_type}");
                return Ok(Incoming::Ignored { kind, dedupe_key });
            }
        };
        event.extensions = members.iter().map(|(n, _)| n.clone()).collect();
        let snapshot = kind == CALL_STATE;
        let status = event.status;
        Ok(Incoming::of(CallWebhook {
            provider: Provider::Yeastar,
            kind,
            provider_call_id: call_id,
            dedupe_key,
            direction,
            event,
            raw_status,
            data: serde_json::from_slice(request.body).unwrap_or(Value::Null),
            // A caller from outside, not yet answered by a person: a snapshot may start the call
            // (its screen pop, and its wait in a desk queue of the number it called) — its
            // call's first only, which the engine knows.
            inbound_start: snapshot
                && direction == Direction::Inbound
                && matches!(status, Some(CallStatus::Ringing | CallStatus::Dialing)),
            hold,
            pbx: Some(PbxCall { members, snapshot }),
        }))
    }

    fn pushes_once(&self) -> bool {
        true
    }
}

/// The P-Series OpenAPI: `get_token` then `call/dial` (providers.md §4.1, §8).
pub struct YeastarApi {
    pub api_base: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Why the PBX did not place a call (no credential ever appears in it).
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error(
        "the PBX API is not configured: set client_id, client_secret and api_base for yeastar"
    )]
    NotConfigured,
    #[error("the PBX could not be reached: {0}")]
    Unreachable(String),
    #[error("the PBX refused: {0}")]
    Refused(String),
}

impl From<DialError> for AppError {
    fn from(error: DialError) -> Self {
        let code = match error {
            DialError::NotConfigured => Code::ProviderNotConfigured,
            DialError::Unreachable(_) | DialError::Refused(_) => Code::ProviderError,
        };
        AppError::new(code, error.to_string())
    }
}

/// One org's PBX API session: the access and refresh tokens with their expiry, or a refusal
/// remembered so a rejected secret is not tried again in a loop (5 failed logins block the IP).
#[derive(Debug, Clone, Default)]
pub struct PbxSession {
    access: Option<(String, Instant)>,
    refresh: Option<(String, Instant)>,
    refused_until: Option<Instant>,
}

/// Every org's PBX session, by org id (the lock is never held across a request).
pub type PbxSessions = Mutex<HashMap<String, PbxSession>>;

/// How long a refused login keeps the engine from trying the same credentials again.
const REFUSED_LOGIN_PAUSE: Duration = Duration::from_secs(300);
/// Tokens are renewed this long before they expire.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

impl YeastarApi {
    /// The PBX's API as the org's Yeastar credentials open it; `NotConfigured` without its
    /// address or client credentials.
    pub fn from_credentials(credentials: &Credentials) -> Result<Self, DialError> {
        let Account::Yeastar(account) = &credentials.account else {
            return Err(DialError::NotConfigured);
        };
        match (
            &credentials.common.api_base,
            &account.client_id,
            &account.client_secret,
        ) {
            (Some(api_base), Some(client_id), Some(client_secret)) => Ok(YeastarApi {
                api_base: api_base.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
            }),
            _ => Err(DialError::NotConfigured),
        }
    }

    async fn post(
        &self,
        http: &reqwest::Client,
        path: &str,
        access_token: Option<&str>,
        body: Value,
    ) -> Result<Value, DialError> {
        self.send(http, path, access_token, ApiRequest::Post(body))
            .await
    }

    async fn send(
        &self,
        http: &reqwest::Client,
        path: &str,
        access_token: Option<&str>,
        request: ApiRequest,
    ) -> Result<Value, DialError> {
        let url = format!(
            "{}/openapi/v1.0/{path}",
            self.api_base.trim_end_matches('/')
        );
        let mut request = match request {
            ApiRequest::Post(body) => http.post(url).json(&body),
            ApiRequest::Get(query) => http.get(url).query(&query),
        }
        .header("User-Agent", "OpenAPI");
        if let Some(token) = access_token {
            request = request.query(&[("access_token", token)]);
        }
        let unreachable = |e: reqwest::Error| DialError::Unreachable(super::unreachable_reason(e));
        request
            .send()
            .await
            .map_err(unreachable)?
            .json()
            .await
            .map_err(unreachable)
    }

    /// A valid access token: the cached one, else a refreshed one, else a new login.
    async fn access_token(
        &self,
        http: &reqwest::Client,
        mut session: PbxSession,
    ) -> (Result<String, DialError>, PbxSession) {
        let now = Instant::now();
        if session.refused_until.is_some_and(|until| until > now) {
            let refusal =
                DialError::Refused("the PBX refused these credentials; not retrying yet".into());
            return (Err(refusal), session);
        }
        let valid = |slot: &Option<(String, Instant)>| {
            slot.as_ref()
                .filter(|(_, expires)| *expires > now + TOKEN_MARGIN)
                .map(|(t, _)| t.clone())
        };
        if let Some(token) = valid(&session.access) {
            return (Ok(token), session);
        }
        let mut answer = Value::Null;
        if let Some(refresh) = valid(&session.refresh) {
            match self
                .post(
                    http,
                    "refresh_token",
                    None,
                    json!({"refresh_token": refresh}),
                )
                .await
            {
                Ok(value) => answer = value,
                Err(error) => return (Err(error), session),
            }
        }
        if answer.get("access_token").is_none() {
            let login = json!({"username": self.client_id, "password": self.client_secret});
            match self.post(http, "get_token", None, login).await {
                Ok(value) => answer = value,
                Err(error) => return (Err(error), session),
            }
        }
        let seconds = |name: &str, default: u64| {
            Duration::from_secs(answer.get(name).and_then(Value::as_u64).unwrap_or(default))
        };
        let text = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_owned);
        match text("access_token") {
            Some(token) => {
                session.access = Some((
                    token.clone(),
                    now + seconds("access_token_expire_time", 1800),
                ));
                session.refresh = text("refresh_token")
                    .map(|r| (r, now + seconds("refresh_token_expire_time", 86_400)))
                    .or(session.refresh);
                session.refused_until = None;
                (Ok(token), session)
            }
            None => {
                session = PbxSession {
                    refused_until: Some(now + REFUSED_LOGIN_PAUSE),
                    ..PbxSession::default()
                };
                (Err(DialError::Refused(api_error(&answer))), session)
            }
        }
    }

    /// One operation of the PBX's call API (`POST /openapi/v1.0/{path}`) in the org's session
    /// (`sessions[org]`, reused and renewed as needed); a refusal forgets the access token, which
    /// may have been revoked, so the next operation logs in afresh.
    async fn call_api(
        &self,
        http: &reqwest::Client,
        sessions: &PbxSessions,
        org: &str,
        path: &str,
        request: ApiRequest,
    ) -> Result<Value, DialError> {
        let session = sessions
            .lock()
            .unwrap()
            .get(org)
            .cloned()
            .unwrap_or_default();
        let (token, session) = self.access_token(http, session).await;
        sessions.lock().unwrap().insert(org.to_owned(), session);
        let answer = self.send(http, path, Some(&token?), request).await?;
        if answer.get("errcode").and_then(Value::as_i64) == Some(0) {
            return Ok(answer);
        }
        if let Some(session) = sessions.lock().unwrap().get_mut(org) {
            session.access = None;
        }
        Err(DialError::Refused(api_error(&answer)))
    }

    /// Places a call from `caller` (an extension) to `callee`; answers the PBX's call id.
    pub async fn dial(
        &self,
        http: &reqwest::Client,
        sessions: &PbxSessions,
        org: &str,
        caller: &str,
        callee: &str,
    ) -> Result<String, DialError> {
        let body = json!({"caller": caller, "callee": callee, "auto_answer": "no"});
        let answer = self
            .call_api(http, sessions, org, "call/dial", ApiRequest::Post(body))
            .await?;
        answer
            .get("call_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| DialError::Refused(api_error(&answer)))
    }

    /// Blind-transfers a call member's channel to `number` (`POST /openapi/v1.0/call/transfer`
    /// `{"type": "blind", "channel_id", "number"}`): how the desk moves a caller waiting in a PBX
    /// queue or IVR to the extension of the agent who accepted it.
    pub async fn transfer(
        &self,
        http: &reqwest::Client,
        sessions: &PbxSessions,
        org: &str,
        channel_id: &str,
        number: &str,
    ) -> Result<(), DialError> {
        let body = json!({"type": "blind", "channel_id": channel_id, "number": number});
        self.call_api(http, sessions, org, "call/transfer", ApiRequest::Post(body))
            .await
            .map(|_| ())
    }

    /// What the PBX says is true now (providers.md §4.6): every extension from its extension list
    /// (page by page) and every call it has, with its members.
    pub async fn state(
        &self,
        http: &reqwest::Client,
        sessions: &PbxSessions,
        org: &str,
    ) -> Result<PbxState, DialError> {
        let mut extensions = Vec::new();
        for page in 1.. {
            let query = vec![
                ("page".to_owned(), page.to_string()),
                ("page_size".to_owned(), EXTENSION_PAGE.to_string()),
            ];
            let answer = self
                .call_api(
                    http,
                    sessions,
                    org,
                    "extension/list",
                    ApiRequest::Get(query),
                )
                .await?;
            let listed = extension_list(&answer);
            let last = listed.len() < EXTENSION_PAGE;
            extensions.extend(listed);
            let total = answer["total_number"].as_u64().map(|n| n as usize);
            if last || total.is_some_and(|total| extensions.len() >= total) {
                break;
            }
        }
        let answer = self
            .call_api(
                http,
                sessions,
                org,
                "call/query",
                ApiRequest::Get(Vec::new()),
            )
            .await?;
        let calls = active_calls(&answer)
            .ok_or_else(|| DialError::Refused("the PBX's call list could not be read".into()))?;
        Ok(PbxState { extensions, calls })
    }
}

impl YeastarApi {
    /// The PBX's call records of calls that started from `since` (its `cdr/list`, newest
    /// first, page by page until a record of a call that ended before `since`: see
    /// [`place_of`]; at most [`CDR_PAGES`] pages), as the 30012 CDRs they stand for.
    /// `utc_offset` is the PBX's, to read the records' times as a 30012's.
    pub async fn cdrs_since(
        &self,
        http: &reqwest::Client,
        sessions: &PbxSessions,
        org: &str,
        since: DateTime<Utc>,
        utc_offset: Option<&str>,
    ) -> Result<Vec<Cdr>, DialError> {
        let mut found = Vec::new();
        for page in 1..=CDR_PAGES {
            let query = vec![
                ("page".to_owned(), page.to_string()),
                ("page_size".to_owned(), CDR_PAGE.to_string()),
                ("sort_by".to_owned(), "id".to_owned()),
                ("order_by".to_owned(), "desc".to_owned()),
            ];
            let answer = self
                .call_api(http, sessions, org, "cdr/list", ApiRequest::Get(query))
                .await?;
            let records = answer["data"].as_array().cloned().unwrap_or_default();
            let mut older = records.len() < CDR_PAGE;
            for record in &records {
                let Some((started, cdr)) = cdr_record(record, utc_offset) else {
                    continue;
                };
                match place_of(started, cdr.call_duration, since) {
                    Place::Wanted => found.push(cdr),
                    Place::StartedBefore => {}
                    Place::EndedBefore => older = true,
                }
            }
            if older {
                break;
            }
        }
        Ok(found)
    }
}

/// Where a record of the newest-first CDR list stands against `since`.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    /// Its call started from `since`.
    Wanted,
    /// A long call that started before `since` and ended since: skipped, the list goes on.
    StartedBefore,
    /// Its call ended before `since`: so did every record after it.
    EndedBefore,
}

/// The PBX writes a record when its call ends, so its list runs newest *end* first: only a
/// record of a call that ended before `since` (start + `duration`, whole seconds, a second's
/// slack) says the rest are older.
fn place_of(started: DateTime<Utc>, duration_s: Option<i64>, since: DateTime<Utc>) -> Place {
    let length = chrono::Duration::seconds(duration_s.unwrap_or(0).max(0) + 1);
    if started + length < since {
        Place::EndedBefore
    } else if started < since {
        Place::StartedBefore
    } else {
        Place::Wanted
    }
}

/// Call records asked for per page of the CDR list.
const CDR_PAGE: usize = 200;
/// Pages of the CDR list read at most by one look (a resync, a call's deadline).
const CDR_PAGES: usize = 50;

/// One record of the PBX's `cdr/list` (providers.md §4.6: `uid`, `timestamp`, `call_from`,
/// `call_to`, `duration`, `talk_duration`, `disposition`, `call_type`) as the 30012 CDR it
/// stands for, with when its call started; None when it names no call or no time.
fn cdr_record(record: &Value, utc_offset: Option<&str>) -> Option<(DateTime<Utc>, Cdr)> {
    let text = |name: &str| match &record[name] {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let number = |name: &str| match &record[name] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    // "Name<1001>" names a party by name and number: the number is what counts.
    let party = |name: &str| {
        text(name).map(|t| match (t.find('<'), t.rfind('>')) {
            (Some(open), Some(close)) if open < close => t[open + 1..close].to_owned(),
            _ => t,
        })
    };
    let started = DateTime::<Utc>::from_timestamp(number("timestamp")?, 0)?;
    let offset = utc_offset
        .and_then(parse_offset)
        .unwrap_or(FixedOffset::east_opt(0)?);
    let cdr = Cdr {
        call_id: text("uid")?,
        time_start: Some(started.with_timezone(&offset).naive_local()),
        call_from: party("call_from"),
        call_to: party("call_to"),
        call_duration: number("duration"),
        talk_duration: number("talk_duration"),
        status: text("disposition")?,
        direction: text("call_type").and_then(|t| direction_word(&t)),
        recording: None,
    };
    Some((started, cdr))
}

/// A CDR's `type` / `call_type` (`Inbound`, `Outbound`, `Internal`; any case).
fn direction_word(word: &str) -> Option<Direction> {
    match word.to_ascii_lowercase().as_str() {
        "inbound" => Some(Direction::Inbound),
        "outbound" => Some(Direction::Outbound),
        "internal" => Some(Direction::Internal),
        _ => None,
    }
}

/// A request to the PBX's API: a JSON body, or a query string.
enum ApiRequest {
    Post(Value),
    Get(Vec<(String, String)>),
}

/// Extensions asked for per page of the extension list.
const EXTENSION_PAGE: usize = 100;

/// An extension as the PBX's extension list has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxExtension {
    pub number: String,
    /// Some endpoint of it is online (SIP phone, Linkus desktop, mobile or web).
    pub registered: bool,
    /// Its presence is do-not-disturb.
    pub dnd: bool,
}

/// What the PBX says is true now: its extensions and its live calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PbxState {
    pub extensions: Vec<PbxExtension>,
    /// Every call the PBX has, by its call id, with its members as a 30011 names them.
    pub calls: Vec<(String, Vec<Member>)>,
}

/// The extensions of an `extension/list` answer: each `number`, online when any endpoint of its
/// `online_status` (or of a `status_list` inside one) says `status` 1, and `presence_status`.
pub fn extension_list(answer: &Value) -> Vec<PbxExtension> {
    fn online(endpoint: &Value) -> bool {
        endpoint["status"].as_i64() == Some(1)
            || endpoint["status"].as_str() == Some("1")
            || endpoint["status_list"]
                .as_array()
                .is_some_and(|list| list.iter().any(online))
    }
    let Some(items) = answer["data"].as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let number = match &item["number"] {
                Value::String(n) => n.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            let registered = item["online_status"]
                .as_object()
                .is_some_and(|endpoints| endpoints.values().any(online));
            let dnd = item["presence_status"]
                .as_str()
                .is_some_and(|p| p.eq_ignore_ascii_case("do_not_disturb"));
            Some(PbxExtension {
                number,
                registered,
                dnd,
            })
        })
        .collect()
}

/// The calls of a `call/query` answer, each with its members; None when any of them cannot be
/// read (a call left out would be taken for ended). No `data` is no call.
pub fn active_calls(answer: &Value) -> Option<Vec<(String, Vec<Member>)>> {
    let Some(items) = answer.get("data") else {
        return Some(Vec::new());
    };
    items
        .as_array()?
        .iter()
        .map(|item| {
            let call = item.as_object()?;
            let call_id = json_text(call, "call_id")?;
            Some((call_id, members(call).ok()?))
        })
        .collect()
}

impl PbxState {
    /// Whether the PBX has this call.
    pub fn has_call(&self, call_id: &str) -> bool {
        self.calls.iter().any(|(id, _)| id == call_id)
    }
}

fn api_error(answer: &Value) -> String {
    format!(
        "errcode {} ({})",
        answer
            .get("errcode")
            .map(Value::to_string)
            .unwrap_or_else(|| "none".into()),
        answer
            .get("errmsg")
            .and_then(Value::as_str)
            .unwrap_or("no message")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_calls_record_does_not_end_the_newest_first_list() {
        let since = DateTime::<Utc>::from_timestamp(1_000, 0).unwrap();
        let at = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap();
        for (started, duration, place) in [
            (at(1_000), Some(30), Place::Wanted),
            (at(1_200), None, Place::Wanted),
            // Began an hour before, ended since: on the newest page, and not the end of it.
            (at(-2_600), Some(3_700), Place::StartedBefore),
            (at(900), Some(60), Place::EndedBefore),
            // Ended within the second of `since` (whole seconds): not yet older.
            (at(960), Some(39), Place::StartedBefore),
        ] {
            assert_eq!(
                place_of(started, duration, since),
                place,
                "{started} {duration:?}"
            );
        }
    }

    #[test]
    fn a_record_of_the_cdr_list_reads_as_the_30012_it_stands_for() {
        let record = json!({"id": 7, "uid": "1651057476.362", "timestamp": 1_700_000_000,
            "time": "11/14/2023 22:13:20", "call_from": "Asha<2005>", "call_to": "919876543210",
            "duration": "47", "ring_duration": 5, "talk_duration": 42,
            "disposition": "ANSWERED", "call_type": "Outbound"});
        let (started, cdr) = cdr_record(&record, Some("+05:30")).unwrap();
        assert_eq!(started.timestamp(), 1_700_000_000);
        assert_eq!(cdr.call_id, "1651057476.362");
        assert_eq!(
            (cdr.call_from.as_deref(), cdr.call_to.as_deref()),
            (Some("2005"), Some("919876543210")),
            "a party named Name<number> is its number"
        );
        assert_eq!((cdr.call_duration, cdr.talk_duration), (Some(47), Some(42)));
        assert_eq!(cdr.direction, Some(Direction::Outbound));
        // Its start, read back as a 30012's (PBX local time), is the same moment.
        let event = cdr.to_event("IN", Some("+05:30"));
        assert_eq!(event.started_at, Some(started));
        assert_eq!(event.talk_s, Some(42));
        for broken in [
            json!({"timestamp": 1, "disposition": "ANSWERED"}),
            json!({"uid": "1.2", "disposition": "ANSWERED"}),
            json!({"uid": "1.2", "timestamp": 1}),
        ] {
            assert!(cdr_record(&broken, None).is_none(), "{broken}");
        }
    }
    use serde_json::json;

    fn envelope(event_type: i64, msg: Value) -> Vec<u8> {
        json!({"type": event_type, "sn": "3631A2124XXX", "msg": msg.to_string()})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn reads_the_nested_envelope_and_the_flat_form() {
        let msg = json!({"call_id": "1651057476.362", "members": [
            {"extension": {"number": "2005", "member_status": "ANSWERED"}},
            {"outbound": {"from": "2005", "to": "919876543210", "trunk_name": "sip-out", "member_status": "ANSWER"}}
        ]});
        let (sn, nested) = parse(&envelope(30011, msg.clone())).unwrap();
        assert_eq!(sn.as_deref(), Some("3631A2124XXX"));
        let mut flat = msg.as_object().unwrap().clone();
        flat.insert("type".into(), json!("30011"));
        let (_, flat) = parse(Value::Object(flat).to_string().as_bytes()).unwrap();
        assert_eq!(nested, flat);
        let PbxEvent::CallState { members, .. } = nested else {
            panic!()
        };
        let (direction, event) = call_state_event(&members, "IN");
        assert_eq!(direction, Direction::Outbound);
        assert_eq!(event.status, Some(CallStatus::Answered));
        assert_eq!(event.to.as_deref(), Some("+919876543210"));
        assert_eq!(event.from.as_deref(), Some("2005"));
        assert_eq!(
            extension_members(&members),
            vec![("2005".to_owned(), Some(Membership::Busy))]
        );
    }

    #[test]
    fn every_payload_shape_of_providers_md_is_read() {
        let cdr = |body: Value| match parse(body.to_string().as_bytes()).unwrap().1 {
            PbxEvent::Cdr(cdr) => cdr,
            other => panic!("{body}: {other:?}"),
        };
        // The flat CDRs the integrations this engine replaces received: `type` is the CDR type.
        for (kind, direction) in [
            ("Inbound", Direction::Inbound),
            ("Outbound", Direction::Outbound),
            ("internal", Direction::Internal),
            ("INBOUND", Direction::Inbound),
        ] {
            let read = cdr(
                json!({"type": kind, "call_id": "1.1", "call_from": "6940960701",
                "call_to": "40", "status": "ANSWERED", "talk_duration": 120}),
            );
            assert_eq!(
                (read.direction, read.talk_duration),
                (Some(direction), Some(120)),
                "{kind}"
            );
        }
        // S-Series `action` / `event` names with their misspellings.
        for key in ["action", "event"] {
            let read = cdr(
                json!({key: "NewCdr", "callid": "2.2", "timestart": "2025-03-04 15:30:00",
                "callfrom": "20", "callto": "21", "callduraction": 30, "talkduraction": 20,
                "status": "NO ANSWERED", "type": "Internal"}),
            );
            assert_eq!(
                (read.call_id.as_str(), read.call_duration),
                ("2.2", Some(30))
            );
            assert_eq!(cdr_status(&read.status), Some(CallStatus::NoAnswer));
        }
        let (_, status) = parse(
            json!({"event": "CallStatus", "callid": "3.3", "members": [
            {"ext": {"number": "20", "memberstatus": "RING"}}]})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            status,
            PbxEvent::CallState {
                call_id: "3.3".into(),
                members: vec![Member {
                    kind: MemberKind::Extension {
                        number: "20".into()
                    },
                    status: "RING".into(),
                    channel_id: None,
                }]
            }
        );
        let (_, failed) = parse(
            json!({"action": "CallFailed", "callid": "4.4", "reason": "486 Busy here"})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert!(matches!(failed, PbxEvent::CallFailed { ref call_id, .. } if call_id == "4.4"));
        // 30016, an inbound call's invitation, is a call state when it names its members.
        let invitation = json!({"call_id": "5.5", "members": [{"inbound": {"from": "0987", "member_status": "ALERT"}}]});
        assert!(matches!(
            parse(&envelope(30016, invitation)).unwrap().1,
            PbxEvent::CallState { .. }
        ));
        assert_eq!(
            parse(&envelope(30016, json!({"call_id": "5.6"})))
                .unwrap()
                .1,
            PbxEvent::Unknown { event_type: 30016 }
        );
        // The CDR's recording file is kept; impossible durations are dropped, never overflowed.
        let huge = cdr(
            json!({"type": "Inbound", "call_id": "6.6", "time_start": "2025-03-04 15:30:00",
            "status": "ANSWERED", "call_duration": i64::MAX, "talk_duration": -5, "recording": "a.wav"}),
        );
        let event = huge.to_event("IN", None);
        assert_eq!(
            (event.talk_s, event.occurred_at, event.recording.as_deref()),
            (None, None, Some("a.wav"))
        );
        assert!(possible_duration(31 * 86_400) && !possible_duration(31 * 86_400 + 1));
        assert!(
            parse(br#"{"type": "Sideways", "call_id": "7"}"#).is_err(),
            "not a CDR type"
        );
    }

    #[test]
    fn snapshot_status_table() {
        let m = |status: &str| Member {
            kind: MemberKind::Extension { number: "1".into() },
            status: status.into(),
            channel_id: None,
        };
        let table = [
            (vec!["ALERT"], Some(CallStatus::Dialing)),
            (vec!["ALERT", "RING"], Some(CallStatus::Ringing)),
            (vec!["ALERT", "EARLYMEDIA"], Some(CallStatus::Ringing)),
            (vec!["ANSWERED", "ANSWER"], Some(CallStatus::Answered)),
            (vec!["HOLD", "ANSWER"], Some(CallStatus::Answered)),
            (vec!["BYE", "ANSWER"], Some(CallStatus::Answered)),
            (vec!["BYE", "BYE"], Some(CallStatus::Disconnected)),
            // An extension's own call answered behind an unmonitored trunk.
            (vec!["ANSWERED"], Some(CallStatus::Answered)),
            (vec![], None),
        ];
        for (words, expected) in table {
            let members: Vec<Member> = words.iter().map(|w| m(w)).collect();
            assert_eq!(snapshot_status(&members), expected, "{words:?}");
        }
        // An inbound trunk the PBX answered (IVR, queue) while an extension rings, or with none
        // yet: nobody has answered.
        let trunk = |status: &str| Member {
            kind: MemberKind::Inbound {
                from: Some("09876543210".into()),
                to: Some("8035739222".into()),
            },
            status: status.into(),
            channel_id: None,
        };
        let table = [
            (
                vec![trunk("ANSWERED"), m("RING")],
                Some(CallStatus::Ringing),
            ),
            (vec![trunk("ANSWERED")], Some(CallStatus::Dialing)),
            (
                vec![trunk("ANSWERED"), m("ANSWER")],
                Some(CallStatus::Answered),
            ),
            (
                vec![trunk("ANSWERED"), m("HOLD")],
                Some(CallStatus::Answered),
            ),
        ];
        for (members, expected) in table {
            let words: Vec<&str> = members.iter().map(|m| m.status.as_str()).collect();
            assert_eq!(snapshot_status(&members), expected, "{words:?}");
        }
        assert_eq!(m("RING").membership(), Some(Membership::Ringing));
        assert_eq!(m("EARLYMEDIA").membership(), Some(Membership::Ringing));
        for word in ["ALERT", "ANSWER", "ANSWERED", "HOLD"] {
            assert_eq!(m(word).membership(), Some(Membership::Busy), "{word}");
        }
        assert_eq!(m("BYE").membership(), None);
    }

    #[test]
    fn the_pbx_state_is_read_from_its_extension_list_and_call_query() {
        let list = json!({"errcode": 0, "total_number": 4, "data": [
            {"id": 1, "number": "101", "presence_status": "available",
             "online_status": {"sip_phone": {"status": 1}, "linkus_mobile": {"status": 0}}},
            {"id": 2, "number": "102", "presence_status": "do_not_disturb",
             "online_status": {"sip_phone": {"status": 0, "status_list": [{"status": 1}]}}},
            {"id": 3, "number": 103, "presence_status": "available",
             "online_status": {"sip_phone": {"status": 0}}},
            {"id": 4, "presence_status": "available"}
        ]});
        let ext = |number: &str, registered, dnd| PbxExtension {
            number: number.into(),
            registered,
            dnd,
        };
        assert_eq!(
            extension_list(&list),
            [
                ext("101", true, false),
                ext("102", true, true),
                ext("103", false, false)
            ]
        );
        let calls = json!({"errcode": 0, "data": [
            {"call_id": "1700.1", "members": [
                {"inbound": {"from": "0987", "to": "8035", "member_status": "ANSWERED"}},
                {"extension": {"number": "101", "channel_id": "PJSIP/101-1", "member_status": "ANSWER"}}]}
        ]});
        let state = PbxState {
            extensions: Vec::new(),
            calls: active_calls(&calls).unwrap(),
        };
        assert!(state.has_call("1700.1") && !state.has_call("1700.2"));
        assert_eq!(state.calls[0].1.len(), 2);
        let unreadable = json!({"errcode": 0, "data": [{"members": []}]});
        assert_eq!(active_calls(&unreadable), None, "never taken for no call");
        assert_eq!(active_calls(&json!({"errcode": 0})), Some(Vec::new()));
        assert!(extension_list(&json!({"errcode": 10003})).is_empty());
    }

    #[test]
    fn cdr_status_table() {
        let table = [
            ("ANSWERED", Some(CallStatus::Completed)),
            ("ANSWERD", Some(CallStatus::Completed)),
            ("answered", Some(CallStatus::Completed)),
            ("NO ANSWER", Some(CallStatus::NoAnswer)),
            ("NO ANSWERED", Some(CallStatus::NoAnswer)),
            ("BUSY", Some(CallStatus::Busy)),
            ("FAILED", Some(CallStatus::Failed)),
            ("VOICEMAIL", Some(CallStatus::NoAnswer)),
            ("SOMETHING", None),
        ];
        for (word, expected) in table {
            assert_eq!(cdr_status(word), expected, "{word}");
        }
    }

    #[test]
    fn failure_reason_table() {
        let table = [
            ("486 Busy here", CallStatus::Busy),
            ("User Busy", CallStatus::Busy),
            ("480 Temporatily Unavailable", CallStatus::NoAnswer),
            ("603 Declined", CallStatus::NoAnswer),
            ("DND", CallStatus::NoAnswer),
            ("404 NOT found", CallStatus::Failed),
            ("Line Unreachable", CallStatus::Failed),
            ("NO Dial Permission", CallStatus::Failed),
            ("Circuit/channel congestion", CallStatus::Failed),
        ];
        for (reason, expected) in table {
            assert_eq!(failure_status(reason), expected, "{reason}");
        }
    }

    #[test]
    fn a_cdr_gives_the_provider_times() {
        let (_, event) = parse(&envelope(30012, json!({
            "call_id": "1.1", "time_start": "2025-03-04 15:30:00", "call_from": "0987654321", "call_to": "40",
            "call_duration": 70, "talk_duration": 61, "status": "ANSWERED", "type": "Inbound"
        }))).unwrap();
        let PbxEvent::Cdr(cdr) = event else { panic!() };
        let e = cdr.to_event("IN", Some("+05:30"));
        assert_eq!(e.status, Some(CallStatus::Completed));
        assert_eq!(
            e.started_at.unwrap().to_rfc3339(),
            "2025-03-04T10:00:00+00:00"
        );
        assert_eq!(
            e.occurred_at.unwrap().to_rfc3339(),
            "2025-03-04T10:01:10+00:00"
        );
        assert_eq!(
            e.answered_at.unwrap().to_rfc3339(),
            "2025-03-04T10:00:09+00:00"
        );
        assert_eq!(e.direction, Some(Direction::Inbound));
        assert_eq!(e.to.as_deref(), Some("40"));
        // The S-Series spellings.
        let (_, legacy) = parse(br#"{"event": 30012, "callid": "2.2", "timestart": "2025-03-04 10:00:00", "callduraction": 9, "talkduraction": 0, "status": "NO ANSWERED", "type": "Internal"}"#).unwrap();
        let PbxEvent::Cdr(legacy) = legacy else {
            panic!()
        };
        assert_eq!(
            (legacy.call_duration, legacy.talk_duration),
            (Some(9), Some(0))
        );
    }

    #[test]
    fn extension_events_and_unknown_types() {
        let (_, reg) = parse(&envelope(
            30007,
            json!({"extension": "40", "status": "Registered"}),
        ))
        .unwrap();
        assert_eq!(
            reg,
            PbxEvent::Registration {
                extension: "40".into(),
                registered: true
            }
        );
        let (_, dnd) = parse(&envelope(
            30009,
            json!({"extension": "40", "status": "do_not_disturb"}),
        ))
        .unwrap();
        assert_eq!(
            dnd,
            PbxEvent::Presence {
                extension: "40".into(),
                dnd: true
            }
        );
        let (_, unknown) = parse(&envelope(30020, json!({"whatever": 1}))).unwrap();
        assert_eq!(unknown, PbxEvent::Unknown { event_type: 30020 });
        for bad in [
            &b"nope"[..],
            b"[]",
            br#"{"sn": "x"}"#,
            br#"{"type": 30011, "msg": "{not json"}"#,
            br#"{"type": 30011, "msg": "{}"}"#,
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn signatures_cover_the_raw_body() {
        // By hand: python3 -c 'import hmac,hashlib,base64; print(base64.b64encode(hmac.new(
        //   b"0123456789abcdef0123456789abcdef", b"{\"type\":30020}", hashlib.sha256).digest()).decode())'
        let secret = "0123456789abcdef0123456789abcdef";
        let body = br#"{"type":30020}"#;
        let expected = "qSYss4YTZ0ls/6uZb5PswGYmJpKCdYIXYAIlMYHpwKw=";
        assert!(verify(secret, body, expected));
        assert!(!verify(secret, br#"{"type": 30020}"#, expected));
        assert!(!verify("other", body, expected));
        assert!(!verify(secret, body, ""));
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+05:30"), FixedOffset::east_opt(19800));
        assert_eq!(parse_offset("-0400"), FixedOffset::east_opt(-14400));
        assert_eq!(parse_offset("IST"), None);
    }
}
