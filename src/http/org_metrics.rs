//! `GET /api/v1/metrics?from=&to=&campaign_id=`: the org's totals, from the database (what the
//! calls say), over the calls created in `[from, to)` (RFC 3339, both optional) of one campaign
//! (optional).

use super::{ApiOrg, AppState, PeriodQuery};
use crate::engine::totals::totals;
use crate::error::AppError;
use actix_web::{web, HttpResponse};

/// Calls, answered calls and answer rate (ASR), talk minutes and average talk time (ACD), billed
/// minutes and cost per currency over the calls asked for; live calls, extensions by presence and
/// the credit balance as they are now.
#[utoipa::path(get, path = "/api/v1/metrics", tag = "metrics", params(PeriodQuery), responses((status = 200, description = "The org's totals")))]
pub async fn org_metrics(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = query.into_inner().filter()?;
    let org_id = org.id.to_string();
    let metrics = state
        .engine
        .read(move |conn| totals(conn, &org_id, &filter))
        .await?;
    Ok(HttpResponse::Ok().json(metrics))
}
