//! Org totals and the billing export at volume: `METRICS_CALLS` (default 1,000,000) finished,
//! billed calls of one org — spread over 30 days and 20 campaigns — beside as many of another org,
//! written straight into a fresh SQLite file (and PostgreSQL when `SWITCHBOARD_BENCH_POSTGRES`
//! names a server), then the release binary serving them:
//!
//! - `GET /api/v1/metrics` all-time, over one day, over one campaign (read from the totals kept
//!   per day) and over half a day (counted from the calls): time per request, against B —
//!   `SELECT COUNT(*)` of the same calls on the same index in the same run (the least that
//!   counting those rows can cost) — and the sums checked against what the bench wrote;
//! - `GET /api/v1/calls/export.csv` over one day: rows per second, and the engine's RSS before and
//!   after (the export is streamed: RSS must not grow with the rows).
//!
//! `cargo bench --bench metrics` (env `METRICS_CALLS`, `METRICS_REPEAT` default 5).

// Not every helper of the shared process module is used here.
#[allow(dead_code)]
#[path = "common/process.rs"]
mod process;

use diesel::{Connection, RunQueryDsl};
use process::{EngineProcess as Engine, ADMIN};
use std::time::{Duration, Instant};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Calls of `org_id`, `n` of them, by one statement: created over 30 days from 2025-03-01, one
/// of 20 campaigns each, 60 % answered with 1–300 s of talk, billed by the minute at 0.0130.
fn calls_sql(org_id: &str, n: usize, sqlite: bool) -> String {
    let n = n.max(1);
    let (series, time) = if sqlite {
        (
            format!("WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {n} - 1)"),
            format!("strftime('%Y-%m-%dT%H:%M:%S.000Z', '2025-03-01', '+' || (i * 2592000 / {n}) || ' seconds')"),
        )
    } else {
        (
            format!("WITH s(i) AS (SELECT generate_series(0, {n} - 1))"),
            format!("to_char(timestamp '2025-03-01' + (i::bigint * 2592000 / {n}) * interval '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS.000\"Z\"')"),
        )
    };
    let talk = "CASE WHEN i % 10 < 6 THEN 1 + i % 300 ELSE 0 END";
    let billed = format!("(({talk}) + 59) / 60 * 60");
    format!(
        "{series} INSERT INTO calls (id, org_id, provider, provider_call_id, direction, status, \
         from_number, to_number, campaign_id, extensions, created_at, answered_at, ended_at, \
         talk_s, currency, last_event_at, updated_at, billed_s, cost_micros) \
         SELECT '{org_id}-' || i, '{org_id}', 'twilio', 'CA{org_id}' || i, 'outbound', \
         CASE WHEN i % 10 < 6 THEN 'completed' ELSE 'no_answer' END, '+15550001111', \
         '+1555' || (i % 10000000), 'campaign-' || (i % 20), '[]', {time}, \
         CASE WHEN i % 10 < 6 THEN {time} END, {time}, {talk}, 'USD', {time}, {time}, \
         {billed}, {billed} * 13000 / 60 FROM s"
    )
}

/// What the bench wrote for the org, summed the same way: (calls, answered, billed_s, cost µ).
fn expected(n: usize, keep: impl Fn(usize) -> bool) -> (i64, i64, i64, i64) {
    let mut sums = (0, 0, 0, 0);
    for i in (0..n).filter(|i| keep(*i)) {
        let talk = if i % 10 < 6 { 1 + i % 300 } else { 0 } as i64;
        let billed = (talk + 59) / 60 * 60;
        sums.0 += 1;
        sums.1 += i64::from(i % 10 < 6);
        sums.2 += billed;
        sums.3 += billed * 13000 / 60;
    }
    sums
}

/// One measured total: its name, its query string, which of the bench's calls it counts, and the
/// same bound as SQL for B.
type Case<'a> = (
    &'static str,
    String,
    Box<dyn Fn(usize) -> bool + 'a>,
    String,
);

async fn get(client: &awc::Client, url: &str, token: &str) -> (Duration, actix_web::web::Bytes) {
    let started = Instant::now();
    let mut resp = client
        .get(url)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    let body = resp.body().limit(1 << 30).await.unwrap();
    (started.elapsed(), body)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn run(label: &str, url: &str, conn: &mut switchboard::db::DbConnection, sqlite: bool) {
    let calls = env_number("METRICS_CALLS", 1_000_000);
    let repeat = env_number("METRICS_REPEAT", 5);
    // Two orgs: the measured one and as many calls of another beside it.
    let engine = Engine::start(url, &[]);
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(600))
        .finish();
    let (org_id, token) = actix_web::rt::System::new().block_on(async {
        engine.ready_within(&client, Duration::from_secs(30)).await;
        let mut resp = client
            .post(format!("{}/api/v1/orgs", engine.base))
            .insert_header(("Authorization", format!("Bearer {ADMIN}")))
            .send_json(&serde_json::json!({"name": "bench"}))
            .await
            .unwrap();
        let org: serde_json::Value = resp.json().await.unwrap();
        (
            org["org_id"].as_str().unwrap().to_owned(),
            org["api_token"].as_str().unwrap().to_owned(),
        )
    });
    // Rows written straight in: the other org and the campaigns have no rows of their own.
    let unchecked = if sqlite {
        "PRAGMA foreign_keys = OFF"
    } else {
        "SET session_replication_role = replica"
    };
    diesel::sql_query(unchecked).execute(conn).unwrap();
    let started = Instant::now();
    for (org, n) in [(org_id.as_str(), calls), ("other-org", calls)] {
        diesel::sql_query(calls_sql(org, n, sqlite))
            .execute(conn)
            .unwrap();
    }
    // The totals kept per day, as the migration that introduced them computes them from the calls
    // (the engine keeps them commit by commit; these calls were written around it).
    let migration = if sqlite {
        include_str!("../migrations/sqlite/2026-12-01-000011_call_totals/up.sql")
    } else {
        include_str!("../migrations/postgres/2026-12-01-000011_call_totals/up.sql")
    };
    let backfill = &migration[migration.find("INSERT INTO call_totals").unwrap()..];
    diesel::sql_query(backfill).execute(conn).unwrap();
    if sqlite {
        diesel::sql_query("ANALYZE").execute(conn).unwrap();
    } else {
        diesel::sql_query("ANALYZE calls").execute(conn).unwrap();
    }
    println!(
        "{label}: {} calls written in {:.1} s",
        2 * calls,
        started.elapsed().as_secs_f64()
    );
    let day = "from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z";
    let in_day = |i: usize| {
        let second = i as u64 * 2_592_000 / calls.max(1) as u64;
        (9 * 86_400..10 * 86_400).contains(&second)
    };
    let half_day = |i: usize| {
        let second = i as u64 * 2_592_000 / calls.max(1) as u64;
        (9 * 86_400 + 6 * 3600..9 * 86_400 + 18 * 3600).contains(&second)
    };
    let cases: [Case; 4] = [
        ("all time", String::new(), Box::new(|_| true), String::new()),
        ("one day", day.to_owned(), Box::new(in_day), "AND created_at >= '2025-03-10T00:00:00.000Z' AND created_at < '2025-03-11T00:00:00.000Z'".into()),
        ("one campaign", "campaign_id=campaign-7".into(), Box::new(|i| i % 20 == 7), "AND campaign_id = 'campaign-7'".into()),
        ("06:00–18:00", "from=2025-03-10T06:00:00Z&to=2025-03-10T18:00:00Z".into(), Box::new(half_day), "AND created_at >= '2025-03-10T06:00:00.000Z' AND created_at < '2025-03-10T18:00:00.000Z'".into()),
    ];
    println!(
        "{:<14} {:>10} {:>12} {:>12} {:>8}",
        "metrics", "calls", "B: COUNT ms", "engine ms", "× B"
    );
    actix_web::rt::System::new().block_on(async {
        for (name, query, keep, filter) in &cases {
            let count_sql = format!("SELECT COUNT(*) AS n FROM calls WHERE org_id = '{org_id}' {filter}");
            let b = median(
                (0..repeat)
                    .map(|_| {
                        let started = Instant::now();
                        diesel::sql_query(&count_sql).execute(conn).unwrap();
                        started.elapsed()
                    })
                    .collect(),
            );
            let url = format!("{}/api/v1/metrics?{query}", engine.base);
            let mut times = Vec::new();
            let mut body = actix_web::web::Bytes::new();
            for _ in 0..repeat {
                let (took, got) = get(&client, &url, &token).await;
                times.push(took);
                body = got;
            }
            let totals: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let (n, answered, billed_s, cost) = expected(calls, keep);
            assert_eq!(totals["calls"], n, "{name}");
            assert_eq!(totals["answered"], answered, "{name}");
            assert_eq!(totals["billed_minutes"].as_f64().unwrap(), billed_s as f64 / 60.0, "{name}");
            let cost = switchboard::domain::money::Money::from_micros(cost).to_string();
            assert_eq!(totals["cost"]["USD"], cost.as_str(), "{name}");
            let engine_ms = median(times).as_secs_f64() * 1000.0;
            let b_ms = b.as_secs_f64() * 1000.0;
            println!("{name:<14} {n:>10} {b_ms:>12.1} {engine_ms:>12.1} {:>8.2}", engine_ms / b_ms);
        }
        let before = engine.rss_mib();
        let url = format!("{}/api/v1/calls/export.csv?{day}", engine.base);
        let (took, body) = get(&client, &url, &token).await;
        let rows = body.iter().filter(|b| **b == b'\n').count() - 1;
        assert_eq!(rows as i64, expected(calls, in_day).0);
        println!(
            "export one day: {rows} rows in {:.2} s ({:.0} rows/s, {:.1} MiB), RSS {before:.0} → {:.0} MiB",
            took.as_secs_f64(),
            rows as f64 / took.as_secs_f64(),
            body.len() as f64 / (1 << 20) as f64,
            engine.rss_mib()
        );
    });
}

fn main() {
    let dir = std::env::temp_dir().join(format!("sb_metrics_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.db");
    let url = format!("sqlite://{}", path.display());
    // The engine creates the schema; the bench then writes the calls beside it.
    {
        let settings_url = switchboard::config::DatabaseUrl::Sqlite(path.display().to_string());
        let mut conn =
            switchboard::db::connect(&settings_url, switchboard::config::SqliteSync::Normal)
                .unwrap();
        switchboard::db::run_migrations(&mut conn).unwrap();
        run("SQLite", &url, &mut conn, true);
    }
    if let Ok(server) = std::env::var("SWITCHBOARD_BENCH_POSTGRES") {
        let name = format!("sb_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel::PgConnection::establish(&format!("{server}/postgres")).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
        let url = format!("{server}/{name}");
        let settings_url = switchboard::config::DatabaseUrl::Postgres(url.clone());
        let mut conn =
            switchboard::db::connect(&settings_url, switchboard::config::SqliteSync::Normal)
                .unwrap();
        switchboard::db::run_migrations(&mut conn).unwrap();
        run("PostgreSQL", &url, &mut conn, false);
        drop(conn);
        let _ = diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin);
    }
}
