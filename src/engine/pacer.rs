//! Dial pacing per provider account (CONTRACT.md: `calls_per_second`, default 1).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Paces dials per provider account, shared by every campaign of that account.
#[derive(Default)]
pub struct Pacer(Mutex<HashMap<String, Instant>>);

impl Pacer {
    /// Takes the account's next dial slot if it is due (`rate` dials per second).
    pub fn try_take(&self, account: &str, rate: f64) -> bool {
        let now = Instant::now();
        let mut next = self.0.lock().unwrap();
        let slot = next.entry(account.to_owned()).or_insert(now);
        if *slot > now {
            return false;
        }
        *slot = (*slot).max(now - Duration::from_millis(100))
            + Duration::from_secs_f64(1.0 / rate.max(0.01));
        true
    }
}
