//! The one error type and the one table of error codes. Every code has its HTTP status here and
//! nowhere else; every error leaves as `{"error": code, "message": sentence}`. Messages never carry
//! secrets; what only an operator should read (a database error, a broken pipe) goes to the log as
//! the error's detail and never into the answer.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// Declares [`Code`]: each error code with the status it is answered with and its stable
/// snake_case word, in one table (the way meilisearch's `make_error_codes!` does it).
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $name:ident = $status:ident, $word:literal;)*) => {
        /// Every error code the engine answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $name,)*
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The word clients match on.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $word,)*
                }
            }

            /// The HTTP status it is answered with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(Code::$name => StatusCode::$status,)*
                }
            }
        }
    };
}

error_codes! {
    /// A missing, unknown or wrong token or signature.
    Unauthorized = UNAUTHORIZED, "unauthorized";
    /// The token may not do this (a viewer token changes nothing).
    Forbidden = FORBIDDEN, "forbidden";
    /// No such resource for this org (another org's is indistinguishable from none).
    NotFound = NOT_FOUND, "not_found";
    /// A JSON body that cannot be read as the operation's input.
    InvalidJson = BAD_REQUEST, "invalid_json";
    /// A query string that cannot be read (a bad `limit`, cursor or filter).
    InvalidQuery = BAD_REQUEST, "invalid_query";
    /// A path segment that cannot be read.
    InvalidPath = BAD_REQUEST, "invalid_path";
    /// A body that is readable but lacks what the operation needs.
    InvalidBody = BAD_REQUEST, "invalid_body";
    /// A rate, amount or currency that is not one (`PUT /api/v1/rates`, `/api/v1/credits`).
    InvalidMoney = BAD_REQUEST, "invalid_money";
    /// An org name outside 1 to 200 characters.
    InvalidName = BAD_REQUEST, "invalid_name";
    /// A phone number that cannot be read in the org's country.
    InvalidPhone = BAD_REQUEST, "invalid_phone";
    /// A `default_country` that is not an ISO 3166 alpha-2 code of a known country.
    InvalidCountry = BAD_REQUEST, "invalid_country";
    /// A contact body that is not a contact.
    InvalidContact = BAD_REQUEST, "invalid_contact";
    /// A campaign body outside what a campaign may be.
    InvalidCampaign = BAD_REQUEST, "invalid_campaign";
    /// Provider credentials that are not the provider's fields as strings.
    InvalidCredentials = BAD_REQUEST, "invalid_credentials";
    /// A provider that cannot do what was asked (e.g. place a call through the PBX's trunk).
    InvalidProvider = BAD_REQUEST, "invalid_provider";
    /// Not an extension number.
    InvalidExtension = BAD_REQUEST, "invalid_extension";
    /// An Exotel dial with neither a flow (`flow_url`) nor a `from` number to connect first.
    FlowUrlRequired = BAD_REQUEST, "flow_url_required";
    /// A webhook body that cannot be read, or a known field that cannot be read as its type.
    MalformedWebhook = BAD_REQUEST, "malformed_webhook";
    /// `GET /api/v1/ws` without a WebSocket upgrade.
    NotAWebsocket = BAD_REQUEST, "not_a_websocket";
    /// A body larger than the endpoint takes.
    PayloadTooLarge = PAYLOAD_TOO_LARGE, "payload_too_large";
    /// A request the HTTP layer could not read (broken chunking, a body that ends early).
    InvalidRequest = BAD_REQUEST, "invalid_request";
    /// The org already has a contact with that phone.
    ContactExists = CONFLICT, "contact_exists";
    /// The number is on the org's do-not-call list: nothing was dialed.
    DoNotCall = CONFLICT, "do_not_call";
    /// The extension is ringing or in a call.
    ExtensionBusy = CONFLICT, "extension_busy";
    /// The extension is not registered.
    ExtensionOffline = CONFLICT, "extension_offline";
    /// The org has no (or incomplete) credentials for the provider.
    ProviderNotConfigured = CONFLICT, "provider_not_configured";
    /// A campaign's or callback's callee is on a live call with the org: not dialed now.
    NumberInCall = CONFLICT, "number_in_call";
    /// `SWITCHBOARD_ADMIN_TOKEN` is not set.
    AdminDisabled = CONFLICT, "admin_disabled";
    /// A currency change while money is held in the current one (a balance, ledger entries,
    /// rates).
    CurrencyInUse = CONFLICT, "currency_in_use";
    /// Start on a running campaign.
    CampaignRunning = CONFLICT, "campaign_running";
    /// Start on a paused campaign (resume it).
    CampaignPaused = CONFLICT, "campaign_paused";
    /// Start on a campaign with no contact left to dial.
    NothingToDial = CONFLICT, "nothing_to_dial";
    /// A campaign action its status does not allow.
    InvalidTransition = CONFLICT, "invalid_transition";
    /// Accept or reject of an offer that moved on (expired, went to another agent), or of a call
    /// already accepted.
    OfferExpired = CONFLICT, "offer_expired";
    /// A disposition code the org does not have.
    UnknownDisposition = BAD_REQUEST, "unknown_disposition";
    /// The org's credits are used up: no new call is placed until a top-up.
    InsufficientCredits = PAYMENT_REQUIRED, "insufficient_credits";
    /// A provider or the PBX refused or could not be reached.
    ProviderError = BAD_GATEWAY, "provider_error";
    /// Live state is still being recovered (`/readyz`).
    NotReady = SERVICE_UNAVAILABLE, "not_ready";
    /// The database or an actor cannot take the request now: nothing was stored.
    Unavailable = SERVICE_UNAVAILABLE, "unavailable";
    /// Too many webhooks in flight, in all or for the org: retry after `Retry-After`.
    Overloaded = SERVICE_UNAVAILABLE, "overloaded";
    /// The database cannot be reached (`/readyz`).
    DatabaseUnavailable = SERVICE_UNAVAILABLE, "database_unavailable";
    /// The database answers but refuses writes (`/readyz`).
    DatabaseReadOnly = SERVICE_UNAVAILABLE, "database_read_only";
    /// A bug: the detail is logged, never shown.
    Internal = INTERNAL_SERVER_ERROR, "internal";
}

/// An error on its way to a client: a code from the table, a sentence for people, and a detail
/// for the log only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: Code,
    message: String,
    detail: Option<String>,
}

impl AppError {
    /// An error with its code and the sentence the client reads.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
            detail: None,
        }
    }

    /// 401: a valid token is required.
    pub fn unauthorized() -> Self {
        Self::new(Code::Unauthorized, "a valid token is required")
    }

    /// 404 for a kind of thing (`call`, `campaign`, …).
    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }

    /// 503: nothing was stored; `detail` says why, to the log and the client alike (it never
    /// holds a secret: it is written by the engine).
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        AppError {
            code: Code::Unavailable,
            message: format!("the engine cannot take this right now: {detail}"),
            detail: Some(detail),
        }
    }

    /// A 503 (`unavailable`, `overloaded`, the database down or read-only): nothing was done,
    /// and the same may succeed in a moment.
    pub fn is_for_now(&self) -> bool {
        self.code.status() == StatusCode::SERVICE_UNAVAILABLE
    }

    /// 500: `detail` goes to the log only.
    pub fn internal(detail: impl Into<String>) -> Self {
        AppError {
            code: Code::Internal,
            message: "internal error".into(),
            detail: Some(detail.into()),
        }
    }

    /// The sentence the client reads.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(detail) = &self.detail {
            tracing::error!(code = self.code.as_str(), %detail, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        if self.is_for_now() {
            // Providers retry a 503; this says how soon.
            response.insert_header(("Retry-After", "1"));
        }
        response.json(serde_json::json!({
            "error": self.code.as_str(),
            "message": self.message,
        }))
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => Self::not_found("resource"),
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection
                | diesel::result::DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => Self::unavailable("the connection to the database was lost"),
            other => Self::internal(format!("database: {other}")),
        }
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        Self::unavailable("the read pool is shutting down")
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        Self::unavailable(format!("no database connection: {error}"))
    }
}

impl From<actix::MailboxError> for AppError {
    fn from(error: actix::MailboxError) -> Self {
        Self::unavailable(format!("actor mailbox: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use std::collections::HashSet;

    #[test]
    fn errors_are_json_with_a_stable_code() {
        let cases = [
            (AppError::unauthorized(), 401, "unauthorized"),
            (AppError::not_found("call"), 404, "not_found"),
            (AppError::new(Code::InvalidBody, "bad"), 400, "invalid_body"),
            (
                AppError::new(Code::ExtensionBusy, "busy"),
                409,
                "extension_busy",
            ),
            (AppError::internal("secret detail"), 500, "internal"),
            (AppError::unavailable("disk full"), 503, "unavailable"),
        ];
        for (error, status, code) in cases {
            let response = error.error_response();
            assert_eq!(response.status().as_u16(), status);
            let body = response.into_body().try_into_bytes().unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["error"], code);
            assert!(json["message"].is_string());
            assert!(!json["message"].as_str().unwrap().contains("secret"));
        }
        assert_eq!(
            AppError::from(diesel::result::Error::NotFound).code,
            Code::NotFound
        );
        let busy = AppError::unavailable("disk full").error_response();
        assert_eq!(
            busy.headers().get("Retry-After").unwrap(),
            "1",
            "providers retry a 503"
        );
    }

    #[test]
    fn every_code_is_one_distinct_snake_case_word_with_an_error_status() {
        let words: HashSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(words.len(), Code::ALL.len());
        for code in Code::ALL {
            let word = code.as_str();
            assert!(
                word.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{word}"
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }
}
