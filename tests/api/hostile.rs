//! What a hostile or careless outside world sends: the token checked before the body, body limits
//! answered as JSON 413, `limit` clamped, impossible values dropped with a timeline note (and the
//! org's reads still working afterwards).

use crate::helpers::*;
use serde_json::{json, Value};

#[actix_web::test]
async fn the_token_is_checked_before_the_body() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let bad_bodies: [&[u8]; 3] = [b"{not json", b"[1,2,3]", br#"{"to": 5}"#];
    for body in bad_bodies {
        for token in [Some("sbk_wrong"), None] {
            let mut req = app
                .client
                .post(format!("{}/api/v1/calls", app.address))
                .insert_header(("Content-Type", "application/json"));
            if let Some(token) = token {
                req = req.insert_header(("Authorization", format!("Bearer {token}")));
            }
            let mut resp = req.send_body(body.to_vec()).await.unwrap();
            let answer: Value = resp.json().await.unwrap();
            assert_eq!(
                (resp.status().as_u16(), answer["error"].as_str()),
                (401, Some("unauthorized"))
            );
        }
    }
    // With the right token the body is judged.
    let (status, body) = app
        .post_raw(
            "/api/v1/calls",
            &[
                ("Content-Type", "application/json".into()),
                ("Authorization", format!("Bearer {}", org.api_token)),
            ],
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_json"))
    );
}

#[actix_web::test]
async fn bodies_over_their_limit_are_a_json_413_and_limits_are_clamped() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let auth = ("Authorization", format!("Bearer {}", org.api_token));
    let big_json = format!(
        r#"{{"phone": "+919876543210", "note": "{}"}}"#,
        "x".repeat(1_100_000)
    );
    let (status, body) = app
        .post_raw(
            "/api/v1/contacts",
            &[("Content-Type", "application/json".into()), auth.clone()],
            big_json.into_bytes(),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    let big_webhook = format!(r#"{{"type": 30011, "msg": "{}"}}"#, "x".repeat(600_000));
    let (status, body) = app
        .post_raw(
            &format!("/webhooks/yeastar/{}", org.id),
            &[("Content-Type", "application/json".into())],
            big_webhook.into_bytes(),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    // A 2 MiB CSV of contacts is well under the CSV limit.
    let (_, campaign) = app
        .request(
            "POST",
            "/api/v1/campaigns",
            Some(&org.api_token),
            Some(json!({"name": "Big", "provider": "twilio"})),
        )
        .await;
    let mut csv = String::from("\u{feff}phone,name,note\n");
    for i in 0..2_000 {
        csv.push_str(&format!("+9198{:08},Lead {i},{}\n", i, "y".repeat(1_100)));
    }
    assert!(csv.len() > 2 << 20);
    let (status, body) = app
        .post_raw(
            &format!(
                "/api/v1/campaigns/{}/contacts",
                campaign["id"].as_str().unwrap()
            ),
            &[("Content-Type", "text/csv".into()), auth],
            csv.into_bytes(),
        )
        .await;
    assert_eq!(
        (status, body["added"].as_u64()),
        (200, Some(2_000)),
        "an Excel CSV (with its BOM) is read"
    );
    let page = app
        .get(
            "/api/v1/contacts?limit=99999999999999999999",
            &org.api_token,
        )
        .await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1000,
        "clamped, not refused"
    );
}

#[actix_web::test]
async fn impossible_values_are_dropped_with_a_note_and_reads_keep_working() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    for (sid, duration) in [("CAneg", "-100"), ("CAhuge", "9223372036854775807")] {
        let mut params = twilio_params(sid, "completed", 3, 70);
        params.retain(|(k, _)| *k != "CallDuration");
        params.push(("CallDuration", duration.to_owned()));
        let (status, body) = app.twilio_status(&org, &params).await;
        assert_eq!(status, 200, "{body}");
        let call = app
            .get(
                &format!("/api/v1/calls?provider_call_id={sid}"),
                &org.api_token,
            )
            .await["items"][0]
            .clone();
        assert_eq!(call["status"], "completed");
        assert!(call["talk_s"].as_i64().unwrap_or(0) < 86_400, "{call}");
        let timeline = app
            .get(
                &format!("/api/v1/calls/{}/events", call["id"].as_str().unwrap()),
                &org.api_token,
            )
            .await;
        let noted = timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["data"]["dropped"] == json!(["talk_s"]));
        assert!(noted, "the timeline says what was dropped: {timeline}");
    }
    let (status, metrics) = app
        .request("GET", "/api/v1/metrics", Some(&org.api_token), None)
        .await;
    assert_eq!(status, 200, "{metrics}");
    let (status, _) = app
        .request("GET", "/api/v1/calls", Some(&org.api_token), None)
        .await;
    assert_eq!(status, 200);
}

/// Makes the database refuse the writes of `statement` (`INSERT` or `UPDATE`) on `table` for
/// which `when` holds, as a full disk would — or, with `when` None, take them again.
pub fn refuse(
    url: &switchboard::db::DatabaseUrl,
    statement: &str,
    table: &str,
    when: Option<&str>,
) {
    let statements = match (url, when) {
        (switchboard::db::DatabaseUrl::Sqlite(_), Some(when)) => vec![format!(
            "CREATE TRIGGER refuse BEFORE {statement} ON {table} WHEN {when} BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )],
        (switchboard::db::DatabaseUrl::Sqlite(_), None) => vec!["DROP TRIGGER refuse".to_owned()],
        (switchboard::db::DatabaseUrl::Postgres(_), Some(when)) => vec![
            format!("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF {when} THEN RAISE EXCEPTION 'could not extend file'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"),
            format!("CREATE TRIGGER refuse BEFORE {statement} ON {table} FOR EACH ROW EXECUTE FUNCTION refuse()"),
        ],
        (switchboard::db::DatabaseUrl::Postgres(_), None) => vec![
            format!("DROP TRIGGER refuse ON {table}"),
            "DROP FUNCTION refuse()".to_owned(),
        ],
    };
    execute(url, &statements);
}

/// Runs statements on the test's database behind the engine's back (an operator's hand).
pub fn execute(url: &switchboard::db::DatabaseUrl, statements: &[String]) {
    use diesel::{Connection, RunQueryDsl};
    match url {
        switchboard::db::DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path).unwrap();
            // The engine's writer may hold the file's lock a moment: wait for it.
            diesel::connection::SimpleConnection::batch_execute(
                &mut conn,
                "PRAGMA busy_timeout = 5000",
            )
            .unwrap();
            for sql in statements {
                diesel::sql_query(sql).execute(&mut conn).unwrap();
            }
        }
        switchboard::db::DatabaseUrl::Postgres(url) => {
            let mut conn = diesel::PgConnection::establish(url).unwrap();
            for sql in statements {
                diesel::sql_query(sql).execute(&mut conn).unwrap();
            }
        }
    }
}

#[actix_web::test]
async fn a_repeat_of_an_event_that_could_not_be_stored_is_never_a_2xx() {
    let settings = test_settings();
    let url = settings.database_url.clone();
    let app = spawn_app_with(settings).await;
    let org = app.create_org("Acme").await;
    let params = twilio_params("CAfull", "ringing", 1, 5);
    let webhooks = "webhook_inbox";
    refuse(
        &url,
        "INSERT",
        webhooks,
        Some("NEW.dedupe_key LIKE 'CAfull%'"),
    );
    for _ in 0..5 {
        // The first delivery and a provider retry of it, at once.
        let (first, second) = futures_util::future::join(
            app.twilio_status(&org, &params),
            app.twilio_status(&org, &params),
        )
        .await;
        for (status, body) in [first, second] {
            assert_eq!(
                (status, body["error"].as_str()),
                (503, Some("unavailable")),
                "{body}"
            );
        }
    }
    refuse(&url, "INSERT", webhooks, None);
    let (status, body) = app.twilio_status(&org, &params).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("accepted")),
        "stored once the database takes it"
    );
    let (status, body) = app.twilio_status(&org, &params).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")));
    let inbox = app
        .get("/api/v1/webhooks?provider=twilio", &org.api_token)
        .await;
    assert_eq!(inbox["items"].as_array().unwrap().len(), 1);
}

/// How many random mutations of each valid body the HTTP fuzz run sends:
/// `SWITCHBOARD_FUZZ_MUTATIONS` (default 30; the README's long run uses 3,000).
fn mutation_count() -> usize {
    std::env::var("SWITCHBOARD_FUZZ_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
}

/// Mutations of a valid body: truncated, a byte flipped, NUL and invalid UTF-8 inserted, numbers
/// made huge, nested deep, emptied.
fn mutations(body: &[u8], dice: &mut switchboard::sim::dice::Dice) -> Vec<Vec<u8>> {
    let mut out = vec![
        Vec::new(),
        b"null".to_vec(),
        b"[]".to_vec(),
        vec![0xff, 0xfe, 0x00],
    ];
    let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    out.push(deep.into_bytes());
    let text = String::from_utf8_lossy(body).into_owned();
    for huge in [
        "1e400",
        "-99999999999999999999",
        "9223372036854775807",
        "NaN",
        "\"\\u0000\"",
    ] {
        let mutated: String = text
            .split(|c: char| c.is_ascii_digit())
            .collect::<Vec<_>>()
            .join(huge);
        out.push(mutated.into_bytes());
    }
    for _ in 0..mutation_count() {
        let mut copy = body.to_vec();
        match dice.between(0, 3) {
            0 => copy.truncate(dice.between(0, copy.len() as u64) as usize),
            1 if !copy.is_empty() => {
                let at = dice.between(0, copy.len() as u64 - 1) as usize;
                copy[at] = dice.between(0, 255) as u8;
            }
            2 => {
                let at = dice.between(0, copy.len() as u64) as usize;
                copy.splice(at..at, [0u8, 0xc3, 0x28]);
            }
            _ => copy.extend(std::iter::repeat_n(b'9', 400)),
        }
        out.push(copy);
    }
    out
}

#[actix_web::test]
async fn mutated_bodies_on_every_webhook_and_json_endpoint_never_get_a_5xx() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let secret = "0123456789abcdef0123456789abcdef";
    app.configure(&org, "yeastar", json!({"webhook_secret": secret}))
        .await;
    let mut dice = switchboard::sim::dice::Dice::new(20261201);
    let mut tried = 0;
    let mut tally = std::collections::BTreeMap::<(String, u16), usize>::new();
    let mut check = |status: u16, what: &str, body: &Value| {
        tried += 1;
        assert!(status < 500, "{what}: {status} {body}");
        if status >= 400 {
            assert!(
                body["error"].is_string(),
                "{what}: a {status} without a JSON error: {body}"
            );
        }
        *tally
            .entry((what.replace(&org.id, "{org}"), status))
            .or_default() += 1;
    };
    let yeastar = json!({"type": 30012, "sn": "x", "msg": json!({"call_id": "1.2", "time_start": "2025-03-04 15:30:00",
        "call_from": "0987", "call_to": "40", "call_duration": 70, "talk_duration": 61, "status": "ANSWERED", "type": "Inbound"}).to_string()});
    for body in mutations(yeastar.to_string().as_bytes(), &mut dice) {
        let signature = switchboard::providers::yeastar::signature(secret, &body);
        let (status, answer) = app
            .post_raw(
                &format!("/webhooks/yeastar/{}", org.id),
                &[
                    ("Content-Type", "application/json".into()),
                    ("X-Signature", signature),
                ],
                body,
            )
            .await;
        check(status, "yeastar", &answer);
    }
    let token_hooks = [
        (
            format!("/webhooks/exotel/{}/status", org.id),
            json!({"CallSid": "e1", "Status": "completed", "ConversationDuration": 5, "StartTime": "2025-03-04 15:30:01"}),
        ),
        (
            format!("/webhooks/bolna/{}", org.id),
            json!({"id": "b1", "status": "completed", "conversation_time": 30.5, "total_cost": 12.5, "updated_at": "2025-03-04T10:00:00Z"}),
        ),
        (
            format!("/webhooks/analytics/{}", org.id),
            json!({"provider_call_id": "b1", "summary": "ok"}),
        ),
    ];
    for (path, valid) in &token_hooks {
        for body in mutations(valid.to_string().as_bytes(), &mut dice) {
            for content_type in [
                "application/json",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "text/plain",
            ] {
                let (status, answer) = app
                    .post_raw(
                        path,
                        &[
                            ("Content-Type", content_type.into()),
                            ("X-Switchboard-Token", org.webhook_token.clone()),
                        ],
                        body.clone(),
                    )
                    .await;
                check(status, path, &answer);
            }
        }
    }
    let twilio = "CallSid=CAfz&CallStatus=completed&SequenceNumber=3&CallDuration=61&Timestamp=Tue%2C+04+Mar+2025+10%3A00%3A00+%2B0000";
    for body in mutations(twilio.as_bytes(), &mut dice) {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        let refs: Vec<(&str, String)> =
            pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let signature = twilio_signature(
            TWILIO_AUTH_TOKEN,
            &format!("{}/webhooks/twilio/{}/status", app.public_url, org.id),
            &refs,
        );
        let (status, answer) = app
            .post_raw(
                &format!("/webhooks/twilio/{}/status", org.id),
                &[
                    ("Content-Type", "application/x-www-form-urlencoded".into()),
                    ("X-Twilio-Signature", signature),
                ],
                body,
            )
            .await;
        check(status, "twilio", &answer);
    }
    let auth = ("Authorization", format!("Bearer {}", org.api_token));
    let json_endpoints = [
        (
            "/api/v1/calls",
            json!({"to": "+919876543210", "provider": "twilio"}),
        ),
        (
            "/api/v1/contacts",
            json!({"phone": "+919876543210", "name": "Asha"}),
        ),
        (
            "/api/v1/campaigns",
            json!({"name": "x", "provider": "twilio", "concurrency": 2, "contacts": [{"phone": "+919000000001"}]}),
        ),
        ("/api/v1/dnc", json!({"phone": "+919876543210"})),
        ("/api/v1/tokens", json!({"role": "viewer"})),
    ];
    for (path, valid) in &json_endpoints {
        for body in mutations(valid.to_string().as_bytes(), &mut dice) {
            let (status, answer) = app
                .post_raw(
                    path,
                    &[("Content-Type", "application/json".into()), auth.clone()],
                    body,
                )
                .await;
            check(status, path, &answer);
        }
    }
    assert!(tried > 500, "{tried} requests tried");
    // The figures of the run, by endpoint and answer (the README's long run reports them).
    for ((category, status), count) in &tally {
        eprintln!("fuzz {category:<36} {status} x{count}");
    }
    let (status, _) = app.request("GET", "/healthz", None, None).await;
    assert_eq!(status, 200, "still serving");
    let (status, _) = app
        .request(
            "GET",
            "/api/v1/calls?limit=1000",
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(status, 200, "and every stored call reads back");
}

/// Runs `sql` on the PostgreSQL test server's maintenance database.
fn on_postgres_server(sql: &str) {
    use diesel::{Connection, RunQueryDsl};
    let server = std::env::var("SWITCHBOARD_TEST_POSTGRES").unwrap();
    let mut admin =
        diesel::PgConnection::establish(&format!("{}/postgres", server.trim_end_matches('/')))
            .unwrap();
    diesel::sql_query(sql).execute(&mut admin).unwrap();
}

/// PostgreSQL stops taking connections (its backends terminated, new ones refused): every
/// webhook and read is a 503 with `Retry-After` well under a second, `/readyz` says the database
/// is down, and once it is back the engine recovers by itself with every acknowledged event there.
#[actix_web::test]
async fn a_database_that_goes_away_is_a_fast_503_and_the_engine_recovers_by_itself() {
    let settings = test_settings();
    let switchboard::db::DatabaseUrl::Postgres(url) = settings.database_url.clone() else {
        return; // SQLite has no server to lose; the full-disk and locked cases cover it.
    };
    let database = url.rsplit('/').next().unwrap().to_owned();
    let app = spawn_app_with(settings).await;
    let org = app.create_org("Acme").await;
    let before = twilio_params("CAbefore", "ringing", 1, 5);
    assert_eq!(app.twilio_status(&org, &before).await.0, 200);

    on_postgres_server(&format!(
        "ALTER DATABASE {database} ALLOW_CONNECTIONS false"
    ));
    on_postgres_server(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
    ));
    let during = twilio_params("CAduring", "ringing", 1, 5);
    let mut slowest = std::time::Duration::ZERO;
    for n in 0..6 {
        let started = std::time::Instant::now();
        let (status, body) = app.twilio_status(&org, &during).await;
        let took = started.elapsed();
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("unavailable")),
            "{body}"
        );
        // The first request may be the one that finds out; every one after it is answered at once.
        slowest = slowest.max(took);
        if n > 0 {
            assert!(
                took < std::time::Duration::from_secs(1),
                "a 503 took {took:?}"
            );
        }
    }
    let started = std::time::Instant::now();
    let (status, _) = app
        .request("GET", "/api/v1/calls", Some(&org.api_token), None)
        .await;
    assert_eq!(status, 503);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "a read took {:?}",
        started.elapsed()
    );
    let mut ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.headers().contains_key("retry-after"));
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["error"], "database_unavailable", "{body}");

    eprintln!("database away: webhooks answered 503 within {slowest:?}");
    on_postgres_server(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"));
    let back = std::time::Instant::now();
    app.wait_ready().await;
    eprintln!("database back: ready again after {:?}", back.elapsed());
    let (status, body) = app.twilio_status(&org, &during).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("accepted")),
        "{body}"
    );
    let (status, body) = app.twilio_status(&org, &before).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("duplicate")),
        "{body}"
    );
    let calls = app.get("/api/v1/calls", &org.api_token).await;
    assert_eq!(calls["items"].as_array().unwrap().len(), 2, "{calls}");
}

/// One org sends far more at once than the engine lets in: its excess is shed with 503
/// `overloaded` (providers retry), another org's steady traffic is never shed, everything
/// acknowledged is stored, and the flood is admitted again as soon as it stops.
#[actix_web::test]
async fn a_flood_from_one_org_is_shed_while_the_others_are_served() {
    let mut settings = test_settings();
    settings.max_in_flight = 6;
    settings.max_in_flight_per_org = 3;
    let app = spawn_app_with(settings).await;
    let flood = app.create_org("Flood").await;
    let steady = app.create_org("Steady").await;

    let flooding = async {
        let (mut accepted, mut shed) = (0, 0);
        for round in 0..6 {
            let sends = (0..48).map(|n| {
                let params = twilio_params(&format!("CAflood{round}x{n}"), "ringing", 1, 5);
                let app = &app;
                let flood = &flood;
                async move { app.twilio_status(flood, &params).await }
            });
            for (status, body) in futures_util::future::join_all(sends).await {
                match status {
                    200 => accepted += 1,
                    503 => {
                        assert_eq!(body["error"], "overloaded", "{body}");
                        shed += 1;
                    }
                    other => panic!("{other}: {body}"),
                }
            }
        }
        (accepted, shed)
    };
    let steady_traffic = async {
        for n in 0..30 {
            let params = twilio_params(&format!("CAsteady{n}"), "ringing", 1, 5);
            let (status, body) = app.twilio_status(&steady, &params).await;
            assert_eq!(status, 200, "the steady org is never shed: {body}");
        }
    };
    let ((accepted, shed), ()) = futures_util::future::join(flooding, steady_traffic).await;
    assert!(shed > 0, "the flood was shed ({accepted} accepted)");

    let listed = app.get("/api/v1/calls?limit=1000", &flood.api_token).await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        accepted,
        "every acknowledged webhook is stored, and none of the shed ones"
    );
    let (status, _) = app
        .twilio_status(&flood, &twilio_params("CAafter", "ringing", 1, 5))
        .await;
    assert_eq!(status, 200, "admitted again once the flood stops");
    let metrics = prometheus_samples(&app).await;
    let shed = r#"switchboard_webhooks_total{provider="twilio",result="shed"}"#;
    assert!(metrics.get(shed).is_some_and(|n| *n >= 1.0), "{metrics:?}");
}

/// Errors the HTTP layer answers before any handler (broken chunking) are the same JSON errors as
/// the engine's own, and a method a path does not take is the JSON 404 of an unknown endpoint.
#[actix_web::test]
async fn errors_of_the_http_layer_are_json_too() {
    use std::io::{Read, Write};
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let (status, body) = app
        .request("DELETE", "/api/v1/calls", Some(&org.api_token), None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );

    let address = app.address.trim_start_matches("http://");
    let mut socket = std::net::TcpStream::connect(address).unwrap();
    write!(
        socket,
        "POST /webhooks/twilio/{}/status HTTP/1.1\r\nHost: {address}\r\n\
         Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
        org.id
    )
    .unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut answer = vec![0u8; 4096];
    let read = socket.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).to_string();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("application/json"), "{answer}");
    assert!(answer.contains(r#""error":"invalid_request""#), "{answer}");
}

/// Another connection holds a lock on what the writer needs (an operator's transaction, a
/// backup): the webhook waits for the lock at most 5 s, then is a 503 (inside the providers'
/// 15 s), and once the lock is gone the retry is stored.
#[actix_web::test]
async fn a_locked_database_is_a_503_within_the_lock_wait_and_the_retry_is_stored() {
    let settings = test_settings();
    let url = settings.database_url.clone();
    let app = spawn_app_with(settings).await;
    let org = app.create_org("Acme").await;
    let lock = WriteLock::hold(&url);
    let params = twilio_params("CAlocked", "ringing", 1, 5);
    let started = std::time::Instant::now();
    let (status, body) = app.twilio_status(&org, &params).await;
    let waited = started.elapsed();
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert!(
        waited < std::time::Duration::from_secs(10),
        "waited {waited:?}"
    );
    lock.release();
    let (status, body) = app.twilio_status(&org, &params).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("accepted")),
        "{body}"
    );
    let calls = app.get("/api/v1/calls", &org.api_token).await;
    assert_eq!(calls["items"].as_array().unwrap().len(), 1);
}

/// PostgreSQL turns read-only (a failover onto a standby, `default_transaction_read_only`): every
/// write is a 503 and nothing is stored, reads go on, `/readyz` answers 503 `database_read_only`
/// so a load balancer sends the traffic elsewhere, a new engine refuses to start with a sentence
/// that says why; once writes are taken again the engine is ready by itself.
#[actix_web::test]
async fn a_database_that_refuses_writes_is_not_ready_and_a_new_engine_says_why() {
    let settings = test_settings();
    let switchboard::db::DatabaseUrl::Postgres(url) = settings.database_url.clone() else {
        return; // SQLite: the user running the tests (root) writes a read-only file anyway.
    };
    let database = url.rsplit('/').next().unwrap().to_owned();
    let app = spawn_app_with(settings.clone()).await;
    let org = app.create_org("Acme").await;
    assert_eq!(
        app.twilio_status(&org, &twilio_params("CAbefore", "ringing", 1, 5))
            .await
            .0,
        200
    );

    on_postgres_server(&format!(
        "ALTER DATABASE {database} SET default_transaction_read_only = on"
    ));
    on_postgres_server(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
    ));
    let during = twilio_params("CAduring", "ringing", 1, 5);
    let mut ready_status = 0;
    for _ in 0..100 {
        let (status, body) = app.twilio_status(&org, &during).await;
        assert_eq!(status, 503, "a write to a read-only database: {body}");
        let mut ready = app
            .client
            .get(format!("{}/readyz", app.address))
            .send()
            .await
            .unwrap();
        ready_status = ready.status().as_u16();
        let body: serde_json::Value = ready.json().await.unwrap();
        if body["error"] == "database_read_only" {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        ready_status, 503,
        "/readyz while the database refuses writes"
    );
    let calls = app.get("/api/v1/calls", &org.api_token).await;
    assert_eq!(
        calls["items"].as_array().unwrap().len(),
        1,
        "reads go on: {calls}"
    );

    let refused = switchboard::startup::Application::build(settings.clone())
        .await
        .err();
    let refused = refused.expect("an engine does not start on a database it cannot write");
    assert!(
        refused.contains("can be read but not written"),
        "the start-up error says why: {refused}"
    );

    on_postgres_server(&format!(
        "ALTER DATABASE {database} SET default_transaction_read_only = off"
    ));
    let back = std::time::Instant::now();
    app.wait_ready().await;
    eprintln!("writes taken again: ready after {:?}", back.elapsed());
    let (status, body) = app.twilio_status(&org, &during).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("accepted")),
        "{body}"
    );
    let calls = app.get("/api/v1/calls", &org.api_token).await;
    assert_eq!(calls["items"].as_array().unwrap().len(), 2, "{calls}");
}
