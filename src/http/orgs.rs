//! `POST /api/v1/orgs`: the admin creates an organization; `GET /api/v1/org`: the org a token
//! belongs to, and what the token may do.

use super::{ApiCaller, ApiOrg, AppState};
use crate::error::{AppError, Code};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use subtle::ConstantTimeEq;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewOrg {
    name: String,
    /// ISO 3166 alpha-2: the country its national numbers are read in (default
    /// `SWITCHBOARD_DEFAULT_COUNTRY`, itself `IN` by default).
    default_country: Option<String>,
}

/// Creates an org; needs `Authorization: Bearer $SWITCHBOARD_ADMIN_TOKEN`.
#[utoipa::path(post, path = "/api/v1/orgs", tag = "orgs", request_body = NewOrg, responses((status = 201, description = "The org with its tokens, shown only this once")))]
pub async fn create_org(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<NewOrg>,
) -> Result<HttpResponse, AppError> {
    require_admin(&req, &state)?;
    let engine = &state.engine;
    let country = body
        .default_country
        .as_deref()
        .unwrap_or(&engine.settings.default_country);
    let created = crate::engine::orgs::create(&engine.writer, &body.name, country).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Passes a request that presents `SWITCHBOARD_ADMIN_TOKEN`; 409 `admin_disabled` without one set.
pub(super) fn require_admin(req: &HttpRequest, state: &AppState) -> Result<(), AppError> {
    let Some(admin) = state.engine.settings.admin_token.as_deref() else {
        return Err(AppError::new(
            Code::AdminDisabled,
            "the admin API is off: set SWITCHBOARD_ADMIN_TOKEN to enable it",
        ));
    };
    let presented = super::request_token(req).unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(admin.as_bytes())) {
        return Err(AppError::unauthorized());
    }
    Ok(())
}

/// The token's org with the token's `role` (`owner`, `viewer` for a scoped read-only token,
/// `agent` with its `agent_id`): how the dashboard knows which buttons to show.
#[utoipa::path(get, path = "/api/v1/org", tag = "orgs", responses((status = 200, description = "The token's org, `role` and `agent_id`")))]
pub async fn current_org(ApiCaller(caller): ApiCaller) -> HttpResponse {
    let mut body = serde_json::to_value(&*caller.org).unwrap_or_default();
    body["role"] = serde_json::json!(caller.role);
    body["agent_id"] = serde_json::json!(caller.agent_id);
    HttpResponse::Ok().json(body)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct OrgChange {
    /// A new name (1 to 200 characters).
    name: Option<String>,
    /// ISO 3166 alpha-2: the country national numbers are read in from now on.
    default_country: Option<String>,
    /// Record every call of the org (passed to the provider at originate and answer).
    record: Option<bool>,
}

/// Changes the org's settings (`name`, `default_country`, `record`): 200 the org.
#[utoipa::path(patch, path = "/api/v1/org", tag = "orgs", request_body = OrgChange, responses((status = 200, description = "The org"), (status = 400, description = "`invalid_name` or `invalid_country`: nothing changed")))]
pub async fn patch_org(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    body: web::Json<OrgChange>,
) -> Result<HttpResponse, AppError> {
    let engine = &state.engine;
    let OrgChange {
        name,
        default_country,
        record,
    } = body.into_inner();
    engine
        .orgs
        .change(
            &engine.writer,
            &org.id,
            name.as_deref(),
            default_country.as_deref(),
            record,
        )
        .await?;
    let org = engine
        .orgs
        .by_id(org.id.as_str())
        .await?
        .ok_or(AppError::not_found("org"))?;
    Ok(HttpResponse::Ok().json(&*org))
}
