//! Campaign services both sides use: one campaign of an org, its contacts added in order, and its
//! progress as the calls say it.

use super::orgs::Org;
use super::{contacts, Engine};
use crate::db::models::{CampaignContactRow, CampaignRow, ContactRow};
use crate::db::queries;
use crate::db::writes::{WriteOp, WriteOutcome, WriteRequest};
use crate::domain::campaign::{display, CallCounts, ContactStatus};
use crate::domain::events::{EventType, NewEvent};
use crate::domain::time::to_text;
use crate::error::{AppError, Code};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Stores a new campaign, adds its contacts in order, then announces it (`campaign:updated`):
/// dashboards hear of it once its contacts are in.
pub async fn create(
    engine: &Engine,
    org: &Org,
    campaign: &CampaignRow,
    contacts: Vec<Value>,
) -> Result<Added, AppError> {
    let op = WriteOp::UpsertCampaign(campaign.clone());
    engine.writer.commit_op(&org.id, op).await?;
    let report = add_contacts(engine, org, campaign, contacts).await?;
    let announce = NewEvent {
        event_type: EventType::CampaignUpdated,
        subject: campaign.id.clone(),
        data: campaign.to_json(),
    };
    engine
        .writer
        .commit(WriteRequest {
            org_id: org.id.clone(),
            ops: Vec::new(),
            events: vec![announce],
        })
        .await?;
    Ok(report)
}

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
/// cannot be read is reported with its row number, the others are kept. One read finds the
/// contacts the org already has and one commit creates the new ones and links them all (a list
/// of 100,000 is one transaction, not 100,000); a contact another request created meanwhile
/// makes that commit a duplicate, and it is read and made again.
pub async fn add_contacts(
    engine: &Engine,
    org: &Org,
    campaign: &CampaignRow,
    rows: Vec<Value>,
) -> Result<Added, AppError> {
    let mut parsed = Vec::with_capacity(rows.len());
    let mut invalid = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        match contacts::from_body(org, row).and_then(|new| Ok((new, dialing_fields(row)?))) {
            Ok(contact) => parsed.push(contact),
            Err(error) => invalid
                .push(json!({"row": n + 1, "phone": row.get("phone"), "error": error.to_string()})),
        }
    }
    let phones: Vec<String> = parsed.iter().map(|(c, _)| c.phone.clone()).collect();
    for _ in 0..3 {
        let (org_id, id, phones) = (org.id.to_string(), campaign.id.clone(), phones.clone());
        let (existing, position) = engine
            .read(move |conn| {
                let existing = queries::contacts_by_phones(conn, &org_id, &phones)?;
                Ok((existing, queries::last_campaign_position(conn, &id)?))
            })
            .await?;
        let mut known: HashMap<String, ContactRow> =
            existing.into_iter().map(|c| (c.phone.clone(), c)).collect();
        let mut ops = Vec::with_capacity(parsed.len() * 2);
        let mut links = Vec::with_capacity(parsed.len());
        let now = to_text(chrono::Utc::now());
        for (n, (new, (tz, priority))) in parsed.iter().enumerate() {
            let contact = known.entry(new.phone.clone()).or_insert_with(|| {
                ops.push(WriteOp::InsertContact(new.clone()));
                new.clone()
            });
            links.push(WriteOp::AddCampaignContact(CampaignContactRow {
                campaign_id: campaign.id.clone(),
                contact_id: contact.id.clone(),
                org_id: org.id.to_string(),
                phone: contact.phone.clone(),
                position: position + 1 + n as i64,
                status: ContactStatus::Pending.as_str().to_owned(),
                attempts: 0,
                last_outcome: None,
                last_error: None,
                next_attempt_at: None,
                call_id: None,
                updated_at: now.clone(),
                tz: tz.clone(),
                priority: *priority,
            }));
        }
        ops.extend(links);
        let request = WriteRequest {
            org_id: org.id.clone(),
            ops,
            events: Vec::new(),
        };
        if let WriteOutcome::Committed(_) = engine.writer.commit(request).await? {
            return Ok(Added {
                added: parsed.len(),
                invalid,
            });
        }
    }
    Err(AppError::new(
        Code::ContactExists,
        "the org's contacts kept changing while these were added; send them again",
    ))
}

/// The progress object: the seed's keys, then the richer figures a dashboard needs.
pub fn progress_json(
    campaign: &CampaignRow,
    counts: &CallCounts,
    contacts: &[CampaignContactRow],
    live: u64,
    dispositions: &HashMap<String, u64>,
) -> Value {
    // One pass over the contacts (a campaign may have 100,000): by status, and by last outcome.
    let mut by_status: HashMap<&str, u64> = HashMap::new();
    let mut outcomes: HashMap<&str, u64> = HashMap::new();
    for c in contacts {
        *by_status.entry(c.status.as_str()).or_default() += 1;
        if let Some(outcome) = &c.last_outcome {
            *outcomes.entry(outcome.as_str()).or_default() += 1;
        }
    }
    let count = |s: ContactStatus| by_status.get(s.as_str()).copied().unwrap_or(0);
    let done = count(ContactStatus::Done);
    // Skipped contacts (do-not-call, cancelled) are not reached: they count with the failed.
    let failed = count(ContactStatus::Failed) + count(ContactStatus::Skipped);
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
            "pending": count(ContactStatus::Pending),
            "dialing": count(ContactStatus::Dialing),
            "in_call": count(ContactStatus::InCall),
            "retry_scheduled": count(ContactStatus::RetryScheduled),
            "done": done,
            "failed": count(ContactStatus::Failed),
            "skipped": count(ContactStatus::Skipped),
        },
        "outcomes": outcomes,
        "dispositions": dispositions,
        "answerRate": counts.answer_rate(),
        "display": display(done + failed, total, failed),
    })
}
