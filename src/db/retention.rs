//! Retention: the raw webhook inbox and the org event log grow by rows per event; rows older than
//! `SWITCHBOARD_RETENTION_DAYS` are pruned by a thread of their own, in chunks on a connection of
//! their own, so the writer is held up for one short chunk at most. An org's newest event is never
//! pruned (its seq carries on from it), and a dashboard that reconnects from before the retained
//! log gets a fresh snapshot instead of a replay with a hole (see `http::ws::protocol`).
//! Calls, timelines, contacts and campaigns are kept: they are the record.

use super::{connect, DatabaseUrl, DbConnection, SqliteSync};
use crate::domain::time::to_text;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use std::time::Duration;

/// Rows deleted per statement.
const CHUNK: i64 = 2000;

/// Starts the pruning thread: every `every`, it deletes what is older than `keep`.
pub fn start(url: DatabaseUrl, sync: SqliteSync, keep: Duration, every: Duration) {
    std::thread::Builder::new()
        .name("switchboard-retention".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            let cutoff = chrono::Utc::now() - keep;
            let mut conn = match connect(&url, sync) {
                Ok(conn) => conn,
                Err(error) => {
                    tracing::warn!(%error, "retention cannot reach the database yet");
                    continue;
                }
            };
            match prune(&mut conn, cutoff) {
                Ok((0, 0)) => {}
                Ok((inbox, events)) => {
                    tracing::info!(inbox, events, "pruned rows older than the retention")
                }
                Err(error) => tracing::warn!(%error, "retention could not prune yet"),
            }
        })
        .expect("the retention thread starts");
}

/// Deletes inbox rows and org events older than `cutoff`, chunk by chunk, keeping each org's
/// newest event; answers how many of each went.
pub fn prune(
    conn: &mut DbConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
) -> QueryResult<(usize, usize)> {
    let before = to_text(cutoff);
    // Inbox ids are UUIDv7: their text sorts by the millisecond they were made.
    let ms = cutoff.timestamp_millis().max(0) as u64;
    let first_id = format!(
        "{:08x}-{:04x}-7000-8000-000000000000",
        ms >> 16,
        ms & 0xffff
    );
    let (inbox, events) = match conn {
        DbConnection::Sqlite(_) => (
            "DELETE FROM webhook_inbox WHERE rowid IN \
             (SELECT rowid FROM webhook_inbox WHERE id < ? LIMIT ?)",
            "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events e WHERE e.at < ? \
             AND e.seq < (SELECT max(seq) FROM events l WHERE l.org_id = e.org_id) LIMIT ?)",
        ),
        DbConnection::Pg(_) => (
            "DELETE FROM webhook_inbox WHERE ctid IN \
             (SELECT ctid FROM webhook_inbox WHERE id < $1 LIMIT $2)",
            "DELETE FROM events WHERE ctid IN (SELECT ctid FROM events e WHERE e.at < $1 \
             AND e.seq < (SELECT max(seq) FROM events l WHERE l.org_id = e.org_id) LIMIT $2)",
        ),
    };
    let mut pruned = (0, 0);
    for (sql, bound, count) in [
        (inbox, &first_id, &mut pruned.0),
        (events, &before, &mut pruned.1),
    ] {
        loop {
            let deleted = diesel::sql_query(sql)
                .bind::<Text, _>(bound)
                .bind::<BigInt, _>(CHUNK)
                .execute(conn)?;
            *count += deleted;
            if (deleted as i64) < CHUNK {
                break;
            }
            // Let the writer in between chunks.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(pruned)
}
