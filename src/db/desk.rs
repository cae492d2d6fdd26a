//! The agent desk's rows — agents, queues, disposition codes, scheduled callbacks — their
//! conversions to the domain, and their reads.

use super::schema::*;
use super::DbConnection;
use crate::domain::desk::{Agent, Availability, Overflow, Queue};
use crate::domain::time::{from_text, to_text};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

fn strings(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

/// An agent as stored: its configuration and its own availability (its live state is the desk's).
#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = agents, treat_none_as_null = true)]
pub struct AgentRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub extensions: String,
    pub skills: String,
    pub phone: Option<String>,
    pub availability: String,
    pub availability_reason: Option<String>,
    pub availability_since: String,
    pub created_at: String,
    pub updated_at: String,
}

impl AgentRow {
    /// The row of a desk agent, created at `created_at`.
    pub fn of(org_id: &str, agent: &Agent, created_at: &str, now: DateTime<Utc>) -> Self {
        AgentRow {
            id: agent.id.clone(),
            org_id: org_id.to_owned(),
            name: agent.name.clone(),
            extensions: json_list(&agent.extensions),
            skills: json_list(&agent.skills),
            phone: agent.phone.clone(),
            availability: agent.availability.as_str().to_owned(),
            availability_reason: agent.availability_reason.clone(),
            availability_since: to_text(agent.availability_since),
            created_at: created_at.to_owned(),
            updated_at: to_text(now),
        }
    }

    /// The agent as the desk holds it, nothing live yet.
    pub fn agent(&self) -> Agent {
        let since = from_text(&self.availability_since).unwrap_or_else(Utc::now);
        let availability =
            Availability::parse(&self.availability).unwrap_or(Availability::LoggedOut);
        let mut agent = Agent::new(self.id.clone(), self.name.clone(), availability, since);
        agent.extensions = strings(&self.extensions);
        agent.skills = strings(&self.skills);
        agent.phone.clone_from(&self.phone);
        agent
            .availability_reason
            .clone_from(&self.availability_reason);
        agent
    }
}

/// A queue as stored.
#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = queues, treat_none_as_null = true)]
pub struct QueueRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub skills: String,
    pub sla_s: i32,
    pub ring_timeout_s: i32,
    pub wrap_up_s: i32,
    pub number: Option<String>,
    pub priority: i32,
    pub max_wait_s: Option<i32>,
    pub overflow_queue_id: Option<String>,
    pub overflow_message: Option<String>,
    pub max_missed_offers: i32,
    pub created_at: String,
    pub updated_at: String,
}

impl QueueRow {
    pub fn of(org_id: &str, queue: &Queue, created_at: &str, now: DateTime<Utc>) -> Self {
        let (overflow_queue_id, overflow_message) = match &queue.overflow {
            Some(Overflow::Queue(id)) => (Some(id.clone()), None),
            Some(Overflow::Message(text)) => (None, Some(text.clone())),
            None => (None, None),
        };
        let small = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
        QueueRow {
            id: queue.id.clone(),
            org_id: org_id.to_owned(),
            name: queue.name.clone(),
            skills: json_list(&queue.skills),
            sla_s: small(queue.sla_s),
            ring_timeout_s: small(queue.ring_timeout_s),
            wrap_up_s: small(queue.wrap_up_s),
            number: queue.number.clone(),
            priority: queue.priority,
            max_wait_s: queue.max_wait_s.map(small),
            overflow_queue_id,
            overflow_message,
            max_missed_offers: small(i64::from(queue.max_missed_offers)),
            created_at: created_at.to_owned(),
            updated_at: to_text(now),
        }
    }

    pub fn queue(&self) -> Queue {
        let overflow = match (&self.overflow_queue_id, &self.overflow_message) {
            (Some(id), _) => Some(Overflow::Queue(id.clone())),
            (None, Some(text)) => Some(Overflow::Message(text.clone())),
            (None, None) => None,
        };
        Queue {
            id: self.id.clone(),
            name: self.name.clone(),
            skills: strings(&self.skills),
            sla_s: self.sla_s.into(),
            ring_timeout_s: self.ring_timeout_s.into(),
            wrap_up_s: self.wrap_up_s.into(),
            number: self.number.clone(),
            priority: self.priority,
            max_wait_s: self.max_wait_s.map(i64::from),
            overflow,
            max_missed_offers: u32::try_from(self.max_missed_offers).unwrap_or(0),
        }
    }
}

/// One of an org's disposition codes, in the order the org listed them.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = disposition_codes)]
pub struct DispositionCodeRow {
    pub org_id: String,
    pub code: String,
    pub label: String,
    pub position: i32,
}

/// A dial the agent desk scheduled (`CALLBACK` disposition): `pending` until due, then
/// `dialed` (with the call it placed) or `failed` (with why).
#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = callbacks, treat_none_as_null = true)]
pub struct CallbackRow {
    pub id: String,
    pub org_id: String,
    /// The call whose disposition asked for it.
    pub call_id: String,
    pub contact_id: Option<String>,
    pub phone: String,
    pub provider: String,
    pub from_number: Option<String>,
    pub campaign_id: Option<String>,
    pub due_at: String,
    pub status: String,
    pub dialed_call_id: Option<String>,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl CallbackRow {
    /// The callback once tried: `dialed` with its call, or `failed` with why.
    pub fn tried(self, outcome: Result<String, String>) -> CallbackRow {
        let (status, dialed_call_id, error) = match outcome {
            Ok(call_id) => ("dialed", Some(call_id), None),
            Err(error) => ("failed", None, Some(error)),
        };
        CallbackRow {
            status: status.to_owned(),
            dialed_call_id,
            error,
            updated_at: to_text(Utc::now()),
            ..self
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "call_id": self.call_id,
            "contact_id": self.contact_id,
            "phone": self.phone,
            "provider": self.provider,
            "campaign_id": self.campaign_id,
            "due_at": self.due_at,
            "status": self.status,
            "dialed_call_id": self.dialed_call_id,
            "error": self.error,
            "created_at": self.created_at,
        })
    }
}

pub fn agents_of(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<AgentRow>> {
    agents::table
        .filter(agents::org_id.eq(org_id))
        .order(agents::id.asc())
        .load(conn)
}

pub fn agent(conn: &mut DbConnection, org_id: &str, id: &str) -> QueryResult<Option<AgentRow>> {
    agents::table
        .filter(agents::org_id.eq(org_id).and(agents::id.eq(id)))
        .first(conn)
        .optional()
}

pub fn queues_of(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<QueueRow>> {
    queues::table
        .filter(queues::org_id.eq(org_id))
        .order(queues::id.asc())
        .load(conn)
}

pub fn queue(conn: &mut DbConnection, org_id: &str, id: &str) -> QueryResult<Option<QueueRow>> {
    queues::table
        .filter(queues::org_id.eq(org_id).and(queues::id.eq(id)))
        .first(conn)
        .optional()
}

pub fn disposition_codes_of(
    conn: &mut DbConnection,
    org_id: &str,
) -> QueryResult<Vec<DispositionCodeRow>> {
    disposition_codes::table
        .filter(disposition_codes::org_id.eq(org_id))
        .order(disposition_codes::position.asc())
        .load(conn)
}

/// Every pending callback, soonest first (the scheduler holds them all: one row per agent's
/// promise to call back, not per campaign contact).
pub fn pending_callbacks(conn: &mut DbConnection) -> QueryResult<Vec<CallbackRow>> {
    callbacks::table
        .filter(callbacks::status.eq("pending"))
        .order(callbacks::due_at.asc())
        .load(conn)
}

/// A page of an org's callbacks, oldest first (cursor: the last id).
pub fn callbacks_page(
    conn: &mut DbConnection,
    org_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<CallbackRow>> {
    let mut query = callbacks::table
        .filter(callbacks::org_id.eq(org_id))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(callbacks::id.gt(after.to_owned()));
    }
    query.order(callbacks::id.asc()).limit(limit).load(conn)
}

/// What the desk reads back of a call queued since `since` or still unfinished (the day's counts,
/// the callers still waiting, the agents still on a call).
#[derive(Debug, Clone, Queryable)]
pub struct QueuedCall {
    pub id: String,
    pub queue_id: String,
    pub status: String,
    pub agent_id: Option<String>,
    pub queued_at: Option<String>,
    pub assigned_at: Option<String>,
    pub campaign_id: Option<String>,
    /// Set once the caller talked with its agent.
    pub answered_at: Option<String>,
    pub hangup_cause: Option<String>,
}

pub fn queued_calls_since(
    conn: &mut DbConnection,
    org_id: &str,
    since: &str,
) -> QueryResult<Vec<QueuedCall>> {
    calls::table
        .filter(calls::org_id.eq(org_id))
        .filter(calls::queue_id.is_not_null())
        .filter(
            calls::created_at
                .ge(since)
                .or(calls::status.eq_any(super::queries::UNFINISHED_STATUSES)),
        )
        .select((
            calls::id,
            calls::queue_id.assume_not_null(),
            calls::status,
            calls::agent_id,
            calls::queued_at,
            calls::assigned_at,
            calls::campaign_id,
            calls::answered_at,
            calls::hangup_cause,
        ))
        .load(conn)
}

/// Every extension of the org with its presence: the desk's starting view of its agents' phones.
pub fn extension_presence(
    conn: &mut DbConnection,
    org_id: &str,
) -> QueryResult<Vec<(String, String)>> {
    extensions::table
        .filter(extensions::org_id.eq(org_id))
        .select((extensions::number, extensions::presence))
        .load(conn)
}
