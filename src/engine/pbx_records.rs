//! The PBX's call records (its `cdr/list`, providers.md §4.6) as the 30012s they stand for: read
//! by a resync for the calls whose webhooks a gap lost, and at a PBX call's deadline when its CDR
//! never came — the PBX knows how the call went; the engine asks before it guesses.

use super::Engine;
use crate::domain::call::{CallEvent, Direction};
use crate::domain::ids::OrgId;
use crate::error::{AppError, Code};
use crate::providers::credentials::{Account, Credentials};
use crate::providers::yeastar::{self, YeastarApi};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// One record of the PBX, read as the CDR event it stands for.
#[derive(Debug, Clone)]
pub struct PbxRecord {
    /// The PBX's call id.
    pub call_id: String,
    /// The PBX's word for how it ended (`ANSWERED`, `NO ANSWER`, …).
    pub status: String,
    pub direction: Direction,
    pub event: CallEvent,
    /// What the timeline shows of it.
    pub data: Value,
}

/// The dedupe key of a record applied from the PBX's list: the same record twice is one event.
pub fn record_key(call_id: &str) -> String {
    format!("yeastar-cdr:{call_id}")
}

/// The PBX's records of the org's calls that started from `since`, newest first.
pub async fn records_since(
    engine: &Engine,
    org_id: &OrgId,
    credentials: &Credentials,
    since: DateTime<Utc>,
) -> Result<Vec<PbxRecord>, AppError> {
    let api = YeastarApi::from_credentials(credentials)?;
    let utc_offset = match &credentials.account {
        Account::Yeastar(account) => account.utc_offset.clone(),
        _ => None,
    };
    let cdrs = api
        .cdrs_since(
            &engine.http,
            &engine.pbx_sessions,
            org_id.as_str(),
            since,
            utc_offset.as_deref(),
        )
        .await
        .map_err(|error| AppError::new(Code::ProviderError, error.to_string()))?;
    let country = engine
        .orgs
        .by_id(org_id.as_str())
        .await?
        .map(|org| org.default_country.clone())
        .unwrap_or_default();
    Ok(cdrs
        .into_iter()
        // A record whose outcome is not known to the engine says nothing it could apply.
        .filter(|cdr| yeastar::cdr_status(&cdr.status).is_some())
        .map(|cdr| PbxRecord {
            event: cdr.to_event(&country, utc_offset.as_deref()),
            direction: cdr.direction.unwrap_or(Direction::Internal),
            data: json!({"call_id": cdr.call_id, "status": cdr.status,
                "talk_duration": cdr.talk_duration, "call_duration": cdr.call_duration,
                "from": "the PBX's call records"}),
            status: cdr.status,
            call_id: cdr.call_id,
        })
        .collect())
}

/// How far before a moment a call heard of then may have started: the longest it may ring and
/// talk.
pub fn lookback(engine: &Engine) -> chrono::Duration {
    let deadlines = &engine.settings.deadlines;
    chrono::Duration::from_std(deadlines.ring + deadlines.talk)
        .unwrap_or(chrono::Duration::hours(1))
}

/// The PBX's record of one call the engine first heard of at `heard_at`, if it has one.
pub async fn record_of(
    engine: &Engine,
    org_id: &OrgId,
    credentials: &Credentials,
    call_id: &str,
    heard_at: DateTime<Utc>,
) -> Result<Option<PbxRecord>, AppError> {
    let since = heard_at - lookback(engine);
    let records = records_since(engine, org_id, credentials, since).await?;
    Ok(records.into_iter().find(|record| record.call_id == call_id))
}
