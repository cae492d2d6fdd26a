//! Capacity: memory per live call and per idle dashboard session, and the restart with every live
//! call recovered — the release binary as its own process, its RSS read from /proc.
//!
//! 1. `CAPACITY_CALLS` (default 100,000) calls left ringing by signed Twilio callbacks (deadlines
//!    far off, so every one stays live in its actor): RSS before and after, per call.
//! 2. `CAPACITY_SESSIONS` (default 9,000) dashboard WebSockets of another org, connected and idle:
//!    RSS per session.
//! 3. `kill -9`, restart on the same database: time until `/readyz` answers 200 (every unfinished
//!    call recovered into its actor with its deadline armed), and the RSS then.
//!
//! `cargo bench --bench capacity`.

#[path = "common/process.rs"]
mod process;

use process::{fresh_sqlite, EngineProcess as Engine, TWILIO_TOKEN as TOKEN};
use std::time::{Duration, Instant};
use switchboard::providers::{form_pairs, twilio};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `calls` new calls (numbered from `first`) left ringing, over 64 connections.
async fn ring(client: &awc::Client, base: &str, org_id: &str, first: usize, calls: usize) {
    use std::cell::Cell;
    let path = format!("/webhooks/twilio/{org_id}/status");
    let url = format!("{base}{path}");
    let next = Cell::new(first);
    let workers = (0..64).map(|_| async {
        loop {
            let n = next.get();
            if n >= first + calls {
                return;
            }
            next.set(n + 1);
            let body = format!(
                "CallSid=CAcap{n:024}&AccountSid=ACbench&From=%2B15550001111&To=%2B15550002222\
&Direction=outbound-api&CallStatus=ringing&SequenceNumber=1\
&Timestamp=Tue%2C%2004%20Mar%202025%2010%3A00%3A01%20%2B0000"
            );
            let signature = twilio::signature(TOKEN, &url, &form_pairs(body.as_bytes()));
            let mut resp = client
                .post(format!("{base}{path}"))
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .insert_header(("X-Twilio-Signature", signature))
                .send_body(body)
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let _ = resp.body().await;
        }
    });
    futures_util::future::join_all(workers).await;
}

fn main() {
    let calls = env_number("CAPACITY_CALLS", 100_000);
    // Each session holds two descriptors in the engine (its connection, and the duplicate that
    // lets its hub reset it): under a 20,000-descriptor limit, 9,000 sessions fit.
    let sessions = env_number("CAPACITY_SESSIONS", 9_000);
    let database = fresh_sqlite("sb_capacity");
    // Deadlines a day off (every call stays live), no pings or metrics events in the way.
    let env = [
        ("SWITCHBOARD_RING_DEADLINE_S", "86400"),
        ("SWITCHBOARD_WS_HEARTBEAT_S", "3600"),
        ("SWITCHBOARD_METRICS_INTERVAL_S", "3600"),
        ("RUST_LOG", "warn,switchboard=info"),
    ];
    actix_web::rt::System::new().block_on(async {
        let client = awc::Client::builder()
            .connector(awc::Connector::new().limit(100))
            .timeout(Duration::from_secs(60))
            .finish();
        let engine = Engine::start(&database, &env);
        engine.ready_within(&client, Duration::from_secs(30)).await;
        let (calls_org, _) = engine.twilio_org(&client, "calls").await;
        let (_, sessions_token) = engine.twilio_org(&client, "sessions").await;
        // A first round so that the allocator, pools and caches are warm before measuring.
        ring(&client, &engine.base, &calls_org, 0, 1000).await;
        let idle = engine.rss_mib();
        let started = Instant::now();
        ring(&client, &engine.base, &calls_org, 1000, calls).await;
        let rang = started.elapsed();
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
        let with_calls = engine.rss_mib();
        println!(
            "{calls} live calls: RSS {idle:.0} → {with_calls:.0} MiB, {:.2} KiB per live call ({:.0} calls/s placed)",
            (with_calls - idle) * 1024.0 / calls as f64,
            calls as f64 / rang.as_secs_f64()
        );

        // WebSockets hold their connections: a client of its own with no connection limit.
        let ws_client = awc::Client::builder()
            .connector(awc::Connector::new().limit(0))
            .timeout(Duration::from_secs(30))
            .finish();
        let ws_url = format!("{}/api/v1/ws?token={sessions_token}", engine.base.replace("http", "ws"));
        let mut open = Vec::with_capacity(sessions);
        let started = Instant::now();
        for _ in 0..sessions {
            let (_, conn) = match ws_client.ws(ws_url.as_str()).connect().await {
                Ok(connected) => connected,
                Err(error) => panic!("session {} of {sessions} not opened: {error}", open.len() + 1),
            };
            open.push(conn);
        }
        let connected = started.elapsed();
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
        let with_sessions = engine.rss_mib();
        println!(
            "{sessions} idle sessions: RSS {with_calls:.0} → {with_sessions:.0} MiB, {:.2} KiB per session ({:.0} connects/s)",
            (with_sessions - with_calls) * 1024.0 / sessions as f64,
            sessions as f64 / connected.as_secs_f64()
        );
        drop(open);

        drop(engine); // kill -9
        let engine = Engine::start(&database, &env);
        let ready = engine.ready_within(&client, Duration::from_secs(300)).await;
        println!(
            "restart with {} live calls: /readyz 200 after {:.2} s, RSS {:.0} MiB",
            calls + 1000,
            ready.as_secs_f64(),
            engine.rss_mib()
        );
    });
}
