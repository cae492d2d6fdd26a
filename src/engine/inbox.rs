//! The raw webhook inbox ("PBX logs"): every webhook is kept with what it did; one that changes
//! nothing (an event kind no table knows) is kept on its own.

use super::Engine;
use crate::db::models::InboxRow;
use crate::db::writes::{WriteOp, WriteOutcome, WriteRequest};
use crate::domain::ids::OrgId;
use crate::error::AppError;

/// Keeps a webhook that changes nothing; false when the same one was kept already.
pub async fn keep(engine: &Engine, org_id: &OrgId, webhook: InboxRow) -> Result<bool, AppError> {
    let outcome = engine
        .writer
        .commit(WriteRequest {
            org_id: org_id.clone(),
            ops: vec![WriteOp::AcceptWebhook(webhook)],
            events: Vec::new(),
        })
        .await?;
    Ok(outcome != WriteOutcome::Duplicate)
}
