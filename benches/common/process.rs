//! The release binary as a process of its own, for benches that read its memory from /proc.

use std::process::{Child, Command, Stdio};

/// The admin token the bench engines are started with.
pub const ADMIN: &str = "bench-admin";

/// The engine process, killed (`SIGKILL`) when dropped.
pub struct EngineProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Drop for EngineProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl EngineProcess {
    /// `switchboard serve` on a free port over `database_url`, with the admin API on and `env`
    /// added; returns once it listens.
    pub fn start(database_url: &str, env: &[(&str, &str)]) -> EngineProcess {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("SWITCHBOARD_BIND", "127.0.0.1:0")
            .env("SWITCHBOARD_ADMIN_TOKEN", ADMIN)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = loop {
            let line = lines.next().expect("the engine starts").unwrap();
            if let Some(at) = line.find("address=") {
                break line[at + 8..].split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining its logs so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        EngineProcess {
            child,
            base: format!("http://{address}"),
        }
    }

    /// Resident memory now, in MiB.
    pub fn rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

/// A fresh SQLite database file's URL under the temporary folder.
pub fn fresh_sqlite(prefix: &str) -> String {
    let dir = std::env::temp_dir().join(format!("{prefix}_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}", dir.join("bench.db").display())
}

/// The Twilio auth token the bench orgs sign with.
pub const TWILIO_TOKEN: &str = "bench-twilio-token";

impl EngineProcess {
    /// Waits until `/readyz` answers 200; answers how long that took.
    pub async fn ready_within(
        &self,
        client: &awc::Client,
        limit: std::time::Duration,
    ) -> std::time::Duration {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Ok(resp) = client.get(format!("{}/readyz", self.base)).send().await {
                if resp.status() == 200 {
                    return started.elapsed();
                }
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("not ready within {limit:?}");
    }

    /// A new org with a Twilio account signing with [`TWILIO_TOKEN`]: its id and api token.
    pub async fn twilio_org(&self, client: &awc::Client, name: &str) -> (String, String) {
        let mut resp = client
            .post(format!("{}/api/v1/orgs", self.base))
            .insert_header(("Authorization", format!("Bearer {ADMIN}")))
            .send_json(&serde_json::json!({"name": name}))
            .await
            .unwrap();
        let org: serde_json::Value = resp.json().await.unwrap();
        let token = org["api_token"].as_str().unwrap().to_owned();
        let status = client
            .put(format!("{}/api/v1/providers/twilio", self.base))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send_json(&serde_json::json!({"account_sid": "ACbench", "auth_token": TWILIO_TOKEN, "from_number": "+15550000000"}))
            .await
            .unwrap()
            .status();
        assert!(status.is_success());
        (org["org_id"].as_str().unwrap().to_owned(), token)
    }
}
