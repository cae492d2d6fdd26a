//! The database: one diesel `MultiConnection` over SQLite (embedded default) and PostgreSQL, the
//! backend picked by the URL's scheme; migrations per dialect embedded and run at start.

/// Runs a statement on whichever backend the connection is (as vaultwarden's `db_run!` does):
/// `db_run!(conn, |c| statement)` runs the same diesel statement on either — for what diesel
/// offers per backend but not on the multi-connection (insert-or-ignore, upsert, RETURNING) —
/// and `db_run!(conn, sqlite |c| …, postgres |c| …)` one statement per dialect, side by side.
macro_rules! db_run {
    ($conn:expr, |$c:ident| $statement:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $statement,
            $crate::db::DbConnection::Pg($c) => $statement,
        }
    };
    ($conn:expr, sqlite |$s:ident| $sqlite:expr, postgres |$p:ident| $postgres:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($s) => $sqlite,
            $crate::db::DbConnection::Pg($p) => $postgres,
        }
    };
}

pub mod desk;
pub mod health;
pub mod models;
pub mod queries;
pub mod retention;
pub mod schema;
pub mod writer;
pub mod writes;

pub use crate::config::{DatabaseUrl, SqliteSync};

use crate::error::AppError;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use health::DbHealth;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever database `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

/// How long a statement waits for a lock another connection holds (an operator's transaction, a
/// backup) before it fails and the request is a 503: long enough for a short lock, short enough
/// that the 503 reaches a provider before its own 15 s timeout.
pub const LOCK_WAIT_MS: u32 = 5000;

/// Opens one connection: SQLite's pragmas, PostgreSQL's lock and statement timeouts.
pub fn connect(url: &DatabaseUrl, sync: SqliteSync) -> ConnectionResult<DbConnection> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path)?;
            let synchronous = match sync {
                SqliteSync::Normal => "NORMAL",
                SqliteSync::Full => "FULL",
            };
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {LOCK_WAIT_MS}; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
            ))
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Sqlite(conn))
        }
        DatabaseUrl::Postgres(url) => {
            let mut conn = diesel::PgConnection::establish(&with_connect_timeout(url))?;
            conn.batch_execute(&format!(
                "SET lock_timeout = '{LOCK_WAIT_MS}ms'; SET statement_timeout = '30s'"
            ))
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Pg(conn))
        }
    }
}

/// A PostgreSQL URL with libpq's `connect_timeout` (2 s) unless it sets its own: without one, a
/// connection to a server that does not answer waits as long as the kernel lets it.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&connect_timeout=2")
    } else {
        format!("{url}?connect_timeout=2")
    }
}

/// Brings the schema up to date with the migrations of the connection's dialect.
pub fn run_migrations(conn: &mut DbConnection) -> Result<(), String> {
    let result = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| format!("migrations failed: {e}"))
}

/// The read pool: requests and sessions read through it (`web::block`), never through the writer.
/// Its connection errors mark the database down, and while it is down reads are refused at once.
#[derive(Clone)]
pub struct DbPool {
    connections: r2d2::Pool<Manager>,
    health: Arc<DbHealth>,
}

impl DbPool {
    /// Whether the database can be reached.
    pub fn health(&self) -> &DbHealth {
        &self.health
    }

    /// A connection, waiting for one to be free for up to `READ_WAIT`, but no longer once a
    /// connection attempt has found the database down.
    fn checkout(&self) -> Result<r2d2::PooledConnection<Manager>, AppError> {
        let deadline = Instant::now() + READ_WAIT;
        loop {
            match self.connections.get_timeout(Duration::from_millis(100)) {
                Ok(conn) => return Ok(conn),
                Err(error) if self.health.is_down() || Instant::now() >= deadline => {
                    return Err(error.into())
                }
                Err(_) => {}
            }
        }
    }
}

/// How long a read waits for a free connection when every one is busy.
const READ_WAIT: Duration = Duration::from_secs(10);

/// Opens pool connections by URL scheme (diesel's own manager would try each backend in turn).
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
    sync: SqliteSync,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        connect(&self.url, self.sync)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Runs a blocking read on a pool connection, off the async threads (`web::block`).
pub fn read<T, F>(
    pool: &DbPool,
    query: F,
) -> impl std::future::Future<Output = Result<T, crate::error::AppError>> + 'static
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, crate::error::AppError> + Send + 'static,
{
    let pool = pool.clone();
    async move {
        pool.health.check()?;
        actix_web::web::block(move || query(&mut *pool.checkout()?)).await?
    }
}

/// Builds the read pool; its connection errors mark `health` down.
pub fn read_pool(
    url: &DatabaseUrl,
    sync: SqliteSync,
    size: u32,
    health: Arc<DbHealth>,
) -> Result<DbPool, String> {
    let connections = r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(READ_WAIT)
        .error_handler(Box::new(health::MarkDown(health.clone())))
        .build(Manager {
            url: url.clone(),
            sync,
        })
        .map_err(|e| format!("cannot open the database: {e}"))?;
    Ok(DbPool {
        connections,
        health,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_get_a_connect_timeout_unless_they_set_one() {
        assert_eq!(
            with_connect_timeout("postgres://u@h/db"),
            "postgres://u@h/db?connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?sslmode=require"),
            "postgres://u@h/db?sslmode=require&connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?connect_timeout=9"),
            "postgres://u@h/db?connect_timeout=9"
        );
    }
}
