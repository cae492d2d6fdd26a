//! Every URL a provider calls back for one call of ours, built in one place from the engine's
//! public base URL: the provider's webhook path for the org, `?call=<our id>` (a callback that
//! beats the provider API's answer finds its call by it), and the retry fragment.

use crate::domain::ids::{CallId, OrgId};
use crate::providers::Provider;

/// Twilio and Plivo retry only connection failures unless told: this asks them to retry a 5xx too.
pub const RETRY_FRAGMENT: &str = "#rc=3&rp=ct,rt,5xx";

/// The callback URLs of one call (see the module's doc).
pub struct CallbackUrls {
    /// `{public}/webhooks/{provider}/{org}`.
    base: String,
    call_id: String,
}

impl CallbackUrls {
    /// The URLs of `call_id`, an org's call through `provider`.
    pub fn new(public_url: &str, provider: Provider, org_id: &OrgId, call_id: &CallId) -> Self {
        CallbackUrls {
            base: format!("{public_url}/webhooks/{}/{org_id}", provider.as_str()),
            call_id: call_id.to_string(),
        }
    }

    /// `{base}/{path}?call=<id>{query}` and the retry fragment; `query` is more of the query
    /// (`&name=value…`).
    fn url(&self, path: &str, query: &str) -> String {
        let (base, call_id) = (&self.base, &self.call_id);
        format!("{base}/{path}?call={call_id}{query}{RETRY_FRAGMENT}")
    }

    /// Twilio's status callback; Bolna's.
    pub fn status(&self) -> String {
        self.url("status", "")
    }

    /// Exotel's status callback, which carries the call's callback token (Exotel does not sign;
    /// nor does it read a retry fragment).
    pub fn signed_status(&self, sig: &str) -> String {
        format!("{}/status?call={}&sig={sig}", self.base, self.call_id)
    }

    /// Plivo's ring URL.
    pub fn ring(&self) -> String {
        self.url("ring", "")
    }

    /// Plivo's hangup URL.
    pub fn hangup(&self) -> String {
        self.url("hangup", "")
    }

    /// Plivo's answer URL; `flags` (`&hold=1`, `&record=1`) say how to answer it.
    pub fn answer(&self, flags: &str) -> String {
        self.url("answer", flags)
    }

    /// Where the provider reports the call's recording.
    pub fn recording(&self) -> String {
        self.url("recording", "")
    }

    /// Where Plivo's Transfer API points a queued caller once the desk moves it: the answer with
    /// the agent, or — with `say` — a goodbye.
    pub fn connect(&self, say: Option<&str>) -> String {
        let say: String = say
            .map(|message| form_urlencoded::byte_serialize(message.as_bytes()).collect())
            .map_or_else(String::new, |said: String| format!("&say={said}"));
        self.url("connect", &say)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_callback_url_names_its_call_and_asks_for_retries() {
        let (org, call) = (OrgId::generate(), CallId::generate());
        let twilio = CallbackUrls::new("https://sb.example", Provider::Twilio, &org, &call);
        let plivo = CallbackUrls::new("https://sb.example", Provider::Plivo, &org, &call);
        let base = |provider: &str| format!("https://sb.example/webhooks/{provider}/{org}");
        let urls = [
            (
                twilio.status(),
                format!("{}/status?call={call}", base("twilio")),
            ),
            (
                twilio.recording(),
                format!("{}/recording?call={call}", base("twilio")),
            ),
            (plivo.ring(), format!("{}/ring?call={call}", base("plivo"))),
            (
                plivo.hangup(),
                format!("{}/hangup?call={call}", base("plivo")),
            ),
            (
                plivo.answer("&hold=1"),
                format!("{}/answer?call={call}&hold=1", base("plivo")),
            ),
            (
                plivo.recording(),
                format!("{}/recording?call={call}", base("plivo")),
            ),
            (
                plivo.connect(Some("Bye & thanks")),
                format!("{}/connect?call={call}&say=Bye+%26+thanks", base("plivo")),
            ),
        ];
        for (url, expected) in urls {
            assert_eq!(url, format!("{expected}{RETRY_FRAGMENT}"));
        }
        let exotel = CallbackUrls::new("https://sb.example", Provider::Exotel, &org, &call);
        assert_eq!(
            exotel.signed_status("t0k"),
            format!("{}/status?call={call}&sig=t0k", base("exotel"))
        );
    }
}
