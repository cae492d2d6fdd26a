//! Webhook → dashboard delivery: the release binary as its own process, signed Twilio callbacks
//! sent open-loop at a fixed rate (each a new call: one `call:created` per callback), N dashboard
//! WebSockets of the org connected; for every callback and every session, the time from the
//! callback's scheduled send to that session receiving its event.
//!
//! Two scenarios, as the durable-path issue states its goals: 5,000 events/s with 10 sessions, and
//! 100 events/s with 1,000 sessions (`DELIVERY_SECONDS` each, default 5). The load generator, the
//! sessions' clients and the engine share the machine's cores.
//!
//! `cargo bench --bench delivery`.

#[path = "common/process.rs"]
mod process;

use process::{fresh_sqlite, EngineProcess as Engine, TWILIO_TOKEN as TOKEN};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};
use switchboard::providers::{form_pairs, twilio};

fn seconds() -> f64 {
    std::env::var("DELIVERY_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5.0)
}

async fn run(rate: f64, sessions: usize) {
    use futures_util::StreamExt;
    let engine = Engine::start(
        &fresh_sqlite("sb_delivery"),
        &[
            ("RUST_LOG", "warn,switchboard=info"),
            ("SWITCHBOARD_CALL_GRACE_S", "1"),
            ("SWITCHBOARD_METRICS_INTERVAL_S", "3600"),
        ],
    );
    let client = awc::Client::builder()
        .connector(awc::Connector::new().limit(2000))
        .timeout(Duration::from_secs(30))
        .finish();
    engine.ready_within(&client, Duration::from_secs(30)).await;
    let (org_id, token) = engine.twilio_org(&client, "bench").await;

    // The sessions: each records when it received each call's event.
    let ws_client = awc::Client::builder()
        .connector(awc::Connector::new().limit(0))
        .timeout(Duration::from_secs(30))
        .finish();
    let url = format!(
        "{}/api/v1/ws?token={token}",
        engine.base.replace("http", "ws")
    );
    let arrivals: Rc<RefCell<Vec<(u64, Instant)>>> = Rc::default();
    let mut readers = Vec::new();
    for _ in 0..sessions {
        let (_, mut ws) = ws_client.ws(url.as_str()).connect().await.unwrap();
        let arrivals = arrivals.clone();
        readers.push(actix_web::rt::spawn(async move {
            while let Some(Ok(frame)) = ws.next().await {
                if let awc::ws::Frame::Text(bytes) = frame {
                    // The call's number, read off the frame without parsing all of it.
                    let text = String::from_utf8_lossy(&bytes);
                    if let Some(at) = text.find("\"provider_call_id\":\"CAdl") {
                        let digits: String = text[at + 24..]
                            .chars()
                            .take_while(char::is_ascii_digit)
                            .collect();
                        if let Ok(n) = digits.parse() {
                            arrivals.borrow_mut().push((n, Instant::now()));
                        }
                    }
                }
            }
        }));
    }

    let path = format!("/webhooks/twilio/{org_id}/status");
    let signed_url = format!("{}{path}", engine.base);
    let sent: Rc<RefCell<HashMap<u64, Instant>>> = Rc::default();
    let refused: Rc<std::cell::Cell<usize>> = Rc::default();
    let started = Instant::now();
    let length = Duration::from_secs_f64(seconds());
    let mut scheduled = 0u64;
    let mut tasks = Vec::new();
    while started.elapsed() < length {
        let due = (started.elapsed().as_secs_f64() * rate) as u64;
        while scheduled < due {
            scheduled += 1;
            let at = started + Duration::from_secs_f64(scheduled as f64 / rate);
            sent.borrow_mut().insert(scheduled, at);
            let body = format!(
                "CallSid=CAdl{scheduled:020}&AccountSid=ACbench&From=%2B15550001111&To=%2B15550002222\
&Direction=outbound-api&CallStatus=ringing&SequenceNumber=1\
&Timestamp=Tue%2C%2004%20Mar%202025%2010%3A00%3A01%20%2B0000"
            );
            let signature = twilio::signature(TOKEN, &signed_url, &form_pairs(body.as_bytes()));
            let request = client
                .post(format!("{}{path}", engine.base))
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .insert_header(("X-Twilio-Signature", signature));
            let refused = refused.clone();
            tasks.push(actix_web::rt::spawn(async move {
                match request.send_body(body).await {
                    Ok(mut resp) if resp.status() == 200 => {
                        let _ = resp.body().await;
                    }
                    // Shed or failed: no event to deliver.
                    _ => refused.set(refused.get() + 1),
                }
            }));
        }
        actix_web::rt::time::sleep(Duration::from_millis(1)).await;
    }
    for task in tasks {
        let _ = task.await;
    }
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    for reader in readers {
        reader.abort();
    }
    let sent = sent.borrow();
    let mut latencies: Vec<Duration> = arrivals
        .borrow()
        .iter()
        .filter_map(|(n, arrived)| sent.get(n).map(|s| arrived.saturating_duration_since(*s)))
        .collect();
    latencies.sort();
    let expected = (scheduled as usize - refused.get()) * sessions;
    let pick = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{:>6.0} events/s, {:>5} sessions, {:>5} not acknowledged: {:>9} of {:>9} deliveries, p50 {:>7.1} ms, p99 {:>7.1} ms, max {:>7.1} ms, engine RSS {:.0} MiB",
        scheduled as f64 / length.as_secs_f64(),
        sessions,
        refused.get(),
        latencies.len(),
        expected,
        pick(0.5),
        pick(0.99),
        pick(1.0),
        engine.rss_mib(),
    );
}

fn main() {
    actix_web::rt::System::new().block_on(async {
        run(5000.0, 10).await;
        run(100.0, 1000).await;
    });
}
