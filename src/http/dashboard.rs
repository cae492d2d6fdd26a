//! The live dashboard at `/`: static HTML, CSS and JavaScript embedded in the binary (no build
//! step, no network but this server). It talks to the same REST API and WebSocket as everyone.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::HttpResponse;

const INDEX: &str = include_str!("../../assets/index.html");
const SCRIPT: &str = include_str!("../../assets/app.js");
const STYLE: &str = include_str!("../../assets/app.css");
const REFERENCE: &str = include_str!("../../assets/reference.html");

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        // A new binary may bring a new page: the browser asks again each time.
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

/// `GET /`: the page.
pub async fn index() -> HttpResponse {
    asset("text/html; charset=utf-8", INDEX)
}

/// `GET /assets/app.js`.
pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// `GET /assets/app.css`.
pub async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

/// `GET /api/reference`: a readable API reference rendered from `/api/openapi.json`.
pub async fn reference() -> HttpResponse {
    asset("text/html; charset=utf-8", REFERENCE)
}
