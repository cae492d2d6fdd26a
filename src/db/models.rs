//! Row structs, apart from the queries, and their conversions to and from the domain.

use super::schema::*;
use crate::domain::call::{Authority, Call, CallStatus, Direction};
use crate::domain::events::{EventType, OrgEvent};
use crate::domain::extension::{Extension, Presence};
use crate::domain::ids::{CallId, OrgId};
use crate::domain::money::Money;
use crate::domain::time::{from_text, to_text};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// An organization as stored: tokens only as SHA-256 hashes.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = orgs)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub api_token_hash: String,
    pub webhook_token_hash: String,
    pub default_country: String,
    pub created_at: String,
    /// Calls of this org are recorded (CONTRACT.md "Recording").
    pub record: bool,
}

/// A change of an org's settings: each field given is set, the others are kept.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = orgs)]
pub struct OrgChange {
    #[diesel(skip_update)]
    pub org_id: String,
    pub name: Option<String>,
    pub default_country: Option<String>,
    pub record: Option<bool>,
}

/// One provider account of an org: credentials as a JSON object.
#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = provider_accounts)]
pub struct ProviderAccountRow {
    pub org_id: String,
    pub provider: String,
    pub credentials: String,
    pub updated_at: String,
}

/// A call as stored: the domain call plus its derived durations (for queries and metrics).
#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = calls, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct CallRow {
    pub id: String,
    pub org_id: String,
    pub provider: String,
    pub provider_call_id: Option<String>,
    pub direction: String,
    pub status: String,
    pub from_number: Option<String>,
    pub to_number: Option<String>,
    pub campaign_id: Option<String>,
    pub contact_id: Option<String>,
    pub extensions: String,
    pub created_at: String,
    pub started_at: Option<String>,
    pub ringing_at: Option<String>,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_s: Option<i64>,
    pub talk_s: Option<i64>,
    pub reported_talk_s: Option<i64>,
    pub cost: Option<String>,
    pub currency: Option<String>,
    pub hangup_cause: Option<String>,
    pub recording_url: Option<String>,
    pub analytics: Option<String>,
    pub final_by: Option<String>,
    pub last_event_at: String,
    pub updated_at: String,
    pub carrier_call_id: Option<String>,
    pub recording: Option<String>,
    pub billed_s: Option<i64>,
    /// `cost` in millionths, for exact sums in SQL.
    pub cost_micros: Option<i64>,
    /// The provider's price as it reported it (JSON `{"amount","currency"}`).
    pub provider_price: Option<String>,
    pub queue_id: Option<String>,
    pub queued_at: Option<String>,
    pub agent_id: Option<String>,
    pub assigned_at: Option<String>,
    /// The disposition's code, and the rest of it as JSON (`note`, `callback_at`, `agent_id`, `at`).
    pub disposition: Option<String>,
    pub disposition_detail: Option<String>,
    /// Answering-machine detection's result: `human`, `machine` or `unknown`.
    pub amd: Option<String>,
}

fn opt_text(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(to_text)
}

fn opt_time(text: &Option<String>) -> Result<Option<DateTime<Utc>>, String> {
    text.as_deref().map(time).transpose()
}

fn time(text: &str) -> Result<DateTime<Utc>, String> {
    from_text(text).ok_or_else(|| format!("stored time `{text}` is unreadable"))
}

impl From<&Call> for CallRow {
    fn from(call: &Call) -> Self {
        CallRow {
            id: call.id.to_string(),
            org_id: call.org_id.to_string(),
            provider: call.provider.clone(),
            provider_call_id: call.provider_call_id.clone(),
            direction: call.direction.as_str().to_owned(),
            status: call.status.as_str().to_owned(),
            from_number: call.from.clone(),
            to_number: call.to.clone(),
            campaign_id: call.campaign_id.clone(),
            contact_id: call.contact_id.clone(),
            extensions: serde_json::to_string(&call.extensions).unwrap_or_else(|_| "[]".into()),
            created_at: to_text(call.created_at),
            started_at: opt_text(call.started_at),
            ringing_at: opt_text(call.ringing_at),
            answered_at: opt_text(call.answered_at),
            ended_at: opt_text(call.ended_at),
            duration_s: call.duration_s(),
            talk_s: call.talk_s(),
            reported_talk_s: call.reported_talk_s,
            cost: call.cost.map(|c| c.to_string()),
            currency: call.currency.clone(),
            hangup_cause: call.hangup_cause.clone(),
            recording_url: call.recording_url.clone(),
            analytics: call.analytics.as_ref().map(|a| a.to_string()),
            final_by: call.final_by.map(|a| a.as_str().to_owned()),
            last_event_at: to_text(call.last_event_at),
            updated_at: to_text(call.updated_at),
            carrier_call_id: call.carrier_call_id.clone(),
            recording: call.recording.clone(),
            billed_s: call.billed_s,
            cost_micros: call.cost.map(Money::micros),
            provider_price: call
                .provider_price
                .as_ref()
                .and_then(|p| serde_json::to_string(p).ok()),
            queue_id: call.queue_id.clone(),
            queued_at: opt_text(call.queued_at),
            agent_id: call.agent_id.clone(),
            assigned_at: opt_text(call.assigned_at),
            disposition: call.disposition.as_ref().map(|d| d.code.clone()),
            disposition_detail: call
                .disposition
                .as_ref()
                .and_then(|d| serde_json::to_string(d).ok()),
            amd: call.amd.clone(),
        }
    }
}

/// Rows read back as calls; a row that cannot be read is an internal error.
pub fn into_calls(rows: Vec<CallRow>) -> Result<Vec<Call>, crate::error::AppError> {
    rows.into_iter()
        .map(|row| Call::try_from(row).map_err(crate::error::AppError::internal))
        .collect()
}

impl TryFrom<CallRow> for Call {
    type Error = String;

    fn try_from(row: CallRow) -> Result<Self, String> {
        Ok(Call {
            status: CallStatus::parse(&row.status)
                .ok_or_else(|| format!("stored status `{}` is unknown", row.status))?,
            direction: Direction::parse(&row.direction)
                .ok_or_else(|| format!("stored direction `{}` is unknown", row.direction))?,
            final_by: row.final_by.as_deref().and_then(Authority::parse),
            extensions: serde_json::from_str(&row.extensions).unwrap_or_default(),
            analytics: row
                .analytics
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok()),
            created_at: time(&row.created_at)?,
            started_at: opt_time(&row.started_at)?,
            ringing_at: opt_time(&row.ringing_at)?,
            answered_at: opt_time(&row.answered_at)?,
            ended_at: opt_time(&row.ended_at)?,
            last_event_at: time(&row.last_event_at)?,
            updated_at: time(&row.updated_at)?,
            id: CallId::from_stored(row.id),
            org_id: OrgId::from_stored(row.org_id),
            provider: row.provider,
            provider_call_id: row.provider_call_id,
            from: row.from_number,
            to: row.to_number,
            campaign_id: row.campaign_id,
            contact_id: row.contact_id,
            reported_talk_s: row.reported_talk_s,
            cost: row
                .cost_micros
                .map(Money::from_micros)
                .or_else(|| row.cost.as_deref().and_then(Money::parse)),
            currency: row.currency,
            billed_s: row.billed_s,
            provider_price: row
                .provider_price
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok()),
            hangup_cause: row.hangup_cause,
            recording_url: row.recording_url,
            carrier_call_id: row.carrier_call_id,
            recording: row.recording,
            queue_id: row.queue_id,
            queued_at: opt_time(&row.queued_at)?,
            agent_id: row.agent_id,
            assigned_at: opt_time(&row.assigned_at)?,
            disposition: row
                .disposition_detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
            amd: row.amd,
        })
    }
}

/// A contact of an org: known fields in columns, any others as a JSON object.
#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = contacts, treat_none_as_null = true)]
pub struct ContactRow {
    pub id: String,
    pub org_id: String,
    pub phone: String,
    pub name: Option<String>,
    pub company: Option<String>,
    pub fields: String,
    pub created_at: String,
    pub updated_at: String,
}

impl ContactRow {
    /// The contact as the API shows it: every field at the top level.
    pub fn to_json(&self) -> serde_json::Value {
        let mut object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&self.fields).unwrap_or_default();
        object.insert("id".into(), self.id.clone().into());
        object.insert("phone".into(), self.phone.clone().into());
        object.insert("name".into(), self.name.clone().into());
        object.insert("company".into(), self.company.clone().into());
        object.insert("created_at".into(), self.created_at.clone().into());
        object.insert("updated_at".into(), self.updated_at.clone().into());
        serde_json::Value::Object(object)
    }
}

/// A PBX extension as stored: its calls and the calls it left as JSON.
#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = extensions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ExtensionRow {
    pub org_id: String,
    pub number: String,
    pub name: Option<String>,
    pub registered: bool,
    pub dnd: bool,
    pub presence: String,
    pub calls: String,
    pub left_calls: String,
    pub since: String,
    pub updated_at: String,
    /// When the PBX last confirmed its state.
    pub confirmed_at: Option<String>,
}

impl ExtensionRow {
    pub fn new(org_id: &OrgId, ext: &Extension, now: DateTime<Utc>) -> Self {
        ExtensionRow {
            org_id: org_id.to_string(),
            number: ext.number.clone(),
            name: ext.name.clone(),
            registered: ext.registered,
            dnd: ext.dnd,
            presence: ext.presence.as_str().to_owned(),
            calls: serde_json::to_string(&ext.calls).unwrap_or_else(|_| "{}".into()),
            left_calls: serde_json::to_string(&ext.left).unwrap_or_else(|_| "[]".into()),
            since: to_text(ext.since),
            updated_at: to_text(now),
            confirmed_at: ext.confirmed_at.map(to_text),
        }
    }
}

impl TryFrom<ExtensionRow> for Extension {
    type Error = String;

    fn try_from(row: ExtensionRow) -> Result<Self, String> {
        Ok(Extension {
            presence: Presence::parse(&row.presence)
                .ok_or_else(|| format!("stored presence `{}` is unknown", row.presence))?,
            calls: serde_json::from_str(&row.calls).unwrap_or_default(),
            left: serde_json::from_str(&row.left_calls).unwrap_or_default(),
            since: time(&row.since)?,
            confirmed_at: row.confirmed_at.as_deref().map(time).transpose()?,
            number: row.number,
            name: row.name,
            registered: row.registered,
            dnd: row.dnd,
        })
    }
}

/// A scoped token of an org (only its hash).
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct ApiTokenRow {
    pub id: String,
    pub org_id: String,
    pub role: String,
    pub agent_id: Option<String>,
    pub token_hash: String,
    pub created_at: String,
}

impl ApiTokenRow {
    /// The token as lists show it (never the token itself).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "role": self.role,
            "agent_id": self.agent_id,
            "created_at": self.created_at,
        })
    }
}

/// A number on the org's do-not-call list.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = dnc)]
pub struct DncRow {
    pub org_id: String,
    pub phone: String,
    pub reason: Option<String>,
    pub created_at: String,
}

impl DncRow {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.phone,
            "phone": self.phone,
            "reason": self.reason,
            "created_at": self.created_at,
        })
    }
}

/// A campaign as stored.
#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = campaigns, treat_none_as_null = true)]
pub struct CampaignRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub provider: String,
    pub status: String,
    pub concurrency: i32,
    pub max_attempts: i32,
    pub retry_delay_s: i32,
    pub calls_per_second: Option<f64>,
    pub calling_window: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The campaign's calls are recorded.
    pub record: bool,
    /// `fixed`, `progressive` or `predictive`.
    pub mode: String,
    /// The agents' queue of a progressive or predictive campaign.
    pub queue_id: Option<String>,
    pub max_abandon_rate: f64,
    /// `off`, `hangup`, `continue` or `retry`.
    pub amd: String,
    /// JSON array of recycling rules (`{"outcome", "after_s", "max_attempts"?}`).
    pub recycle: Option<String>,
    pub abandon_message: Option<String>,
    /// Attempts per number per day, across every campaign of the org.
    pub daily_attempt_cap: i32,
}

impl CampaignRow {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "provider": self.provider,
            "status": self.status,
            "concurrency": self.concurrency,
            "max_attempts": self.max_attempts,
            "retry_delay_s": self.retry_delay_s,
            "calls_per_second": self.calls_per_second,
            "window": self.calling_window.as_deref().and_then(|w| serde_json::from_str::<serde_json::Value>(w).ok()),
            "failure_reason": self.failure_reason,
            "record": self.record,
            "mode": self.mode,
            "queue_id": self.queue_id,
            "max_abandon_rate": self.max_abandon_rate,
            "amd": self.amd,
            "recycle": self.recycle.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok()).unwrap_or_else(|| serde_json::json!([])),
            "abandon_message": self.abandon_message,
            "daily_attempt_cap": self.daily_attempt_cap,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

/// One contact of a campaign and where it is.
#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = campaign_contacts, treat_none_as_null = true)]
pub struct CampaignContactRow {
    pub campaign_id: String,
    pub contact_id: String,
    pub org_id: String,
    pub phone: String,
    pub position: i64,
    pub status: String,
    pub attempts: i32,
    pub last_outcome: Option<String>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub call_id: Option<String>,
    pub updated_at: String,
    /// The contact's own time zone (its calling window is read in it).
    pub tz: Option<String>,
    /// Higher first.
    pub priority: i32,
}

impl CampaignContactRow {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "contact_id": self.contact_id,
            "phone": self.phone,
            "status": self.status,
            "attempts": self.attempts,
            "last_outcome": self.last_outcome,
            "last_error": self.last_error,
            "next_attempt_at": self.next_attempt_at,
            "call_id": self.call_id,
            "updated_at": self.updated_at,
        })
    }
}

/// One entry of a call's timeline.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = call_events, treat_none_as_default_value = false)]
pub struct CallEventRow {
    pub id: String,
    pub org_id: String,
    pub call_id: String,
    pub dedupe_key: Option<String>,
    pub source: String,
    pub kind: String,
    pub raw_status: Option<String>,
    pub status_after: String,
    pub occurred_at: Option<String>,
    pub received_at: String,
    pub data: String,
}

impl CallEventRow {
    /// The timeline entry as the API shows it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "call_id": self.call_id,
            "source": self.source,
            "kind": self.kind,
            "raw_status": self.raw_status,
            "status_after": self.status_after,
            "occurred_at": self.occurred_at,
            "received_at": self.received_at,
            "data": serde_json::from_str::<serde_json::Value>(&self.data).unwrap_or_default(),
        })
    }
}

/// One committed event of an org's log.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub struct EventRow {
    pub org_id: String,
    pub seq: i64,
    pub event_type: String,
    pub subject: String,
    pub data: String,
    pub at: String,
}

impl EventRow {
    /// The event as dashboards receive it; None for a kind this engine does not know (written by
    /// a newer one).
    pub fn into_event(self) -> Option<OrgEvent> {
        Some(OrgEvent {
            seq: self.seq,
            at: from_text(&self.at).unwrap_or_default(),
            data: serde_json::from_str(&self.data).unwrap_or_default(),
            event_type: EventType::parse(&self.event_type)?,
            subject: self.subject,
        })
    }
}

/// One raw webhook as received.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = webhook_inbox, treat_none_as_default_value = false)]
pub struct InboxRow {
    pub id: String,
    pub org_id: String,
    pub provider: String,
    pub dedupe_key: String,
    pub kind: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub outcome: String,
    pub received_at: String,
}

impl InboxRow {
    /// The inbox entry as a support engineer reads it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "provider": self.provider,
            "kind": self.kind,
            "dedupe_key": self.dedupe_key,
            "content_type": self.content_type,
            "body": String::from_utf8_lossy(&self.body),
            "outcome": self.outcome,
            "received_at": self.received_at,
        })
    }
}

/// A per-minute rate of an org (`PUT /api/v1/rates`).
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = rates)]
pub struct RateRow {
    pub org_id: String,
    pub provider: String,
    pub direction: String,
    pub prefix: String,
    pub per_minute_micros: i64,
    pub increment_s: i64,
    pub minimum_s: i64,
}

/// An org's currency and credit balance (`enabled` once credits were ever topped up or set).
#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = credit_accounts, treat_none_as_null = true)]
pub struct CreditAccountRow {
    pub org_id: String,
    pub currency: String,
    pub enabled: bool,
    pub balance_micros: i64,
    pub low_threshold_micros: Option<i64>,
    pub updated_at: String,
}

impl CreditAccountRow {
    /// At or below the org's low-balance threshold, or at or below zero.
    pub fn is_low(&self) -> bool {
        self.balance_micros <= 0
            || self
                .low_threshold_micros
                .is_some_and(|threshold| self.balance_micros <= threshold)
    }
}

/// One change of an org's balance: a top-up (positive) or a call's debit (negative).
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = credit_ledger)]
pub struct LedgerRow {
    pub id: String,
    pub org_id: String,
    pub at: String,
    pub amount_micros: i64,
    pub balance_micros: i64,
    pub call_id: Option<String>,
    pub reason: String,
}

/// An org's totals for one day, campaign, status and currency (or a change of them).
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = call_totals, treat_none_as_default_value = false)]
pub struct CallTotalsRow {
    pub org_id: String,
    pub day: String,
    pub campaign_id: String,
    pub status: String,
    pub currency: String,
    pub calls: i64,
    pub answered: i64,
    pub talk_s: i64,
    pub talked: i64,
    pub priced: i64,
    pub cost_micros: i64,
    pub billed_s: i64,
}

impl CallTotalsRow {
    /// The row of a change of `org_id`'s totals.
    pub fn of(org_id: &str, tally: &crate::domain::tally::Tally) -> Self {
        CallTotalsRow {
            org_id: org_id.to_owned(),
            day: tally.day.clone(),
            campaign_id: tally.campaign_id.clone(),
            status: tally.status.to_owned(),
            currency: tally.currency.clone(),
            calls: tally.calls,
            answered: tally.answered,
            talk_s: tally.talk_s,
            talked: tally.talked,
            priced: tally.priced,
            cost_micros: tally.cost_micros,
            billed_s: tally.billed_s,
        }
    }
}
