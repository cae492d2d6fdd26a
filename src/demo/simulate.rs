//! `switchboard simulate`: a call center's day, compressed, against ground truth. The demo's
//! floor (its simulators, its checks) sized by seats and hours: `--seats` people, each with a PBX
//! extension, making and taking [`CALLS_PER_SEAT_HOUR`] calls an hour between the office PBX, the
//! Support queue's callers and an outbound campaign; with `--faults`, what goes wrong on a real
//! day goes wrong on purpose. At the end the floor closes, every call runs out, and the report
//! compares what the engine's public API says with what the simulators did (CONTRACT.md,
//! "Simulation"; docs/simulate.md).

use super::{api, DemoOptions, Faults};
use crate::config::Settings;
use crate::db::DatabaseUrl;
use crate::sim::pbx::Gap;
use crate::sim::providers::CallbackFaults;
use serde_json::json;
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

/// Calls a seat takes part in per hour (inbound, outbound and internal together).
pub const CALLS_PER_SEAT_HOUR: f64 = 10.0;
/// How long a campaign call lasts on average (before `speed`): ring, and 70 % answered for a
/// minute and a half.
const CAMPAIGN_CALL_S: f64 = 80.0;
/// How long the database cannot store under `--faults`, in real time: longer than the engine
/// waits for a lock (5 s), so that what it is committing then fails and it must say 503; not
/// twice as long, which in a day compressed 80 times would be a quarter of an hour of the
/// floor's time — longer than its calls' deadlines, within which the engine looks for a call's
/// PBX record around its first stored event (a webhook may wait the lock's 5 s before it is
/// refused).
const DB_OUTAGE: Duration = Duration::from_secs(8);

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub seats: u32,
    pub hours: f64,
    pub speed: f64,
    pub faults: bool,
    /// The database (None: a new SQLite file in the temporary directory, removed after).
    pub database: Option<String>,
}

impl SimulateOptions {
    /// The demo floor this day needs.
    pub fn floor(&self) -> Result<DemoOptions, String> {
        if self.seats == 0 {
            return Err("--seats must be at least 1".into());
        }
        if !(self.hours > 0.0 && self.hours.is_finite()) {
            return Err("--hours must be a positive number".into());
        }
        if !(self.speed > 0.0 && self.speed.is_finite()) {
            return Err("--speed must be a positive number".into());
        }
        let database = match &self.database {
            Some(url) => DatabaseUrl::parse(url)?,
            None => DatabaseUrl::Sqlite(scratch_database()),
        };
        let calls_per_minute = f64::from(self.seats) * CALLS_PER_SEAT_HOUR / 60.0;
        let campaign_per_s = calls_per_minute * super::CAMPAIGN_SHARE / 60.0;
        let day = Duration::from_secs_f64(self.hours * 3600.0 / self.speed);
        let faults = match self.faults {
            false => Faults::default(),
            true => {
                // Two minutes of the day's time from a quarter of it, and long enough in real
                // time for the resync to notice (three of its periods); over before the deploy.
                let gap = Gap {
                    after: day.mul_f64(0.25),
                    lasting: Duration::from_secs_f64(120.0 / self.speed)
                        .max(super::resync_period(self.speed) * 3),
                };
                // After the deploy, over before the floor closes.
                let db_outage = Gap {
                    after: day.mul_f64(0.7),
                    lasting: DB_OUTAGE,
                };
                if gap.after + gap.lasting > day.mul_f64(0.55)
                    || db_outage.after + db_outage.lasting > day.mul_f64(0.98)
                {
                    let shortest =
                        (gap.lasting.as_secs_f64() / 0.3).max(DB_OUTAGE.as_secs_f64() / 0.28);
                    return Err(format!(
                        "--faults needs a longer day: {shortest:.0} s of real time at least (raise --hours or lower --speed)"
                    ));
                }
                Faults {
                    callbacks: CallbackFaults {
                        duplicate: 0.02,
                        reorder: 0.02,
                    },
                    pbx_gap: Some(gap),
                    slow_dashboard: true,
                    // A deploy in the afternoon, a database failover later.
                    restart_at: Some(day.mul_f64(0.6)),
                    db_outage: Some(db_outage),
                    ..Faults::demo()
                }
            }
        };
        Ok(DemoOptions {
            database,
            extensions: self.seats,
            calls_per_minute,
            speed: self.speed,
            agents: None,
            // Enough leads for the whole day at the campaign's share.
            campaign_contacts: (campaign_per_s * self.hours * 3600.0).ceil() as u32 + 10,
            campaign_concurrency: ((campaign_per_s * CAMPAIGN_CALL_S * 1.5).ceil() as u32).max(5),
            // Enough for the day's calls (about a cent each): the campaign runs all day.
            credits: format!("{:.2}", calls_per_minute * 60.0 * self.hours * 0.05 + 5.0),
            check_after: Some(day),
            faults,
        })
    }
}

/// A new SQLite file for one run.
fn scratch_database() -> String {
    let name = format!("switchboard-simulate-{}.db", uuid::Uuid::new_v4().simple());
    std::env::temp_dir()
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Removes a scratch SQLite file and its journal.
fn remove_scratch(database: &DatabaseUrl) {
    if let DatabaseUrl::Sqlite(path) = database {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
}

/// Runs the day: the engine as a child process (`switchboard serve`, so that it can be restarted
/// and its memory is its own), the simulators in this one, reaching it only over HTTP; then the
/// check. The first line on stdout is the dashboard's URL; the last, the report.
pub fn run(settings: &Settings, day: &SimulateOptions) -> Result<(), String> {
    let floor = day.floor()?;
    let address = free_address(&settings.bind)?;
    let base = format!("http://{address}");
    let admin = format!("sim-{}", uuid::Uuid::new_v4().simple());
    let database = match &floor.database {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{path}"),
        DatabaseUrl::Postgres(url) => url.clone(),
    };
    let mut env = super::FloorTimes::at(floor.speed).env();
    env.extend([
        ("DATABASE_URL", database),
        ("SWITCHBOARD_BIND", address.clone()),
        ("SWITCHBOARD_ADMIN_TOKEN", admin.clone()),
    ]);
    let engine = Rc::new(RefCell::new(EngineProcess::start(&env)?));
    let result = actix_web::rt::System::new().block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        wait_ready(&client, &base).await?;
        let org = api(
            &client,
            &base,
            &admin,
            "POST",
            "/api/v1/orgs",
            json!({
                "name": super::DEMO_ORG, "default_country": super::DEMO_COUNTRY,
            }),
        )
        .await?;
        let text = |name: &str| org[name].as_str().unwrap_or_default().to_owned();
        let (org_id, token) = (text("org_id"), text("api_token"));
        let top_up = format!("/api/v1/orgs/{org_id}/credits");
        api(
            &client,
            &base,
            &admin,
            "POST",
            &top_up,
            json!({"amount": floor.credits}),
        )
        .await?;
        println!("Dashboard: {base}/#token={token}");
        let _ = std::io::stdout().flush();
        let webhook_token = text("webhook_token");
        let traffic = super::start_traffic(&base, &org_id, &token, &webhook_token, &floor).await?;
        if let Some(at) = floor.faults.restart_at {
            let (engine, env, base) = (engine.clone(), env.clone(), base.clone());
            actix_web::rt::spawn(async move {
                actix_web::rt::time::sleep(at).await;
                if let Err(error) = restart(&engine, &env, &base).await {
                    tracing::error!(%error, "the engine could not be restarted");
                }
            });
        }
        if let Some(outage) = floor.faults.db_outage {
            let database = floor.database.clone();
            actix_web::rt::spawn(async move {
                actix_web::rt::time::sleep(outage.after).await;
                let held = actix_web::rt::task::spawn_blocking(move || {
                    hold_database(&database, outage.lasting)
                })
                .await;
                if let Ok(Err(error)) = held {
                    tracing::error!(%error, "the database outage could not be played");
                }
            });
        }
        let rss_start = engine.borrow().rss_kb();
        let day = floor.check_after.unwrap_or_default();
        let ran = super::Traffic::run_for(&traffic, day).await;
        let report = super::check::run(&client, &base, &token, &traffic, floor.speed).await;
        let mut report = report?;
        let rss_end = engine.borrow().rss_kb();
        report.run = Some(ran.figures(
            &traffic,
            report.calls,
            (rss_start, rss_end),
            sqlite_file_bytes(&floor.database),
            &floor.faults,
        ));
        report.print()
    });
    let last = engine.borrow_mut().child.take();
    if let Some(child) = last {
        terminate(child);
    }
    if day.database.is_none() {
        remove_scratch(&floor.database);
    }
    result
}

/// `switchboard serve` in a child process, with the floor's environment.
struct EngineProcess {
    child: Option<std::process::Child>,
}

impl EngineProcess {
    fn start(env: &[(&'static str, String)]) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let child = std::process::Command::new(exe)
            .arg("serve")
            .env_remove("SWITCHBOARD_PUBLIC_URL")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("the engine could not be started: {e}"))?;
        Ok(EngineProcess { child: Some(child) })
    }

    fn rss_kb(&self) -> Option<u64> {
        let child = self.child.as_ref()?;
        super::rss_kb(&child.id().to_string())
    }
}

impl Drop for EngineProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// SIGTERM (a graceful stop: in-flight requests finish), then waits for the exit.
fn terminate(mut child: std::process::Child) {
    let pid = child.id().to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    if !signalled.is_ok_and(|s| s.success()) {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// A deploy: the engine stops (SIGTERM) and a new one starts on the same database and address.
/// The simulators go on meanwhile, as callers and PBXs do.
async fn restart(
    engine: &Rc<RefCell<EngineProcess>>,
    env: &[(&'static str, String)],
    base: &str,
) -> Result<(), String> {
    tracing::warn!("simulated deploy: the engine restarts");
    let stopped = std::time::Instant::now();
    let old = engine.borrow_mut().child.take();
    if let Some(child) = old {
        let _ = actix_web::rt::task::spawn_blocking(move || terminate(child)).await;
    }
    *engine.borrow_mut() = EngineProcess::start(env)?;
    wait_ready(&reqwest::Client::new(), base).await?;
    tracing::warn!(
        down_ms = stopped.elapsed().as_millis() as u64,
        "the engine is back"
    );
    Ok(())
}

/// A database that cannot store for `lasting`, as during a failover: a transaction of this
/// process's holds the write lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: the tables every
/// commit writes, locked `EXCLUSIVE`) longer than the engine waits for it, so its writes fail
/// while its reads go on; then lets go.
fn hold_database(database: &DatabaseUrl, lasting: Duration) -> Result<(), String> {
    use diesel::connection::SimpleConnection;
    let mut conn = crate::db::connect(database, crate::db::SqliteSync::Normal)
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let begin = match database {
        DatabaseUrl::Sqlite(_) => "BEGIN IMMEDIATE",
        DatabaseUrl::Postgres(_) => {
            "BEGIN; LOCK TABLE events, calls, call_events, webhook_inbox IN EXCLUSIVE MODE"
        }
    };
    conn.batch_execute(begin).map_err(|e| e.to_string())?;
    tracing::warn!("simulated database outage: writes are refused");
    std::thread::sleep(lasting);
    conn.batch_execute("ROLLBACK").map_err(|e| e.to_string())?;
    tracing::warn!("the database stores again");
    Ok(())
}

/// Waits (up to 60 s) until the engine answers `/readyz` 200.
async fn wait_ready(client: &reqwest::Client, base: &str) -> Result<(), String> {
    for _ in 0..1200 {
        let ready = client.get(format!("{base}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the engine did not become ready within 60 s".into())
}

/// `bind` with a free port in place of port 0 (the engine restarts on the same one).
fn free_address(bind: &str) -> Result<String, String> {
    let listener =
        std::net::TcpListener::bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    Ok(address.to_string())
}

/// The database's files on disk: an SQLite file and its journal (a PostgreSQL database's size
/// is not read from here).
fn sqlite_file_bytes(database: &DatabaseUrl) -> Option<i64> {
    let DatabaseUrl::Sqlite(path) = database else {
        return None;
    };
    let size = |suffix: &str| std::fs::metadata(format!("{path}{suffix}")).map_or(0, |m| m.len());
    Some((size("") + size("-wal")) as i64)
}
