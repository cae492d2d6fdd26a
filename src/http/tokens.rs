//! Scoped tokens: `POST /api/v1/tokens` `{"role": "viewer"}`, `GET /api/v1/tokens`,
//! `DELETE /api/v1/tokens/{id}`. A wallboard holds a viewer token: it reads and changes nothing.

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
}

/// Issues a scoped token: 201 `{"id", "token", "role"}`; the token is shown only this once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken, responses((status = 201, description = "`{id, token, role}`; the token is shown only this once")))]
pub async fn create_token(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    body: web::Json<NewToken>,
) -> Result<HttpResponse, AppError> {
    let role = match body.role.as_str() {
        "agent" => {
            return Err(AppError::new(
                Code::InvalidBody,
                "agent tokens come with the agent desk; use `viewer`",
            ))
        }
        word => Role::scoped(word).ok_or_else(|| {
            AppError::new(
                Code::InvalidBody,
                format!("`{word}` is not a token role: use `viewer`"),
            )
        })?,
    };
    let engine = &state.engine;
    let issued = engine
        .orgs
        .issue_token(&engine.writer, &org.id, role)
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
