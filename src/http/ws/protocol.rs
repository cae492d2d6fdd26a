//! What a session sends first: a snapshot of the org's live picture, or the events it missed.

use crate::actors::org_hub::Frame;
use crate::db::models::into_calls;
use crate::db::{queries, DbConnection};
use crate::domain::call::Call;
use crate::domain::extension::Extension;
use crate::domain::ids::OrgId;
use crate::error::AppError;

/// The first messages of a session, and the seq it is up to after them.
pub struct Opening {
    pub frames: Vec<String>,
    pub last_seq: i64,
}

/// Replays the events after `since` when that is possible (known seq, not more than
/// `replay_limit` behind, not pruned by retention); otherwise a fresh snapshot. The seq is read before the state, so the
/// snapshot can only be newer than its seq (and events after it re-apply cleanly), never older.
pub fn opening(
    conn: &mut DbConnection,
    org_id: &OrgId,
    since: Option<i64>,
    replay_limit: i64,
    stale_after_s: u64,
) -> Result<Opening, AppError> {
    let last = queries::last_seq(conn, org_id.as_str())?;
    let replayable = |since: &i64| {
        *since <= last
            && queries::first_seq(conn, org_id.as_str()).is_ok_and(|first| first <= since + 1)
    };
    if let Some(since) = since.filter(replayable) {
        let rows = queries::events_after(conn, org_id.as_str(), since, replay_limit + 1)?;
        if rows.len() as i64 <= replay_limit {
            // Up to the last row read, whether or not its kind is one this engine sends.
            let last_seq = rows.last().map_or(since, |r| r.seq);
            let frames = rows
                .into_iter()
                .filter_map(|r| r.into_event())
                .map(|event| Frame::new(&event).text)
                .collect();
            return Ok(Opening { frames, last_seq });
        }
    }
    let calls: Vec<_> = into_calls(queries::live_calls(conn, org_id.as_str())?)?
        .iter()
        .map(Call::to_json)
        .collect();
    let extensions = queries::extensions_page(conn, org_id.as_str(), None, 100_000)?
        .into_iter()
        .map(|row| {
            Extension::try_from(row)
                .map(|e| e.to_json(chrono::Utc::now()))
                .map_err(AppError::internal)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let campaigns: Vec<_> = queries::campaigns_page(conn, org_id.as_str(), None, 1000)?
        .iter()
        .map(|c| c.to_json())
        .collect();
    let snapshot = serde_json::json!({
        "seq": last,
        "type": "snapshot",
        "at": chrono::Utc::now(),
        "data": { "extensions": extensions, "calls": calls, "campaigns": campaigns,
                  "stale_after_s": stale_after_s },
    });
    Ok(Opening {
        frames: vec![snapshot.to_string()],
        last_seq: last,
    })
}
