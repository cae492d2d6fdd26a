//! Inbound webhooks (verify, parse, normalize, hand to the call's actor, answer once committed),
//! and the org's raw inbox.

use super::{page, read, ApiOrg, AppState, PageQuery};
use crate::actors::call::ProviderEvent;
use crate::actors::registry::{deliver, CallKey};
use crate::db::models::InboxRow;
use crate::db::queries;
use crate::domain::call::Direction;
use crate::domain::time::to_text;
use crate::error::AppError;
use crate::metrics;
use crate::orgs::Org;
use crate::providers::{form_pairs, twilio, Provider};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::sync::Arc;

/// Counts a refused webhook and says why.
fn rejected(error: AppError) -> AppError {
    metrics::WEBHOOKS_REJECTED.add(1);
    error
}

/// The org a webhook path names: 404 for an id that does not exist, whatever its form.
async fn webhook_org(state: &AppState, org: &str) -> Result<Arc<Org>, AppError> {
    match state.orgs.by_id(org).await? {
        Some(org) => Ok(org),
        None => Err(rejected(AppError::NotFound("org"))),
    }
}

/// A credential of the org's provider account that a signature check needs.
async fn signing_secret(
    state: &AppState,
    org: &Org,
    provider: Provider,
    field: &str,
) -> Result<String, AppError> {
    let credentials = state.orgs.credentials(&org.id, provider).await?;
    credentials
        .as_ref()
        .and_then(|c| c.get(field))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| rejected(AppError::Unauthorized))
}

/// The raw webhook as the inbox keeps it.
fn inbox_row(
    req: &HttpRequest,
    org: &Org,
    provider: Provider,
    kind: &str,
    key: &str,
    body: &[u8],
) -> InboxRow {
    InboxRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org.id.to_string(),
        provider: provider.as_str().to_owned(),
        dedupe_key: key.to_owned(),
        kind: kind.to_owned(),
        content_type: req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.to_vec(),
        outcome: "applied".into(),
        received_at: to_text(chrono::Utc::now()),
    }
}

/// `POST /webhooks/twilio/{org}/status`: a Twilio status callback.
pub async fn twilio_status(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let org = webhook_org(&state, &path).await?;
    let auth_token = signing_secret(&state, &org, Provider::Twilio, "auth_token").await?;
    let pairs = form_pairs(&body);
    let url = format!("{}{}", state.public_url, req.uri());
    let signature = req
        .headers()
        .get("X-Twilio-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !twilio::verify(&auth_token, &url, &pairs, signature) {
        return Err(rejected(AppError::Unauthorized));
    }
    let callback = twilio::StatusCallback::parse(&pairs)
        .map_err(|e| rejected(AppError::bad_request("malformed_webhook", e.to_string())))?;
    let dedupe_key = callback.dedupe_key();
    let kind = "twilio.status";
    let event = ProviderEvent {
        event: callback.to_event(),
        inbox: inbox_row(&req, &org, Provider::Twilio, kind, &dedupe_key, &body),
        dedupe_key,
        kind,
        raw_status: Some(callback.call_status.clone()),
        data: serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k, v.into())).collect()),
    };
    let key = CallKey {
        org_id: org.id.clone(),
        provider: Provider::Twilio.as_str().to_owned(),
        provider_call_id: callback.call_sid.clone(),
    };
    let direction = callback.direction.unwrap_or(Direction::Outbound);
    let accepted = deliver(&state.registry, key, direction, event).await?;
    let counter = if accepted.duplicate {
        &metrics::WEBHOOKS_DUPLICATE
    } else {
        &metrics::WEBHOOKS_ACCEPTED
    };
    counter.add(1);
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": if accepted.duplicate { "duplicate" } else { "accepted" },
        "call_id": accepted.call_id,
    })))
}

#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    provider: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /api/v1/webhooks`: the org's raw inbox, newest first.
pub async fn list_inbox(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    if let Some(provider) = &query.provider {
        Provider::parse(provider).ok_or_else(|| {
            AppError::bad_request("invalid_query", format!("`{provider}` is not a provider"))
        })?;
    }
    let limit = query.page.limit()?;
    let org_id = org.id.to_string();
    let (provider, cursor) = (query.provider, query.page.cursor);
    let rows = read(&state, move |conn| {
        Ok(queries::inbox_page(
            conn,
            &org_id,
            provider.as_deref(),
            cursor.as_deref(),
            limit + 1,
        )?)
    })
    .await?;
    Ok(page(rows, limit, |r| r.id.clone(), InboxRow::to_json))
}
