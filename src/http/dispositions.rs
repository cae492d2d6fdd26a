//! Dispositions: the org's codes (`PUT|GET /api/v1/dispositions`), a call's disposition
//! (`POST /api/v1/calls/{id}/disposition`) — `DNC` lists the number, `CALLBACK` schedules a dial
//! at `callback_at` — and the scheduled callbacks (`GET /api/v1/callbacks`).

use super::agents::act_as;
use super::{list_page, ApiCaller, ApiOrg, AppState, PageQuery};
use crate::actors::call::registry::annotate;
use crate::actors::call::Annotation;
use crate::actors::scheduled_callbacks::{self, Schedule};
use crate::db::desk::{self as rows, CallbackRow, DispositionCodeRow};
use crate::domain::call::{Direction, Disposition};
use crate::domain::desk::{CALLBACK, DEFAULT_DISPOSITIONS, DNC};
use crate::domain::phone::PhoneNumber;
use crate::domain::time::to_text;
use crate::engine::desk;
use crate::engine::orgs::{Org, Role};
use crate::engine::{calls, dnc};
use crate::error::{AppError, Code};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

fn invalid(message: impl Into<String>) -> AppError {
    AppError::new(Code::InvalidBody, message)
}

/// The org's codes as `(code, label)`, in its order; the defaults until it sets its own.
async fn codes_of(state: &AppState, org: &Org) -> Result<Vec<(String, String)>, AppError> {
    let org_id = org.id.to_string();
    let stored = state
        .engine
        .read(move |conn| Ok(rows::disposition_codes_of(conn, &org_id)?))
        .await?;
    Ok(if stored.is_empty() {
        DEFAULT_DISPOSITIONS
            .iter()
            .map(|(c, l)| (c.to_string(), l.to_string()))
            .collect()
    } else {
        stored.into_iter().map(|r| (r.code, r.label)).collect()
    })
}

fn codes_json(codes: &[(String, String)]) -> Value {
    let items: Vec<Value> = codes
        .iter()
        .map(|(code, label)| json!({"code": code, "label": label}))
        .collect();
    json!({"items": items, "next_cursor": null})
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeEntry {
    /// Letters, digits and `_` (e.g. `SALE`); `DNC` and `CALLBACK` act as well as record.
    code: String,
    label: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Codes {
    codes: Vec<CodeEntry>,
}

/// Replaces the org's disposition codes: 200 the list.
#[utoipa::path(put, path = "/api/v1/dispositions", tag = "dispositions", request_body = Codes, responses((status = 200, description = "The org's codes")))]
pub async fn put_codes(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    body: web::Json<Codes>,
) -> Result<HttpResponse, AppError> {
    let entries = body.into_inner().codes;
    if entries.is_empty() || entries.len() > 200 {
        return Err(invalid("give 1 to 200 codes"));
    }
    let mut codes: Vec<(String, String)> = Vec::with_capacity(entries.len());
    for entry in entries {
        let code = entry.code.trim().to_owned();
        let readable = !code.is_empty()
            && code.len() <= 64
            && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !readable {
            return Err(invalid(format!(
                "`{code}` is not a code: 1 to 64 letters, digits or `_`"
            )));
        }
        if codes.iter().any(|(c, _)| *c == code) {
            return Err(invalid(format!("`{code}` is listed twice")));
        }
        let label = entry
            .label
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| code.clone());
        codes.push((code, label));
    }
    let rows = codes
        .iter()
        .enumerate()
        .map(|(i, (code, label))| DispositionCodeRow {
            org_id: org.id.to_string(),
            code: code.clone(),
            label: label.clone(),
            position: i as i32,
        })
        .collect();
    desk::put_disposition_codes(&state.engine, &org.id, rows).await?;
    Ok(HttpResponse::Ok().json(codes_json(&codes)))
}

/// The org's disposition codes, in its order.
#[utoipa::path(get, path = "/api/v1/dispositions", tag = "dispositions", responses((status = 200, description = "The org's codes")))]
pub async fn get_codes(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(codes_json(&codes_of(&state, &org).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewDisposition {
    code: String,
    note: Option<String>,
    /// RFC 3339; required with `CALLBACK`: when to dial the contact again.
    callback_at: Option<String>,
}

/// Sets a call's disposition, during or after the call: 200 the call. `DNC` puts the number on
/// the do-not-call list; `CALLBACK` schedules a dial at `callback_at`. An agent token disposes
/// only calls its agent took.
#[utoipa::path(post, path = "/api/v1/calls/{id}/disposition", tag = "dispositions", params(("id" = String, Path)), request_body = NewDisposition, responses((status = 200, description = "The call with its disposition"), (status = 400, description = "`unknown_disposition`")))]
pub async fn dispose(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<NewDisposition>,
) -> Result<HttpResponse, AppError> {
    let org = caller.org.clone();
    let body = body.into_inner();
    let call = calls::find(&state.engine, &org.id, &path).await?;
    if caller.role != Role::Owner {
        let agent_id = call.agent_id.as_deref().unwrap_or_default();
        act_as(&caller, agent_id).map_err(|_| {
            AppError::new(
                Code::Forbidden,
                "an agent token disposes only the calls its agent took",
            )
        })?;
    }
    let code = body.code.trim().to_owned();
    if !codes_of(&state, &org)
        .await?
        .iter()
        .any(|(c, _)| *c == code)
    {
        return Err(AppError::new(
            Code::UnknownDisposition,
            format!("`{code}` is not one of the org's disposition codes"),
        ));
    }
    let callback_at = body
        .callback_at
        .as_deref()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| invalid("`callback_at` must be an RFC 3339 time"))
        })
        .transpose()?;
    let now = Utc::now();
    if callback_at.is_some_and(|at| at < now) {
        return Err(invalid(
            "`callback_at` is in the past: a callback is dialed then, not while the customer is still on the line",
        ));
    }
    if callback_at.is_some_and(|at| at > now + chrono::Duration::days(366)) {
        return Err(invalid("`callback_at` is more than a year ahead"));
    }
    if code == CALLBACK && callback_at.is_none() {
        return Err(invalid("a CALLBACK needs `callback_at`"));
    }
    // The other party: the caller of an inbound call, the callee otherwise.
    let party = match call.direction {
        Direction::Inbound => call.from.clone(),
        _ => call.to.clone(),
    };
    let phone = party
        .as_deref()
        .and_then(|p| PhoneNumber::parse(p, &org.default_country).ok());
    if (code == DNC || code == CALLBACK) && phone.is_none() {
        return Err(invalid(format!(
            "{code} needs the call's other party to be a phone number"
        )));
    }
    let disposition = Disposition {
        code: code.clone(),
        note: body
            .note
            .map(|n| n.trim().chars().take(2000).collect::<String>())
            .filter(|n| !n.is_empty()),
        callback_at,
        agent_id: caller.agent_id.clone(),
        at: Utc::now(),
    };
    let calls = &state.actors.calls;
    let disposed = annotate(calls, &org.id, &path, Annotation::Dispose(disposition)).await?;
    if let (true, Some(phone)) = (code == DNC, &phone) {
        let reason = format!("disposition of call {}", disposed.id);
        dnc::list(&state.engine, &org, phone, Some(reason)).await?;
    }
    if let (Some(at), Some(phone)) = (callback_at.filter(|_| code == CALLBACK), &phone) {
        let now = to_text(Utc::now());
        // A PBX call is called back from the first extension that took part.
        let from = match call.provider.as_str() {
            "yeastar" => call.extensions.first().cloned(),
            _ if call.direction == Direction::Inbound => call.to.clone(),
            _ => call.from.clone(),
        };
        let row = CallbackRow {
            id: uuid::Uuid::now_v7().to_string(),
            org_id: org.id.to_string(),
            call_id: call.id.to_string(),
            contact_id: call.contact_id.clone(),
            phone: phone.e164().to_owned(),
            provider: call.provider.clone(),
            from_number: from,
            campaign_id: call.campaign_id.clone(),
            due_at: to_text(at),
            status: "pending".into(),
            dialed_call_id: None,
            error: None,
            created_at: now.clone(),
            updated_at: now,
        };
        scheduled_callbacks::store(&state.engine, row.clone()).await?;
        state.actors.callbacks.do_send(Schedule(row));
    }
    Ok(HttpResponse::Ok().json(disposed.to_json()))
}

/// The org's scheduled callbacks (pending, dialed, failed), oldest first.
#[utoipa::path(get, path = "/api/v1/callbacks", tag = "dispositions", params(PageQuery), responses((status = 200, description = "A page of callbacks")))]
pub async fn list_callbacks(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let fetch = rows::callbacks_page;
    list_page(
        &state,
        &org,
        query.into_inner(),
        fetch,
        |r| r.id.clone(),
        CallbackRow::to_json,
    )
    .await
}
