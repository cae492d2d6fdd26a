//! Agents and their offers: `POST|GET /api/v1/agents`, `GET|PATCH|DELETE /api/v1/agents/{id}`,
//! `POST /api/v1/calls/{id}/accept|reject`. An agent's live state is its org's desk's
//! ([`crate::actors::desk`]); what is stored is committed before the desk hears of it.

use super::{page, ApiCaller, ApiOrg, AppState, PageQuery};
use crate::actors::desk::{
    Accept, AgentConfigured, AgentRemoved, AgentsNow, DeskActor, DeskOf, Reject, SetAvailability,
};
use crate::db::desk::{self as rows, AgentRow};
use crate::domain::desk::{Agent, Availability};
use crate::domain::time::to_text;
use crate::engine::desk;
use crate::engine::orgs::{Caller, Org, Role};
use crate::error::{AppError, Code};
use actix::Addr;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;

/// The org's desk.
pub async fn desk_of(state: &AppState, org: &Org) -> Result<Addr<DeskActor>, AppError> {
    Ok(state.actors.desks.send(DeskOf(org.id.clone())).await?)
}

/// The stored agent of the org, or 404.
pub async fn known_agent(state: &AppState, org: &Org, id: &str) -> Result<AgentRow, AppError> {
    let (org_id, id) = (org.id.to_string(), id.to_owned());
    state
        .engine
        .read(move |conn| Ok(rows::agent(conn, &org_id, &id)?))
        .await?
        .ok_or(AppError::not_found("agent"))
}

/// The agent as the desk has it now (its live state included).
async fn agent_now(state: &AppState, org: &Org, id: &str) -> Result<Value, AppError> {
    let agents = desk_of(state, org).await?.send(AgentsNow).await?;
    agents
        .into_iter()
        .find(|a| a["id"] == id)
        .ok_or(AppError::not_found("agent"))
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::new(Code::InvalidBody, message)
}

/// A list of names (extensions, skills): each trimmed, non-empty, at most 64 characters, no
/// repeats, at most 100 of them.
pub fn names(what: &str, list: Vec<String>) -> Result<Vec<String>, AppError> {
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    for name in list {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(invalid(format!(
                "each of `{what}` needs 1 to 64 characters"
            )));
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.len() > 100 {
        return Err(invalid(format!("at most 100 `{what}`")));
    }
    Ok(names)
}

/// A name of 1 to 200 characters.
pub fn display_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid("a name needs 1 to 200 characters"));
    }
    Ok(name.to_owned())
}

fn availability(word: &str) -> Result<Availability, AppError> {
    Availability::parse(word).ok_or_else(|| {
        invalid(format!(
            "`{word}` is not an availability: use available, away, break or logged_out"
        ))
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewAgent {
    name: String,
    /// Its PBX extensions (none for a softphone or provider-only agent).
    #[serde(default)]
    extensions: Vec<String>,
    #[serde(default)]
    skills: Vec<String>,
    /// Where a provider connects a caller to it: a phone number or `sip:` URI (a Twilio
    /// `client:<id>` identity when absent).
    phone: Option<String>,
    /// `logged_out` unless given.
    availability: Option<String>,
}

/// Creates an agent: 201 the agent with its live state.
#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", request_body = NewAgent, responses((status = 201, description = "The agent")))]
pub async fn create_agent(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    body: web::Json<NewAgent>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let now = Utc::now();
    let availability = match body.availability.as_deref() {
        Some(word) => availability(word)?,
        None => Availability::LoggedOut,
    };
    let mut agent = Agent::new(
        uuid::Uuid::now_v7().to_string(),
        display_name(&body.name)?,
        availability,
        now,
    );
    agent.extensions = names("extensions", body.extensions)?;
    agent.skills = names("skills", body.skills)?;
    agent.phone = body
        .phone
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    let row = AgentRow::of(org.id.as_str(), &agent, &to_text(now), now);
    desk::put_agent(&state.engine, &org.id, row).await?;
    desk_of(&state, &org)
        .await?
        .send(AgentConfigured(agent.clone()))
        .await?;
    let json = agent_now(&state, &org, &agent.id).await?;
    Ok(HttpResponse::Created().json(json))
}

/// The org's agents with their live state, by id.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", params(PageQuery), responses((status = 200, description = "A page of agents")))]
pub async fn list_agents(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let agents = desk_of(&state, &org).await?.send(AgentsNow).await?;
    Ok(by_id_page(agents, &query))
}

/// A page of desk objects (sorted by id) after the query's cursor.
pub fn by_id_page(items: Vec<Value>, query: &PageQuery) -> HttpResponse {
    let limit = match query.limit() {
        Ok(limit) => limit,
        Err(error) => return actix_web::ResponseError::error_response(&error),
    };
    let after = query.cursor.as_deref().unwrap_or("");
    let rows: Vec<Value> = items
        .into_iter()
        .filter(|item| item["id"].as_str().is_some_and(|id| id > after))
        .take(limit as usize + 1)
        .collect();
    page(
        rows,
        limit,
        |item| item["id"].as_str().unwrap_or_default().to_owned(),
        Value::clone,
    )
}

/// One agent with its live state.
#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "agents", params(("id" = String, Path)), responses((status = 200, description = "The agent")))]
pub async fn get_agent(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(agent_now(&state, &org, &path).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AgentChange {
    name: Option<String>,
    extensions: Option<Vec<String>>,
    skills: Option<Vec<String>>,
    phone: Option<String>,
    /// `available`, `away`, `break` or `logged_out` (what an agent token may change).
    availability: Option<String>,
    /// Why, for the wallboard (e.g. `lunch`).
    reason: Option<String>,
}

/// Changes an agent: its configuration (the org's token), or its availability (the agent's own
/// token too). Answers the agent.
#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "agents", params(("id" = String, Path)), request_body = AgentChange, responses((status = 200, description = "The agent")))]
pub async fn patch_agent(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<AgentChange>,
) -> Result<HttpResponse, AppError> {
    let org = caller.org.clone();
    let row = known_agent(&state, &org, &path).await?;
    act_as(&caller, &row.id)?;
    let body = body.into_inner();
    let configures = body.name.is_some()
        || body.extensions.is_some()
        || body.skills.is_some()
        || body.phone.is_some();
    if configures && caller.role != Role::Owner {
        return Err(AppError::new(
            Code::Forbidden,
            "an agent token changes only its agent's availability",
        ));
    }
    let desk = desk_of(&state, &org).await?;
    if configures {
        let now = Utc::now();
        let mut agent = row.agent();
        if let Some(name) = &body.name {
            agent.name = display_name(name)?;
        }
        if let Some(list) = body.extensions {
            agent.extensions = names("extensions", list)?;
        }
        if let Some(list) = body.skills {
            agent.skills = names("skills", list)?;
        }
        if let Some(phone) = body.phone {
            agent.phone = Some(phone.trim().to_owned()).filter(|p| !p.is_empty());
        }
        let stored = AgentRow::of(org.id.as_str(), &agent, &row.created_at, now);
        desk::put_agent(&state.engine, &org.id, stored).await?;
        desk.send(AgentConfigured(agent)).await?;
    }
    if let Some(word) = &body.availability {
        let change = SetAvailability {
            agent_id: row.id.clone(),
            availability: availability(word)?,
            reason: body
                .reason
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty()),
        };
        desk.send(change).await??;
    }
    Ok(HttpResponse::Ok().json(agent_now(&state, &org, &row.id).await?))
}

/// Deletes an agent: 204; an offer pending for it moves on.
#[utoipa::path(delete, path = "/api/v1/agents/{id}", tag = "agents", params(("id" = String, Path)), responses((status = 204, description = "Deleted")))]
pub async fn delete_agent(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    if !desk::delete_agent(&state.engine, &org.id, &path).await? {
        return Err(AppError::not_found("agent"));
    }
    desk_of(&state, &org)
        .await?
        .send(AgentRemoved(path.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// 403 unless the caller may act as this agent (the org's token, or the agent's own).
pub fn act_as(caller: &Caller, agent_id: &str) -> Result<(), AppError> {
    if caller.may_act_as(agent_id) {
        Ok(())
    } else {
        Err(AppError::new(
            Code::Forbidden,
            "an agent token acts only as its own agent",
        ))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct OfferAnswer {
    /// The agent answering the offer (an agent token's own when absent).
    agent_id: Option<String>,
    /// Why the agent rejects it (reject only).
    reason: Option<String>,
}

impl OfferAnswer {
    /// The agent answering an offer of the org's call `call_id` (404 for a call the org does not
    /// have): the one named, or the agent token's own; 403 when the caller may not act as it.
    async fn agent(
        &self,
        state: &AppState,
        caller: &Caller,
        call_id: &str,
    ) -> Result<String, AppError> {
        crate::engine::calls::find(&state.engine, &caller.org.id, call_id).await?;
        let agent_id = self
            .agent_id
            .clone()
            .or_else(|| caller.agent_id.clone())
            .ok_or_else(|| invalid("`agent_id` is required"))?;
        act_as(caller, &agent_id)?;
        Ok(agent_id)
    }
}

/// Accepts the call offered to the agent: the assignment is committed (the call gains
/// `agent_id`) before the answer; connecting the caller follows. 409 `offer_expired` when the
/// offer moved on or the call is already accepted.
#[utoipa::path(post, path = "/api/v1/calls/{id}/accept", tag = "agents", params(("id" = String, Path)), request_body = OfferAnswer, responses((status = 200, description = "The call, with its agent"), (status = 409, description = "`offer_expired`")))]
pub async fn accept(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<OfferAnswer>,
) -> Result<HttpResponse, AppError> {
    let agent_id = body.agent(&state, &caller, &path).await?;
    let accept = Accept {
        call_id: path.into_inner(),
        agent_id,
    };
    let call = desk_of(&state, &caller.org).await?.send(accept).await??;
    Ok(HttpResponse::Ok().json(call))
}

/// Rejects the call offered to the agent: it is offered to the next agent. 409 `offer_expired`
/// when the offer is not this agent's any more.
#[utoipa::path(post, path = "/api/v1/calls/{id}/reject", tag = "agents", params(("id" = String, Path)), request_body = OfferAnswer, responses((status = 200, description = "`{\"status\":\"rejected\"}`"), (status = 409, description = "`offer_expired`")))]
pub async fn reject(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<OfferAnswer>,
) -> Result<HttpResponse, AppError> {
    let agent_id = body.agent(&state, &caller, &path).await?;
    let call_id = path.into_inner();
    let reject = Reject {
        call_id: call_id.clone(),
        agent_id: agent_id.clone(),
    };
    desk_of(&state, &caller.org).await?.send(reject).await??;
    let note = serde_json::json!({"agent_id": agent_id, "reason": body.reason});
    let calls = &state.actors.calls;
    let annotation = crate::actors::call::Annotation::Note("rejected", note);
    crate::actors::call::registry::annotate(calls, &caller.org.id, &call_id, annotation).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "rejected", "call_id": call_id})))
}
