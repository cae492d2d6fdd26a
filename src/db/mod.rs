//! The database: one diesel `MultiConnection` over SQLite (embedded default) and PostgreSQL, the
//! backend picked by the URL's scheme; migrations per dialect embedded and run at start.

pub mod models;
pub mod queries;
pub mod schema;
pub mod writes;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever database `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

/// How hard SQLite works to keep a commit: `Normal` survives `kill -9` (WAL), `Full` also power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSync {
    Normal,
    Full,
}

/// Where the data lives, read from `DATABASE_URL` by its scheme (never by trying each backend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file path.
    Sqlite(String),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl DatabaseUrl {
    /// `sqlite://path`, `sqlite:path` or `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                Err("DATABASE_URL names no SQLite file".to_owned())
            } else {
                Ok(Self::Sqlite(path.to_owned()))
            }
        } else {
            Err("DATABASE_URL must start with sqlite:// or postgres://".to_owned())
        }
    }
}

/// Opens one connection, with SQLite's pragmas set on it.
pub fn connect(url: &DatabaseUrl, sync: SqliteSync) -> ConnectionResult<DbConnection> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path)?;
            let synchronous = match sync {
                SqliteSync::Normal => "NORMAL",
                SqliteSync::Full => "FULL",
            };
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
            ))
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Sqlite(conn))
        }
        DatabaseUrl::Postgres(url) => Ok(DbConnection::Pg(diesel::PgConnection::establish(url)?)),
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
pub type DbPool = r2d2::Pool<Manager>;

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
    async move { actix_web::web::block(move || query(&mut *pool.get()?)).await? }
}

/// Builds the read pool.
pub fn read_pool(url: &DatabaseUrl, sync: SqliteSync, size: u32) -> Result<DbPool, String> {
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(10))
        .build(Manager {
            url: url.clone(),
            sync,
        })
        .map_err(|e| format!("cannot open the database: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_backend_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://switchboard.db"),
            Ok(DatabaseUrl::Sqlite("switchboard.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:/tmp/x.db"),
            Ok(DatabaseUrl::Sqlite("/tmp/x.db".into()))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }
}
