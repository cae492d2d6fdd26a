//! Provider credentials of an org: which fields each provider needs, and which are secret.
//! Values are opaque strings (CONTRACT.md: no format checks); secrets are never shown again.

use super::Provider;
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
            &INBOUND_ROUTING,
        ),
        Provider::Plivo => (&["auth_id", "auth_token", "from_number"], &INBOUND_ROUTING),
        Provider::Exotel => (
            &["account_sid", "api_key", "api_token", "caller_id"],
            &["flow_url"],
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
            assert!(validate(provider, &body).is_ok(), "{provider:?}");
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
        assert_eq!(shown["api_key"], "***");
        assert_eq!(shown["api_token"], "***");
        assert_eq!(shown["account_sid"], "a");
    }
}
