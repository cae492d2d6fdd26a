//! Liveness, readiness and Prometheus metrics.

use super::AppState;
use actix_web::{web, HttpResponse};
use std::sync::atomic::Ordering;

/// 200 while the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// 200 once migrations ran and live state was recovered; 503 before.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.ready.load(Ordering::Acquire) {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "error": "not_ready",
            "message": "recovering live state",
        }))
    }
}

/// Prometheus text format.
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::metrics::render())
}
