//! End-to-end ingest: many concurrent signed Twilio status callbacks against the real server
//! (real HTTP, real database), group commit against one commit per event, SQLite `NORMAL` against
//! `FULL`, and PostgreSQL when `SWITCHBOARD_BENCH_POSTGRES` names a server.
//!
//! A PBX scenario sends Yeastar call events (ring, answer, hang-up, CDR) for calls spread over
//! `INGEST_EXTENSIONS` extensions, each event moving an extension's presence, and times each CDR
//! until a dashboard WebSocket receives the call's `completed` update; a Twilio call's `completed`
//! callback is timed the same way.
//!
//! With `SWITCHBOARD_BENCH_POSTGRES`, the Node stack the engine replaces (`benches/node`: Express +
//! socket.io + PostgreSQL, one statement per change; `npm ci` there first) takes the same Twilio
//! callbacks on its own database, its dashboard a socket.io client.
//!
//! Every figure is also given as a ratio to B, a bare actix-web handler on the same path that
//! reads the same form and answers 200, measured first in the same run; CPU per event is this
//! process's (engine and load generator together), plus the Node process's for the Node stack.
//!
//! `cargo bench --bench ingest` (env: `INGEST_CALLS`, default 2500 calls × 4 events;
//! `INGEST_CONCURRENCY`, default 64 connections; `INGEST_EXTENSIONS`, default 500; `INGEST_ONLY`,
//! the scenarios whose name holds that text, e.g. to profile one).

use std::time::{Duration, Instant};
use switchboard::config::Settings;
use switchboard::db::{DatabaseUrl, SqliteSync};
use switchboard::metrics::METRICS;
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

/// B, the baseline: a bare actix-web handler on the same path that reads the same form and
/// answers 200, in this process on its own thread, like the engine.
fn start_baseline() -> String {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| {
                App::new().route(
                    "/webhooks/twilio/{org}/status",
                    web::post().to(|body: web::Bytes| async move {
                        let pairs = form_pairs(&body);
                        let sid = pairs
                            .iter()
                            .find(|(k, _)| k == "CallSid")
                            .map(|(_, v)| v.clone());
                        HttpResponse::Ok()
                            .json(serde_json::json!({"status": "accepted", "call_id": sid}))
                    }),
                )
            })
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0].port()).unwrap();
            server.run().await.unwrap();
        })
    });
    format!("http://127.0.0.1:{}", rx.recv().unwrap())
}

/// CPU time a process (`self`, or a child's pid) has used so far.
fn cpu_time(process: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{process}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// The Node stack (`benches/node/server.js`) on a fresh PostgreSQL database, when its packages
/// are installed (`npm ci` there); answers its base URL and the process, killed on drop.
struct NodeStack {
    base: String,
    child: std::process::Child,
}

const NODE_API_TOKEN: &str = "bench-node-dashboard";

impl NodeStack {
    fn start(server: &str) -> Option<NodeStack> {
        use diesel::{Connection, RunQueryDsl};
        use std::io::BufRead;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/node");
        if !dir.join("node_modules").exists() {
            println!("(the Node stack is skipped: run `npm ci` in benches/node to include it)");
            return None;
        }
        let name = format!("sb_bench_node_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel::PgConnection::establish(&format!("{server}/postgres")).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
        let mut child = std::process::Command::new("node")
            .arg("server.js")
            .current_dir(&dir)
            .env("DATABASE_URL", format!("{server}/{name}"))
            .env("TWILIO_TOKEN", TOKEN)
            .env("ORG_ID", "bench")
            .env("API_TOKEN", NODE_API_TOKEN)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take()?)
            .read_line(&mut line)
            .ok()?;
        let port = line.trim().strip_prefix("listening ")?.to_owned();
        Some(NodeStack {
            base: format!("http://127.0.0.1:{port}"),
            child,
        })
    }
}

impl Drop for NodeStack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Report {
    events: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// Event → WebSocket: a CDR sent → its call's `completed` update received by a dashboard.
    ws_latencies: Vec<Duration>,
}

/// One prepared webhook request; `marks` names the PBX call whose CDR it is.
struct Request {
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    marks: Option<String>,
}

/// Creates the bench org with one provider account; answers its id and api token.
async fn setup_org(
    client: &awc::Client,
    base: &str,
    provider: &str,
    credentials: serde_json::Value,
) -> (String, String) {
    let mut resp = client
        .post(format!("{base}/api/v1/orgs"))
        .insert_header(("Authorization", "Bearer bench-admin"))
        .send_json(&serde_json::json!({"name": "bench"}))
        .await
        .unwrap();
    let org: serde_json::Value = resp.json().await.unwrap();
    let api_token = org["api_token"].as_str().unwrap().to_owned();
    let status = client
        .put(format!("{base}/api/v1/providers/{provider}"))
        .insert_header(("Authorization", format!("Bearer {api_token}")))
        .send_json(&credentials)
        .await
        .unwrap()
        .status();
    assert!(status.is_success());
    (org["org_id"].as_str().unwrap().to_owned(), api_token)
}

/// Twilio: each call initiated → ringing → in-progress → completed, signed.
fn twilio_requests(
    base: &str,
    org_id: &str,
    calls: usize,
    concurrency: usize,
) -> Vec<Vec<Request>> {
    let path = format!("/webhooks/twilio/{org_id}/status");
    let url = format!("{base}{path}");
    let mut requests: Vec<Vec<Request>> = (0..concurrency).map(|_| Vec::new()).collect();
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
            requests[n % concurrency].push(Request {
                path: path.clone(),
                headers: vec![
                    ("Content-Type", "application/x-www-form-urlencoded".into()),
                    ("X-Twilio-Signature", signature),
                ],
                body: body.into_bytes(),
                marks: (*word == "completed").then(|| format!("CAbench{n:026}")),
            });
        }
    }
    requests
}

/// Yeastar: each inbound call rings an extension (of `extensions`), is answered, hangs up and
/// gets its CDR; every event signed, every one moving the extension's presence.
fn pbx_requests(
    org_id: &str,
    calls: usize,
    extensions: usize,
    concurrency: usize,
) -> Vec<Vec<Request>> {
    use base64::Engine as _;
    use hmac::Mac;
    let path = format!("/webhooks/yeastar/{org_id}");
    let sign = |body: &[u8]| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(TOKEN.as_bytes()).unwrap();
        mac.update(body);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    };
    let mut requests: Vec<Vec<Request>> = (0..concurrency).map(|_| Vec::new()).collect();
    for n in 0..calls {
        let call_id = format!("1700000000.{n}");
        let ext = format!("{}", 1000 + n % extensions);
        let state = |trunk: &str, member: &str| {
            serde_json::json!({"type": 30011, "sn": "BENCH", "msg": serde_json::json!({"call_id": call_id, "members": [
                {"inbound": {"from": "09876543210", "to": "8035739222", "member_status": trunk}},
                {"extension": {"number": ext, "member_status": member}}
            ]}).to_string()})
        };
        let cdr = serde_json::json!({"type": 30012, "sn": "BENCH", "msg": serde_json::json!({
            "call_id": call_id, "time_start": "2025-03-04 10:00:00", "call_from": "09876543210", "call_to": ext,
            "call_duration": 70, "talk_duration": 61, "status": "ANSWERED", "type": "Inbound"}).to_string()});
        let events = [
            state("ALERT", "RING"),
            state("ANSWERED", "ANSWER"),
            state("BYE", "BYE"),
            cdr,
        ];
        for (i, event) in events.iter().enumerate() {
            let body = event.to_string().into_bytes();
            requests[n % concurrency].push(Request {
                path: path.clone(),
                headers: vec![
                    ("Content-Type", "application/json".into()),
                    ("X-Signature", sign(&body)),
                ],
                body,
                marks: (i == 3).then(|| call_id.clone()),
            });
        }
    }
    requests
}

/// The dashboard connection `fire` listens on: the engine's WebSocket, or socket.io's (the Node
/// stack's), both with the org's api token.
enum Dashboard {
    Engine(String),
    SocketIo(String),
}

/// Sends every worker's requests in order, the workers concurrently; a dashboard WebSocket
/// listens meanwhile and times each marked call's `completed` update.
async fn fire(
    client: &awc::Client,
    base: &str,
    dashboard: Option<Dashboard>,
    requests: Vec<Vec<Request>>,
) -> Report {
    use futures_util::{SinkExt, StreamExt};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let received: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let ws_base = base.replace("http", "ws");
    let (ws_url, socket_io) = match &dashboard {
        Some(Dashboard::Engine(token)) => (format!("{ws_base}/api/v1/ws?token={token}"), false),
        Some(Dashboard::SocketIo(token)) => (
            format!("{ws_base}/socket.io/?EIO=4&transport=websocket&token={token}"),
            true,
        ),
        None => (String::new(), false), // B has no WebSocket
    };
    let mut ws = match dashboard {
        None => None,
        Some(_) => Some(
            client
                .ws(ws_url)
                .max_frame_size(1 << 24)
                .connect()
                .await
                .unwrap()
                .1,
        ),
    };
    if let (Some(ws), true) = (&mut ws, socket_io) {
        // socket.io: join the default namespace.
        ws.send(awc::ws::Message::Text("40".into())).await.unwrap();
    }
    let arrivals = received.clone();
    let listener = actix_web::rt::spawn(async move {
        let Some(mut ws) = ws else { return };
        while let Some(Ok(frame)) = ws.next().await {
            let awc::ws::Frame::Text(bytes) = frame else {
                continue;
            };
            let event: serde_json::Value = if socket_io {
                match bytes.as_ref() {
                    b"2" => {
                        // socket.io's ping.
                        let _ = ws.send(awc::ws::Message::Text("3".into())).await;
                        continue;
                    }
                    [b'4', b'2', rest @ ..] => serde_json::from_slice::<serde_json::Value>(rest)
                        .map(|packet| packet[1].clone())
                        .unwrap_or_default(),
                    _ => continue,
                }
            } else {
                serde_json::from_slice(&bytes).unwrap_or_default()
            };
            if event["type"] == "call:updated" && event["data"]["status"] == "completed" {
                if let Some(id) = event["data"]["provider_call_id"].as_str() {
                    arrivals
                        .lock()
                        .unwrap()
                        .insert(id.to_owned(), Instant::now());
                }
            }
        }
    });
    let events: usize = requests.iter().map(Vec::len).sum();
    let marked = requests
        .iter()
        .flatten()
        .filter(|r| r.marks.is_some())
        .count();
    let started = Instant::now();
    let workers = requests.into_iter().map(|batch| {
        let (client, sent) = (client.clone(), sent.clone());
        async move {
            let mut latencies = Vec::with_capacity(batch.len());
            for request in batch {
                let mut req = client.post(format!("{base}{}", request.path));
                for (name, value) in &request.headers {
                    req = req.insert_header((*name, value.as_str()));
                }
                let at = Instant::now();
                if let Some(call) = &request.marks {
                    sent.lock().unwrap().insert(call.clone(), at);
                }
                let mut resp = req.send_body(request.body).await.unwrap();
                assert_eq!(resp.status(), 200);
                // Read to the end, so the connection is kept and reused.
                resp.body().await.unwrap();
                latencies.push(at.elapsed());
            }
            latencies
        }
    });
    let latencies: Vec<Duration> = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .flatten()
        .collect();
    let elapsed = started.elapsed();
    for _ in 0..200 {
        if received.lock().unwrap().len() >= marked {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    listener.abort();
    let sent = sent.lock().unwrap();
    let ws_latencies = received
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(call, arrived)| {
            sent.get(call)
                .map(|s| arrived.saturating_duration_since(*s))
        })
        .collect();
    Report {
        events,
        elapsed,
        latencies,
        ws_latencies,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// What one row of the table measures.
enum Target {
    /// B, the bare handler.
    Baseline,
    /// The engine on a scenario's database, with Twilio callbacks or (`pbx`) Yeastar events.
    Engine { scenario: Scenario, pbx: bool },
    /// The Node stack on PostgreSQL (the server it runs on).
    Node(String),
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let calls = env_number("INGEST_CALLS", 2500);
    let concurrency = env_number("INGEST_CONCURRENCY", 64);
    let extensions = env_number("INGEST_EXTENSIONS", 500);
    println!("ingest: {calls} calls x 4 signed webhooks, {concurrency} concurrent connections");
    println!(
        "{:<52} {:>9} {:>6} {:>8} {:>8} {:>8} {:>7} {:>7} {:>10}",
        "scenario", "events/s", "x B", "p50 ms", "p99 ms", "p99.9", "batch", "CPU µs", "ws p50/p99"
    );
    let baseline = start_baseline();
    let mut b_rate = f64::NAN;
    let mut runs: Vec<(String, Target)> = vec![(
        "B: bare actix-web handler, same form".into(),
        Target::Baseline,
    )];
    for scenario in scenarios() {
        let name = format!("Twilio, {}", scenario.name);
        runs.push((
            name,
            Target::Engine {
                scenario,
                pbx: false,
            },
        ));
    }
    if let Ok(server) = std::env::var("SWITCHBOARD_BENCH_POSTGRES") {
        let name = "Twilio, Node: Express + socket.io + PostgreSQL";
        runs.push((name.into(), Target::Node(server)));
    }
    for scenario in scenarios()
        .into_iter()
        .filter(|s| s.max_batch > 1 && s.sync == SqliteSync::Normal)
    {
        let name = format!("Yeastar {extensions} ext, {}", scenario.name);
        runs.push((
            name,
            Target::Engine {
                scenario,
                pbx: true,
            },
        ));
    }
    // `INGEST_ONLY=text`: the scenarios whose name holds it (and B), e.g. to profile one.
    let only = std::env::var("INGEST_ONLY").unwrap_or_default();
    let runs = runs
        .into_iter()
        .filter(|(name, target)| matches!(target, Target::Baseline) || name.contains(&only));
    for (name, target) in runs {
        let node = match &target {
            Target::Node(server) => match NodeStack::start(server) {
                Some(node) => Some(node),
                None => continue,
            },
            _ => None,
        };
        let base = match (&target, &node) {
            (Target::Engine { scenario, .. }, _) => start_server(scenario),
            (_, Some(node)) => node.base.clone(),
            _ => baseline.clone(),
        };
        let child = node.as_ref().map(|n| n.child.id().to_string());
        let cpu = || cpu_time("self") + child.as_deref().map(cpu_time).unwrap_or_default();
        let cpu_before = cpu();
        // The server runs in this process: its counters tell how many requests each commit took.
        let (requests, transactions) = (
            METRICS.writer_requests.get(),
            METRICS.writer_transactions.get(),
        );
        let mut report = actix_web::rt::System::new().block_on(async {
            let client = awc::Client::builder()
                .timeout(Duration::from_secs(60))
                .connector(awc::Connector::new().limit(concurrency + 1))
                .finish();
            let (prepared, dashboard) = match &target {
                Target::Baseline => (twilio_requests(&base, "bench", calls, concurrency), None),
                Target::Node(_) => (
                    twilio_requests(&base, "bench", calls, concurrency),
                    Some(Dashboard::SocketIo(NODE_API_TOKEN.into())),
                ),
                Target::Engine { pbx: true, .. } => {
                    let secret = serde_json::json!({"webhook_secret": TOKEN});
                    let (org_id, token) = setup_org(&client, &base, "yeastar", secret).await;
                    (
                        pbx_requests(&org_id, calls, extensions, concurrency),
                        Some(Dashboard::Engine(token)),
                    )
                }
                Target::Engine { pbx: false, .. } => {
                    let credentials = serde_json::json!({"account_sid": "ACbench", "auth_token": TOKEN, "from_number": "+15550000000"});
                    let (org_id, token) = setup_org(&client, &base, "twilio", credentials).await;
                    (
                        twilio_requests(&base, &org_id, calls, concurrency),
                        Some(Dashboard::Engine(token)),
                    )
                }
            };
            fire(&client, &base, dashboard, prepared).await
        });
        // Requests per commit: the engine's writer only (B and the Node stack have none).
        let batch = match target {
            Target::Engine { .. } => format!(
                "{:.1}",
                (METRICS.writer_requests.get() - requests) as f64
                    / (METRICS.writer_transactions.get() - transactions).max(1) as f64
            ),
            _ => "-".to_owned(),
        };
        report.latencies.sort();
        report.ws_latencies.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let ws = if report.ws_latencies.is_empty() {
            "-".to_owned()
        } else {
            format!(
                "{:.1}/{:.1}",
                ms(percentile(&report.ws_latencies, 0.50)),
                ms(percentile(&report.ws_latencies, 0.99))
            )
        };
        let rate = report.events as f64 / report.elapsed.as_secs_f64();
        if matches!(target, Target::Baseline) {
            b_rate = rate;
        }
        let cpu_per_event = (cpu() - cpu_before).as_secs_f64() * 1e6 / report.events as f64;
        println!(
            "{:<52} {:>9.0} {:>6.3} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>7.0} {:>10}",
            name,
            rate,
            rate / b_rate,
            ms(percentile(&report.latencies, 0.50)),
            ms(percentile(&report.latencies, 0.99)),
            ms(percentile(&report.latencies, 0.999)),
            batch,
            cpu_per_event,
            ws,
        );
    }
}
