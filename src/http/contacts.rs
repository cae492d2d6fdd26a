//! Contacts: `POST /api/v1/contacts`, `GET /api/v1/contacts[/{id}]`, `PATCH /api/v1/contacts/{id}`,
//! `GET /api/v1/contacts/by-phone/{phone}`.

use super::{list_page, ApiOrg, AppState, PageQuery};
use crate::db::models::{into_calls, ContactRow};
use crate::db::queries;
use crate::domain::call::Call;
use crate::engine::contacts::{self, parse_phone};
use crate::error::{AppError, Code};
use actix_web::{web, HttpResponse};
use serde_json::Value;

/// Creates a contact; a phone the org already has (in any written form) is a 409.
#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts", request_body(content = Object, description = "`phone` (required), `name`, `company`, any other fields"), responses((status = 201, description = "The contact")))]
pub async fn create_contact(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let row = contacts::from_body(&org, &body)?;
    let row = contacts::insert(&state.engine.writer, row).await?;
    Ok(HttpResponse::Created().json(row.to_json()))
}

/// The org's contacts, newest first.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", params(PageQuery), responses((status = 200, description = "A page of contacts, newest first")))]
pub async fn list_contacts(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let fetch = queries::contacts_page;
    list_page(
        &state,
        &org,
        query.into_inner(),
        fetch,
        |r| r.id.clone(),
        ContactRow::to_json,
    )
    .await
}

async fn find(state: &AppState, org_id: String, id: String) -> Result<ContactRow, AppError> {
    state
        .engine
        .read(move |conn| Ok(queries::contact(conn, &org_id, &id)?))
        .await?
        .ok_or(AppError::not_found("contact"))
}

/// One contact.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path, description = "the contact's id")), responses((status = 200, description = "The contact")))]
pub async fn get_contact(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let row = find(&state, org.id.to_string(), path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(row.to_json()))
}

/// Changes a contact's fields (`null` removes one); a new phone must not be another contact's.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path, description = "the contact's id")), request_body(content = Object, description = "Fields to replace; null removes one"), responses((status = 200, description = "The contact")))]
pub async fn patch_contact(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let current = find(&state, org.id.to_string(), path.into_inner()).await?;
    let updated = contacts::patched(&org, current.clone(), &body)?;
    if updated.phone != current.phone {
        let (org_id, phone) = (org.id.to_string(), updated.phone.clone());
        let taken = state
            .engine
            .read(move |conn| Ok(queries::contact_by_phone(conn, &org_id, &phone)?))
            .await?;
        if taken.is_some() {
            return Err(AppError::new(
                Code::ContactExists,
                format!("a contact with phone {} already exists", updated.phone),
            ));
        }
    }
    contacts::update(&state.engine.writer, updated.clone()).await?;
    Ok(HttpResponse::Ok().json(updated.to_json()))
}

/// The contact of a phone (any written form), its fields at the top level, with `calls`: its
/// calls as call objects, newest first.
#[utoipa::path(get, path = "/api/v1/contacts/by-phone/{phone}", tag = "contacts", params(("phone" = String, Path, description = "any written form of the number")), responses((status = 200, description = "The contact with its `calls`, newest first")))]
pub async fn contact_by_phone(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let phone = parse_phone(&org, &path).map_err(|_| AppError::not_found("contact"))?;
    let (org_id, e164) = (org.id.to_string(), phone.e164().to_owned());
    let found = state
        .engine
        .read(move |conn| {
            let Some(contact) = queries::contact_by_phone(conn, &org_id, &e164)? else {
                return Ok(None);
            };
            let calls = into_calls(queries::contact_calls(
                conn,
                &org_id,
                &contact.id,
                &contact.phone,
                1000,
            )?)?
            .iter()
            .map(Call::to_json)
            .collect::<Vec<_>>();
            Ok(Some((contact, calls)))
        })
        .await?;
    let (contact, calls) = found.ok_or(AppError::not_found("contact"))?;
    let mut body = contact.to_json();
    body["calls"] = Value::Array(calls);
    Ok(HttpResponse::Ok().json(body))
}
