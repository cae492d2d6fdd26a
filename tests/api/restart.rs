//! `kill -9` and restart: nothing acknowledged is lost, live calls come back.

use crate::helpers::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running engine process, killed (`SIGKILL`) when dropped, so a failed test leaves none
/// behind; with everything it logged so far.
pub struct Engine(pub Child, pub Arc<Mutex<String>>);

impl Engine {
    /// What the process wrote to stderr (its logs) until now.
    pub fn logs(&self) -> String {
        self.1.lock().unwrap().clone()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real binary, serving on a free port, with every stuck-call deadline at `ring_deadline_s`;
/// answers the process and its base URL.
pub fn start_engine(database_url: &str, ring_deadline_s: u32) -> (Engine, String) {
    start_engine_with(database_url, ring_deadline_s, &[("RUST_LOG", "info")])
}

/// [`start_engine`] with more environment (`RUST_LOG`, settings).
pub fn start_engine_with(
    database_url: &str,
    ring_deadline_s: u32,
    env: &[(&str, &str)],
) -> (Engine, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("SWITCHBOARD_RING_DEADLINE_S", ring_deadline_s.to_string())
        .env("SWITCHBOARD_TALK_DEADLINE_S", ring_deadline_s.to_string())
        .env("SWITCHBOARD_WRAPUP_DEADLINE_S", ring_deadline_s.to_string())
        .env("SWITCHBOARD_BIND", "127.0.0.1:0")
        .env("SWITCHBOARD_ADMIN_TOKEN", ADMIN_TOKEN)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let logs = Arc::new(Mutex::new(String::new()));
    let written = logs.clone();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut logs = written.lock().unwrap();
            logs.push_str(&line);
            logs.push('\n');
            drop(logs);
            if let Some(at) = line.find("address=") {
                let address = line[at + 8..].split_whitespace().next().unwrap().to_owned();
                if let Some(tx) = tx.take() {
                    let _ = tx.send(address);
                }
            }
        }
    });
    let address = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the engine starts");
    (Engine(child, logs), format!("http://{address}"))
}

#[actix_web::test]
async fn a_kill_9_under_load_loses_nothing_acknowledged_and_retries_double_nothing() {
    let url = database_url_text(&fresh_database());
    let (mut child, address) = start_engine(&url, 180);
    let app = TestApp::at(address).await;
    let org = app.create_org("Acme").await;

    // Calls left live (ringing) and calls taken to the end, sent concurrently; the engine is
    // killed once half of the callbacks are acknowledged, with the rest in flight.
    let mut sent = Vec::new();
    for n in 0..200u32 {
        let sid = format!("CAkill{n:04}");
        let steps = if n % 2 == 0 { 2 } else { 4 };
        sent.push((
            sid.clone(),
            twilio_sequence(&sid)
                .into_iter()
                .take(steps)
                .collect::<Vec<_>>(),
        ));
    }
    let total: usize = sent.iter().map(|(_, steps)| steps.len()).sum();
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    let acked_so_far = std::cell::Cell::new(0usize);
    let sends = sent.iter().map(|(sid, steps)| {
        let (app, org, acked_so_far) = (&app, &org, &acked_so_far);
        async move {
            let mut acked = Vec::new();
            for step in steps {
                let Ok((200, _)) = app.try_twilio_status(org, step).await else {
                    break;
                };
                acked.push((sid.clone(), step[6].1.clone()));
                acked_so_far.set(acked_so_far.get() + 1);
            }
            acked
        }
    });
    let killer = async {
        while acked_so_far.get() < total / 2 {
            actix_web::rt::time::sleep(Duration::from_millis(1)).await;
        }
        child.0.kill().unwrap();
        child.0.wait().unwrap();
    };
    let (results, ()) =
        futures_util::future::join(futures_util::future::join_all(sends), killer).await;
    for acked in results {
        acknowledged.extend(acked);
    }
    // Anything not acknowledged before the kill may or may not be there; what was, must be.
    eprintln!(
        "{} of {total} callbacks acknowledged before the kill",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() < total,
        "the kill came after everything was acknowledged"
    );

    // Restarted with a short ring deadline: recovered live calls get their timers back.
    let (child, address) = start_engine(&url, 2);
    let app = TestApp::at(address).await;

    // Every acknowledged callback is in the WebSocket replay from the start of the log.
    let mut replay = app.ws(&org.api_token, Some(0)).await;
    let mut replayed = std::collections::HashMap::<String, usize>::new();
    while let Some(event) = replay.next_within(Duration::from_millis(500)).await {
        if let Some(sid) = event["data"]["provider_call_id"].as_str() {
            *replayed.entry(sid.to_owned()).or_default() += 1;
        }
    }
    for (sid, _) in &sent {
        let acked = acknowledged.iter().filter(|(s, _)| s == sid).count();
        let seen = replayed.get(sid).copied().unwrap_or(0);
        assert!(
            seen >= acked,
            "{sid}: {acked} acknowledged, {seen} replayed"
        );
    }

    // The load generator retries everything it sent; nothing is applied twice.
    let retries = sent.iter().map(|(sid, steps)| {
        let (app, org, acknowledged) = (&app, &org, &acknowledged);
        async move {
            for step in steps {
                let (status, body) = app.twilio_status(org, step).await;
                assert_eq!(status, 200, "{body}");
                if acknowledged.contains(&(sid.clone(), step[6].1.clone())) {
                    assert_eq!(body["status"], "duplicate", "{sid} {}", step[6].1);
                }
            }
        }
    });
    futures_util::future::join_all(retries).await;
    for (sid, word) in &acknowledged {
        let calls = app
            .get(
                &format!("/api/v1/calls?provider_call_id={sid}"),
                &org.api_token,
            )
            .await;
        let call_id = calls["items"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{sid} lost"))
            .to_owned();
        let timeline = app
            .get(&format!("/api/v1/calls/{call_id}/events"), &org.api_token)
            .await;
        let words: Vec<&Value> = timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["raw_status"])
            .collect();
        assert_eq!(
            words.iter().filter(|w| w.as_str() == Some(word)).count(),
            1,
            "{sid} {word} lost or doubled: {words:?}"
        );
    }
    // The engine keeps going where it was: the rest of a live call's sequence applies.
    let (sid, steps) = &sent[0];
    for step in twilio_sequence(sid).iter().skip(steps.len()) {
        let (status, _) = app.twilio_status(&org, step).await;
        assert_eq!(status, 200);
    }
    let calls = app
        .get(
            &format!("/api/v1/calls?provider_call_id={sid}"),
            &org.api_token,
        )
        .await;
    assert_eq!(calls["items"][0]["status"], "completed");
    assert_eq!(calls["items"][0]["duration_s"], 70);

    // A call left ringing before the kill is reconciled by its recovered deadline.
    let (ringing_sid, _) = acknowledged
        .iter()
        .find(|(sid, word)| {
            word == "ringing"
                && sid != &sent[0].0
                && sent.iter().any(|(s, steps)| s == sid && steps.len() == 2)
        })
        .expect("a call acknowledged as ringing");
    let path = format!("/api/v1/calls?provider_call_id={ringing_sid}");
    let mut status = Value::Null;
    for _ in 0..100 {
        status = app.get(&path, &org.api_token).await["items"][0]["status"].clone();
        if status == "failed" {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "failed", "the recovered call was reconciled");
    drop(child);
}
