//! Voice-bot analytics pushed for a call (`/webhooks/analytics/{org}`): transcript, summary,
//! extracted data, sentiment — merged into the call's `analytics`.

use super::{json_text, ParseError};
use serde_json::{Map, Value};

/// How the push names its call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallName {
    /// Our own call id (`call_id`).
    Ours(String),
    /// The provider's (or the carrier's) id: `provider_call_id`, `callUUID` or `call_uuid`.
    Provider(String),
}

/// One analytics push.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsPush {
    pub call: CallName,
    /// Everything else in the body: what is merged.
    pub data: Map<String, Value>,
}

const ID_FIELDS: [&str; 4] = ["call_id", "provider_call_id", "callUUID", "call_uuid"];

impl AnalyticsPush {
    pub fn parse(object: &Map<String, Value>) -> Result<Self, ParseError> {
        let call = if let Some(id) = json_text(object, "call_id") {
            CallName::Ours(id)
        } else {
            ID_FIELDS[1..]
                .iter()
                .find_map(|name| json_text(object, name))
                .map(CallName::Provider)
                .ok_or(ParseError::Missing(
                    "call_id (or provider_call_id / callUUID)",
                ))?
        };
        let data: Map<String, Value> = object
            .iter()
            .filter(|(k, _)| !ID_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if data.is_empty() {
            return Err(ParseError::Missing(
                "analytics data (transcript, summary, …)",
            ));
        }
        Ok(AnalyticsPush { call, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<AnalyticsPush, ParseError> {
        AnalyticsPush::parse(v.as_object().unwrap())
    }

    #[test]
    fn names_the_call_every_way_the_bots_do() {
        let ours = parse(json!({"call_id": "c1", "summary": "ok"})).unwrap();
        assert_eq!(ours.call, CallName::Ours("c1".into()));
        assert!(!ours.data.contains_key("call_id"));
        let seed =
            parse(json!({"callUUID": "u1", "transcript": "hi", "sentiment": "positive"})).unwrap();
        assert_eq!(seed.call, CallName::Provider("u1".into()));
        assert_eq!(seed.data["sentiment"], "positive");
        assert_eq!(
            parse(json!({"provider_call_id": "p1", "x": 1}))
                .unwrap()
                .call,
            CallName::Provider("p1".into())
        );
    }

    #[test]
    fn refuses_a_push_without_a_call_or_data() {
        assert!(parse(json!({"summary": "ok"})).is_err());
        assert!(parse(json!({"call_id": "c1"})).is_err());
    }
}
