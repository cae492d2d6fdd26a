//! `POST /api/v1/orgs`: the admin creates an organization.

use super::AppState;
use crate::error::AppError;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use subtle::ConstantTimeEq;

#[derive(Deserialize)]
pub struct NewOrg {
    name: String,
}

/// Creates an org; needs `Authorization: Bearer $SWITCHBOARD_ADMIN_TOKEN`.
pub async fn create_org(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<NewOrg>,
) -> Result<HttpResponse, AppError> {
    let Some(admin) = state.settings.admin_token.as_deref() else {
        return Err(AppError::Conflict {
            code: "admin_disabled",
            message: "the admin API is off: set SWITCHBOARD_ADMIN_TOKEN to enable it".into(),
        });
    };
    let presented = super::request_token(&req).unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(admin.as_bytes())) {
        return Err(AppError::Unauthorized);
    }
    let created = crate::orgs::create(&state.writer, &body.name).await?;
    Ok(HttpResponse::Created().json(created))
}
