//! An org's provider credentials: `PUT /api/v1/providers/{provider}`, `GET /api/v1/providers`.

use super::{ApiOrg, AppState};
use crate::db::queries;
use crate::error::{AppError, Code};
use crate::providers::credentials::{redacted, validate};
use crate::providers::Provider;
use actix_web::{web, HttpResponse};
use serde_json::{Map, Value};

fn shown(provider: &str, credentials: &Map<String, Value>) -> Value {
    serde_json::json!({ "provider": provider, "credentials": redacted(credentials) })
}

/// Sets the org's credentials for one provider (replacing any before); answers them redacted.
#[utoipa::path(put, path = "/api/v1/providers/{provider}", tag = "providers", params(("provider" = String, Path, description = "twilio, plivo, exotel, bolna or yeastar")), request_body(content = Object, description = "The provider's credential fields as strings, `api_base`, `calls_per_second`"), responses((status = 200, description = "The credentials, secrets redacted")))]
pub async fn put_provider(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let provider = Provider::parse(&path).ok_or(AppError::not_found("provider"))?;
    let credentials = validate(provider, &body)
        .map_err(|e| AppError::new(Code::InvalidCredentials, e.to_string()))?;
    state
        .engine
        .orgs
        .put_credentials(&state.engine.writer, &org.id, provider, credentials.clone())
        .await?;
    Ok(HttpResponse::Ok().json(shown(provider.as_str(), &credentials)))
}

/// The org's configured providers, secrets redacted.
#[utoipa::path(get, path = "/api/v1/providers", tag = "providers", responses((status = 200, description = "The org's provider accounts, secrets redacted")))]
pub async fn list_providers(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let org_id = org.id.to_string();
    let rows = state
        .engine
        .read(move |conn| Ok(queries::provider_accounts(conn, &org_id)?))
        .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|row| {
            let credentials: Map<String, Value> =
                serde_json::from_str(&row.credentials).unwrap_or_default();
            shown(&row.provider, &credentials)
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_cursor": null })))
}
