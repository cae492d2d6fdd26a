//! A 10,000-contact campaign against a stand-in Twilio on 127.0.0.1 (it answers each dial at once
//! and calls back `completed` ~`CAMPAIGN_TALK_MS` later): the dial rate achieved against the
//! configured limit, and the process's CPU time and peak memory while it runs.
//!
//! `cargo bench --bench campaign` (env: `CAMPAIGN_CONTACTS` 10000, `CAMPAIGN_CPS` 100,
//! `CAMPAIGN_CONCURRENCY` 50, `CAMPAIGN_TALK_MS` 200). Engine, stand-in and client share the process.

use serde_json::json;
use std::time::{Duration, Instant};
use switchboard::config::Settings;
use switchboard::db::DatabaseUrl;
use switchboard::sim::providers::{FakeProviders, Script, TwilioPlay};
use switchboard::startup::Application;

#[path = "common/usage.rs"]
mod usage;
use usage::usage;

const TOKEN: &str = "bench-twilio-token";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let contacts = env_number("CAMPAIGN_CONTACTS", 10_000);
    let cps = env_number("CAMPAIGN_CPS", 100) as f64;
    let concurrency = env_number("CAMPAIGN_CONCURRENCY", 50);
    let talk = env_number("CAMPAIGN_TALK_MS", 200);
    let dir = std::env::temp_dir().join(format!(
        "sb_campaign_bench_{}",
        uuid::Uuid::new_v4().simple()
    ));
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
        // The one stand-in (`src/sim`): each dial answered at once, `completed` ~`talk` ms later.
        let stand_in = FakeProviders::start(Script {
            twilio_account_sid: "ACbench".into(),
            twilio_auth_token: TOKEN.into(),
            twilio_play: TwilioPlay::CompletedOnly {
                talk: Duration::from_millis(talk),
            },
            ..Script::default()
        })
        .unwrap();
        let api = stand_in.base().to_owned();
        let client = awc::Client::builder().timeout(Duration::from_secs(600)).finish();
        let mut resp = client
            .post(format!("{base}/api/v1/orgs"))
            .insert_header(("Authorization", "Bearer bench-admin"))
            .send_json(&json!({"name": "bench"}))
            .await
            .unwrap();
        let org: serde_json::Value = resp.json().await.unwrap();
        let token = format!("Bearer {}", org["api_token"].as_str().unwrap());
        client
            .put(format!("{base}/api/v1/providers/twilio"))
            .insert_header(("Authorization", token.as_str()))
            .send_json(&json!({"account_sid": "ACbench", "auth_token": TOKEN, "from_number": "+15550000000", "api_base": api, "calls_per_second": cps}))
            .await
            .unwrap();
        let rows: Vec<serde_json::Value> = (0..contacts)
            .map(|i| json!({"phone": format!("+9190{:08}", i), "name": format!("Lead {i}")}))
            .collect();
        let loading = Instant::now();
        let mut resp = client
            .post(format!("{base}/api/v1/campaigns"))
            .insert_header(("Authorization", token.as_str()))
            .send_json(&json!({"name": "bench", "provider": "twilio", "concurrency": concurrency, "contacts": rows}))
            .await
            .unwrap();
        let campaign: serde_json::Value = resp.json().limit(64 << 20).await.unwrap();
        let id = campaign["id"].as_str().unwrap().to_owned();
        println!("campaign bench: {contacts} contacts loaded in {:.1} s", loading.elapsed().as_secs_f64());
        let (cpu_before, _) = usage();
        let started = Instant::now();
        client
            .post(format!("{base}/api/v1/campaigns/{id}/start"))
            .insert_header(("Authorization", token.as_str()))
            .send()
            .await
            .unwrap();
        loop {
            actix_web::rt::time::sleep(Duration::from_millis(500)).await;
            let mut resp = client
                .get(format!("{base}/api/v1/campaigns/{id}/progress"))
                .insert_header(("Authorization", token.as_str()))
                .send()
                .await
                .unwrap();
            let progress: serde_json::Value = resp.json().limit(1 << 20).await.unwrap();
            if progress["campaignStatus"] == "completed" {
                break;
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let (cpu_after, peak) = usage();
        let placed = stand_in.tally().total;
        println!("dials placed:        {placed}");
        println!("configured limit:    {cps:.0} calls/s (concurrency {concurrency}, each call ~{talk} ms)");
        println!("achieved dial rate:  {:.1} calls/s over {elapsed:.1} s", placed as f64 / elapsed);
        println!("CPU while running:   {:.1} s ({:.0} % of one core)", cpu_after - cpu_before, (cpu_after - cpu_before) / elapsed * 100.0);
        println!("peak memory (RSS):   {peak:.0} MiB");
    });
}
