//! PBX extensions: `GET /api/v1/extensions`, `PUT /api/v1/extensions/{number}`,
//! `POST /api/v1/extensions/{number}/dial`, `POST /api/v1/extensions/{number}/reset`.

use super::{page, read, ApiOrg, AppState, PageQuery};
use crate::actors::call::{ForceEnd, ProviderEvent};
use crate::actors::extension::{change_extension, current_extension};
use crate::actors::registry::{deliver, CallKey, CallRef, Route};
use crate::db::queries;
use crate::domain::call::{CallEvent, CallStatus, Direction};
use crate::domain::extension::{Extension, ExtensionChange, Membership, Presence};
use crate::domain::ids::CallId;
use crate::domain::phone::{party, PhoneNumber};
use crate::error::AppError;
use crate::orgs::Org;
use crate::providers::yeastar::{DialError, YeastarApi};
use crate::providers::Provider;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

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
        Err(AppError::bad_request(
            "invalid_extension",
            format!("`{number}` is not an extension number"),
        ))
    }
}

/// The org's extensions by number, with presence, active calls and `since`.
pub async fn list_extensions(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = query.limit()?;
    let (org_id, cursor) = (org.id.to_string(), query.into_inner().cursor);
    let extensions = read(&state, move |conn| {
        queries::extensions_page(conn, &org_id, cursor.as_deref(), limit + 1)?
            .into_iter()
            .map(|row| Extension::try_from(row).map_err(AppError::Internal))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    Ok(page(
        extensions,
        limit,
        |e| e.number.clone(),
        Extension::to_json,
    ))
}

#[derive(Deserialize)]
pub struct ExtensionName {
    name: Option<String>,
}

/// Creates an extension or renames it.
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
        &state.extensions,
        &org.id,
        number,
        ExtensionChange::Rename(name),
        None,
    )
    .await?;
    Ok(HttpResponse::Ok().json(ext.to_json()))
}

async fn known_extension(state: &AppState, org: &Org, number: &str) -> Result<Extension, AppError> {
    current_extension(&state.extensions, &org.id, valid_number(number)?)
        .await?
        .ok_or(AppError::NotFound("extension"))
}

#[derive(Deserialize)]
pub struct DialRequest {
    to: String,
}

/// Places a call from the extension through the PBX's API: 409 `extension_busy` while it rings or
/// talks, 409 `extension_offline` while it is offline. The call is tracked from the start, and the
/// extension is busy with it at once.
pub async fn dial(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<DialRequest>,
) -> Result<HttpResponse, AppError> {
    let ext = known_extension(&state, &org, &path).await?;
    if ext.is_busy() {
        return Err(AppError::Conflict {
            code: "extension_busy",
            message: format!(
                "extension {} is {} right now",
                ext.number,
                ext.presence.as_str()
            ),
        });
    }
    if ext.presence == Presence::Offline {
        return Err(AppError::Conflict {
            code: "extension_offline",
            message: format!("extension {} is offline", ext.number),
        });
    }
    let to = body.into_inner().to.trim().to_owned();
    if to.is_empty() {
        return Err(AppError::bad_request("invalid_body", "`to` is required"));
    }
    // Checked before anything is dialed.
    let phone = PhoneNumber::parse(&to, &org.default_country)
        .ok()
        .filter(|_| to.len() > 6);
    if let Some(phone) = &phone {
        if super::dnc::is_listed(&state, &org, phone).await? {
            return Err(AppError::Conflict {
                code: "do_not_call",
                message: format!("{} is on the do-not-call list", phone.e164()),
            });
        }
    }
    let credentials = state.orgs.credentials(&org.id, Provider::Yeastar).await?;
    let field = |name: &str| {
        credentials
            .as_ref()
            .and_then(|c| c.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (Some(api_base), Some(client_id), Some(client_secret)) = (
        field("api_base"),
        field("client_id"),
        field("client_secret"),
    ) else {
        return Err(AppError::Conflict {
            code: "provider_not_configured",
            message: DialError::NotConfigured.to_string(),
        });
    };
    let api = YeastarApi {
        api_base,
        client_id,
        client_secret,
    };
    let pbx_call_id = api
        .dial(
            &state.http,
            &state.pbx_sessions,
            org.id.as_str(),
            &ext.number,
            &to,
        )
        .await
        .map_err(|e| AppError::Provider(e.to_string()))?;
    let outbound = phone.is_some();
    let direction = if outbound {
        Direction::Outbound
    } else {
        Direction::Internal
    };
    let event = CallEvent {
        status: Some(CallStatus::Dialing),
        direction: Some(direction),
        from: Some(ext.number.clone()),
        to: Some(party(&to, &org.default_country)),
        extensions: vec![ext.number.clone()],
        ..CallEvent::default()
    };
    let key = CallKey {
        org_id: org.id.clone(),
        provider: Provider::Yeastar.as_str().to_owned(),
        provider_call_id: pbx_call_id.clone(),
    };
    let accepted = deliver(
        &state.registry,
        CallRef::Provider(key, direction),
        ProviderEvent {
            event,
            dedupe_key: format!("dial:{pbx_call_id}"),
            inbox: None,
            kind: "dialed",
            raw_status: None,
            data: serde_json::json!({"extension": ext.number, "to": to, "pbx_call_id": pbx_call_id}),
            screen_pop: None,
        },
    )
    .await?;
    let change = ExtensionChange::Member {
        call_id: accepted.call_id.to_string(),
        membership: Membership::Busy,
    };
    change_extension(&state.extensions, &org.id, &ext.number, change, None).await?;
    let call = super::calls::find_call(&state, &org.id, accepted.call_id.as_str()).await?;
    Ok(HttpResponse::Created().json(call.to_json()))
}

/// The supervisor's way out: ends every call the extension is stuck in (reason `manual_reset`),
/// takes all their extensions out of them, and answers the extension with presence recomputed.
pub async fn reset(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ext = known_extension(&state, &org, &path).await?;
    for call_id in ext.calls.keys() {
        let mut members = vec![ext.number.clone()];
        if let Some(id) = CallId::parse(call_id) {
            let actor = state
                .registry
                .send(Route(CallRef::Ours(org.id.clone(), id)))
                .await?;
            match actor
                .send(ForceEnd {
                    reason: "manual_reset",
                })
                .await
            {
                Ok(ended) => members.extend(ended?.extensions),
                // The call is not in the database: there is nothing to end but the membership.
                Err(actix::MailboxError::Closed) => {}
                Err(error) => return Err(error.into()),
            }
        }
        members.sort();
        members.dedup();
        for number in members {
            let left = ExtensionChange::Left {
                call_id: call_id.clone(),
            };
            change_extension(&state.extensions, &org.id, &number, left, None).await?;
        }
    }
    let ext = known_extension(&state, &org, &ext.number).await?;
    Ok(HttpResponse::Ok().json(ext.to_json()))
}
