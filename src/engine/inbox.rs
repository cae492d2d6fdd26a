//! The raw webhook inbox ("PBX logs"): every webhook is kept with what it did; one that changes
//! nothing (an event kind no table knows) is kept on its own.

use super::Engine;
use crate::db::models::InboxRow;
use crate::db::writes::WriteOp;
use crate::domain::ids::OrgId;
use crate::error::AppError;

/// Keeps a webhook that changes nothing; false when the same one was kept already.
pub async fn keep(engine: &Engine, org_id: &OrgId, webhook: InboxRow) -> Result<bool, AppError> {
    let op = WriteOp::AcceptWebhook(webhook);
    engine.writer.commit_op(org_id, op).await
}
