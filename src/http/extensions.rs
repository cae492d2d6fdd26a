//! PBX extensions: `GET /api/v1/extensions`, `PUT /api/v1/extensions/{number}`,
//! `POST /api/v1/extensions/{number}/dial`, `POST /api/v1/extensions/{number}/reset`.

use super::{page, ApiOrg, AppState, PageQuery};
use crate::actors::call::registry::force_end;
use crate::actors::dial_path::{Dial, Via};
use crate::actors::extension::{change_extension, current_extension};
use crate::actors::pbx_resync::{self, Trigger};
use crate::db::queries;
use crate::domain::extension::{Extension, ExtensionChange};
use crate::domain::ids::CallId;
use crate::engine::orgs::Org;
use crate::error::{AppError, Code};
use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;

/// Extension numbers as PBXs write them: 1 to 32 of digits, letters, `*`, `#`, `+`, `-`, `_`.
fn valid_number(number: &str) -> Result<&str, AppError> {
    let ok = !number.is_empty()
        && number.len() <= 32
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "*#+-_".contains(c));
    if ok {
        Ok(number)
    } else {
        Err(AppError::new(
            Code::InvalidExtension,
            format!("`{number}` is not an extension number"),
        ))
    }
}

/// The org's extensions by number, with presence, active calls and `since`.
#[utoipa::path(get, path = "/api/v1/extensions", tag = "extensions", params(PageQuery), responses((status = 200, description = "A page of extensions by number")))]
pub async fn list_extensions(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = query.limit()?;
    let (org_id, cursor) = (org.id.to_string(), query.into_inner().cursor);
    let extensions = state
        .engine
        .read(move |conn| {
            queries::extensions_page(conn, &org_id, cursor.as_deref(), limit + 1)?
                .into_iter()
                .map(|row| Extension::try_from(row).map_err(AppError::internal))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(page(
        extensions,
        limit,
        |e| e.number.clone(),
        |e| e.to_json(Utc::now()),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ExtensionName {
    name: Option<String>,
}

/// Creates an extension or renames it.
#[utoipa::path(put, path = "/api/v1/extensions/{number}", tag = "extensions", params(("number" = String, Path, description = "the extension's number")), request_body = ExtensionName, responses((status = 200, description = "The extension")))]
pub async fn put_extension(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ExtensionName>,
) -> Result<HttpResponse, AppError> {
    let number = valid_number(&path)?;
    let name = body
        .into_inner()
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let ext = change_extension(
        &state.actors.extensions,
        &org.id,
        number,
        ExtensionChange::Rename(name),
        None,
    )
    .await?;
    Ok(HttpResponse::Ok().json(ext.to_json(Utc::now())))
}

async fn known_extension(state: &AppState, org: &Org, number: &str) -> Result<Extension, AppError> {
    current_extension(&state.actors.extensions, &org.id, valid_number(number)?)
        .await?
        .ok_or(AppError::not_found("extension"))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DialRequest {
    to: String,
}

/// Places a call from the extension through the PBX's API: 409 `extension_busy` while it rings or
/// talks, 409 `extension_offline` while it is offline. The call is written first, and the
/// extension is busy with it at once.
#[utoipa::path(post, path = "/api/v1/extensions/{number}/dial", tag = "extensions", params(("number" = String, Path, description = "the extension's number")), request_body = DialRequest, responses((status = 201, description = "The call, written before the PBX was asked")))]
pub async fn dial(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<DialRequest>,
) -> Result<HttpResponse, AppError> {
    let dial = Dial {
        via: Via::Extension(valid_number(&path)?.to_owned()),
        to: body.into_inner().to,
        from: None,
        campaign_id: None,
        contact_id: None,
        record: org.record,
        amd: false,
        for_agent: false,
        not_while_in_call: false,
    };
    let dialed = state.actors.dialer.place(&org, dial).await?;
    Ok(HttpResponse::Created().json(dialed.call.to_json()))
}

/// The supervisor's way out: ends every call the extension is stuck in (reason `manual_reset`),
/// takes all their extensions out of them, and answers the extension with presence recomputed.
#[utoipa::path(post, path = "/api/v1/extensions/{number}/reset", tag = "extensions", params(("number" = String, Path, description = "the extension's number")), responses((status = 200, description = "The extension, presence recomputed")))]
pub async fn reset(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ext = known_extension(&state, &org, &path).await?;
    for call_id in ext.calls.keys() {
        let mut members = vec![ext.number.clone()];
        if let Some(id) = CallId::parse(call_id) {
            let calls = &state.actors.calls;
            // A call not in the database has nothing to end but the membership.
            if let Some(ended) =
                force_end(calls, &org.id, &id, "manual_reset", "supervisor").await?
            {
                members.extend(ended.extensions);
            }
        }
        members.sort();
        members.dedup();
        for number in members {
            let left = ExtensionChange::Left {
                call_id: call_id.clone(),
            };
            change_extension(&state.actors.extensions, &org.id, &number, left, None).await?;
        }
    }
    let ext = known_extension(&state, &org, &ext.number).await?;
    Ok(HttpResponse::Ok().json(ext.to_json(Utc::now())))
}

/// Asks the PBX's own API what is true now — its extensions and its live calls — and brings the
/// board in line: calls the PBX no longer has end (`pbx_resync`), registrations and do-not-disturb
/// follow the PBX (which confirms them), extensions leave calls that are no longer live, and the
/// PBX's call records of calls whose end the engine missed are applied. 202 (CONTRACT.md) with
/// what changed; 502 `provider_error` when the PBX's API fails or cannot be read (nothing changes
/// then).
#[utoipa::path(post, path = "/api/v1/extensions/resync", tag = "extensions", responses((status = 202, description = "What changed: `calls_ended`, `extensions_changed`, `memberships_left`, `extensions_confirmed`, `records_applied`"), (status = 502, description = "The PBX's API failed; nothing changed")))]
pub async fn resync(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let done = pbx_resync::resync(&state.actors.resync, &org.id, Trigger::Demand, None).await?;
    Ok(HttpResponse::Accepted().json(done))
}
