//! Whether the database can be reached. While it cannot, every read and write is refused at once
//! with a 503 (providers retry on a 503, and give up on a request that hangs for 15 s), `/readyz`
//! says so, and a probe finds out when it is back: no request waits on a connection timeout.

use super::{connect, DatabaseUrl, SqliteSync};
use crate::error::AppError;
use diesel::connection::SimpleConnection;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the probe tries the database while it is down.
const PROBE_EVERY: Duration = Duration::from_millis(200);

/// The database's reachability, shared by the read pool, the writer and `/readyz`.
#[derive(Debug, Default)]
pub struct DbHealth {
    down: AtomicBool,
    /// The database answers but refuses writes (a read-only file or replica, a full-disk guard,
    /// PostgreSQL's `default_transaction_read_only`): reads go on, `/readyz` is 503.
    read_only: AtomicBool,
    outages: AtomicU64,
}

impl DbHealth {
    /// A health that a probe thread keeps up to date: while the database is marked down it tries
    /// a connection every [`PROBE_EVERY`] and marks it up when one answers.
    pub fn watched(url: DatabaseUrl, sync: SqliteSync) -> Arc<Self> {
        let health = Arc::new(DbHealth::default());
        let watched = Arc::downgrade(&health);
        std::thread::Builder::new()
            .name("switchboard-db-probe".into())
            .spawn(move || loop {
                std::thread::sleep(PROBE_EVERY);
                let Some(health) = watched.upgrade() else {
                    return;
                };
                if health.is_down() && answers(&url, sync) {
                    health.mark_up();
                }
                if health.is_read_only() && writable(&url, sync).is_ok() {
                    health.mark_writable();
                }
            })
            .expect("the database probe starts");
        health
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// How many times the database went down: a connection older than the last outage is
    /// checked before it is used again.
    pub fn outages(&self) -> u64 {
        self.outages.load(Ordering::Acquire)
    }

    /// A 503 while the database is down.
    pub fn check(&self) -> Result<(), AppError> {
        if self.is_down() {
            return Err(AppError::unavailable("the database is unavailable"));
        }
        Ok(())
    }

    /// A connection to the database failed: refuse everything until the probe reaches it again.
    pub fn mark_down(&self, error: &dyn std::fmt::Display) {
        if !self.down.swap(true, Ordering::AcqRel) {
            self.outages.fetch_add(1, Ordering::AcqRel);
            tracing::error!(%error, "the database cannot be reached: answering 503 until it is back");
        }
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only.load(Ordering::Acquire)
    }

    /// A write was refused because the database is read-only: `/readyz` says so until the probe's
    /// write goes through (a batch of the writer's may have written nothing).
    pub fn mark_read_only(&self, error: &dyn std::fmt::Display) {
        if !self.read_only.swap(true, Ordering::AcqRel) {
            tracing::error!(%error, "the database refuses writes: not ready until it takes them");
        }
    }

    pub fn mark_writable(&self) {
        if self.read_only.swap(false, Ordering::AcqRel) {
            tracing::warn!("the database takes writes again");
        }
    }

    pub fn mark_up(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            tracing::warn!("the database is reachable again");
        }
    }
}

/// Whether the database takes a write: an update of no row, which SQLite (a read-only file) and
/// PostgreSQL (a read-only transaction or standby) refuse all the same. Answers why not.
pub fn writable(url: &DatabaseUrl, sync: SqliteSync) -> Result<(), String> {
    let mut conn = connect(url, sync).map_err(|e| e.to_string())?;
    probe_write(&mut conn).map_err(|e| e.to_string())
}

/// The write probe on an open connection (after migrations, so its table exists).
pub fn probe_write(conn: &mut super::DbConnection) -> diesel::QueryResult<()> {
    conn.batch_execute("UPDATE __diesel_schema_migrations SET version = version WHERE 1 = 0")
}

/// Whether a failed statement failed because the database is read-only.
pub fn is_read_only_error(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) => true,
        Error::DatabaseError(_, info) => says_read_only(info.message()),
        _ => false,
    }
}

/// Whether a failed write says the database could take no write just then — locked or busy past
/// the engine's wait (another connection holding the write lock, a failover), read-only — rather
/// than that this one request cannot be stored. A batch refused so is refused whole, at once:
/// tried again one request at a time, each would wait as long. (A connection that broke is not
/// one: the writer opens a new one, and the requests tried one by one on it go through.)
pub fn refuses_every_write(error: &diesel::result::Error) -> bool {
    if is_read_only_error(error) {
        return true;
    }
    let diesel::result::Error::DatabaseError(_, info) = error else {
        return false;
    };
    let message = info.message().to_ascii_lowercase();
    [
        "database is locked",
        "database table is locked",
        "lock timeout",
    ]
    .iter()
    .any(|words| message.contains(words))
}

/// SQLite's "attempt to write a readonly database", PostgreSQL's "cannot execute UPDATE in a
/// read-only transaction".
fn says_read_only(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("readonly database") || message.contains("read-only transaction")
}

/// A start-up error that says what to do when the cause is a database that refuses writes.
pub fn explain_read_only(error: String) -> String {
    if says_read_only(&error) {
        format!(
            "the database can be read but not written ({error}): check that its file and folder \
             are writable by this user, or that the PostgreSQL server is a primary that is not \
             read-only"
        )
    } else {
        error
    }
}

/// Whether a new connection opens and answers.
fn answers(url: &DatabaseUrl, sync: SqliteSync) -> bool {
    connect(url, sync).is_ok_and(|mut conn| conn.batch_execute("SELECT 1").is_ok())
}

/// The read pool's connection errors mark the database down.
#[derive(Debug)]
pub(super) struct MarkDown(pub Arc<DbHealth>);

impl<E: std::fmt::Display> diesel::r2d2::HandleError<E> for MarkDown {
    fn handle_error(&self, error: E) {
        self.0.mark_down(&error);
    }
}

#[cfg(test)]
mod tests {
    use super::refuses_every_write;
    use diesel::result::{DatabaseErrorKind, Error};

    fn failed(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn a_locked_or_read_only_database_refuses_every_write_a_constraint_or_lost_connection_not() {
        let cases = [
            (
                failed(DatabaseErrorKind::Unknown, "database is locked"),
                true,
            ),
            (
                failed(
                    DatabaseErrorKind::Unknown,
                    "canceling statement due to lock timeout",
                ),
                true,
            ),
            (
                failed(
                    DatabaseErrorKind::Unknown,
                    "attempt to write a readonly database",
                ),
                true,
            ),
            (
                failed(DatabaseErrorKind::ReadOnlyTransaction, "read-only"),
                true,
            ),
            (
                failed(
                    DatabaseErrorKind::ClosedConnection,
                    "server closed the connection",
                ),
                false,
            ),
            (
                failed(
                    DatabaseErrorKind::UniqueViolation,
                    "UNIQUE constraint failed: calls.id",
                ),
                false,
            ),
            (
                failed(DatabaseErrorKind::CheckViolation, "CHECK constraint failed"),
                false,
            ),
            (Error::NotFound, false),
        ];
        for (error, whole) in cases {
            assert_eq!(refuses_every_write(&error), whole, "{error}");
        }
    }
}
