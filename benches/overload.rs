//! Overload: the release binary, flooded with open-loop load at twice the rate it sustains.
//!
//! Each engine runs three phases: closed-loop for `OVERLOAD_MEASURE_S` (64 connections as fast
//! as it answers: the sustainable rate R), open-loop at 2·R for `OVERLOAD_FLOOD_S` (a request
//! scheduled every 1/(2R) s whatever came back — as providers send), then open-loop at R/2 for
//! `OVERLOAD_CALM_S`. Every request is a signed Twilio `completed` callback of a new call. It
//! reports, per phase, what was acknowledged, what was shed (503 `overloaded`), the response
//! times measured from each request's scheduled time, and the engine's peak RSS (from /proc).
//! The baseline, in the same run: the same engine with shedding off (`SWITCHBOARD_MAX_IN_FLIGHT`
//! and `_PER_ORG` = 10⁶), which queues the flood instead.
//!
//! `cargo bench --bench overload` (env: `OVERLOAD_MEASURE_S` 5, `OVERLOAD_FLOOD_S` 10,
//! `OVERLOAD_CALM_S` 5).

#[path = "common/process.rs"]
mod process;

use process::{fresh_sqlite, EngineProcess as Engine, TWILIO_TOKEN as TOKEN};
use std::time::{Duration, Instant};
use switchboard::providers::{form_pairs, twilio};

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

/// What one phase saw.
#[derive(Default)]
struct Phase {
    acknowledged: usize,
    shed: usize,
    other: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
    peak_rss_mib: f64,
}

impl Phase {
    fn row(&mut self, name: &str) -> String {
        self.latencies.sort();
        let pick = |p: f64| {
            self.latencies
                .get(
                    ((self.latencies.len() as f64 * p) as usize)
                        .min(self.latencies.len().saturating_sub(1)),
                )
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let secs = self.elapsed.as_secs_f64();
        format!(
            "{name:<44} {:>9.0} {:>9.0} {:>7} {:>9.1} {:>9.1} {:>9.1}",
            self.acknowledged as f64 / secs,
            self.shed as f64 / secs,
            self.other,
            pick(0.5),
            pick(0.99),
            self.peak_rss_mib
        )
    }
}

/// Signed callbacks for new calls, numbered from `first`.
struct Callbacks {
    path: String,
    url: String,
    next: u64,
    prefix: String,
}

impl Callbacks {
    fn next(&mut self) -> (String, String) {
        self.next += 1;
        let body = format!(
            "CallSid=CA{}{:020}&AccountSid=ACbench&From=%2B15550001111&To=%2B15550002222\
&Direction=outbound-api&CallStatus=completed&SequenceNumber=3&CallDuration=61\
&Timestamp=Tue%2C%2004%20Mar%202025%2010%3A01%3A00%20%2B0000",
            self.prefix, self.next
        );
        let signature = twilio::signature(TOKEN, &self.url, &form_pairs(body.as_bytes()));
        (body, signature)
    }
}

async fn send(
    client: &awc::Client,
    base: &str,
    path: &str,
    body: String,
    signature: String,
) -> u16 {
    match client
        .post(format!("{base}{path}"))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .insert_header(("X-Twilio-Signature", signature))
        .send_body(body)
        .await
    {
        Ok(mut resp) => {
            // Read to the end, so the connection is kept and reused.
            let _ = resp.body().await;
            resp.status().as_u16()
        }
        Err(_) => 0,
    }
}

fn record(phase: &mut Phase, status: u16, latency: Duration) {
    match status {
        200 => {
            phase.acknowledged += 1;
            phase.latencies.push(latency);
        }
        503 => phase.shed += 1,
        _ => phase.other += 1,
    }
}

/// As fast as 64 connections are answered, for `length`.
async fn closed_loop(
    engine: &Engine,
    client: &awc::Client,
    callbacks: &mut Callbacks,
    length: Duration,
) -> Phase {
    use std::cell::RefCell;
    let phase = RefCell::new(Phase::default());
    let callbacks = RefCell::new(callbacks);
    let started = Instant::now();
    let workers = (0..64).map(|_| async {
        while started.elapsed() < length {
            let (body, signature) = callbacks.borrow_mut().next();
            let at = Instant::now();
            let path = callbacks.borrow().path.clone();
            let status = send(client, &engine.base, &path, body, signature).await;
            record(&mut phase.borrow_mut(), status, at.elapsed());
        }
    });
    futures_util::future::join_all(workers).await;
    let mut phase = phase.into_inner();
    phase.elapsed = started.elapsed();
    phase.peak_rss_mib = engine.rss_mib();
    phase
}

/// One request every 1/`rate` s for `length`, whatever came back.
async fn open_loop(
    engine: &Engine,
    client: &awc::Client,
    callbacks: &mut Callbacks,
    rate: f64,
    length: Duration,
) -> Phase {
    use std::cell::RefCell;
    use std::rc::Rc;
    let phase = Rc::new(RefCell::new(Phase::default()));
    let started = Instant::now();
    let mut scheduled = 0u64;
    let mut tasks = Vec::new();
    let mut sampled = Instant::now();
    while started.elapsed() < length {
        let due = (started.elapsed().as_secs_f64() * rate) as u64;
        while scheduled < due {
            scheduled += 1;
            let at = started + Duration::from_secs_f64(scheduled as f64 / rate);
            let (body, signature) = callbacks.next();
            let (client, base, path, phase) = (
                client.clone(),
                engine.base.clone(),
                callbacks.path.clone(),
                phase.clone(),
            );
            tasks.push(actix_web::rt::spawn(async move {
                let status = send(&client, &base, &path, body, signature).await;
                record(&mut phase.borrow_mut(), status, at.elapsed());
            }));
        }
        if sampled.elapsed() > Duration::from_millis(250) {
            let rss = engine.rss_mib();
            let mut phase = phase.borrow_mut();
            phase.peak_rss_mib = phase.peak_rss_mib.max(rss);
            sampled = Instant::now();
        }
        actix_web::rt::time::sleep(Duration::from_millis(1)).await;
    }
    for task in tasks {
        let _ = task.await;
    }
    let rss = engine.rss_mib();
    let mut phase = Rc::try_unwrap(phase).ok().unwrap().into_inner();
    phase.elapsed = started.elapsed();
    phase.peak_rss_mib = phase.peak_rss_mib.max(rss);
    phase
}

async fn run(name: &str, extra: &[(&str, &str)]) {
    let mut env = vec![("SWITCHBOARD_CALL_GRACE_S", "1"), ("RUST_LOG", "info")];
    env.extend_from_slice(extra);
    let engine = Engine::start(&fresh_sqlite("sb_overload"), &env);
    let client = awc::Client::builder()
        .connector(awc::Connector::new().limit(4000))
        .timeout(Duration::from_secs(60))
        .finish();
    engine.ready_within(&client, Duration::from_secs(30)).await;
    let (org_id, _) = engine.twilio_org(&client, "bench").await;
    let path = format!("/webhooks/twilio/{org_id}/status");
    let mut callbacks = Callbacks {
        url: format!("{}{path}", engine.base),
        path,
        next: 0,
        prefix: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
    };
    let mut measured = closed_loop(
        &engine,
        &client,
        &mut callbacks,
        env_secs("OVERLOAD_MEASURE_S", 5),
    )
    .await;
    let rate = measured.acknowledged as f64 / measured.elapsed.as_secs_f64();
    println!("{}", measured.row(&format!("{name}: closed loop (R)")));
    let mut flood = open_loop(
        &engine,
        &client,
        &mut callbacks,
        2.0 * rate,
        env_secs("OVERLOAD_FLOOD_S", 10),
    )
    .await;
    println!(
        "{}",
        flood.row(&format!("{name}: 2·R = {:.0}/s offered", 2.0 * rate))
    );
    let mut calm = open_loop(
        &engine,
        &client,
        &mut callbacks,
        rate / 2.0,
        env_secs("OVERLOAD_CALM_S", 5),
    )
    .await;
    println!(
        "{}",
        calm.row(&format!("{name}: R/2 = {:.0}/s offered", rate / 2.0))
    );
}

fn main() {
    println!(
        "{:<44} {:>9} {:>9} {:>7} {:>9} {:>9} {:>9}",
        "phase", "acked/s", "shed/s", "other", "p50 ms", "p99 ms", "RSS MiB"
    );
    actix_web::rt::System::new().block_on(async {
        run("shedding (default)", &[]).await;
        run(
            "baseline: no shedding",
            &[
                ("SWITCHBOARD_MAX_IN_FLIGHT", "1000000"),
                ("SWITCHBOARD_MAX_IN_FLIGHT_PER_ORG", "1000000"),
            ],
        )
        .await;
    });
}
