//! Calls: `GET /api/v1/calls`, `/calls/{id}`, `/calls/{id}/events`.

use super::{page, ApiOrg, AppState, PageQuery};
use crate::actors::dial_path::{Dial, Via};
use crate::db::models::into_calls;
use crate::db::queries::{self, CallFilter};
use crate::domain::call::{Call, CallStatus, Direction};
use crate::engine::calls;
use crate::error::{AppError, Code};
use crate::providers::Provider;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct CallListQuery {
    status: Option<String>,
    campaign_id: Option<String>,
    direction: Option<String>,
    provider_call_id: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// The org's calls, newest first, filtered and paged.
#[utoipa::path(get, path = "/api/v1/calls", tag = "calls", params(("status" = Option<String>, Query, description = "a call status"), ("campaign_id" = Option<String>, Query), ("direction" = Option<String>, Query, description = "inbound, outbound or internal"), ("provider_call_id" = Option<String>, Query), PageQuery), responses((status = 200, description = "A page of calls, newest first")))]
pub async fn list_calls(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<CallListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    if let Some(status) = &query.status {
        CallStatus::parse(status).ok_or_else(|| {
            AppError::new(
                Code::InvalidQuery,
                format!("`{status}` is not a call status"),
            )
        })?;
    }
    if let Some(direction) = &query.direction {
        Direction::parse(direction).ok_or_else(|| {
            AppError::new(
                Code::InvalidQuery,
                format!("`{direction}` is not a direction"),
            )
        })?;
    }
    let limit = query.page.limit()?;
    let filter = CallFilter {
        status: query.status,
        campaign_id: query.campaign_id,
        direction: query.direction,
        provider_call_id: query.provider_call_id,
    };
    let org_id = org.id.to_string();
    let cursor = query.page.cursor;
    let rows = state
        .engine
        .read(move |conn| {
            into_calls(queries::calls_page(
                conn,
                &org_id,
                &filter,
                cursor.as_deref(),
                limit + 1,
            )?)
        })
        .await?;
    Ok(page(rows, limit, |c| c.id.to_string(), Call::to_json))
}

/// One call of the org.
#[utoipa::path(get, path = "/api/v1/calls/{id}", tag = "calls", params(("id" = String, Path, description = "our call id")), responses((status = 200, description = "The call")))]
pub async fn get_call(
    org: ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let call = calls::find(&state.engine, &org.0.id, &path).await?;
    Ok(HttpResponse::Ok().json(call.to_json()))
}

/// A call's timeline, oldest first: every accepted provider event once, and the engine's own.
#[utoipa::path(get, path = "/api/v1/calls/{id}/events", tag = "calls", params(("id" = String, Path, description = "our call id"), PageQuery), responses((status = 200, description = "The call's timeline, oldest first")))]
pub async fn call_timeline(
    org: ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let call = calls::find(&state.engine, &org.0.id, &path).await?;
    let limit = query.limit()?;
    let org_id = org.0.id.to_string();
    let after = query.into_inner().cursor;
    let rows = state
        .engine
        .read(move |conn| {
            Ok(queries::timeline(
                conn,
                &org_id,
                call.id.as_str(),
                after.as_deref(),
                limit + 1,
            )?)
        })
        .await?;
    Ok(page(rows, limit, |r| r.id.clone(), |r| r.to_json()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewCall {
    to: String,
    provider: String,
    from: Option<String>,
    /// Record the call (the org's own flag records every call).
    #[serde(default)]
    record: bool,
}

/// Places one outbound call: 201 with the call as stored — `queued` with the provider's id, or
/// `failed` with the provider's refusal as `hangup_cause`. A number on the do-not-call list is a
/// 409 `do_not_call` and nothing is dialed.
#[utoipa::path(post, path = "/api/v1/calls", tag = "calls", request_body = NewCall, responses((status = 201, description = "The call as stored (queued, or failed with the provider's refusal)")))]
pub async fn create_call(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    body: web::Json<NewCall>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let provider = Provider::parse(&body.provider)
        .filter(|p| *p != Provider::Yeastar)
        .ok_or_else(|| {
            AppError::new(Code::InvalidProvider, format!("`{}` cannot place calls: use twilio, plivo, exotel or bolna (PBX extensions dial with /extensions/{{number}}/dial)", body.provider))
        })?;
    let dial = Dial {
        via: Via::Provider(provider),
        to: body.to,
        from: body
            .from
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty()),
        campaign_id: None,
        contact_id: None,
        record: body.record || org.record,
        amd: false,
        for_agent: false,
        not_while_in_call: false,
    };
    let dialed = state.actors.dialer.place(&org, dial).await?;
    Ok(HttpResponse::Created().json(dialed.call.to_json()))
}
