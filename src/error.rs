//! The one error type. Each variant has its HTTP status and a stable snake_case code; every error
//! leaves as `{"error": code, "message": sentence}`. Messages never carry secrets.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("a valid token is required")]
    Unauthorized,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("the engine cannot take this right now: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Provider(String),
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    /// A 400 with its code and sentence.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::NotFound(_) => "not_found",
            Self::BadRequest { code, .. } | Self::Conflict { code, .. } => code,
            Self::Unavailable(_) => "unavailable",
            Self::Provider(_) => "provider_error",
            Self::Internal(_) => "internal",
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Provider(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(detail) | Self::Unavailable(detail) = self {
            tracing::error!(code = self.code(), %detail, "request failed");
        }
        HttpResponse::build(self.status_code()).json(serde_json::json!({
            "error": self.code(),
            "message": self.to_string(),
        }))
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => Self::NotFound("resource"),
            other => Self::Internal(format!("database: {other}")),
        }
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        Self::Unavailable("the read pool is shutting down".into())
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(format!("no database connection: {error}"))
    }
}

impl From<actix::MailboxError> for AppError {
    fn from(error: actix::MailboxError) -> Self {
        Self::Unavailable(format!("actor mailbox: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn errors_are_json_with_a_stable_code() {
        let cases = [
            (AppError::Unauthorized, 401, "unauthorized"),
            (AppError::NotFound("call"), 404, "not_found"),
            (
                AppError::bad_request("invalid_body", "bad"),
                400,
                "invalid_body",
            ),
            (AppError::Internal("secret detail".into()), 500, "internal"),
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
            AppError::from(diesel::result::Error::NotFound).code(),
            "not_found"
        );
    }
}
