//! Provider credentials of an org: which fields each provider needs, which are secret, and the
//! typed account every other module reads them through (no field is looked up by its name outside
//! this file). Values are opaque strings (CONTRACT.md: no format checks); secrets are never shown
//! again.

use super::Provider;
use crate::error::{AppError, Code};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Fields every provider may add: where its API lives and the outbound pacing of the account.
const COMMON_OPTIONAL: [&str; 2] = ["api_base", "calls_per_second"];

/// How an inbound call is answered: dial this number, SIP address or extension; else say the
/// message and hang up.
const INBOUND_ROUTING: [&str; 2] = ["inbound_dial", "inbound_message"];

/// Fields never returned by any GET.
const SECRET_FIELDS: [&str; 5] = [
    "auth_token",
    "api_token",
    "api_key",
    "webhook_secret",
    "client_secret",
];

/// The fields a provider's credentials must have, and those they may have.
fn fields(provider: Provider) -> (&'static [&'static str], &'static [&'static str]) {
    match provider {
        Provider::Twilio => (
            &["account_sid", "auth_token", "from_number"],
            &["inbound_dial", "inbound_message", "fetch_prices"],
        ),
        Provider::Plivo => (&["auth_id", "auth_token", "from_number"], &INBOUND_ROUTING),
        Provider::Exotel => (
            &["account_sid", "api_key", "api_token", "caller_id"],
            &["flow_url", "fetch_prices"],
        ),
        Provider::Bolna => (&["api_key", "agent_id"], &["from_number"]),
        Provider::Yeastar => (
            &["webhook_secret"],
            &["client_id", "client_secret", "utc_offset"],
        ),
    }
}

/// Why credentials were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    #[error("credentials must be a JSON object")]
    NotAnObject,
    #[error("the field `{0}` is required")]
    Missing(&'static str),
    #[error("the field `{0}` must be a non-empty string")]
    NotAString(String),
    #[error("the field `{0}` is not known for this provider")]
    Unknown(String),
    #[error("`calls_per_second` must be a positive number")]
    BadRate,
    #[error("stored credentials cannot be read: {0}")]
    Unreadable(String),
}

impl From<CredentialsError> for AppError {
    fn from(error: CredentialsError) -> Self {
        AppError::new(Code::InvalidCredentials, error.to_string())
    }
}

/// Checks a credentials object for a provider: required fields present as strings, no unknown
/// fields, a positive `calls_per_second`. Returns the object as it will be stored.
pub fn validate(provider: Provider, body: &Value) -> Result<Map<String, Value>, CredentialsError> {
    let object = body.as_object().ok_or(CredentialsError::NotAnObject)?;
    let (required, optional) = fields(provider);
    for name in required {
        if !object.contains_key(*name) {
            return Err(CredentialsError::Missing(name));
        }
    }
    for (name, value) in object {
        let known = required.contains(&name.as_str())
            || optional.contains(&name.as_str())
            || COMMON_OPTIONAL.contains(&name.as_str());
        if !known {
            return Err(CredentialsError::Unknown(name.clone()));
        }
        if name == "calls_per_second" {
            if !value.as_f64().is_some_and(|r| r > 0.0 && r.is_finite()) {
                return Err(CredentialsError::BadRate);
            }
        } else if value.as_str().is_none_or(|s| s.trim().is_empty()) {
            return Err(CredentialsError::NotAString(name.clone()));
        }
    }
    Ok(object.clone())
}

/// Twilio: `account_sid`, `auth_token` (signs webhooks and authenticates the REST API), `from_number`.
#[derive(Debug, Clone, Deserialize)]
pub struct TwilioAccount {
    pub account_sid: String,
    pub auth_token: String,
    pub from_number: String,
}

/// Plivo: `auth_id`, `auth_token` (signs webhooks, V3), `from_number`.
#[derive(Debug, Clone, Deserialize)]
pub struct PlivoAccount {
    pub auth_id: String,
    pub auth_token: String,
    pub from_number: String,
}

/// Exotel: `account_sid`, `api_key` + `api_token` (basic auth), `caller_id` (the ExoPhone) and the
/// flow a connected call runs (`flow_url`, needed to originate).
#[derive(Debug, Clone, Deserialize)]
pub struct ExotelAccount {
    pub account_sid: String,
    pub api_key: String,
    pub api_token: String,
    pub caller_id: String,
    pub flow_url: Option<String>,
}

/// Bolna: `api_key`, `agent_id`, and the number the agent calls from, if not the agent's own.
#[derive(Debug, Clone, Deserialize)]
pub struct BolnaAccount {
    pub api_key: String,
    pub agent_id: String,
    pub from_number: Option<String>,
}

/// Yeastar P-Series: `webhook_secret` signs its pushes; `client_id` / `client_secret` open its
/// OpenAPI (extension dials); `utc_offset` reads its local CDR times.
#[derive(Debug, Clone, Deserialize)]
pub struct YeastarAccount {
    pub webhook_secret: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub utc_offset: Option<String>,
}

/// One provider's own fields.
#[derive(Debug, Clone)]
pub enum Account {
    Twilio(TwilioAccount),
    Plivo(PlivoAccount),
    Exotel(ExotelAccount),
    Bolna(BolnaAccount),
    Yeastar(YeastarAccount),
}

/// The fields any provider's credentials may add.
#[derive(Debug, Clone, Deserialize)]
pub struct Common {
    /// Replaces the scheme and host of the provider's API (a regional cluster, the PBX's address,
    /// a local test server); paths stay the provider's own.
    pub api_base: Option<String>,
    /// Outbound pacing of the account (default 1, the providers' own default).
    #[serde(default = "one_per_second")]
    pub calls_per_second: f64,
    /// Whom an inbound call is connected to (a number, SIP address or extension).
    pub inbound_dial: Option<String>,
    /// What an inbound call hears when nobody is to be dialed.
    pub inbound_message: Option<String>,
    /// `"true"`: a finished call's price is read from the provider's call API (Twilio, Exotel),
    /// whose status callbacks do not carry it.
    pub fetch_prices: Option<String>,
}

fn one_per_second() -> f64 {
    1.0
}

/// An org's credentials for one provider, typed.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub account: Account,
    pub common: Common,
}

impl Credentials {
    /// Reads stored (or just validated) credentials of `provider`.
    pub fn read(provider: Provider, stored: &Map<String, Value>) -> Result<Self, CredentialsError> {
        let value = Value::Object(stored.clone());
        let unreadable = |e: serde_json::Error| CredentialsError::Unreadable(e.to_string());
        let account = match provider {
            Provider::Twilio => {
                Account::Twilio(serde_json::from_value(value.clone()).map_err(unreadable)?)
            }
            Provider::Plivo => {
                Account::Plivo(serde_json::from_value(value.clone()).map_err(unreadable)?)
            }
            Provider::Exotel => {
                Account::Exotel(serde_json::from_value(value.clone()).map_err(unreadable)?)
            }
            Provider::Bolna => {
                Account::Bolna(serde_json::from_value(value.clone()).map_err(unreadable)?)
            }
            Provider::Yeastar => {
                Account::Yeastar(serde_json::from_value(value.clone()).map_err(unreadable)?)
            }
        };
        let common = serde_json::from_value(value).map_err(unreadable)?;
        Ok(Credentials { account, common })
    }

    /// The API's base URL: `api_base` when set, else the provider's own.
    pub fn api_base(&self, default: &str) -> String {
        self.common
            .api_base
            .as_deref()
            .unwrap_or(default)
            .trim_end_matches('/')
            .to_owned()
    }

    /// The number an outbound call is placed from when the dial names none.
    pub fn caller_id(&self) -> Option<&str> {
        match &self.account {
            Account::Twilio(a) => Some(&a.from_number),
            Account::Plivo(a) => Some(&a.from_number),
            Account::Exotel(a) => Some(&a.caller_id),
            Account::Bolna(a) => a.from_number.as_deref(),
            Account::Yeastar(_) => None,
        }
    }

    /// Whether the account asks for its calls' prices to be read from the provider's API.
    pub fn fetches_prices(&self) -> bool {
        self.common.fetch_prices.as_deref() == Some("true")
            && matches!(self.account, Account::Twilio(_) | Account::Exotel(_))
    }

    /// Whether a dial without a `from` number can be placed: Exotel then needs a flow.
    pub fn dials_alone(&self) -> bool {
        !matches!(&self.account, Account::Exotel(a) if a.flow_url.is_none())
    }

    /// The secret a provider signs its webhooks with (Twilio, Plivo: the auth token; Yeastar:
    /// the webhook secret); None for providers authenticated by the org's webhook token.
    pub fn signing_secret(&self) -> Option<&str> {
        match &self.account {
            Account::Twilio(a) => Some(&a.auth_token),
            Account::Plivo(a) => Some(&a.auth_token),
            Account::Yeastar(a) => Some(&a.webhook_secret),
            Account::Exotel(_) | Account::Bolna(_) => None,
        }
    }
}

/// The credentials as any GET may show them: secrets replaced by `"***"`.
pub fn redacted(stored: &Map<String, Value>) -> Map<String, Value> {
    stored
        .iter()
        .map(|(k, v)| {
            let shown = if SECRET_FIELDS.contains(&k.as_str()) {
                Value::from("***")
            } else {
                v.clone()
            };
            (k.clone(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn twilio_needs_its_three_fields() {
        let ok = json!({"account_sid": "ACx", "auth_token": "t", "from_number": "+1", "calls_per_second": 2});
        assert!(validate(Provider::Twilio, &ok).is_ok());
        assert_eq!(
            validate(
                Provider::Twilio,
                &json!({"account_sid": "ACx", "from_number": "+1"})
            ),
            Err(CredentialsError::Missing("auth_token"))
        );
        assert_eq!(
            validate(
                Provider::Twilio,
                &json!({"account_sid": "A", "auth_token": 5, "from_number": "+1"})
            ),
            Err(CredentialsError::NotAString("auth_token".into()))
        );
        assert_eq!(
            validate(
                Provider::Twilio,
                &json!({"account_sid": "A", "auth_token": "t", "from_number": "+1", "x": "y"})
            ),
            Err(CredentialsError::Unknown("x".into()))
        );
        assert_eq!(
            validate(
                Provider::Twilio,
                &json!({"account_sid": "A", "auth_token": "t", "from_number": "+1", "calls_per_second": 0})
            ),
            Err(CredentialsError::BadRate)
        );
        assert_eq!(
            validate(Provider::Twilio, &json!([])),
            Err(CredentialsError::NotAnObject)
        );
    }

    #[test]
    fn every_provider_has_its_required_fields() {
        let minimal = [
            (
                Provider::Plivo,
                json!({"auth_id": "a", "auth_token": "b", "from_number": "c"}),
            ),
            (
                Provider::Exotel,
                json!({"account_sid": "a", "api_key": "b", "api_token": "c", "caller_id": "d"}),
            ),
            (Provider::Bolna, json!({"api_key": "a", "agent_id": "b"})),
            (Provider::Yeastar, json!({"webhook_secret": "a"})),
        ];
        for (provider, body) in minimal {
            let stored = validate(provider, &body).expect("valid");
            let typed = Credentials::read(provider, &stored).expect("readable");
            assert_eq!(typed.common.api_base, None, "{provider:?}");
        }
    }

    #[test]
    fn secrets_are_redacted() {
        let stored = validate(
            Provider::Exotel,
            &json!({"account_sid": "a", "api_key": "k", "api_token": "t", "caller_id": "d"}),
        )
        .unwrap();
        let shown = redacted(&stored);
        let typed = Credentials::read(Provider::Exotel, &stored).unwrap();
        assert!(matches!(typed.account, Account::Exotel(ref a) if a.api_key == "k"));
        assert_eq!(typed.common.calls_per_second, 1.0);
        assert_eq!(typed.caller_id(), Some("d"));
        assert_eq!(shown["api_key"], "***");
        assert_eq!(shown["api_token"], "***");
        assert_eq!(shown["account_sid"], "a");
    }
}
