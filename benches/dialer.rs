//! A predictive campaign with simulated agents against the stand-in Twilio's dialer floor (time
//! compressed: 40 % of calls answered after a short ring, 2 s of talk, 1 s of wrap-up), and in
//! the same run the same campaign dialed progressively — the baseline: one call per idle agent.
//! Reports dials/s, the abandon rate held against its cap, the most calls out, how far SQLite's
//! write-ahead log grew, CPU and peak memory.
//!
//! `cargo bench --bench dialer` (env: `DIALER_CONTACTS` 20000 per mode — the size is
//! 100000 —, `DIALER_AGENTS` 200, `DIALER_CPS` 200, `DIALER_ANSWERED` 0.4, `DIALER_RING_MS` 500,
//! `DIALER_TALK_MS` 2000, `DIALER_WRAP_S` 1). Engine, stand-in and agents share the process; the
//! agents are real dashboard sessions (agent tokens' WebSockets).
//!
//! `DIALER_RETRY_S` (unset: no third run) adds a third campaign: predictive again, its no-answers
//! retried after that many seconds (say 7200, the two hours), measured until every
//! contact had its first attempt — the retries waiting behind must not slow the dialing down.

#[path = "common/usage.rs"]
mod usage;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use switchboard::config::Settings;
use switchboard::db::DatabaseUrl;
use switchboard::sim::providers::{FakeProviders, Script, TwilioPlay};
use switchboard::startup::Application;
use usage::usage;

const TOKEN: &str = "bench-twilio-token";

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Api {
    client: awc::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .insert_header(("Authorization", format!("Bearer {}", self.token)));
        let mut response = match body {
            Some(body) => request.send_json(&body).await.unwrap(),
            None => request.send().await.unwrap(),
        };
        let bytes = response.body().limit(64 << 20).await.unwrap();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }
}

/// One mode's run: its figures.
struct Run {
    seconds: f64,
    dials: u32,
    abandon_rate: f64,
    abandoned: u64,
    /// Abandoned over every answered call of the run (not only the last 100).
    abandoned_share: f64,
    /// The most calls out at once (sampled every 250 ms).
    max_live: u64,
    /// The largest the SQLite write-ahead log grew (sampled every 250 ms), in MiB.
    max_wal: f64,
    cpu: f64,
}

/// Contacts go in through the API in batches under its 1 MiB body limit.
const BATCH: u64 = 20_000;

#[allow(clippy::too_many_arguments)]
async fn run(
    api: &Api,
    stand_in: &FakeProviders,
    wal: &std::path::Path,
    mode: &str,
    retry_s: Option<u64>,
    queue_id: &str,
    contacts: u64,
    offset: u64,
    cps: f64,
) -> Run {
    let recycle = match retry_s {
        Some(after_s) => json!([{"outcome": "no_answer", "after_s": after_s, "max_attempts": 2}]),
        None => json!([]),
    };
    let campaign = api
        .call(
            "POST",
            "/api/v1/campaigns",
            Some(
                json!({"name": mode, "provider": "twilio", "mode": mode, "queue_id": queue_id,
                "concurrency": 1000, "calls_per_second": cps, "recycle": recycle}),
            ),
        )
        .await;
    let id = campaign["id"].as_str().unwrap().to_owned();
    let loading = Instant::now();
    for from in (0..contacts).step_by(BATCH as usize) {
        let rows: Vec<Value> = (from..contacts.min(from + BATCH))
            .map(|i| json!({"phone": format!("+9190{:08}", offset + i)}))
            .collect();
        let added = api
            .call(
                "POST",
                &format!("/api/v1/campaigns/{id}/contacts"),
                Some(json!(rows)),
            )
            .await;
        assert_eq!(added["added"].as_u64(), Some(rows.len() as u64), "{added}");
    }
    println!(
        "{mode}: {contacts} contacts added in {:.1} s",
        loading.elapsed().as_secs_f64()
    );
    let before = stand_in.tally();
    let (cpu_before, _) = usage();
    let started = Instant::now();
    api.call("POST", &format!("/api/v1/campaigns/{id}/start"), None)
        .await;
    let (mut max_live, mut max_wal) = (0, 0u64);
    let progress = loop {
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        max_wal = max_wal.max(std::fs::metadata(wal).map_or(0, |m| m.len()));
        let progress = api
            .call("GET", &format!("/api/v1/campaigns/{id}/progress"), None)
            .await;
        max_live = max_live.max(progress["liveCalls"].as_u64().unwrap_or(0));
        if progress["campaignStatus"] == "completed" {
            break progress;
        }
        // With retries waiting: done when every contact had its first attempt.
        let first_attempts_left: u64 = ["pending", "dialing", "in_call"]
            .iter()
            .filter_map(|s| progress["contacts"][s].as_u64())
            .sum();
        if retry_s.is_some() && first_attempts_left == 0 && progress["liveCalls"] == 0 {
            api.call("POST", &format!("/api/v1/campaigns/{id}/cancel"), None)
                .await;
            break progress;
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let (cpu_after, _) = usage();
    let after = stand_in.tally();
    let abandoned = progress["outcomes"]["abandoned"].as_u64().unwrap_or(0);
    let talked = progress["outcomes"]["completed"].as_u64().unwrap_or(0);
    Run {
        seconds,
        dials: after.total - before.total,
        abandon_rate: progress["abandonRate"].as_f64().unwrap_or(0.0),
        abandoned,
        abandoned_share: abandoned as f64 / (abandoned + talked).max(1) as f64,
        max_live,
        max_wal: max_wal as f64 / (1 << 20) as f64,
        cpu: cpu_after - cpu_before,
    }
}

fn main() {
    // `RUST_LOG=warn` shows what the engine refuses or fails at while it runs.
    switchboard::telemetry::init();
    let contacts = env_number("DIALER_CONTACTS", 20_000.0) as u64;
    let agents = env_number("DIALER_AGENTS", 200.0) as usize;
    let cps = env_number("DIALER_CPS", 200.0);
    let answered = env_number("DIALER_ANSWERED", 0.4);
    let ring = Duration::from_millis(env_number("DIALER_RING_MS", 500.0) as u64);
    let talk = Duration::from_millis(env_number("DIALER_TALK_MS", 2000.0) as u64);
    let wrap = env_number("DIALER_WRAP_S", 1.0) as u64;
    let dir =
        std::env::temp_dir().join(format!("sb_dialer_bench_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: DatabaseUrl::Sqlite(dir.join("bench.db").to_string_lossy().into_owned()),
        admin_token: Some("bench-admin".into()),
        ..Settings::default()
    };
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        actix_web::rt::spawn(app.run_until_stopped());
        let stand_in = FakeProviders::start(Script {
            twilio_account_sid: "ACbench".into(),
            twilio_auth_token: TOKEN.into(),
            twilio_play: TwilioPlay::Dialer {
                answered,
                ring,
                talk,
            },
            ..Script::default()
        })
        .unwrap();
        // Every agent's desk holds its connection: no limit on how many are open.
        let client = awc::Client::builder()
            .connector(awc::Connector::new().limit(0))
            .timeout(Duration::from_secs(600))
            .finish();
        let mut resp = client
            .post(format!("{base}/api/v1/orgs"))
            .insert_header(("Authorization", "Bearer bench-admin"))
            .send_json(&json!({"name": "dialer bench"}))
            .await
            .unwrap();
        let org: Value = resp.json().await.unwrap();
        let api = Api {
            client: client.clone(),
            base: base.clone(),
            token: org["api_token"].as_str().unwrap().to_owned(),
        };
        api.call("PUT", "/api/v1/providers/twilio", Some(json!({"account_sid": "ACbench",
            "auth_token": TOKEN, "from_number": "+15550000000", "api_base": stand_in.base(),
            "calls_per_second": cps})))
            .await;
        let queue = api
            .call("POST", "/api/v1/queues", Some(json!({"name": "Outbound", "wrap_up_s": wrap})))
            .await;
        let queue_id = queue["id"].as_str().unwrap().to_owned();
        // The agents: available, each with its desk open (its agent token's WebSocket).
        let mut desks = Vec::with_capacity(agents);
        for i in 0..agents {
            let agent = api
                .call("POST", "/api/v1/agents", Some(json!({"name": format!("Agent {i}"),
                    "phone": format!("+1555{:07}", i), "availability": "available"})))
                .await;
            let token = api
                .call("POST", "/api/v1/tokens", Some(json!({"role": "agent", "agent_id": agent["id"]})))
                .await;
            let url = format!(
                "{}/api/v1/ws?token={}",
                base.replace("http", "ws"),
                token["token"].as_str().unwrap()
            );
            let (_, mut ws) = client.ws(url).connect().await.unwrap();
            // A desk that answers the server's pings stays open (a silent one is dropped).
            desks.push(actix_web::rt::spawn(async move {
                use futures_util::{SinkExt, StreamExt};
                while let Some(Ok(frame)) = ws.next().await {
                    if let awc::ws::Frame::Ping(bytes) = frame {
                        if ws.send(awc::ws::Message::Pong(bytes)).await.is_err() {
                            break;
                        }
                    }
                }
            }));
        }
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
        println!(
            "dialer bench: {contacts} contacts per mode, {agents} agents, {cps:.0} calls/s, {:.0} % answered, ring {} ms, talk {} ms, wrap-up {wrap} s",
            answered * 100.0,
            ring.as_millis(),
            talk.as_millis()
        );
        let wal = dir.join("bench.db-wal");
        let baseline =
            run(&api, &stand_in, &wal, "progressive", None, &queue_id, contacts, 0, cps).await;
        let predictive =
            run(&api, &stand_in, &wal, "predictive", None, &queue_id, contacts, contacts, cps).await;
        let retry_s = std::env::var("DIALER_RETRY_S").ok().and_then(|v| v.parse().ok());
        let mut retried = None;
        if retry_s.is_some() {
            let offset = 2 * contacts;
            let run = run(&api, &stand_in, &wal, "predictive", retry_s, &queue_id, contacts, offset, cps);
            retried = Some(run.await);
        }
        let (_, peak) = usage();
        let retried_name = format!("predictive, retries {}s", retry_s.unwrap_or(0));
        let runs = [("progressive (baseline)", &baseline), ("predictive", &predictive)]
            .into_iter()
            .chain(retried.as_ref().map(|r| (retried_name.as_str(), r)));
        for (name, r) in runs {
            println!(
                "{name:<28} {:>7.1} dials/s over {:>6.1} s   abandon rate {:.3} (last 100 answers; {} abandoned = {:.2} % of all)   calls out at most {}   WAL at most {:.0} MiB   CPU {:.1} s ({:.0} % of a core)",
                r.dials as f64 / r.seconds,
                r.seconds,
                r.abandon_rate,
                r.abandoned,
                r.abandoned_share * 100.0,
                r.max_live,
                r.max_wal,
                r.cpu,
                r.cpu / r.seconds * 100.0
            );
        }
        println!(
            "predictive ÷ progressive: dial rate ×{:.2}, time to finish ×{:.2}; peak memory (RSS) {peak:.0} MiB",
            (predictive.dials as f64 / predictive.seconds) / (baseline.dials as f64 / baseline.seconds),
            predictive.seconds / baseline.seconds
        );
        if let Some(retried) = &retried {
            println!(
                "predictive with no-answers waiting to be retried ÷ predictive: dial rate ×{:.2}",
                (retried.dials as f64 / retried.seconds) / (predictive.dials as f64 / predictive.seconds)
            );
        }
        for desk in desks {
            desk.abort();
        }
    });
}
