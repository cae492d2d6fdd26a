//! Liveness, readiness and Prometheus metrics.

use super::AppState;
use crate::error::{AppError, Code};
use actix_web::{web, HttpResponse, ResponseError};

/// 200 while the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// 200 once migrations ran and live state was recovered, while the database can be reached and
/// written; 503 before (`not_ready`, saying what keeps recovery from finishing, such as a running
/// campaign that cannot be loaded), and while it cannot (`database_unavailable`,
/// `database_read_only`).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let health = state.engine.pool.health();
    if health.is_down() {
        AppError::new(Code::DatabaseUnavailable, "the database cannot be reached").error_response()
    } else if health.is_read_only() {
        AppError::new(Code::DatabaseReadOnly, "the database refuses writes").error_response()
    } else if state.engine.is_ready() {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
    } else {
        let why = match state.engine.unready_because() {
            Some(why) => format!("recovering live state: {why}"),
            None => "recovering live state".to_owned(),
        };
        AppError::new(Code::NotReady, why).error_response()
    }
}

/// The Prometheus text format (OpenMetrics), `crate::metrics`.
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(crate::metrics::METRICS.render())
}
