//! Queues of the agent desk: `POST|GET /api/v1/queues`, `GET|PATCH|DELETE /api/v1/queues/{id}`,
//! each with its live figures (waiting, longest wait, answered, within SLA, abandoned, agents by
//! state).

use super::agents::{by_id_page, desk_of, display_name, names};
use super::{ApiOrg, AppState, PageQuery};
use crate::actors::desk::{QueueConfigured, QueueRemoved, QueuesNow};
use crate::db::desk::{self as rows, QueueRow};
use crate::domain::desk::{Overflow, Queue};
use crate::domain::phone::PhoneNumber;
use crate::domain::time::to_text;
use crate::engine::desk;
use crate::engine::orgs::Org;
use crate::error::{AppError, Code};
use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;

/// A queue's fields as a create or a change gives them (absent: unchanged, or the default).
#[derive(Deserialize, utoipa::ToSchema, Default)]
pub struct QueueFields {
    name: Option<String>,
    /// Agents need every one of these (none: every agent).
    skills: Option<Vec<String>>,
    /// Answered within this many seconds counts within the SLA (default 20).
    sla_s: Option<i64>,
    /// An offer rings this long before the next agent is offered (default 15).
    ring_timeout_s: Option<i64>,
    /// Busy time after each call (default 10).
    wrap_up_s: Option<i64>,
    /// Calls to this number wait here (a queue without one takes other inbound calls).
    number: Option<String>,
    /// Higher first (default 0).
    priority: Option<i32>,
    /// After this long a caller overflows.
    max_wait_s: Option<i64>,
    /// Where an overflowing caller goes: another queue of the org…
    overflow_queue_id: Option<String>,
    /// …or this message, then hang-up.
    overflow_message: Option<String>,
    /// Offers missed in a row before an agent is set away (default 2; 0: never).
    max_missed_offers: Option<i64>,
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::new(Code::InvalidBody, message)
}

fn within(name: &str, value: i64, low: i64, high: i64) -> Result<i64, AppError> {
    if (low..=high).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(format!("`{name}` must be {low} to {high}")))
    }
}

impl QueueFields {
    /// The queue these fields make of `base` (the defaults for a new queue).
    async fn apply(self, state: &AppState, org: &Org, mut queue: Queue) -> Result<Queue, AppError> {
        if let Some(name) = &self.name {
            queue.name = display_name(name)?;
        }
        if let Some(skills) = self.skills {
            queue.skills = names("skills", skills)?;
        }
        if let Some(s) = self.sla_s {
            queue.sla_s = within("sla_s", s, 1, 86_400)?;
        }
        if let Some(s) = self.ring_timeout_s {
            queue.ring_timeout_s = within("ring_timeout_s", s, 1, 600)?;
        }
        if let Some(s) = self.wrap_up_s {
            queue.wrap_up_s = within("wrap_up_s", s, 0, 3_600)?;
        }
        if let Some(p) = self.priority {
            queue.priority = p;
        }
        if let Some(s) = self.max_wait_s {
            queue.max_wait_s = Some(within("max_wait_s", s, 1, 86_400)?);
        }
        if let Some(n) = self.max_missed_offers {
            queue.max_missed_offers = within("max_missed_offers", n, 0, 100)? as u32;
        }
        if let Some(number) = self.number {
            let number = number.trim();
            queue.number = match PhoneNumber::parse(number, &org.default_country) {
                _ if number.is_empty() => None,
                // A PBX queue's number is short and stays as it is; a phone number is E.164.
                Ok(phone) if number.len() > 6 => Some(phone.e164().to_owned()),
                _ => Some(number.to_owned()),
            };
        }
        match (self.overflow_queue_id, self.overflow_message) {
            (Some(_), Some(_)) => {
                return Err(invalid("overflow to a queue or to a message, not both"))
            }
            (Some(id), None) => {
                if id == queue.id {
                    return Err(invalid("a queue cannot overflow into itself"));
                }
                known_queue(state, org, &id).await?;
                queue.overflow = Some(Overflow::Queue(id));
            }
            (None, Some(message)) => {
                let message = message.trim().to_owned();
                if message.is_empty() || message.chars().count() > 1000 {
                    return Err(invalid("`overflow_message` needs 1 to 1000 characters"));
                }
                queue.overflow = Some(Overflow::Message(message));
            }
            (None, None) => {}
        }
        Ok(queue)
    }
}

async fn known_queue(state: &AppState, org: &Org, id: &str) -> Result<QueueRow, AppError> {
    let (org_id, id) = (org.id.to_string(), id.to_owned());
    state
        .engine
        .read(move |conn| Ok(rows::queue(conn, &org_id, &id)?))
        .await?
        .ok_or(AppError::not_found("queue"))
}

async fn queue_now(state: &AppState, org: &Org, id: &str) -> Result<Value, AppError> {
    let queues = desk_of(state, org).await?.send(QueuesNow).await?;
    queues
        .into_iter()
        .find(|q| q["id"] == id)
        .ok_or(AppError::not_found("queue"))
}

/// Stores the queue, tells the desk, answers it with its figures.
async fn put(
    state: &AppState,
    org: &Org,
    queue: Queue,
    created_at: &str,
) -> Result<Value, AppError> {
    let row = QueueRow::of(org.id.as_str(), &queue, created_at, Utc::now());
    desk::put_queue(&state.engine, &org.id, row).await?;
    let id = queue.id.clone();
    desk_of(state, org)
        .await?
        .send(QueueConfigured(queue))
        .await?;
    queue_now(state, org, &id).await
}

/// Creates a queue: 201 the queue with its figures.
#[utoipa::path(post, path = "/api/v1/queues", tag = "queues", request_body = QueueFields, responses((status = 201, description = "The queue")))]
pub async fn create_queue(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    body: web::Json<QueueFields>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    if body.name.is_none() {
        return Err(invalid("a queue needs a name"));
    }
    let blank = Queue::new(uuid::Uuid::now_v7().to_string(), String::new());
    let queue = body.apply(&state, &org, blank).await?;
    let json = put(&state, &org, queue, &to_text(Utc::now())).await?;
    Ok(HttpResponse::Created().json(json))
}

/// The org's queues with their figures, by id.
#[utoipa::path(get, path = "/api/v1/queues", tag = "queues", params(PageQuery), responses((status = 200, description = "A page of queues")))]
pub async fn list_queues(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let queues = desk_of(&state, &org).await?.send(QueuesNow).await?;
    Ok(by_id_page(queues, &query))
}

/// One queue with its live figures.
#[utoipa::path(get, path = "/api/v1/queues/{id}", tag = "queues", params(("id" = String, Path)), responses((status = 200, description = "The queue with `waiting`, `longest_wait_s`, `answered`, `answered_within_sla`, `abandoned`, `agents`")))]
pub async fn get_queue(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(queue_now(&state, &org, &path).await?))
}

/// Changes a queue: 200 the queue.
#[utoipa::path(patch, path = "/api/v1/queues/{id}", tag = "queues", params(("id" = String, Path)), request_body = QueueFields, responses((status = 200, description = "The queue")))]
pub async fn patch_queue(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<QueueFields>,
) -> Result<HttpResponse, AppError> {
    let row = known_queue(&state, &org, &path).await?;
    let queue = body.into_inner().apply(&state, &org, row.queue()).await?;
    Ok(HttpResponse::Ok().json(put(&state, &org, queue, &row.created_at).await?))
}

/// Deletes a queue: 204; 409 while callers wait in it (they would have nowhere to go).
#[utoipa::path(delete, path = "/api/v1/queues/{id}", tag = "queues", params(("id" = String, Path)), responses((status = 204, description = "Deleted")))]
pub async fn delete_queue(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let queue = queue_now(&state, &org, &path).await?;
    if queue["waiting"].as_u64().unwrap_or(0) > 0 {
        return Err(AppError::new(
            Code::InvalidTransition,
            "callers are waiting in this queue: delete it once they are answered",
        ));
    }
    if !desk::delete_queue(&state.engine, &org.id, &path).await? {
        return Err(AppError::not_found("queue"));
    }
    desk_of(&state, &org)
        .await?
        .send(QueueRemoved(path.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
