//! The agent desk's stored configuration — agents, queues, disposition codes — changed through the
//! writer (the org's desk actor hears of each change from the handler once it is committed).

use super::Engine;
use crate::db::desk::{AgentRow, DispositionCodeRow, QueueRow};
use crate::db::writes::{DeskOp, WriteOp};
use crate::domain::ids::OrgId;
use crate::error::AppError;

/// Commits one desk change; false when it found nothing to change (a deletion of nothing).
async fn store(engine: &Engine, org_id: &OrgId, op: DeskOp) -> Result<bool, AppError> {
    engine.writer.commit_op(org_id, WriteOp::Desk(op)).await
}

/// Creates or replaces an agent.
pub async fn put_agent(engine: &Engine, org_id: &OrgId, agent: AgentRow) -> Result<(), AppError> {
    store(engine, org_id, DeskOp::PutAgent(agent))
        .await
        .map(drop)
}

/// Deletes an agent; false when the org has no such agent.
pub async fn delete_agent(engine: &Engine, org_id: &OrgId, id: &str) -> Result<bool, AppError> {
    let op = DeskOp::DeleteAgent {
        org_id: org_id.to_string(),
        id: id.to_owned(),
    };
    store(engine, org_id, op).await
}

/// Creates or replaces a queue.
pub async fn put_queue(engine: &Engine, org_id: &OrgId, queue: QueueRow) -> Result<(), AppError> {
    store(engine, org_id, DeskOp::PutQueue(queue))
        .await
        .map(drop)
}

/// Deletes a queue; false when the org has no such queue.
pub async fn delete_queue(engine: &Engine, org_id: &OrgId, id: &str) -> Result<bool, AppError> {
    let op = DeskOp::DeleteQueue {
        org_id: org_id.to_string(),
        id: id.to_owned(),
    };
    store(engine, org_id, op).await
}

/// Replaces the org's disposition codes.
pub async fn put_disposition_codes(
    engine: &Engine,
    org_id: &OrgId,
    codes: Vec<DispositionCodeRow>,
) -> Result<(), AppError> {
    let op = DeskOp::PutDispositionCodes {
        org_id: org_id.to_string(),
        codes,
    };
    store(engine, org_id, op).await.map(drop)
}
