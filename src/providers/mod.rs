//! Every provider's webhook parsing, signature checks and status tables, one module each.

pub mod analytics;
pub mod bolna;
pub mod credentials;
pub mod exotel;
#[cfg(test)]
mod fuzz;
pub mod outbound;
pub mod plivo;
pub mod twilio;
pub mod webhook;
pub mod yeastar;

use crate::domain::call::CallStatus;
use crate::error::{AppError, Code};
use serde::Serialize;

/// The voice providers and PBX the engine speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Twilio,
    Plivo,
    Exotel,
    Bolna,
    Yeastar,
}

impl Provider {
    pub const ALL: [Provider; 5] = [
        Self::Twilio,
        Self::Plivo,
        Self::Exotel,
        Self::Bolna,
        Self::Yeastar,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Twilio => "twilio",
            Self::Plivo => "plivo",
            Self::Exotel => "exotel",
            Self::Bolna => "bolna",
            Self::Yeastar => "yeastar",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == word)
    }
}

/// Why a request to a provider or the PBX got no answer, with its causes ("error sending
/// request: connection closed before message completed"), without its URL (which may name an
/// account).
pub fn unreachable_reason(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !reason.contains(&cause_text) {
            reason.push_str(": ");
            reason.push_str(&cause_text);
        }
        source = cause.source();
    }
    reason
}

/// The name/value pairs of a form body or query string, decoded, in the order sent
/// (repeated names kept: signatures cover every value).
pub fn form_pairs(encoded: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(encoded)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of a form field, trimmed; None when absent or blank.
pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Why a webhook body could not be read (answered 400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the field `{0}` is missing")]
    Missing(&'static str),
    #[error("the field `{field}` is not valid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

impl From<ParseError> for AppError {
    fn from(error: ParseError) -> Self {
        AppError::new(Code::MalformedWebhook, error.to_string())
    }
}

/// Status words seen in the field (providers.md §8), for providers and integrations that mix
/// vocabularies: case-insensitive, with `-`, `_` and space alike. Whether a `completed` call was
/// really answered is each provider's own rule on top of this.
pub fn field_status(word: &str) -> Option<CallStatus> {
    let word: String = word
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == '_' || c == ' ' { '-' } else { c })
        .collect();
    Some(match word.as_str() {
        "queued" => CallStatus::Queued,
        "initiated" => CallStatus::Dialing,
        "ringing" => CallStatus::Ringing,
        "answered" | "in-progress" | "ongoing" => CallStatus::Answered,
        "ended" | "finished" | "completed" => CallStatus::Completed,
        "busy" => CallStatus::Busy,
        "no-answer" | "noanswer" => CallStatus::NoAnswer,
        "failed" | "error" => CallStatus::Failed,
        "canceled" | "cancelled" | "cancel" => CallStatus::Canceled,
        _ => return None,
    })
}

/// The text fields of a `multipart/form-data` body (file parts are read as text too).
pub fn multipart_fields(body: &[u8], boundary: &str) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    text.split(delimiter.as_str())
        .filter_map(|part| {
            let part = part.strip_prefix("\r\n").unwrap_or(part);
            let (headers, value) = part.split_once("\r\n\r\n")?;
            let name = headers
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))?
                .split(';')
                .find_map(|p| p.trim().strip_prefix("name="))?
                .trim_matches('"')
                .to_owned();
            Some((name, value.strip_suffix("\r\n").unwrap_or(value).to_owned()))
        })
        .collect()
}

/// A webhook body as field name → JSON value: a JSON object as it is, a form (urlencoded or
/// multipart) as strings. `content_type` picks the reading.
pub fn body_fields(
    content_type: &str,
    body: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, ParseError> {
    let lowered = content_type.to_ascii_lowercase();
    let pairs = if lowered.starts_with("multipart/form-data") {
        let boundary = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .ok_or(ParseError::Missing("multipart boundary"))?;
        multipart_fields(body, boundary.trim_matches('"'))
    } else if lowered.starts_with("application/x-www-form-urlencoded") {
        form_pairs(body)
    } else {
        return match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(object)) => Ok(object),
            Ok(_) => Err(ParseError::Invalid {
                field: "body",
                reason: "a JSON object is expected".into(),
            }),
            Err(e) => Err(ParseError::Invalid {
                field: "body",
                reason: format!("not JSON: {e}"),
            }),
        };
    };
    Ok(pairs.into_iter().map(|(k, v)| (k, v.into())).collect())
}

/// A text field of a JSON object (numbers written as text too); None when absent, null or blank.
pub fn json_text(
    object: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<String> {
    match object.get(name)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number field of a JSON object, given as a number or as text.
pub fn json_number(
    object: &serde_json::Map<String, serde_json::Value>,
    name: &'static str,
) -> Result<Option<f64>, ParseError> {
    match object.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => Ok(n.as_f64()),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => {
            s.trim()
                .parse::<f64>()
                .map(Some)
                .map_err(|_| ParseError::Invalid {
                    field: name,
                    reason: format!("`{s}` is not a number"),
                })
        }
        Some(other) => Err(ParseError::Invalid {
            field: name,
            reason: format!("`{other}` is not a number"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_variants_of_status_words() {
        use CallStatus::*;
        let table = [
            ("queued", Queued),
            ("initiated", Dialing),
            ("ringing", Ringing),
            ("answered", Answered),
            ("in-progress", Answered),
            ("in_progress", Answered),
            ("In Progress", Answered),
            ("ongoing", Answered),
            ("ended", Completed),
            ("finished", Completed),
            ("completed", Completed),
            ("busy", Busy),
            ("no-answer", NoAnswer),
            ("no_answer", NoAnswer),
            ("noanswer", NoAnswer),
            ("NO ANSWER", NoAnswer),
            ("failed", Failed),
            ("error", Failed),
            ("canceled", Canceled),
            ("cancelled", Canceled),
            ("cancel", Canceled),
        ];
        for (word, expected) in table {
            assert_eq!(field_status(word), Some(expected), "{word}");
        }
        assert_eq!(field_status("teleported"), None);
    }

    #[test]
    fn every_providers_status_word_of_providers_md_maps() {
        use CallStatus::*;
        let twilio = [
            ("queued", Queued),
            ("initiated", Dialing),
            ("ringing", Ringing),
            ("in-progress", Answered),
            ("completed", Completed),
            ("busy", Busy),
            ("no-answer", NoAnswer),
            ("canceled", Canceled),
            ("failed", Failed),
            ("In-Progress", Answered),
        ];
        for (word, expected) in twilio {
            assert_eq!(twilio::map_status(word), Some(expected), "twilio {word}");
        }
        let plivo = [
            ("ringing", Ringing),
            ("in-progress", Answered),
            ("completed", Completed),
            ("busy", Busy),
            ("no-answer", NoAnswer),
            ("failed", Failed),
            ("timeout", NoAnswer),
            ("cancel", Canceled),
        ];
        for (word, expected) in plivo {
            assert_eq!(plivo::map_status(word), Some(expected), "plivo {word}");
        }
        let exotel = [
            ("answered", Answered),
            ("in-progress", Answered),
            ("in_progress", Answered),
            ("ringing", Ringing),
            ("initiated", Queued),
            ("queued", Queued),
            ("completed", Completed),
            ("ended", Completed),
            ("busy", Busy),
            ("no-answer", NoAnswer),
            ("no_answer", NoAnswer),
            ("failed", Failed),
            ("cancelled", Canceled),
            ("canceled", Canceled),
        ];
        for (word, expected) in exotel {
            assert_eq!(exotel::map_status(word), Some(expected), "exotel {word}");
        }
        let bolna = [
            ("answered", Answered),
            ("in-progress", Answered),
            ("in_progress", Answered),
            ("ongoing", Answered),
            ("ended", Completed),
            ("finished", Completed),
            ("completed", Completed),
            ("failed", Failed),
            ("error", Failed),
            ("ringing", Ringing),
            ("initiated", Dialing),
            ("queued", Queued),
        ];
        for (word, expected) in bolna {
            assert_eq!(bolna::map_status(word), Some(expected), "bolna {word}");
        }
        for unknown in ["teleported", ""] {
            assert_eq!(twilio::map_status(unknown), None);
            assert_eq!(exotel::map_status(unknown), None);
        }
    }

    #[test]
    fn reads_multipart_forms() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"CallSid\"\r\n\r\nabc\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"Status\"\r\n\r\ncompleted\r\n--XyZ--\r\n";
        let fields = body_fields("multipart/form-data; boundary=XyZ", body.as_bytes()).unwrap();
        assert_eq!(fields["CallSid"], "abc");
        assert_eq!(fields["Status"], "completed");
    }

    #[test]
    fn reads_json_and_urlencoded_bodies_and_refuses_the_rest() {
        let json = body_fields("application/json", br#"{"a": 1}"#).unwrap();
        assert_eq!(json["a"], 1);
        let form = body_fields("application/x-www-form-urlencoded", b"a=1&b=x+y").unwrap();
        assert_eq!(form["b"], "x y");
        assert!(body_fields("application/json", b"[1]").is_err());
        assert!(body_fields("application/json", b"{nope").is_err());
        assert!(body_fields("multipart/form-data", b"").is_err());
    }
}
