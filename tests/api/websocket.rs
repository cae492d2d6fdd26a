//! Dashboard WebSocket: snapshot, live events in seq order, replay after reconnect, tenancy.

use crate::helpers::*;
use std::time::Duration;

#[actix_web::test]
async fn snapshot_then_live_events_then_exact_replay_and_no_leaks_across_orgs() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;

    // A call already live before anyone connects appears in the snapshot.
    let (status, _) = app
        .twilio_status(&acme, &twilio_params("CAold", "ringing", 1, 1))
        .await;
    assert_eq!(status, 200);

    let mut acme_ws = app.ws(&acme.api_token, None).await;
    let mut globex_ws = app.ws(&globex.api_token, None).await;
    let snapshot = acme_ws.next().await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["seq"], 1);
    let calls = snapshot["data"]["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["provider_call_id"], "CAold");
    assert!(snapshot["data"]["extensions"].is_array() && snapshot["data"]["campaigns"].is_array());
    assert_eq!(
        globex_ws.next().await["data"]["calls"],
        serde_json::json!([])
    );

    let mut seqs = Vec::new();
    for params in twilio_sequence("CAlive") {
        let (status, _) = app.twilio_status(&acme, &params).await;
        assert_eq!(status, 200);
        let event = acme_ws.next().await;
        assert_eq!(event["data"]["provider_call_id"], "CAlive");
        assert!(event["at"].is_string());
        seqs.push(event["seq"].as_i64().unwrap());
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert_eq!(seqs[0], 2, "seq continues the org's log");

    // A dashboard that saw up to the second event gets exactly the two it missed, then live ones.
    let mut replay = app.ws(&acme.api_token, Some(seqs[1])).await;
    let missed: Vec<i64> = [replay.next().await, replay.next().await]
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(missed, seqs[2..]);
    let (status, _) = app
        .twilio_status(&acme, &twilio_params("CAnext", "ringing", 1, 1))
        .await;
    assert_eq!(status, 200);
    let live = replay.next().await;
    assert_eq!(
        (live["type"].as_str(), live["seq"].as_i64()),
        (Some("call:created"), Some(seqs[3] + 1))
    );
    assert_eq!(acme_ws.next().await["seq"], live["seq"]);

    // Globex saw none of it.
    assert!(globex_ws
        .next_within(Duration::from_millis(300))
        .await
        .is_none());

    // A seq the org never reached gets a fresh snapshot.
    let mut future = app.ws(&acme.api_token, Some(10_000)).await;
    let fresh = future.next().await;
    assert_eq!(fresh["type"], "snapshot");
    assert_eq!(fresh["seq"], seqs[3] + 1);
}

#[actix_web::test]
async fn replay_too_far_behind_gets_a_snapshot() {
    let mut settings = test_settings();
    settings.replay_limit = 2;
    let app = spawn_app_with(settings).await;
    let org = app.create_org("Acme").await;
    for params in twilio_sequence("CA1") {
        assert_eq!(app.twilio_status(&org, &params).await.0, 200);
    }
    let mut ws = app.ws(&org.api_token, Some(0)).await;
    let first = ws.next().await;
    assert_eq!(first["type"], "snapshot");
    assert_eq!(first["seq"], 4);
    let mut ws = app.ws(&org.api_token, Some(2)).await;
    assert_eq!(ws.next().await["seq"], 3);
    assert_eq!(ws.next().await["seq"], 4);
}

#[actix_web::test]
async fn a_bad_token_is_refused_before_the_upgrade() {
    let app = spawn_app().await;
    let url = format!(
        "{}/api/v1/ws?token=sbk_nope",
        app.address.replace("http", "ws")
    );
    match app.client.ws(url).connect().await {
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => assert_eq!(status, 401),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("the upgrade must be refused"),
    }
}

/// A dashboard that stops reading is cut off at the socket once its backlog fills (the TCP
/// connection reset, not a close frame queued behind megabytes it will never read), while the
/// other sessions of the org keep getting every event in order.
#[actix_web::test]
async fn a_dashboard_that_stops_reading_is_reset_and_the_others_get_everything() {
    use std::io::{Read, Write};
    // The real binary, alone in its process, so that its session gauge counts these sessions only.
    let url = database_url_text(&fresh_database());
    let (_engine, address) = crate::restart::start_engine_with(
        &url,
        180,
        &[
            ("SWITCHBOARD_WS_MAILBOX", "16"),
            ("SWITCHBOARD_METRICS_INTERVAL_S", "3600"),
        ],
    );
    let app = TestApp::at(address).await;
    let org = app.create_org("Acme").await;
    let sessions = || async {
        let metrics = app.request("GET", "/metrics", None, None).await.1;
        let text = metrics.as_str().unwrap_or_default().to_owned();
        text.lines()
            .find_map(|l| l.strip_prefix("switchboard_ws_sessions "))
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap()
    };
    assert_eq!(
        app.twilio_status(&org, &twilio_params("CAbig", "in-progress", 2, 9))
            .await
            .0,
        200
    );

    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut ws = app.ws(&org.api_token, None).await;
        assert_eq!(ws.next().await["type"], "snapshot");
        readers.push(actix_web::rt::spawn(async move {
            let mut seqs = Vec::new();
            while let Some(event) = ws.next_within(Duration::from_secs(5)).await {
                seqs.push(event["seq"].as_i64().unwrap());
            }
            seqs
        }));
    }

    // The slow dashboard: a small receive window, the upgrade, then it never reads again.
    let address: std::net::SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&address.into()).unwrap();
    let mut slow: std::net::TcpStream = socket.into();
    write!(
        slow,
        "GET /api/v1/ws?token={} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        org.api_token
    )
    .unwrap();
    let mut head = [0u8; 12];
    slow.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");
    for _ in 0..100 {
        if sessions().await == 4 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sessions().await, 4, "three readers and the slow one");

    // 40 changes of ~300 KB each (a bot's long transcript): far more than the socket buffers hold.
    let transcript = "word ".repeat(60_000);
    for n in 0..40 {
        let body =
            serde_json::json!({"call_id": "CAbig", "transcript": format!("{n} {transcript}")});
        let path = format!("/webhooks/analytics/{}", org.id);
        let (status, answer) = app.post_token_json(&path, &org.webhook_token, &body).await;
        assert_eq!(status, 200, "{answer}");
    }

    // The slow client's connection is reset without it reading a byte more.
    let reset = async {
        loop {
            if let Ok(Some(error)) = socket2::SockRef::from(&slow).take_error() {
                return error.kind();
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let kind = actix_web::rt::time::timeout(Duration::from_secs(20), reset)
        .await
        .expect("the slow dashboard's connection is reset");
    assert_eq!(kind, std::io::ErrorKind::ConnectionReset);
    assert_eq!(
        sessions().await,
        3,
        "the slow session is dropped, the readers stay"
    );

    let mut received = Vec::new();
    for reader in readers {
        received.push(reader.await.unwrap());
    }
    assert_eq!(received[0].len(), 40, "every change reached the readers");
    assert!(received[0].windows(2).all(|w| w[1] == w[0] + 1), "in order");
    assert!(received.iter().all(|seqs| *seqs == received[0]));
}

/// Retention prunes the raw inbox and the org event log past their age, keeping each org's newest
/// event (seqs carry on) and the calls themselves; a dashboard reconnecting from before the
/// retained log gets a snapshot, not a replay with a hole.
#[actix_web::test]
async fn old_events_are_pruned_and_a_reconnect_from_before_them_gets_a_snapshot() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};
    let mut settings = test_settings();
    settings.prune_every = Duration::from_millis(200);
    let url = settings.database_url.clone();
    let app = spawn_app_with(settings).await;
    let org = app.create_org("Acme").await;
    for params in twilio_sequence("CAold") {
        assert_eq!(app.twilio_status(&org, &params).await.0, 200);
    }
    // Everything of the call's, forty days older: the inbox ids are UUIDv7, timed by their prefix.
    let age = "UPDATE events SET at = '2020-01-01T00:00:00.000Z'; \
               UPDATE webhook_inbox SET id = '00000000' || substr(id, 9);";
    let count = |table: &str| {
        let sql = format!("SELECT count(*) AS n FROM {table}");
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        match &url {
            switchboard::db::DatabaseUrl::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path).unwrap();
                diesel::sql_query(sql)
                    .get_result::<Count>(&mut conn)
                    .unwrap()
                    .n
            }
            switchboard::db::DatabaseUrl::Postgres(url) => {
                let mut conn = diesel::PgConnection::establish(url).unwrap();
                diesel::sql_query(sql)
                    .get_result::<Count>(&mut conn)
                    .unwrap()
                    .n
            }
        }
    };
    match &url {
        switchboard::db::DatabaseUrl::Sqlite(path) => diesel::SqliteConnection::establish(path)
            .unwrap()
            .batch_execute(age)
            .unwrap(),
        switchboard::db::DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(url)
            .unwrap()
            .batch_execute(age)
            .unwrap(),
    }
    for _ in 0..100 {
        if count("webhook_inbox") == 0 && count("events") == 1 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        (count("webhook_inbox"), count("events")),
        (0, 1),
        "the inbox pruned, the org's newest event kept"
    );
    let calls = app.get("/api/v1/calls", &org.api_token).await;
    assert_eq!(
        calls["items"][0]["status"], "completed",
        "the call itself is kept"
    );

    let mut ws = app.ws(&org.api_token, Some(1)).await;
    let first = ws.next().await;
    assert_eq!(
        (first["type"].as_str(), first["seq"].as_i64()),
        (Some("snapshot"), Some(4)),
        "events 2 and 3 are gone: a snapshot, not a replay from 4"
    );
    let (status, _) = app
        .twilio_status(&org, &twilio_params("CAnew", "ringing", 1, 5))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        ws.next().await["seq"],
        5,
        "seqs carry on after the pruned ones"
    );
}
