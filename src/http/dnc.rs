//! The org's do-not-call list: `POST /api/v1/dnc`, `GET /api/v1/dnc`, `DELETE /api/v1/dnc/{phone}`.
//! Every dial checks it first (`engine::dnc::check`).

use super::{list_page, ApiOrg, AppState, PageQuery};
use crate::db::models::DncRow;
use crate::db::queries;
use crate::engine::contacts::parse_phone;
use crate::engine::dnc;
use crate::error::AppError;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewEntry {
    phone: String,
    reason: Option<String>,
}

/// Lists a number (any written form): 201 the entry; a number already listed answers 200 with the
/// entry as it is (listing twice is not an error).
#[utoipa::path(post, path = "/api/v1/dnc", tag = "dnc", request_body = NewEntry, responses((status = 201, description = "The entry (200 when already listed)")))]
pub async fn add(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    body: web::Json<NewEntry>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let phone = parse_phone(&org, &body.phone)?;
    let (entry, new) = dnc::list(&state.engine, &org, &phone, body.reason).await?;
    Ok(if new {
        HttpResponse::Created().json(entry.to_json())
    } else {
        HttpResponse::Ok().json(entry.to_json())
    })
}

/// The org's list, by number.
#[utoipa::path(get, path = "/api/v1/dnc", tag = "dnc", params(PageQuery), responses((status = 200, description = "A page of listed numbers")))]
pub async fn list(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let fetch = queries::dnc_page;
    list_page(
        &state,
        &org,
        query.into_inner(),
        fetch,
        |r| r.phone.clone(),
        DncRow::to_json,
    )
    .await
}

/// Takes a number (any written form) off the list: 204; a number not listed is a 404.
#[utoipa::path(delete, path = "/api/v1/dnc/{phone}", tag = "dnc", params(("phone" = String, Path, description = "any written form of the number")), responses((status = 204, description = "Removed")))]
pub async fn remove(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let phone = parse_phone(&org, &path).map_err(|_| AppError::not_found("do-not-call entry"))?;
    match dnc::remove(&state.engine, &org, &phone).await? {
        true => Ok(HttpResponse::NoContent().finish()),
        false => Err(AppError::not_found("do-not-call entry")),
    }
}
