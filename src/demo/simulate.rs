//! `switchboard simulate`: a call center's day, compressed, against ground truth. The demo's
//! floor (its simulators, its checks) sized by seats and hours: `--seats` people, each with a PBX
//! extension, making and taking [`CALLS_PER_SEAT_HOUR`] calls an hour between the office PBX, the
//! Support queue's callers and an outbound campaign; with `--faults`, what goes wrong on a real
//! day goes wrong on purpose. At the end the floor closes, every call runs out, and the report
//! compares what the engine's public API says with what the simulators did (CONTRACT.md,
//! "Simulation"; docs/simulate.md).

use super::{DemoOptions, Faults};
use crate::db::DatabaseUrl;
use crate::sim::pbx::Gap;
use crate::sim::providers::CallbackFaults;
use std::time::Duration;

/// Calls a seat takes part in per hour (inbound, outbound and internal together).
pub const CALLS_PER_SEAT_HOUR: f64 = 10.0;
/// How long a campaign call lasts on average (before `speed`): ring, and 70 % answered for a
/// minute and a half.
const CAMPAIGN_CALL_S: f64 = 80.0;

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
            true => Faults {
                callbacks: CallbackFaults {
                    duplicate: 0.02,
                    reorder: 0.02,
                },
                // Two minutes of the day's time at 40 % of it, and long enough in real time for
                // the resync to notice (three of its periods).
                pbx_gap: Some(Gap {
                    after: day.mul_f64(0.4),
                    lasting: Duration::from_secs_f64(120.0 / self.speed)
                        .max(super::resync_period(self.speed) * 3),
                }),
                slow_dashboard: true,
                ..Faults::demo()
            },
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
pub fn remove_scratch(database: &DatabaseUrl) {
    if let DatabaseUrl::Sqlite(path) = database {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
}
