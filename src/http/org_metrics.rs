//! `GET /api/v1/metrics`: the org's totals, from the database (what the calls say).

use super::{ApiOrg, AppState};
use crate::engine::totals::totals;
use crate::error::AppError;
use actix_web::{web, HttpResponse};

/// Calls, answered calls and answer rate, talk minutes and average talk time, cost per currency,
/// live calls, extensions by presence. `credits` is null: no provider balance is read yet.
#[utoipa::path(get, path = "/api/v1/metrics", tag = "metrics", responses((status = 200, description = "The org's totals")))]
pub async fn org_metrics(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let org_id = org.id.to_string();
    let metrics = state.engine.read(move |conn| totals(conn, &org_id)).await?;
    Ok(HttpResponse::Ok().json(metrics))
}
