//! Campaign services both sides use: one campaign of an org, its contacts added in order, and its
//! progress as the calls say it.

use super::orgs::Org;
use super::{contacts, Engine};
use crate::db::models::{CampaignContactRow, CampaignRow};
use crate::db::queries;
use crate::db::writes::{WriteOp, WriteRequest};
use crate::domain::campaign::{display, CallCounts, ContactStatus};
use crate::domain::time::to_text;
use crate::error::AppError;
use serde_json::{json, Value};
use std::collections::HashMap;

/// One campaign of the org; another org's, or none, is a 404.
pub async fn find(engine: &Engine, org: &Org, id: &str) -> Result<CampaignRow, AppError> {
    let (org_id, id) = (org.id.to_string(), id.to_owned());
    engine
        .read(move |conn| Ok(queries::campaign(conn, &org_id, &id)?))
        .await?
        .ok_or(AppError::not_found("campaign"))
}

/// What adding contacts did.
pub struct Added {
    pub added: usize,
    /// The rows that could not be read: `{"row", "phone", "error"}`.
    pub invalid: Vec<Value>,
}

/// A campaign contact's own dialing fields: `tz` (an IANA zone: its calling window is read in it)
/// and `priority` (a whole number, higher first; 0 when absent).
fn dialing_fields(row: &Value) -> Result<(Option<String>, i32), AppError> {
    let bad = |message: String| AppError::new(crate::error::Code::InvalidContact, message);
    let tz = match row.get("tz") {
        None | Some(Value::Null) => None,
        Some(Value::String(zone)) if zone.parse::<chrono_tz::Tz>().is_ok() => Some(zone.clone()),
        Some(other) => {
            return Err(bad(format!(
                "`tz` {other} is not a time zone (e.g. Asia/Kolkata)"
            )))
        }
    };
    let priority = match row.get("priority") {
        None | Some(Value::Null) => 0,
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_str().and_then(|t| t.trim().parse().ok()))
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| bad(format!("`priority` {value} is not a whole number")))?,
    };
    Ok((tz, priority))
}

/// Links each contact (created when its phone is new) to the campaign, in order; a row whose phone
/// cannot be read is reported with its row number, the others are kept.
pub async fn add_contacts(
    engine: &Engine,
    org: &Org,
    campaign: &CampaignRow,
    rows: Vec<Value>,
) -> Result<Added, AppError> {
    let id = campaign.id.clone();
    let mut position = engine
        .read(move |conn| Ok(queries::last_campaign_position(conn, &id)?))
        .await?;
    let mut ops = Vec::new();
    let mut invalid = Vec::new();
    for (n, row) in rows.into_iter().enumerate() {
        let parsed = contacts::from_body(org, &row);
        let dialing = parsed.and_then(|new| Ok((new, dialing_fields(&row)?)));
        let (contact, (tz, priority)) = match dialing {
            Ok((new, fields)) => (
                contacts::find_or_insert(&engine.pool, &engine.writer, new).await?,
                fields,
            ),
            Err(error) => {
                invalid.push(
                    json!({"row": n + 1, "phone": row.get("phone"), "error": error.to_string()}),
                );
                continue;
            }
        };
        position += 1;
        ops.push(WriteOp::AddCampaignContact(CampaignContactRow {
            campaign_id: campaign.id.clone(),
            contact_id: contact.id,
            org_id: org.id.to_string(),
            phone: contact.phone,
            position,
            status: ContactStatus::Pending.as_str().to_owned(),
            attempts: 0,
            last_outcome: None,
            last_error: None,
            next_attempt_at: None,
            call_id: None,
            updated_at: to_text(chrono::Utc::now()),
            tz,
            priority,
        }));
    }
    let added = ops.len();
    engine
        .writer
        .commit(WriteRequest {
            org_id: org.id.clone(),
            ops,
            events: Vec::new(),
        })
        .await?;
    Ok(Added { added, invalid })
}

/// The progress object: the seed's keys, then the richer figures a dashboard needs.
pub fn progress_json(
    campaign: &CampaignRow,
    counts: &CallCounts,
    contacts: &[CampaignContactRow],
    live: u64,
    dispositions: &HashMap<String, u64>,
) -> Value {
    let by_status = |s: ContactStatus| contacts.iter().filter(|c| c.status == s.as_str()).count();
    let done = by_status(ContactStatus::Done) as u64;
    // Skipped contacts (do-not-call, cancelled) are not reached: they count with the failed.
    let failed = (by_status(ContactStatus::Failed) + by_status(ContactStatus::Skipped)) as u64;
    let mut outcomes: HashMap<String, u64> = HashMap::new();
    for c in contacts {
        if let Some(outcome) = &c.last_outcome {
            *outcomes.entry(outcome.clone()).or_default() += 1;
        }
    }
    let attempted = contacts.iter().filter(|c| c.last_outcome.is_some()).count() as f64;
    let answered = outcomes.get("completed").copied().unwrap_or(0) as f64;
    let total = contacts.len() as u64;
    json!({
        "success": true,
        "campaignId": campaign.id,
        "campaignName": campaign.name,
        "totalContacts": total,
        "callCounts": counts,
        "campaignStatus": campaign.status,
        "totalCalls": counts.total(),
        "liveCalls": live,
        "contacts": {
            "pending": by_status(ContactStatus::Pending),
            "dialing": by_status(ContactStatus::Dialing),
            "in_call": by_status(ContactStatus::InCall),
            "retry_scheduled": by_status(ContactStatus::RetryScheduled),
            "done": by_status(ContactStatus::Done),
            "failed": by_status(ContactStatus::Failed),
            "skipped": by_status(ContactStatus::Skipped),
        },
        "outcomes": outcomes,
        "dispositions": dispositions,
        "answerRate": if attempted > 0.0 { answered / attempted } else { 0.0 },
        "display": display(done + failed, total, failed),
    })
}
