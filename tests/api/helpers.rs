//! Starting the engine for a test, and talking to it as providers and dashboards do.

use awc::Client;
use base64::Engine as _;
use diesel::{Connection, RunQueryDsl};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::config::Settings;
use switchboard::db::DatabaseUrl;
use switchboard::startup::Application;

pub use switchboard::sim::providers::{FakeProviders, Script, TwilioPlay};

pub const ADMIN_TOKEN: &str = "test-admin-token";
/// A Twilio auth token for tests only (not a real one).
pub const TWILIO_AUTH_TOKEN: &str = "test-twilio-auth-token";

/// A fresh database for one test: a SQLite file in a temporary folder, or a new PostgreSQL
/// database on the server `SWITCHBOARD_TEST_POSTGRES` names (e.g. `postgres://postgres@127.0.0.1:5432`).
pub fn fresh_database() -> DatabaseUrl {
    let name = format!("sb_test_{}", uuid::Uuid::new_v4().simple());
    match std::env::var("SWITCHBOARD_TEST_POSTGRES") {
        Ok(server) if !server.is_empty() => {
            let server = server.trim_end_matches('/');
            let mut admin = diesel::PgConnection::establish(&format!("{server}/postgres"))
                .expect("the PostgreSQL test server answers");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .expect("a test database can be created");
            DatabaseUrl::Postgres(format!("{server}/{name}"))
        }
        _ => {
            let dir = std::env::temp_dir().join(&name);
            std::fs::create_dir_all(&dir).unwrap();
            DatabaseUrl::Sqlite(dir.join("switchboard.db").to_string_lossy().into_owned())
        }
    }
}

/// `DATABASE_URL` text for a database.
pub fn database_url_text(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{path}"),
        DatabaseUrl::Postgres(url) => url.clone(),
    }
}

/// Another connection holding the lock the engine's writer needs (an operator's transaction, a
/// backup): while it is held, every write waits the lock's 5 s and is refused with a 503.
pub struct WriteLock {
    run: Box<dyn FnMut(&str)>,
}

impl WriteLock {
    /// Takes the lock on `url`'s database.
    pub fn hold(url: &DatabaseUrl) -> WriteLock {
        use diesel::connection::SimpleConnection;
        let mut run: Box<dyn FnMut(&str)> = match url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path).unwrap();
                Box::new(move |sql: &str| conn.batch_execute(sql).unwrap())
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = diesel::PgConnection::establish(url).unwrap();
                Box::new(move |sql: &str| conn.batch_execute(sql).unwrap())
            }
        };
        run(match url {
            DatabaseUrl::Sqlite(_) => "BEGIN EXCLUSIVE",
            DatabaseUrl::Postgres(_) => "BEGIN; LOCK TABLE webhook_inbox IN ACCESS EXCLUSIVE MODE",
        });
        WriteLock { run }
    }

    /// Lets the writer in again.
    pub fn release(mut self) {
        (self.run)("COMMIT");
    }
}

/// Settings for a test server: port 0, a fresh database, the admin API on.
pub fn test_settings() -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url: fresh_database(),
        admin_token: Some(ADMIN_TOKEN.into()),
        ws_heartbeat: Duration::from_secs(5),
        // Tests that count events get none of these unless they ask (see the metrics test).
        metrics_interval: Duration::from_secs(3600),
        ..Settings::default()
    }
}

/// The stand-in provider APIs on 127.0.0.1 (`src/sim`): its Twilio takes the tests' account
/// (`ACtest0000`, [`TWILIO_AUTH_TOKEN`]) and plays placed calls as `play` says.
pub fn fake_providers(play: TwilioPlay) -> FakeProviders {
    FakeProviders::start(Script {
        twilio_auth_token: TWILIO_AUTH_TOKEN.into(),
        twilio_play: play,
        ..Script::default()
    })
    .expect("the stand-in providers start")
}

/// A running engine and a client for it.
pub struct TestApp {
    pub address: String,
    pub public_url: String,
    pub client: Client,
}

/// An org created through the admin API.
pub struct TestOrg {
    pub id: String,
    pub api_token: String,
    pub webhook_token: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_settings()).await
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    let app = spawn_app_unready(settings).await;
    app.wait_ready().await;
    app
}

/// An engine on `settings`, listening, not waited for: its `/readyz` may still say 503.
pub async fn spawn_app_unready(settings: Settings) -> TestApp {
    let public_url = settings.public_url.clone();
    let app = Application::build(settings)
        .await
        .expect("the engine builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        public_url: public_url.unwrap_or_else(|| address.clone()),
        address,
        client: Client::builder().timeout(Duration::from_secs(30)).finish(),
    }
}

impl TestApp {
    /// A client for an engine already running at `address` (the real binary), once it is ready.
    pub async fn at(address: String) -> TestApp {
        let app = TestApp {
            public_url: address.clone(),
            address,
            client: Client::builder().timeout(Duration::from_secs(30)).finish(),
        };
        app.wait_ready().await;
        app
    }

    pub async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(resp) = self
                .client
                .get(format!("{}/readyz", self.address))
                .send()
                .await
            {
                if resp.status() == 200 {
                    return;
                }
            }
            actix_web::rt::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the engine never became ready");
    }

    /// Creates an org with Twilio credentials.
    pub async fn create_org(&self, name: &str) -> TestOrg {
        let (status, body) = self
            .request(
                "POST",
                "/api/v1/orgs",
                Some(ADMIN_TOKEN),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let org = TestOrg {
            id: body["org_id"].as_str().unwrap().to_owned(),
            api_token: body["api_token"].as_str().unwrap().to_owned(),
            webhook_token: body["webhook_token"].as_str().unwrap().to_owned(),
        };
        let (status, body) = self
            .request(
                "PUT",
                "/api/v1/providers/twilio",
                Some(&org.api_token),
                // A closed local port as the API: no test ever reaches the real Twilio.
                Some(json!({
                    "account_sid": "ACtest0000",
                    "auth_token": TWILIO_AUTH_TOKEN,
                    "from_number": "+15550000000",
                    "api_base": "http://127.0.0.1:9",
                })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        org
    }

    /// The last entry of a call's timeline.
    pub async fn last_timeline_entry(&self, org: &TestOrg, call_id: &str) -> Value {
        let timeline = self
            .get(&format!("/api/v1/calls/{call_id}/events"), &org.api_token)
            .await;
        timeline["items"]
            .as_array()
            .and_then(|items| items.last())
            .cloned()
            .unwrap_or_else(|| panic!("the call has a timeline: {timeline}"))
    }

    /// Adds a contact known to the org (Asha Rao of Rao Traders), whose calls pop her up.
    pub async fn add_caller(&self, org: &TestOrg, phone: &str) {
        let (status, body) = self
            .request(
                "POST",
                "/api/v1/contacts",
                Some(&org.api_token),
                Some(json!({"phone": phone, "name": "Asha Rao", "company": "Rao Traders"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    /// Sets an org's credentials for a provider.
    pub async fn configure(&self, org: &TestOrg, provider: &str, credentials: Value) {
        let (status, body) = self
            .request(
                "PUT",
                &format!("/api/v1/providers/{provider}"),
                Some(&org.api_token),
                Some(credentials),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Posts a raw body with headers; answers the status and the body as JSON (or as a string).
    pub async fn post_raw(
        &self,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut req = self.client.post(format!("{}{path}", self.address));
        for (name, value) in headers {
            req = req.insert_header((*name, value.as_str()));
        }
        let mut resp = req.send_body(body).await.unwrap();
        let bytes = resp.body().await.unwrap();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (resp.status().as_u16(), json)
    }

    /// Posts JSON to a token-authenticated webhook (`X-Switchboard-Token`).
    pub async fn post_token_json(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.post_raw(
            path,
            &[
                ("Content-Type", "application/json".into()),
                ("X-Switchboard-Token", token.into()),
            ],
            body.to_string().into_bytes(),
        )
        .await
    }

    /// A JSON request; answers the status and the JSON body (Null when empty).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let mut resp = match body {
            Some(body) => req.send_json(&body).await.unwrap(),
            None => req.send().await.unwrap(),
        };
        let bytes = resp.body().limit(64 << 20).await.unwrap();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (resp.status().as_u16(), json)
    }

    pub async fn get(&self, path: &str, token: &str) -> Value {
        let (status, body) = self.request("GET", path, Some(token), None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Posts a Twilio status callback signed as Twilio signs it; answers status and body.
    pub async fn twilio_status(&self, org: &TestOrg, params: &[(&str, String)]) -> (u16, Value) {
        let path = format!("/webhooks/twilio/{}/status", org.id);
        let signature = twilio_signature(
            TWILIO_AUTH_TOKEN,
            &format!("{}{path}", self.public_url),
            params,
        );
        self.post_form(&path, params, Some(&signature)).await
    }

    /// Like [`TestApp::twilio_status`], for a server that may be gone (a connection error is Err).
    pub async fn try_twilio_status(
        &self,
        org: &TestOrg,
        params: &[(&str, String)],
    ) -> Result<(u16, Value), String> {
        let path = format!("/webhooks/twilio/{}/status", org.id);
        let url = format!("{}{path}", self.public_url);
        let signature = twilio_signature(TWILIO_AUTH_TOKEN, &url, params);
        self.try_post_form(&path, params, Some(&signature)).await
    }

    /// Posts a form with an optional `X-Twilio-Signature`.
    pub async fn post_form(
        &self,
        path: &str,
        params: &[(&str, String)],
        signature: Option<&str>,
    ) -> (u16, Value) {
        self.try_post_form(path, params, signature).await.unwrap()
    }

    async fn try_post_form(
        &self,
        path: &str,
        params: &[(&str, String)],
        signature: Option<&str>,
    ) -> Result<(u16, Value), String> {
        let mut req = self
            .client
            .post(format!("{}{path}", self.address))
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"));
        if let Some(signature) = signature {
            req = req.insert_header(("X-Twilio-Signature", signature));
        }
        let mut resp = req
            .send_body(form_body(params))
            .await
            .map_err(|e| e.to_string())?;
        let bytes = resp.body().await.map_err(|e| e.to_string())?;
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((resp.status().as_u16(), json))
    }

    /// Opens a dashboard WebSocket.
    pub async fn ws(&self, token: &str, since: Option<i64>) -> WsClient {
        let query = since.map(|s| format!("&since={s}")).unwrap_or_default();
        self.ws_query(token, &query).await
    }

    /// Opens a dashboard WebSocket with more of a query (`&agent=…`).
    pub async fn ws_query(&self, token: &str, query: &str) -> WsClient {
        let url = format!(
            "{}/api/v1/ws?token={token}{query}",
            self.address.replace("http", "ws")
        );
        let (_, conn) = self
            .client
            .ws(url)
            .max_frame_size(1 << 20)
            .connect()
            .await
            .expect("WebSocket upgrade");
        WsClient { conn }
    }
}

/// URL-encodes form fields.
pub fn form_body(params: &[(&str, String)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        out.append_pair(k, v);
    }
    out.finish()
}

/// Plivo's V3 signature as its documentation describes it, written apart from the engine's code:
/// for a POST to a URL without a query, the signed text is `URL?` + the body parameters sorted by
/// name as `namevalue`, then `.` + the nonce; HMAC-SHA256 with the auth token, Base64.
pub fn plivo_v3_signature(
    token: &str,
    url: &str,
    params: &[(&str, String)],
    nonce: &str,
) -> String {
    let mut sorted: Vec<String> = params.iter().map(|(k, v)| format!("{k}{v}")).collect();
    sorted.sort();
    let text = format!("{url}?{}.{nonce}", sorted.concat());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Twilio's published request-signing algorithm, written here apart from the engine's own code:
/// Base64(HMAC-SHA1(token, URL + sorted distinct `name`+`value` pairs)).
pub fn twilio_signature(token: &str, url: &str, params: &[(&str, String)]) -> String {
    let mut pairs: Vec<String> = params.iter().map(|(k, v)| format!("{k}{v}")).collect();
    pairs.sort();
    pairs.dedup();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    mac.update(pairs.concat().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A Twilio status callback's fields, as Twilio sends them for call `sid`.
pub fn twilio_params(sid: &str, status: &str, seq: u32, at_s: u32) -> Vec<(&'static str, String)> {
    let at = chrono::DateTime::parse_from_rfc3339("2025-03-04T10:00:00Z").unwrap()
        + chrono::Duration::seconds(at_s.into());
    let mut params = vec![
        ("CallSid", sid.to_owned()),
        ("AccountSid", "ACtest0000".to_owned()),
        ("From", "+15550001111".to_owned()),
        ("To", "+15550002222".to_owned()),
        ("Direction", "outbound-api".to_owned()),
        ("ApiVersion", "2010-04-01".to_owned()),
        ("CallStatus", status.to_owned()),
        ("SequenceNumber", seq.to_string()),
        ("CallbackSource", "call-progress-events".to_owned()),
        ("Timestamp", at.to_rfc2822()),
    ];
    if status == "completed" {
        params.push(("CallDuration", "61".to_owned()));
    }
    params
}

/// The full outbound sequence of one call: initiated → ringing → in-progress → completed.
pub fn twilio_sequence(sid: &str) -> Vec<Vec<(&'static str, String)>> {
    vec![
        twilio_params(sid, "initiated", 0, 0),
        twilio_params(sid, "ringing", 1, 2),
        twilio_params(sid, "in-progress", 2, 9),
        twilio_params(sid, "completed", 3, 70),
    ]
}

/// Polls `probe` every 25 ms until it answers; fails the test naming `what` after 20 s.
pub async fn until<T>(what: &str, probe: impl AsyncFnMut() -> Option<T>) -> T {
    until_within(what, Duration::from_secs(20), probe).await
}

/// [`until`] with its own limit, for a wait whose length grows with the machine's load (a
/// campaign of many calls on a busy CI machine).
pub async fn until_within<T>(
    what: &str,
    limit: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    for _ in 0..(limit.as_millis() / 25) {
        if let Some(found) = probe().await {
            return found;
        }
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never: {what}");
}

/// A dashboard WebSocket client.
pub struct WsClient {
    conn: actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>,
}

impl WsClient {
    /// The `incoming:call` events (screen pops) that arrive until the stream is quiet for `quiet`.
    pub async fn screen_pops(&mut self, quiet: Duration) -> Vec<Value> {
        let mut pops = Vec::new();
        while let Some(event) = self.next_within(quiet).await {
            if event["type"] == "incoming:call" {
                pops.push(event);
            }
        }
        pops
    }

    /// The next JSON message, or None when nothing comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let frame = actix_web::rt::time::timeout(wait, self.conn.next())
                .await
                .ok()??;
            match frame.expect("a WebSocket frame") {
                awc::ws::Frame::Text(bytes) => {
                    return Some(serde_json::from_slice(&bytes).unwrap())
                }
                awc::ws::Frame::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The next event of `event_type` whose data satisfies `wanted`, skipping others; fails the
    /// test when none comes within 10 s.
    pub async fn next_of(&mut self, event_type: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let event = self
                .next_within(left)
                .await
                .unwrap_or_else(|| panic!("no {event_type} within 10 s"));
            if event["type"] == event_type && wanted(&event["data"]) {
                return event;
            }
        }
    }

    /// The next JSON message; fails the test when none comes within 10 s.
    pub async fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("a WebSocket message within 10 s")
    }
}

/// `GET /metrics` read as the Prometheus text format: each sample `name{labels}` → its value,
/// labels as written. Fails the test on a line that is not a comment or a sample, and when the
/// exposition does not end with OpenMetrics' `# EOF`.
pub async fn prometheus_samples(app: &TestApp) -> std::collections::HashMap<String, f64> {
    let mut resp = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let content_type = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = String::from_utf8(resp.body().await.unwrap().to_vec()).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let mut samples = std::collections::HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "a metric name: {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "labels closed: {line}");
        }
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a value: {line}"));
        samples.insert(series.to_owned(), value);
    }
    samples
}
