//! `switchboard demo`, run as a user runs it: the real binary prints the dashboard URL first, and
//! within seconds (`--speed`) its simulated PBX and Twilio produce calls, presence changes and
//! campaign progress — all through the webhook endpoints (the raw inbox has them) — and SIGTERM
//! stops it within 10 s. A second run over the same database reuses the demo org with a new token.

use crate::helpers::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running demo: its process, the dashboard URL's base and token.
struct Demo {
    child: Child,
    base: String,
    token: String,
    /// The agent desk link's token (the demo's second line).
    agent_token: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `switchboard demo` at `--speed 20` with `agents` simulated agents (None: the default sizing).
fn start_demo(database: &str, agents: Option<u32>) -> Demo {
    let args = [
        "--speed",
        "20",
        "--calls-per-minute",
        "240",
        "--extensions",
        "12",
    ];
    start_demo_with(database, &args, agents)
}

/// `switchboard demo` with these flags.
fn start_demo_with(database: &str, flags: &[&str], agents: Option<u32>) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["demo", "--bind", "127.0.0.1:0", "--database", database])
        .args(flags)
        .args(agents.map(|n| format!("--agents={n}")))
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the demo prints its URL");
    let url = first
        .strip_prefix("Dashboard: ")
        .unwrap_or_else(|| panic!("the first line names the dashboard: {first}"));
    let (base, token) = url
        .split_once("/#token=")
        .expect("the token is in the fragment");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let second = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the demo prints its agent desk link");
    let desk = second
        .strip_prefix(&format!("Agent desk: {base}/#token="))
        .unwrap_or_else(|| panic!("the second line is the agent desk's link: {second}"));
    Demo {
        child,
        base: base.to_owned(),
        token: token.to_owned(),
        agent_token: desk.to_owned(),
    }
}

impl Demo {
    fn app(&self) -> TestApp {
        TestApp {
            address: self.base.clone(),
            public_url: self.base.clone(),
            client: awc::Client::builder()
                .timeout(Duration::from_secs(30))
                .finish(),
        }
    }

    /// Polls `check` on `path` until it holds (at most 30 s).
    async fn eventually(&self, path: &str, check: impl Fn(&Value) -> bool) -> Value {
        let app = self.app();
        let mut last = Value::Null;
        for _ in 0..300 {
            let (status, body) = app.request("GET", path, Some(&self.token), None).await;
            if status == 200 && check(&body) {
                return body;
            }
            last = body;
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{path} never got there: {last}");
    }
}

#[actix_web::test]
async fn the_demo_makes_calls_presence_and_campaign_progress_through_the_webhooks() {
    let dir = std::env::temp_dir().join(format!("sb_demo_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = dir.join("demo.db").to_string_lossy().into_owned();
    let demo = start_demo(&database, Some(4));

    let metrics = demo
        .eventually("/api/v1/metrics", |m| m["calls"].as_i64() >= Some(5))
        .await;
    assert!(
        metrics["extensions"]["offline"].as_i64() >= Some(1),
        "{metrics}"
    );
    let extensions = demo
        .eventually("/api/v1/extensions", |e| {
            let items = e["items"].as_array().unwrap();
            items.len() == 12
                && items
                    .iter()
                    .any(|x| x["presence"] != "offline" && x["presence"] != "online")
        })
        .await;
    assert!(
        extensions["items"][0]["name"].is_string(),
        "the demo named them: {extensions}"
    );
    let campaigns = demo
        .eventually("/api/v1/campaigns", |c| {
            c["items"][0]["status"] == "running"
        })
        .await;
    let id = campaigns["items"][0]["id"].as_str().unwrap().to_owned();
    // Calls placed through the stand-in Twilio, do-not-call contacts skipped, and a voice bot's
    // analytics merged into a finished call ("completed" in the seed's call counts).
    demo.eventually(&format!("/api/v1/campaigns/{id}/progress"), |p| {
        p["totalCalls"].as_i64() >= Some(3)
            && p["contacts"]["skipped"].as_i64() >= Some(1)
            && p["callCounts"]["completed"].as_i64() >= Some(1)
    })
    .await;
    for provider in ["yeastar", "twilio"] {
        demo.eventually(&format!("/api/v1/webhooks?provider={provider}"), |i| {
            i["items"].as_array().is_some_and(|items| !items.is_empty())
        })
        .await;
    }
    let calls = demo
        .eventually("/api/v1/calls?limit=1000", |c| {
            let items = c["items"].as_array().unwrap();
            let by = |d: &str| items.iter().any(|x| x["direction"] == d);
            by("inbound") && by("outbound") && items.iter().any(|x| x["provider"] == "yeastar")
        })
        .await;
    assert!(calls["items"].as_array().unwrap().len() >= 5);
    // The agent desk: callers queue, the simulated agents take them, and the printed desk link
    // is an agent token of the agent left for the person watching.
    demo.eventually("/api/v1/queues", |q| {
        q["items"][0]["answered"].as_u64() >= Some(1)
    })
    .await;
    demo.eventually("/api/v1/calls?direction=inbound&limit=1000", |c| {
        c["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["agent_id"].is_string())
    })
    .await;
    let me = demo.app().get("/api/v1/org", &demo.agent_token).await;
    assert_eq!(me["role"], "agent");
    let agents = demo.app().get("/api/v1/agents", &demo.token).await;
    let names: Vec<&str> = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4 + 1, "four simulated and You: {names:?}");

    // The calls live when it stops: their simulated parties stop with it.
    let mut live = Vec::new();
    for status in ["queued", "dialing", "ringing", "answered"] {
        let page = demo
            .app()
            .get(
                &format!("/api/v1/calls?status={status}&limit=1000"),
                &demo.token,
            )
            .await;
        for call in page["items"].as_array().unwrap() {
            live.push(call["id"].as_str().unwrap().to_owned());
        }
    }
    assert!(!live.is_empty(), "calls are live at this rate");

    // SIGTERM stops it within 10 s.
    let mut demo = demo;
    let stopped = Instant::now();
    Command::new("kill")
        .args(["-TERM", &demo.child.id().to_string()])
        .status()
        .unwrap();
    loop {
        if demo.child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The same database again: the demo org is reused, with a new token; the old one is refused.
    let old_token = demo.token.clone();
    drop(demo);
    let again = start_demo(&database, Some(2));
    assert_ne!(again.token, old_token);
    let app = again.app();
    let (status, _) = app
        .request("GET", "/api/v1/calls", Some(&old_token), None)
        .await;
    assert_eq!(status, 401, "the old token was rotated away");
    // What the first run left live was ended before the new traffic (its parties are gone), or
    // had ended before the stop; nothing holds an agent or an extension for ever.
    let mut ended_by_restart = 0;
    for id in &live {
        let call = app.get(&format!("/api/v1/calls/{id}"), &again.token).await;
        let status = call["status"].as_str().unwrap();
        assert!(
            ["completed", "busy", "no_answer", "canceled", "failed"].contains(&status),
            "{call}"
        );
        ended_by_restart += usize::from(call["hangup_cause"] == "demo_restarted");
    }
    assert!(
        ended_by_restart > 0,
        "the restart ended the first run's live calls"
    );
    let calls = again
        .eventually("/api/v1/calls?limit=1000", |c| {
            c["items"].as_array().is_some_and(|i| !i.is_empty())
        })
        .await;
    assert!(
        !calls["items"].as_array().unwrap().is_empty(),
        "the first run's calls are still there"
    );
    let agents = again.app().get("/api/v1/agents", &again.token).await;
    let availability: Vec<(&str, &str)> = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["availability"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        availability.len(),
        5,
        "the desk is set up once: {availability:?}"
    );
    let logged_out = availability.iter().filter(|(_, a)| *a == "logged_out");
    assert_eq!(
        logged_out.count(),
        2,
        "two fewer agents this time: {availability:?}"
    );
    let queues = again.app().get("/api/v1/queues", &again.token).await;
    assert_eq!(queues["items"].as_array().unwrap().len(), 1);
}

/// The demo is a floor a supervisor recognises as healthy: at `--speed 5` with its default
/// agents, a minute in (five simulated minutes), the Support queue has answered most callers
/// within its SLA and lost few — by the queue's own figures.
#[actix_web::test]
async fn the_demo_floor_is_healthy_at_its_default_size() {
    let dir = std::env::temp_dir().join(format!("sb_demo_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = dir.join("demo.db").to_string_lossy().into_owned();
    let demo = start_demo_with(&database, &["--speed", "5"], None);
    actix_web::rt::time::sleep(Duration::from_secs(60)).await;
    let queue = demo.app().get("/api/v1/queues", &demo.token).await["items"][0].clone();
    let figure = |name: &str| queue[name].as_u64().unwrap() as f64;
    let (answered, within, abandoned) = (
        figure("answered"),
        figure("answered_within_sla"),
        figure("abandoned"),
    );
    assert!(answered >= 20.0, "callers were answered: {queue}");
    assert!(within / answered >= 0.7, "≥ 70 % within the SLA: {queue}");
    assert!(
        abandoned / (answered + abandoned) <= 0.15,
        "≤ 15 % abandoned: {queue}"
    );
    assert!(figure("waiting") <= 10.0, "a bounded line: {queue}");
}

/// `switchboard demo --check-after`: after its traffic the board's answered, answer rate, average
/// talk, abandoned in queue, every call one by one, and the ledger's debits against the calls'
/// costs equal what the simulators really did — counted from their own records, not by the
/// engine's functions. Twice on the same file: the second run is checked on its own calls, with
/// the first run's money still adding up.
#[test]
fn the_board_equals_what_the_simulators_did_run_after_run() {
    let dir = std::env::temp_dir().join(format!("sb_check_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = dir.join("demo.db").to_string_lossy().into_owned();
    for run in 1..=2 {
        let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["demo", "--bind", "127.0.0.1:0", "--database", &database])
            .args([
                "--speed",
                "20",
                "--calls-per-minute",
                "120",
                "--extensions",
                "12",
            ])
            .args(["--check-after", "15"])
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        let (stdout, report) = report_of(&output);
        let mismatches = report["mismatches"].as_object().unwrap();
        assert!(
            mismatches.len() >= 9 && mismatches.values().all(|n| n == 0),
            "run {run}: {stdout}"
        );
        assert!(output.status.success(), "run {run}: {stdout}");
        let figure = |name: &str| {
            report["figures"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["figure"] == name)
                .unwrap()["truth"]
                .clone()
        };
        assert!(
            figure("calls").as_u64() > Some(50) && figure("answered").as_u64() > Some(20),
            "run {run}: a floor's worth of calls: {stdout}"
        );
    }
}

/// `switchboard simulate` at CI's size: 200 seats for an hour at 80× (45 s of traffic) with the
/// day's faults — lost BYEs and CDRs, a PBX webhook gap, Twilio callbacks duplicated and swapped,
/// a dashboard that never reads, a deploy (the engine restarted), a database that refuses writes
/// for 8 s — and every figure equals what the simulators really did. The last line is the
/// report (CONTRACT.md, "Simulation").
#[test]
fn a_simulated_hour_with_faults_equals_its_ground_truth() {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "simulate", "--seats", "200", "--hours", "1", "--speed", "80",
        ])
        .arg("--faults")
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let (stdout, report) = report_of(&output);
    let mismatches = report["mismatches"].as_object().unwrap();
    for kind in [
        "call_status",
        "call_duration",
        "call_cost",
        "presence",
        "agents_stuck",
        "campaign_counts",
        "ledger",
        "acked_missing",
        "duplicate_dials",
    ] {
        assert_eq!(mismatches[kind], 0, "{kind}: {stdout}");
    }
    assert!(mismatches.values().all(|n| n == 0), "{stdout}");
    assert!(output.status.success(), "{stdout}");
    // A day's worth: ~2,000 calls (10 per seat-hour), their events, latencies measured.
    assert!(report["calls"].as_u64() > Some(1_000), "{stdout}");
    assert!(report["events"].as_u64() > Some(4_000), "{stdout}");
    assert!(report["events_per_s"].as_f64() > Some(50.0), "{stdout}");
    assert!(report["latency_samples"].as_u64() > Some(1_000), "{stdout}");
    assert_eq!(
        report["faults"].as_array().map(Vec::len),
        Some(8),
        "{stdout}"
    );
}

/// A checked run's stdout, and its report (its last line, JSON).
fn report_of(output: &std::process::Output) -> (String, Value) {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let report = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the last line is the report ({e}): {stdout}"));
    (stdout, report)
}
