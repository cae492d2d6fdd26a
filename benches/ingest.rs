//! End-to-end ingest: many concurrent signed Twilio status callbacks against the real server
//! (real HTTP, real database), group commit against one commit per event, SQLite `NORMAL` against
//! `FULL`, and PostgreSQL when `SWITCHBOARD_BENCH_POSTGRES` names a server.
//!
//! `cargo bench --bench ingest` (env: `INGEST_CALLS`, default 2500 calls × 4 events;
//! `INGEST_CONCURRENCY`, default 64 connections).

use std::time::{Duration, Instant};
use switchboard::config::Settings;
use switchboard::db::{DatabaseUrl, SqliteSync};
use switchboard::metrics::{WRITER_REQUESTS, WRITER_TRANSACTIONS};
use switchboard::providers::{form_pairs, twilio};
use switchboard::startup::Application;

const TOKEN: &str = "bench-twilio-token";

struct Scenario {
    name: String,
    database: DatabaseUrl,
    sync: SqliteSync,
    max_batch: usize,
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn scenarios() -> Vec<Scenario> {
    let mut list = Vec::new();
    for (sync, sync_name) in [(SqliteSync::Normal, "NORMAL"), (SqliteSync::Full, "FULL")] {
        for (max_batch, mode) in [(1000, "group commit"), (1, "one commit per event")] {
            let dir =
                std::env::temp_dir().join(format!("sb_bench_{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            list.push(Scenario {
                name: format!("SQLite synchronous={sync_name}, {mode}"),
                database: DatabaseUrl::Sqlite(dir.join("bench.db").to_string_lossy().into_owned()),
                sync,
                max_batch,
            });
        }
    }
    if let Ok(server) = std::env::var("SWITCHBOARD_BENCH_POSTGRES") {
        use diesel::{Connection, RunQueryDsl};
        for (max_batch, mode) in [(1000, "group commit"), (1, "one commit per event")] {
            let name = format!("sb_bench_{}", uuid::Uuid::new_v4().simple());
            let mut admin = diesel::PgConnection::establish(&format!("{server}/postgres")).unwrap();
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .unwrap();
            list.push(Scenario {
                name: format!("PostgreSQL, {mode}"),
                database: DatabaseUrl::Postgres(format!("{server}/{name}")),
                sync: SqliteSync::Normal,
                max_batch,
            });
        }
    }
    list
}

/// Starts the engine on its own thread and actix system; answers its base URL.
fn start_server(scenario: &Scenario) -> String {
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: scenario.database.clone(),
        admin_token: Some("bench-admin".into()),
        sqlite_sync: scenario.sync,
        writer_max_batch: scenario.max_batch,
        ..Settings::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(settings).await.unwrap();
            tx.send(app.port()).unwrap();
            app.run_until_stopped().await.unwrap();
        })
    });
    format!("http://127.0.0.1:{}", rx.recv().unwrap())
}

struct Report {
    events: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn run_load(base: &str, calls: usize, concurrency: usize) -> Report {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .connector(awc::Connector::new().limit(concurrency))
        .finish();
    let mut resp = client
        .post(format!("{base}/api/v1/orgs"))
        .insert_header(("Authorization", "Bearer bench-admin"))
        .send_json(&serde_json::json!({"name": "bench"}))
        .await
        .unwrap();
    let org: serde_json::Value = resp.json().await.unwrap();
    let api_token = org["api_token"].as_str().unwrap().to_owned();
    let org_id = org["org_id"].as_str().unwrap().to_owned();
    let status = client
        .put(format!("{base}/api/v1/providers/twilio"))
        .insert_header(("Authorization", format!("Bearer {api_token}")))
        .send_json(&serde_json::json!({"account_sid": "ACbench", "auth_token": TOKEN, "from_number": "+15550000000"}))
        .await
        .unwrap()
        .status();
    assert!(status.is_success());

    // Every request body and signature is made before the clock starts.
    let path = format!("/webhooks/twilio/{org_id}/status");
    let url = format!("{base}{path}");
    let mut requests: Vec<Vec<(String, String)>> = vec![Vec::new(); concurrency];
    for n in 0..calls {
        for (seq, word) in ["initiated", "ringing", "in-progress", "completed"]
            .iter()
            .enumerate()
        {
            let body = format!(
                "CallSid=CAbench{n:026}&AccountSid=ACbench&From=%2B15550001111&To=%2B15550002222\
&Direction=outbound-api&CallStatus={word}&SequenceNumber={seq}&CallDuration=61\
&Timestamp=Tue%2C%2004%20Mar%202025%2010%3A00%3A{seq:02}%20%2B0000"
            );
            let signature = twilio::signature(TOKEN, &url, &form_pairs(body.as_bytes()));
            requests[n % concurrency].push((body, signature));
        }
    }
    let events = calls * 4;
    let started = Instant::now();
    let workers = requests.into_iter().map(|batch| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let mut latencies = Vec::with_capacity(batch.len());
            for (body, signature) in batch {
                let sent = Instant::now();
                let resp = client
                    .post(&url)
                    .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                    .insert_header(("X-Twilio-Signature", signature))
                    .send_body(body)
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                latencies.push(sent.elapsed());
            }
            latencies
        }
    });
    let latencies: Vec<Duration> = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .flatten()
        .collect();
    Report {
        events,
        elapsed: started.elapsed(),
        latencies,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let calls = env_number("INGEST_CALLS", 2500);
    let concurrency = env_number("INGEST_CONCURRENCY", 64);
    println!("ingest: {calls} calls x 4 signed Twilio status callbacks, {concurrency} concurrent connections");
    println!(
        "{:<48} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "scenario", "events/s", "p50 ms", "p99 ms", "max ms", "avg batch"
    );
    for scenario in scenarios() {
        let base = start_server(&scenario);
        // The server runs in this process: its counters tell how many requests each commit took.
        let (requests, transactions) = (WRITER_REQUESTS.get(), WRITER_TRANSACTIONS.get());
        let mut report = actix_web::rt::System::new().block_on(run_load(&base, calls, concurrency));
        let batch = (WRITER_REQUESTS.get() - requests) as f64
            / (WRITER_TRANSACTIONS.get() - transactions).max(1) as f64;
        report.latencies.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<48} {:>10.0} {:>10.2} {:>10.2} {:>10.2} {:>10.1}",
            scenario.name,
            report.events as f64 / report.elapsed.as_secs_f64(),
            ms(percentile(&report.latencies, 0.50)),
            ms(percentile(&report.latencies, 0.99)),
            ms(*report.latencies.last().unwrap()),
            batch,
        );
    }
}
