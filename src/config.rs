//! Settings, read from the environment (CONTRACT.md, Process). Tests build them directly.

use crate::domain::call::Deadlines;
use std::time::Duration;

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

/// Everything the engine is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen (`SWITCHBOARD_BIND`, default `127.0.0.1:8080`; port 0 picks a free one).
    pub bind: String,
    /// `DATABASE_URL` (default `sqlite://switchboard.db`).
    pub database_url: DatabaseUrl,
    /// `SWITCHBOARD_ADMIN_TOKEN`: enables the admin API when set.
    pub admin_token: Option<String>,
    /// `SWITCHBOARD_DEFAULT_COUNTRY` (ISO 3166 alpha-2, default `IN`): the `default_country` of a
    /// new org that names none.
    pub default_country: String,
    /// `SWITCHBOARD_PUBLIC_URL`: the base providers call back and sign; default `http://<bound address>`.
    pub public_url: Option<String>,
    /// Stuck-call deadlines (`SWITCHBOARD_RING_DEADLINE_S`, `_TALK_`, `_WRAPUP_`).
    pub deadlines: Deadlines,
    /// `SWITCHBOARD_SQLITE_SYNC` = `full` (default: an acknowledged event survives power loss too;
    /// with group commit it costs no measurable throughput, README) or `normal`.
    pub sqlite_sync: SqliteSync,
    /// `SWITCHBOARD_WRITER_MAX_BATCH`: requests per transaction at most (1 = one commit per event).
    pub writer_max_batch: usize,
    /// `SWITCHBOARD_CALL_GRACE_S`: how long a finished call's actor stays for late events.
    pub call_grace: Duration,
    /// `SWITCHBOARD_CAMPAIGN_GRACE_S`: how long the actor of a campaign that does not run (and has
    /// no call live) stays in memory after it was last used; read back from the database when
    /// next needed.
    pub campaign_grace: Duration,
    /// `SWITCHBOARD_PRICE_RETRY_S`: the first wait before a provider's API is asked again for a
    /// price it did not have yet (doubled each time, at most an hour; given up after a day).
    pub price_retry: Duration,
    /// `SWITCHBOARD_READ_POOL`: read connections.
    pub read_pool_size: u32,
    /// `SWITCHBOARD_WS_HEARTBEAT_S`: ping interval; a client silent for three intervals is dropped.
    pub ws_heartbeat: Duration,
    /// `SWITCHBOARD_WS_MAILBOX`: events a session may have queued before it counts as slow.
    pub ws_mailbox: usize,
    /// `SWITCHBOARD_REPLAY_LIMIT`: how many missed events a reconnect may replay before it gets a
    /// fresh snapshot instead.
    pub replay_limit: i64,
    /// `SWITCHBOARD_METRICS_INTERVAL_S`: how often an org whose calls changed gets `metrics:updated`.
    pub metrics_interval: Duration,
    /// `SWITCHBOARD_RETENTION_DAYS` (default 30; 0 keeps everything): how long the raw webhook
    /// inbox and the org event log are kept.
    pub retention: Option<Duration>,
    /// `SWITCHBOARD_PRUNE_EVERY_S` (default 600): how often retention prunes.
    pub prune_every: Duration,
    /// `SWITCHBOARD_MAX_IN_FLIGHT`: webhooks handled at once; past it they are shed with a 503.
    pub max_in_flight: usize,
    /// `SWITCHBOARD_MAX_IN_FLIGHT_PER_ORG`: the same bound for one org, so that its flood leaves
    /// room for the others.
    pub max_in_flight_per_org: usize,
    /// `SWITCHBOARD_PBX_RESYNC_S` (default 60): a PBX silent this long while the engine believes
    /// calls or busy extensions on it are live is asked what is true (at most once per period).
    pub pbx_resync: Duration,
}

impl Settings {
    /// How long a ringing or in-call extension may go without the PBX confirming its state before
    /// the board shows it as stale: two resync periods (a silent PBX is asked after one).
    pub fn stale_after(&self) -> Duration {
        self.pbx_resync * 2
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            database_url: DatabaseUrl::Sqlite("switchboard.db".into()),
            admin_token: None,
            default_country: "IN".into(),
            public_url: None,
            deadlines: Deadlines::default(),
            sqlite_sync: SqliteSync::Full,
            writer_max_batch: 1000,
            call_grace: Duration::from_secs(60),
            campaign_grace: Duration::from_secs(60),
            price_retry: Duration::from_secs(30),
            read_pool_size: 8,
            ws_heartbeat: Duration::from_secs(10),
            ws_mailbox: 4096,
            replay_limit: 10_000,
            metrics_interval: Duration::from_secs(2),
            max_in_flight: 2048,
            max_in_flight_per_org: 512,
            retention: Some(Duration::from_secs(30 * 86_400)),
            prune_every: Duration::from_secs(600),
            pbx_resync: Duration::from_secs(60),
        }
    }
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let defaults = Settings::default();
        let secs = |name: &str, default: Duration| -> Result<Duration, String> {
            match lookup(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| format!("{name} must be a whole number of seconds")),
            }
        };
        let number = |name: &str, default: u64| -> Result<u64, String> {
            match lookup(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name} must be a positive whole number")),
            }
        };
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let sqlite_sync = match lookup("SWITCHBOARD_SQLITE_SYNC").as_deref() {
            Some("normal") => SqliteSync::Normal,
            None | Some("full") => SqliteSync::Full,
            Some(_) => return Err("SWITCHBOARD_SQLITE_SYNC must be `normal` or `full`".into()),
        };
        Ok(Settings {
            bind: non_empty("SWITCHBOARD_BIND").unwrap_or(defaults.bind),
            database_url: match non_empty("DATABASE_URL") {
                Some(url) => DatabaseUrl::parse(&url)?,
                None => defaults.database_url,
            },
            admin_token: non_empty("SWITCHBOARD_ADMIN_TOKEN"),
            default_country: match non_empty("SWITCHBOARD_DEFAULT_COUNTRY") {
                Some(text) => crate::domain::phone::country(&text).ok_or_else(|| {
                    format!("SWITCHBOARD_DEFAULT_COUNTRY `{text}` is not an ISO 3166 alpha-2 country code (e.g. US, IN, GB)")
                })?,
                None => defaults.default_country,
            },
            public_url: non_empty("SWITCHBOARD_PUBLIC_URL")
                .map(|u| u.trim_end_matches('/').to_owned()),
            deadlines: Deadlines {
                ring: secs("SWITCHBOARD_RING_DEADLINE_S", defaults.deadlines.ring)?,
                talk: secs("SWITCHBOARD_TALK_DEADLINE_S", defaults.deadlines.talk)?,
                wrapup: secs("SWITCHBOARD_WRAPUP_DEADLINE_S", defaults.deadlines.wrapup)?,
            },
            sqlite_sync,
            writer_max_batch: number("SWITCHBOARD_WRITER_MAX_BATCH", 1000)? as usize,
            call_grace: secs("SWITCHBOARD_CALL_GRACE_S", defaults.call_grace)?,
            campaign_grace: secs("SWITCHBOARD_CAMPAIGN_GRACE_S", defaults.campaign_grace)?,
            price_retry: secs("SWITCHBOARD_PRICE_RETRY_S", defaults.price_retry)?,
            read_pool_size: number("SWITCHBOARD_READ_POOL", 8)? as u32,
            ws_heartbeat: secs("SWITCHBOARD_WS_HEARTBEAT_S", defaults.ws_heartbeat)?,
            ws_mailbox: number("SWITCHBOARD_WS_MAILBOX", 4096)? as usize,
            replay_limit: number("SWITCHBOARD_REPLAY_LIMIT", 10_000)? as i64,
            // At most one `metrics:updated` per second per org, whatever the event rate.
            metrics_interval: Duration::from_secs(
                number("SWITCHBOARD_METRICS_INTERVAL_S", 2)?.max(1),
            ),
            max_in_flight: number("SWITCHBOARD_MAX_IN_FLIGHT", 2048)? as usize,
            max_in_flight_per_org: number("SWITCHBOARD_MAX_IN_FLIGHT_PER_ORG", 512)? as usize,
            pbx_resync: secs("SWITCHBOARD_PBX_RESYNC_S", defaults.pbx_resync)?,
            retention: match lookup("SWITCHBOARD_RETENTION_DAYS") {
                None => defaults.retention,
                Some(days) => match days.trim().parse::<u64>() {
                    Ok(0) => None,
                    Ok(days) => Some(Duration::from_secs(days * 86_400)),
                    Err(_) => {
                        return Err(
                            "SWITCHBOARD_RETENTION_DAYS must be a whole number of days".into()
                        )
                    }
                },
            },
            prune_every: secs("SWITCHBOARD_PRUNE_EVERY_S", defaults.prune_every)?,
        })
    }
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
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = read(&[]).unwrap();
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.database_url, DatabaseUrl::Sqlite("switchboard.db".into()));
        assert_eq!(s.deadlines.ring, Duration::from_secs(180));
        assert_eq!(s.deadlines.talk, Duration::from_secs(14_400));
        assert_eq!(s.deadlines.wrapup, Duration::from_secs(600));
        assert!(s.admin_token.is_none());
        assert_eq!(s.default_country, "IN");
        assert_eq!(s.sqlite_sync, SqliteSync::Full);
        assert_eq!(Settings::default().sqlite_sync, SqliteSync::Full);
        let normal = read(&[("SWITCHBOARD_SQLITE_SYNC", "normal")]).unwrap();
        assert_eq!(normal.sqlite_sync, SqliteSync::Normal);
    }

    #[test]
    fn the_default_country_is_a_known_one() {
        let us = read(&[("SWITCHBOARD_DEFAULT_COUNTRY", "us")]).unwrap();
        assert_eq!(us.default_country, "US");
        let wrong = read(&[("SWITCHBOARD_DEFAULT_COUNTRY", "USA")]).unwrap_err();
        assert!(wrong.contains("SWITCHBOARD_DEFAULT_COUNTRY"), "{wrong}");
    }

    #[test]
    fn reads_and_checks_values() {
        let s = read(&[
            ("DATABASE_URL", "postgres://localhost/test"),
            ("SWITCHBOARD_RING_DEADLINE_S", "5"),
            ("SWITCHBOARD_PUBLIC_URL", "https://sb.example/"),
        ])
        .unwrap();
        assert!(matches!(s.database_url, DatabaseUrl::Postgres(_)));
        assert_eq!(s.deadlines.ring, Duration::from_secs(5));
        assert_eq!(s.public_url.as_deref(), Some("https://sb.example"));
        assert!(read(&[("SWITCHBOARD_RING_DEADLINE_S", "soon")]).is_err());
        assert!(read(&[("SWITCHBOARD_SQLITE_SYNC", "off")]).is_err());
        assert!(read(&[("DATABASE_URL", "mysql://x")]).is_err());
    }

    #[test]
    fn retention_and_shedding_bounds() {
        let s = read(&[]).unwrap();
        assert_eq!(s.retention, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!((s.max_in_flight, s.max_in_flight_per_org), (2048, 512));
        let s = read(&[
            ("SWITCHBOARD_RETENTION_DAYS", "7"),
            ("SWITCHBOARD_MAX_IN_FLIGHT_PER_ORG", "64"),
        ])
        .unwrap();
        assert_eq!(s.retention, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(s.max_in_flight_per_org, 64);
        assert_eq!(
            read(&[("SWITCHBOARD_RETENTION_DAYS", "0")])
                .unwrap()
                .retention,
            None
        );
        assert!(read(&[("SWITCHBOARD_RETENTION_DAYS", "a month")]).is_err());
        assert!(read(&[("SWITCHBOARD_MAX_IN_FLIGHT", "0")]).is_err());
    }
}
