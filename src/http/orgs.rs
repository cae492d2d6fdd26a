//! `POST /api/v1/orgs`: the admin creates an organization; `GET /api/v1/org`: the org a token
//! belongs to, and what the token may do.

use super::{ApiCaller, AppState};
use crate::error::{AppError, Code};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use subtle::ConstantTimeEq;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewOrg {
    name: String,
}

/// Creates an org; needs `Authorization: Bearer $SWITCHBOARD_ADMIN_TOKEN`.
#[utoipa::path(post, path = "/api/v1/orgs", tag = "orgs", request_body = NewOrg, responses((status = 201, description = "The org with its tokens, shown only this once")))]
pub async fn create_org(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<NewOrg>,
) -> Result<HttpResponse, AppError> {
    require_admin(&req, &state)?;
    let created = crate::engine::orgs::create(&state.engine.writer, &body.name).await?;
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

/// The token's org with the token's `role` (`owner`, or `viewer` for a scoped read-only token):
/// how the dashboard knows whether to show its buttons.
#[utoipa::path(get, path = "/api/v1/org", tag = "orgs", responses((status = 200, description = "The token's org and `role`")))]
pub async fn current_org(ApiCaller(caller): ApiCaller) -> HttpResponse {
    let mut body = serde_json::to_value(&*caller.org).unwrap_or_default();
    body["role"] = serde_json::json!(caller.role);
    HttpResponse::Ok().json(body)
}
