//! `switchboard demo`: the engine on its own SQLite file, a demo org whose Twilio and Yeastar
//! accounts point (by `api_base`) at the built-in simulators on loopback, and simulated traffic
//! that reaches the engine only through its webhook endpoints, signed as each provider signs. The
//! demo sets itself up as a supervisor would, through the REST API: credentials, extension names,
//! the do-not-call list, a campaign it starts, and an agent desk: a queue for the Twilio number's
//! callers, simulated agents who keep their own agent pages open and answer their offers through
//! the API (as a person's clicks would) — as many as Erlang C says the queue's traffic needs for
//! 80 % of its callers answered within 20 s, unless `--agents` says otherwise — and one agent left
//! for whoever watches: its desk link is the second line on stdout.

mod check;
pub mod simulate;

use crate::config::Settings;
use crate::db::DatabaseUrl;
use crate::domain::money::Money;
use crate::domain::staffing;
use crate::engine::{billing, orgs};
use crate::sim::agents::{AgentHabits, SimulatedAgent};
use crate::sim::dice::Dice;
use crate::sim::pbx::{Gap, PbxSim};
use crate::sim::providers::{
    CallbackFaults, FakeProviders, Script, TwilioLine, TwilioPlay, CALLER_TALK_S,
};
use crate::sim::truth::{TrueRate, Truth};
use crate::startup::Application;
use serde_json::{json, Value};
use std::io::Write;
use std::time::Duration;

/// The demo org's name (reused, with new tokens, on every run over the same database).
pub const DEMO_ORG: &str = "Switchboard demo";
/// The demo org's country: its simulated PBX writes Indian numbers in their national form.
pub const DEMO_COUNTRY: &str = "IN";
/// The credits the demo org is topped up with at each start, and its low-balance warning.
pub const DEMO_CREDITS: &str = "5.00";
const DEMO_LOW_CREDITS: &str = "1.00";

/// How much traffic, how fast.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The demo's own database (an SQLite file unless told otherwise).
    pub database: DatabaseUrl,
    pub extensions: u32,
    pub calls_per_minute: f64,
    /// Multiplies the rate and divides ring and talk times.
    pub speed: f64,
    /// Simulated agents of the Support queue; None: as many as its traffic needs ([`sized_agents`]).
    pub agents: Option<u32>,
    /// Contacts in the sample campaign, and how many of its calls may be under way at once.
    pub campaign_contacts: u32,
    pub campaign_concurrency: u32,
    /// The credits the org is topped up with at the start (a decimal); when they run out the
    /// campaign pauses, as a real one would.
    pub credits: String,
    /// After this much traffic, close the floor, let every call end, compare the board with what
    /// the simulators did ([`check`]), print the report and stop (None: run until stopped).
    pub check_after: Option<Duration>,
    /// What goes wrong on purpose.
    pub faults: Faults,
}

/// What goes wrong on a simulated floor, on purpose.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Shares of PBX calls whose BYE, and whose CDR, never arrive (each on its own).
    pub lost_bye: f64,
    pub lost_cdr: f64,
    /// Twilio callbacks delivered twice, or two of a call's the other way round.
    pub callbacks: CallbackFaults,
    /// A time the PBX's webhooks go quiet (its calls go on): the resync must repair it.
    pub pbx_gap: Option<Gap>,
    /// A dashboard that connects and never reads: the engine must drop it, not wait for it.
    pub slow_dashboard: bool,
    /// When the engine is restarted (SIGTERM, then started again on the same database and
    /// address, as a deploy does); only an engine in a child process can be (`simulate`).
    pub restart_at: Option<Duration>,
    /// A time the database cannot store (its write lock held by another connection for longer
    /// than the engine waits for it): the engine must answer 503, never 2xx, and lose nothing it
    /// acknowledged; only with the engine in a child process (`simulate`).
    pub db_outage: Option<Gap>,
}

impl Faults {
    /// What the demo always has: now and then a lost BYE or CDR, as a real PBX loses them.
    pub fn demo() -> Self {
        Faults {
            lost_bye: 0.03,
            lost_cdr: 0.05,
            ..Faults::default()
        }
    }

    /// The faults played, in words (for the report).
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        let share = |what: &str, share: f64| format!("{what} {:.0} %", share * 100.0);
        if self.lost_bye > 0.0 {
            names.push(share("PBX BYE lost", self.lost_bye));
        }
        if self.lost_cdr > 0.0 {
            names.push(share("PBX CDR lost", self.lost_cdr));
        }
        if self.callbacks.duplicate > 0.0 {
            names.push(share(
                "Twilio callbacks sent twice",
                self.callbacks.duplicate,
            ));
        }
        if self.callbacks.reorder > 0.0 {
            names.push(share(
                "Twilio calls with callbacks swapped",
                self.callbacks.reorder,
            ));
        }
        if let Some(gap) = self.pbx_gap {
            names.push(format!(
                "PBX webhooks silent for {:.1} s from {:.1} s",
                gap.lasting.as_secs_f64(),
                gap.after.as_secs_f64()
            ));
        }
        if self.slow_dashboard {
            names.push("a dashboard that never reads".into());
        }
        if let Some(at) = self.restart_at {
            names.push(format!("the engine restarted at {:.1} s", at.as_secs_f64()));
        }
        if let Some(outage) = self.db_outage {
            names.push(format!(
                "the database refused writes for {:.1} s from {:.1} s",
                outage.lasting.as_secs_f64(),
                outage.after.as_secs_f64()
            ));
        }
        names
    }
}

/// The demo org's rate card: what its calls cost (Twilio's own price is not fetched, so the
/// rates price every call).
const RATES: [TrueRate; 5] = [
    rate("twilio", "outbound", "", 13_000, 60, 0),
    rate("twilio", "outbound", "+91", 9_000, 6, 6),
    rate("twilio", "inbound", "", 8_500, 60, 0),
    rate("yeastar", "inbound", "", 4_000, 60, 0),
    rate("yeastar", "outbound", "", 12_000, 60, 0),
];

const fn rate(
    provider: &'static str,
    direction: &'static str,
    prefix: &'static str,
    per_minute_micros: i64,
    increment_s: i64,
    minimum_s: i64,
) -> TrueRate {
    TrueRate {
        provider,
        direction,
        prefix,
        per_minute_micros,
        increment_s,
        minimum_s,
    }
}

/// The rate card as `PUT /api/v1/rates` takes it.
fn rate_card() -> Value {
    let rates: Vec<Value> = RATES
        .iter()
        .map(|r| {
            let per_minute = format!(
                "{}.{:06}",
                r.per_minute_micros / 1_000_000,
                r.per_minute_micros % 1_000_000
            );
            let mut rate = json!({"provider": r.provider, "direction": r.direction,
                "per_minute": per_minute, "increment_s": r.increment_s, "minimum_s": r.minimum_s});
            if !r.prefix.is_empty() {
                rate["prefix"] = json!(r.prefix);
            }
            rate
        })
        .collect();
    json!({ "rates": rates })
}

/// The talk deadline (before `--speed`): a call answered this long ago with no word of its end
/// is closed by the engine.
const TALK_DEADLINE_S: f64 = 400.0;

/// Contacts sent per request when the campaign is made.
const CONTACTS_PER_REQUEST: usize = 10_000;

/// The campaign's attempts per contact.
const MAX_ATTEMPTS: u64 = 2;
/// One contact in this many is on the do-not-call list.
const DNC_EVERY: usize = 25;

/// Shares of `--calls-per-minute`: the office PBX's calls, callers of the Twilio number (the
/// Support queue), and the campaign's pace (a ceiling: its concurrency of 5 usually limits it).
const PBX_SHARE: f64 = 0.45;
const QUEUE_SHARE: f64 = 0.20;
const CAMPAIGN_SHARE: f64 = 0.35;
/// The Support queue's service level: `SLA_TARGET` of its callers answered within `SLA_S`.
const SLA_S: i64 = 20;
const SLA_TARGET: f64 = 0.8;
/// The Support queue's wrap-up after each call (before `--speed`).
const WRAP_UP_S: f64 = 10.0;
/// How the simulated agents work (times before `--speed`).
const HABITS: AgentHabits = AgentHabits {
    think_s: (1, 4),
    rejects: 0.05,
    back_after_s: (5, 20),
    speed: 1.0,
};
/// What an offer costs beyond the agent's think time: the agent's page hearing it, the connect.
const OFFER_LATENCY_S: f64 = 1.0;

/// The agents the Support queue needs for its callers at `calls_per_minute` (Erlang C, for
/// [`SLA_TARGET`] answered within [`SLA_S`]): each caller holds an agent for the talk, the
/// wrap-up and the moments of an offer. The same at every `--speed` (rates and times scale
/// together).
pub fn sized_agents(calls_per_minute: f64) -> u32 {
    let arrivals_per_s = calls_per_minute * QUEUE_SHARE / 60.0;
    let mean = |(low, high): (u64, u64)| (low + high) as f64 / 2.0;
    let handle_s = mean(CALLER_TALK_S) + WRAP_UP_S + mean(HABITS.think_s) + OFFER_LATENCY_S;
    staffing::agents_for(arrivals_per_s, handle_s, SLA_S as f64, SLA_TARGET)
}

const NAMES: [&str; 12] = [
    "Asha", "Ravi", "Meera", "Arjun", "Priya", "Kabir", "Neha", "Vikram", "Anita", "Rohan",
    "Divya", "Sameer",
];

/// Runs the demo until SIGINT or SIGTERM. The first line on stdout is the dashboard's URL.
pub fn run(mut settings: Settings, options: DemoOptions) -> Result<(), String> {
    if !(options.speed > 0.0 && options.speed.is_finite()) {
        return Err("--speed must be a positive number".into());
    }
    if !(options.calls_per_minute > 0.0 && options.calls_per_minute.is_finite()) {
        return Err("--calls-per-minute must be a positive number".into());
    }
    if options.agents == Some(0) {
        return Err("--agents must be at least 1".into());
    }
    if options.faults.restart_at.is_some() || options.faults.db_outage.is_some() {
        return Err(
            "an engine in this process cannot be restarted or cut off: use `simulate`".into(),
        );
    }
    let speed = options.speed;
    settings.database_url = options.database.clone();
    // The simulators call the engine where it listens.
    settings.public_url = None;
    FloorTimes::at(speed).apply(&mut settings);
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        let engine = app.engine();
        let created = orgs::reissue(&engine.pool, &engine.writer, DEMO_ORG, DEMO_COUNTRY)
            .await
            .map_err(|e| e.to_string())?;
        let credits = Money::parse(&options.credits).ok_or("the credits are not a decimal")?;
        billing::top_up(&engine, &created.org.id, credits)
            .await
            .map_err(|e| e.to_string())?;
        // A reused database: the calls its last run left live had simulated parties that
        // stopped with it; they would hold agents and extensions until their deadlines.
        let ended = app
            .end_unfinished_calls(&created.org.id, "demo_restarted")
            .await
            .map_err(|e| e.to_string())?;
        if ended > 0 {
            tracing::info!(calls = ended, "the last run's unfinished calls were ended");
        }
        let base = engine.public_url.clone();
        println!("Dashboard: {base}/#token={}", created.api_token);
        let _ = std::io::stdout().flush();
        let stop = app.handle();
        let server = actix_web::rt::spawn(app.run_until_stopped());
        let org_id = created.org.id.to_string();
        let token = &created.api_token;
        let floor = start_traffic(&base, &org_id, token, &created.webhook_token, &options).await;
        let floor = match floor {
            Ok(floor) => Some(floor),
            Err(error) if options.check_after.is_some() => return Err(error),
            Err(error) => {
                tracing::error!(%error, "the demo could not set itself up");
                None
            }
        };
        if let (Some(after), Some(floor)) = (options.check_after, floor) {
            let rss_start_kb = rss_kb("self");
            let traffic = Traffic::run_for(&floor, after).await;
            let client = reqwest::Client::new();
            let report = check::run(&client, &base, token, &floor, speed).await;
            let db_bytes = engine
                .read(|conn| Ok(crate::db::queries::database_bytes(conn)?))
                .await
                .ok();
            engine.stop_sessions();
            stop.stop(true).await;
            let mut report = report?;
            report.run = Some(traffic.figures(
                &floor,
                report.calls,
                (rss_start_kb, rss_kb("self")),
                db_bytes,
                &options.faults,
            ));
            return report.print();
        }
        match server.await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    })
}

/// How long the PBX may be silent, while calls are live on it, before the engine asks it what
/// is true: a minute of the floor's time, at least 2 s.
fn resync_period(speed: f64) -> Duration {
    Duration::from_secs(scaled_s(60.0, 2.0, speed) as u64)
}

/// The engine's times for a floor at `speed`: deadlines short enough that a lost BYE or CDR is
/// repaired while one watches and longer than any simulated ring or talk, the PBX resync at a
/// minute of the floor's time, figures every second. Whole seconds (as the environment takes
/// them), so an engine in this process and one in a child process run alike.
struct FloorTimes {
    ring: u64,
    talk: u64,
    wrapup: u64,
    resync: u64,
}

impl FloorTimes {
    fn at(speed: f64) -> Self {
        let whole = |seconds, floor| scaled_s(seconds, floor, speed) as u64;
        FloorTimes {
            ring: whole(60.0, 2.0),
            talk: whole(TALK_DEADLINE_S, 5.0),
            wrapup: whole(30.0, 2.0),
            resync: resync_period(speed).as_secs(),
        }
    }

    fn apply(&self, settings: &mut Settings) {
        settings.deadlines.ring = Duration::from_secs(self.ring);
        settings.deadlines.talk = Duration::from_secs(self.talk);
        settings.deadlines.wrapup = Duration::from_secs(self.wrapup);
        settings.pbx_resync = Duration::from_secs(self.resync);
        settings.metrics_interval = Duration::from_secs(1);
    }

    /// The same as `serve` reads them from its environment.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SWITCHBOARD_RING_DEADLINE_S", self.ring.to_string()),
            ("SWITCHBOARD_TALK_DEADLINE_S", self.talk.to_string()),
            ("SWITCHBOARD_WRAPUP_DEADLINE_S", self.wrapup.to_string()),
            ("SWITCHBOARD_PBX_RESYNC_S", self.resync.to_string()),
            ("SWITCHBOARD_METRICS_INTERVAL_S", "1".to_owned()),
        ]
    }
}

/// `seconds` of the floor's time at `speed`, whole, at least `floor`.
fn scaled_s(seconds: f64, floor: f64, speed: f64) -> i64 {
    (seconds / speed).max(floor).round() as i64
}

/// Dashboards watching the floor: one that reads every event and times each webhook until its
/// call is shown (the report's latency), and with `slow` one that connects and never reads.
async fn dashboards(base: &str, token: &str, truth: &Truth, slow: bool) -> Result<(), String> {
    let url = format!("{}/api/v1/ws?token={token}", base.replacen("http", "ws", 1));
    let ws = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    // A floor's snapshot (thousands of extensions) is larger than awc's 64 KiB frames.
    let (_, first) = ws
        .ws(&url)
        .max_frame_size(crate::sim::agents::MAX_FRAME)
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let (truth, watch, again_url) = (truth.clone(), ws.clone(), url.clone());
    actix_web::rt::spawn(async move {
        use futures_util::{SinkExt, StreamExt};
        let mut watcher = first;
        loop {
            while let Some(Ok(frame)) = watcher.next().await {
                match frame {
                    awc::ws::Frame::Ping(bytes) => {
                        let _ = watcher.send(awc::ws::Message::Pong(bytes)).await;
                    }
                    awc::ws::Frame::Text(text) => {
                        let Ok(event) = serde_json::from_slice::<Value>(&text) else {
                            continue;
                        };
                        let kind = event["type"].as_str().unwrap_or_default();
                        if let ("call:created" | "call:updated", Some(id)) =
                            (kind, event["data"]["provider_call_id"].as_str())
                        {
                            truth.shown(id);
                        }
                    }
                    awc::ws::Frame::Close(_) => break,
                    _ => {}
                }
            }
            // The engine went away (a restart): the page lets go of its connection and opens a
            // new one (a fresh snapshot: it only times calls shown from now on).
            let _ = watcher.close().await;
            loop {
                actix_web::rt::time::sleep(Duration::from_millis(200)).await;
                let again = watch
                    .ws(&again_url)
                    .max_frame_size(crate::sim::agents::MAX_FRAME);
                if let Ok((_, again)) = again.connect().await {
                    watcher = again;
                    break;
                }
            }
        }
    });
    if slow {
        let (_, stalled) = ws.ws(&url).connect().await.map_err(|e| e.to_string())?;
        actix_web::rt::spawn(async move {
            // Never read: the engine must drop it rather than wait for it.
            actix_web::rt::time::sleep(Duration::from_secs(24 * 3600)).await;
            drop(stalled);
        });
    }
    Ok(())
}

/// A day's traffic, as it went.
struct Traffic {
    events: u64,
    seconds: f64,
}

impl Traffic {
    /// Lets the floor run for `day`, counting the webhooks the engine acknowledged.
    async fn run_for(floor: &check::Floor, day: Duration) -> Self {
        let began = std::time::Instant::now();
        actix_web::rt::time::sleep(day).await;
        Traffic {
            events: floor.truth.acknowledged_count(),
            seconds: began.elapsed().as_secs_f64(),
        }
    }

    /// The run's figures for the report.
    fn figures(
        &self,
        floor: &check::Floor,
        calls: u64,
        (rss_start_kb, rss_end_kb): (Option<u64>, Option<u64>),
        db_bytes: Option<i64>,
        faults: &Faults,
    ) -> check::RunFigures {
        let tenth = |x: f64| (x * 10.0).round() / 10.0;
        let ms = |d: Duration| tenth(d.as_secs_f64() * 1000.0);
        let (p99, samples) = floor.truth.latency(0.99);
        check::RunFigures {
            events: self.events,
            events_per_s: tenth(self.events as f64 / self.seconds),
            latency_p99_ms: p99.map(ms),
            latency_p50_ms: floor.truth.latency(0.5).0.map(ms),
            latency_samples: samples,
            rss_start_kb,
            rss_end_kb,
            db_bytes,
            db_bytes_per_call: db_bytes
                .filter(|_| calls > 0)
                .map(|b| (b as f64 / calls as f64).round()),
            voice_refused: floor.truth.figures().voice_refused,
            webhooks_given_up: floor.truth.given_up_count(),
            traffic_s: tenth(self.seconds),
            faults: faults.names(),
        }
    }
}

/// A process's resident memory (kB): `self`, or a process id; where the system says it (Linux).
fn rss_kb(process: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The agent left for the person watching the demo.
const YOUR_AGENT: &str = "You";

/// The name of the `i`-th simulated agent (from 0).
fn agent_name(i: usize) -> String {
    match i / NAMES.len() {
        0 => NAMES[i].to_owned(),
        round => format!("{} {}", NAMES[i % NAMES.len()], round + 1),
    }
}

/// Sets up the demo's agent desk (once per database: a rerun finds it and logs out the agents a
/// smaller `--agents` leaves out) and starts the simulated agents, each on its own agent page.
async fn demo_desk(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    agents: usize,
    speed: f64,
) -> Result<String, String> {
    let scaled = |seconds: f64, floor: f64| scaled_s(seconds, floor, speed);
    let queues = api(client, base, token, "GET", "/api/v1/queues", Value::Null).await?;
    let queue_id = match queues["items"][0]["id"].as_str() {
        Some(id) => id.to_owned(),
        None => {
            let queue = json!({
                "name": "Support", "sla_s": SLA_S, "ring_timeout_s": scaled(15.0, 3.0),
                "wrap_up_s": scaled(WRAP_UP_S, 1.0), "max_wait_s": scaled(180.0, 20.0),
                "overflow_message": "All our agents are busy. We will call you back.",
            });
            let created = api(client, base, token, "POST", "/api/v1/queues", queue).await?;
            created["id"].as_str().unwrap_or_default().to_owned()
        }
    };
    let known = api(
        client,
        base,
        token,
        "GET",
        "/api/v1/agents?limit=1000",
        Value::Null,
    )
    .await?;
    let known = known["items"].as_array().cloned().unwrap_or_default();
    let id_of = |name: &str| {
        known
            .iter()
            .find(|x| x["name"] == name)
            .and_then(|x| x["id"].as_str().map(str::to_owned))
    };
    let habits = AgentHabits { speed, ..HABITS };
    let mut dice = Dice::from_clock();
    let names: Vec<String> = (0..agents).map(agent_name).collect();
    for (i, name) in names.iter().enumerate() {
        // Reached on their own phones (their pages make them reachable), not on the office's
        // extensions: the office's calls never make an agent busy.
        let desk = json!({"extensions": [], "phone": format!("+1555010{i:04}"),
            "availability": "available"});
        let agent_id = match id_of(name) {
            Some(id) => {
                change_agent(client, base, token, &id, desk).await?;
                id
            }
            None => {
                let mut agent = desk;
                agent["name"] = json!(name);
                let created = api(client, base, token, "POST", "/api/v1/agents", agent).await?;
                created["id"].as_str().unwrap_or_default().to_owned()
            }
        };
        let page = agent_token(client, base, token, &agent_id).await?;
        let agent = SimulatedAgent {
            base: base.to_owned(),
            token: page,
            agent_id,
            habits: habits.clone(),
        };
        actix_web::rt::spawn(agent.work(Dice::new(dice.between(0, u64::MAX - 1))));
    }
    // Agents of an earlier, larger run are off shift now.
    for agent in &known {
        let name = agent["name"].as_str().unwrap_or_default();
        if name != YOUR_AGENT && !names.iter().any(|n| n == name) {
            if let Some(id) = agent["id"].as_str() {
                let off = json!({"availability": "logged_out"});
                change_agent(client, base, token, id, off).await?;
            }
        }
    }
    let you = match id_of(YOUR_AGENT) {
        Some(id) => id,
        None => {
            let agent =
                json!({"name": YOUR_AGENT, "phone": "+15550109999", "availability": "available"});
            let created = api(client, base, token, "POST", "/api/v1/agents", agent).await?;
            created["id"].as_str().unwrap_or_default().to_owned()
        }
    };
    let yours = agent_token(client, base, token, &you).await?;
    println!("Agent desk: {base}/#token={yours}");
    let _ = std::io::stdout().flush();
    Ok(queue_id)
}

/// `PATCH /api/v1/agents/{id}` with the org's token.
async fn change_agent(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    agent_id: &str,
    change: Value,
) -> Result<Value, String> {
    let path = format!("/api/v1/agents/{agent_id}");
    api(client, base, token, "PATCH", &path, change).await
}

/// A new agent token of the agent: the key to its own page.
async fn agent_token(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    agent_id: &str,
) -> Result<String, String> {
    let body = json!({"role": "agent", "agent_id": agent_id});
    let issued = api(client, base, token, "POST", "/api/v1/tokens", body).await?;
    Ok(issued["token"].as_str().unwrap_or_default().to_owned())
}

/// A supervisor's REST call with the demo org's token.
async fn api(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> Result<Value, String> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let response = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(answer)
    } else {
        Err(format!("{path} answered {status}: {answer}"))
    }
}

/// Configures the demo org through the API and starts the simulators.
async fn start_traffic(
    base: &str,
    org_id: &str,
    token: &str,
    webhook_token: &str,
    options: &DemoOptions,
) -> Result<check::Floor, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    for _ in 0..200 {
        let ready = client.get(format!("{base}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let speed = options.speed;
    let agents = options
        .agents
        .unwrap_or_else(|| sized_agents(options.calls_per_minute)) as usize;
    tracing::info!(
        agents,
        "the Support queue's agents (Erlang C for {:.0} % of its callers within {SLA_S} s, unless --agents)",
        SLA_TARGET * 100.0
    );
    // This run's calls: those created from a second before its traffic (a PBX's times are whole
    // seconds).
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);
    let since = since.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let truth = Truth::new();
    let mut dice = Dice::from_clock();
    // Made up per run; a stand-in's secrets, never a real provider's.
    let twilio_token = format!("demo-{}", uuid::Uuid::new_v4().simple());
    let pbx_secret = format!("demo-{}", uuid::Uuid::new_v4().simple());
    let twilio_number = "+918035739222";
    let analytics_url = format!("{base}/webhooks/analytics/{org_id}");
    let providers = FakeProviders::start(Script {
        twilio_account_sid: "ACdemo0000".into(),
        twilio_auth_token: twilio_token.clone(),
        twilio_play: TwilioPlay::Realistic { speed },
        analytics: Some((analytics_url, webhook_token.to_owned())),
        truth: Some(truth.clone()),
        callback_faults: options.faults.callbacks,
        record_requests: false,
        ..Script::default()
    })
    .map_err(|e| e.to_string())?;
    let campaign_share = options.calls_per_minute * CAMPAIGN_SHARE * speed / 60.0;
    api(
        &client,
        base,
        token,
        "PUT",
        "/api/v1/providers/twilio",
        json!({
            "account_sid": "ACdemo0000", "auth_token": twilio_token, "from_number": twilio_number,
            "api_base": providers.base(), "calls_per_second": campaign_share.max(0.05),
            // A checked run prices every call by the rates (Twilio's price would arrive at its
            // own pace, at most one a second); the demo shows Twilio's own price.
            "fetch_prices": if options.check_after.is_some() { "false" } else { "true" },
        }),
    )
    .await?;
    // Money: rates for every call (Twilio's own price replaces the rate once its API has it),
    // and credits that the campaign spends: when they run out it pauses, as a real one would.
    api(&client, base, token, "PUT", "/api/v1/rates", rate_card()).await?;
    api(
        &client,
        base,
        token,
        "PUT",
        "/api/v1/credits",
        json!({"low_threshold": DEMO_LOW_CREDITS}),
    )
    .await?;
    api(
        &client,
        base,
        token,
        "PUT",
        "/api/v1/providers/yeastar",
        json!({
            "webhook_secret": pbx_secret, "client_id": "demo", "client_secret": "demo-client",
            "api_base": providers.base(), "utc_offset": "+00:00",
        }),
    )
    .await?;
    let pbx = PbxSim {
        webhook_url: format!("{base}/webhooks/yeastar/{org_id}"),
        secret: pbx_secret,
        extensions: options.extensions,
        calls_per_minute: options.calls_per_minute * PBX_SHARE,
        speed,
        lost_bye: options.faults.lost_bye,
        lost_cdr: options.faults.lost_cdr,
        truth: Some(truth.clone()),
        api: Some(providers.clone()),
        gap: options.faults.pbx_gap,
    };
    for (i, number) in pbx.numbers().iter().enumerate() {
        let name = format!(
            "{} ({})",
            NAMES[i % NAMES.len()],
            if i % 3 == 0 { "sales" } else { "support" }
        );
        api(
            &client,
            base,
            token,
            "PUT",
            &format!("/api/v1/extensions/{number}"),
            json!({"name": name}),
        )
        .await?;
    }
    let queue_id = demo_desk(&client, base, token, agents, speed).await?;
    let queue_before = check::queue_counts(&client, base, token, &queue_id).await?;
    actix_web::rt::spawn(pbx.run(Dice::new(dice.between(0, u64::MAX - 1))));

    // The sample campaign: a few hundred leads, some on the do-not-call list, one retry.
    let contacts: Vec<Value> = (0..options.campaign_contacts)
        .map(|i| json!({"phone": format!("+9198{:08}", 10_000_000 + i * 7919 % 89_999_999), "name": format!("Lead {}", i + 1)}))
        .collect();
    let do_not_call: std::collections::HashSet<String> = contacts
        .iter()
        .step_by(DNC_EVERY)
        .filter_map(|c| c["phone"].as_str().map(str::to_owned))
        .collect();
    for contact in contacts.iter().step_by(DNC_EVERY) {
        api(
            &client,
            base,
            token,
            "POST",
            "/api/v1/dnc",
            json!({"phone": contact["phone"], "reason": "asked not to be called"}),
        )
        .await?;
    }
    let campaign = api(
        &client,
        base,
        token,
        "POST",
        "/api/v1/campaigns",
        json!({
            "name": format!("Demo campaign {}", chrono::Utc::now().format("%H:%M")),
            "provider": "twilio", "concurrency": options.campaign_concurrency,
            "max_attempts": MAX_ATTEMPTS,
            "retry_delay_s": (60.0 / speed).ceil().max(1.0) as i64,
            "contacts": contacts.iter().take(CONTACTS_PER_REQUEST).collect::<Vec<_>>(),
        }),
    )
    .await?;
    let campaign_id = campaign["id"].as_str().unwrap_or_default().to_owned();
    let id = &campaign_id;
    // A day's leads, a request's worth at a time (a request's body is bounded).
    for more in contacts[CONTACTS_PER_REQUEST.min(contacts.len())..].chunks(CONTACTS_PER_REQUEST) {
        let path = format!("/api/v1/campaigns/{id}/contacts");
        api(&client, base, token, "POST", &path, json!(more)).await?;
    }
    api(
        &client,
        base,
        token,
        "POST",
        &format!("/api/v1/campaigns/{id}/start"),
        json!({}),
    )
    .await?;

    // Inbound calls to the Twilio number.
    let line = TwilioLine {
        // Configured with Twilio's retry override: an engine restarting is called again.
        voice_url: format!("{base}/webhooks/twilio/{org_id}/voice#rc=5&rp=ct,5xx"),
        status_url: format!("{base}/webhooks/twilio/{org_id}/status#rc=5&rp=ct,5xx"),
        auth_token: twilio_token,
        number: twilio_number.into(),
        speed,
        provider: providers.clone(),
        truth: Some(truth.clone()),
    };
    // Callers arrive at random (a Poisson stream, as Erlang C assumes), at the queue's rate.
    let mean_gap_s = 60.0 / (options.calls_per_minute * QUEUE_SHARE * speed).max(0.01);
    let open = truth.clone();
    actix_web::rt::spawn(async move {
        loop {
            let gap_s = -(1.0 - dice.unit()).ln() * mean_gap_s;
            actix_web::rt::time::sleep(Duration::from_secs_f64(gap_s.min(mean_gap_s * 20.0))).await;
            if !open.is_open() {
                return;
            }
            let mut call_dice = Dice::new(dice.between(0, u64::MAX - 1));
            let from = format!("+9199{:08}", call_dice.between(0, 99_999_999));
            let (line, client) = (line.clone(), client.clone());
            actix_web::rt::spawn(async move {
                line.incoming_call(&client, &from, &mut call_dice).await
            });
        }
    });
    dashboards(base, token, &truth, options.faults.slow_dashboard).await?;
    Ok(check::Floor {
        truth,
        campaign_id,
        queue_id,
        queue_before,
        since,
        rates: &RATES,
        do_not_call,
        max_attempts: MAX_ATTEMPTS,
        wrap_up: Duration::from_secs(scaled_s(WRAP_UP_S, 1.0, speed) as u64),
    })
}
