//! Every provider's webhook parsing, signature checks and status tables, one module each.

pub mod credentials;
pub mod twilio;

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
