//! Scoped tokens: `POST /api/v1/tokens` `{"role": "viewer" | "agent", "agent_id"?}`,
//! `GET /api/v1/tokens`, `DELETE /api/v1/tokens/{id}`. A wallboard holds a viewer token: it reads
//! and changes nothing; an agent's browser holds an agent token: it reads and acts only as its
//! agent.

use super::{list_page, ApiOrg, AppState, PageQuery};
use crate::db::models::ApiTokenRow;
use crate::db::queries;
use crate::engine::orgs::Role;
use crate::error::{AppError, Code};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    role: String,
    /// The agent an `agent` token acts as.
    agent_id: Option<String>,
}

/// Issues a scoped token: 201 `{"id", "token", "role", "agent_id"?}`; the token is shown only
/// this once. An `agent` token names one of the org's agents.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken, responses((status = 201, description = "`{id, token, role, agent_id?}`; the token is shown only this once")))]
pub async fn create_token(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    body: web::Json<NewToken>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let role = Role::scoped(&body.role).ok_or_else(|| {
        AppError::new(
            Code::InvalidBody,
            format!(
                "`{}` is not a token role: use `viewer` or `agent`",
                body.role
            ),
        )
    })?;
    let agent_id = match (role, body.agent_id) {
        (Role::Agent, Some(agent_id)) => {
            super::agents::known_agent(&state, &org, &agent_id).await?;
            Some(agent_id)
        }
        (Role::Agent, None) => {
            return Err(AppError::new(
                Code::InvalidBody,
                "an agent token needs `agent_id`",
            ))
        }
        (_, Some(_)) => {
            return Err(AppError::new(
                Code::InvalidBody,
                "only an agent token takes `agent_id`",
            ))
        }
        (_, None) => None,
    };
    let engine = &state.engine;
    let issued = engine
        .orgs
        .issue_token(&engine.writer, &org.id, role, agent_id)
        .await?;
    let mut answer = issued.row.to_json();
    answer["token"] = serde_json::json!(issued.token);
    Ok(HttpResponse::Created().json(answer))
}

/// The org's scoped tokens (without the tokens themselves).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(PageQuery), responses((status = 200, description = "A page of scoped tokens (without the tokens)")))]
pub async fn list_tokens(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let fetch = queries::api_tokens_page;
    list_page(
        &state,
        &org,
        query.into_inner(),
        fetch,
        |r| r.id.clone(),
        ApiTokenRow::to_json,
    )
    .await
}

/// Revokes a scoped token: 204; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path, description = "the token's id")), responses((status = 204, description = "Revoked")))]
pub async fn revoke_token(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let engine = &state.engine;
    engine
        .orgs
        .revoke_token(&engine.writer, &org.id, &path)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
