//! The org's do-not-call list, checked once on the one dial path before anything is dialed.

use super::orgs::Org;
use super::Engine;
use crate::db::models::DncRow;
use crate::db::queries;
use crate::db::writes::{WriteOp, WriteOutcome, WriteRequest};
use crate::domain::phone::PhoneNumber;
use crate::domain::time::to_text;
use crate::error::{AppError, Code};

/// The org's entry for a number, if it is listed.
pub async fn entry(
    engine: &Engine,
    org: &Org,
    phone: &PhoneNumber,
) -> Result<Option<DncRow>, AppError> {
    let (org_id, e164) = (org.id.to_string(), phone.e164().to_owned());
    engine
        .read(move |conn| Ok(queries::dnc_entry(conn, &org_id, &e164)?))
        .await
}

/// Refuses a number the org may not dial: 409 `do_not_call`.
pub async fn check(engine: &Engine, org: &Org, phone: &PhoneNumber) -> Result<(), AppError> {
    match entry(engine, org, phone).await? {
        None => Ok(()),
        Some(_) => Err(AppError::new(
            Code::DoNotCall,
            format!("{} is on the do-not-call list", phone.e164()),
        )),
    }
}

/// Lists a number as do-not-call; answers the entry and whether it is new (a number already
/// listed keeps its entry as it is).
pub async fn list(
    engine: &Engine,
    org: &Org,
    phone: &PhoneNumber,
    reason: Option<String>,
) -> Result<(DncRow, bool), AppError> {
    let row = DncRow {
        org_id: org.id.to_string(),
        phone: phone.e164().to_owned(),
        reason: reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty()),
        created_at: to_text(chrono::Utc::now()),
    };
    let outcome = engine
        .writer
        .commit(WriteRequest {
            org_id: org.id.clone(),
            ops: vec![WriteOp::InsertDnc(row.clone())],
            events: Vec::new(),
        })
        .await?;
    match outcome {
        WriteOutcome::Committed(_) => Ok((row, true)),
        WriteOutcome::Duplicate => Ok((entry(engine, org, phone).await?.unwrap_or(row), false)),
    }
}

/// Takes a number off the org's list; false when it was not listed.
pub async fn remove(engine: &Engine, org: &Org, phone: &PhoneNumber) -> Result<bool, AppError> {
    let op = WriteOp::DeleteDnc {
        org_id: org.id.to_string(),
        phone: phone.e164().to_owned(),
    };
    engine.writer.commit_op(&org.id, op).await
}
