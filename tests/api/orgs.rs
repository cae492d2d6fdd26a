//! Orgs, admin auth, provider credentials, health and the command line.

use crate::helpers::*;
use serde_json::json;

#[actix_web::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let (status, body) = app.request("GET", "/healthz", None, None).await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, _) = app.request("GET", "/readyz", None, None).await;
    assert_eq!(status, 200);
    let metrics = prometheus_samples(&app).await;
    assert!(metrics.contains_key("switchboard_writer_transactions_total"));
}

#[actix_web::test]
async fn prometheus_counters_move_with_webhooks_by_provider_and_result() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let before = prometheus_samples(&app).await;
    let count = |samples: &std::collections::HashMap<String, f64>, series: &str| {
        samples.get(series).copied().unwrap_or(0.0)
    };
    let sequence = twilio_sequence("CA0000000000000000000000000000metric");
    for params in sequence.iter().chain(&sequence[..1]) {
        app.twilio_status(&org, params).await;
    }
    let path = format!("/webhooks/twilio/{}/status", org.id);
    let (status, _) = app.post_form(&path, &sequence[0], Some("forged")).await;
    assert_eq!(status, 401);
    let after = prometheus_samples(&app).await;
    // Other tests run in this process too: counters move at least by this test's share.
    for (series, by) in [
        (
            r#"switchboard_webhooks_total{provider="twilio",result="accepted"}"#,
            4.0,
        ),
        (
            r#"switchboard_webhooks_total{provider="twilio",result="duplicate"}"#,
            1.0,
        ),
        (
            r#"switchboard_webhooks_total{provider="twilio",result="rejected"}"#,
            1.0,
        ),
        ("switchboard_events_committed_total", 4.0),
        ("switchboard_writer_batch_size_count", 1.0),
        ("switchboard_writer_commit_seconds_count", 1.0),
        (
            r#"switchboard_webhook_response_seconds_count{provider="twilio"}"#,
            6.0,
        ),
    ] {
        assert!(
            count(&after, series) - count(&before, series) >= by,
            "{series}: {} → {}",
            count(&before, series),
            count(&after, series)
        );
    }
    assert!(after.contains_key(r#"switchboard_actors{kind="call"}"#));
    // Histogram buckets are cumulative up to +Inf, which is the count.
    let buckets: Vec<f64> = after
        .iter()
        .filter(|(k, _)| k.starts_with("switchboard_writer_commit_seconds_bucket"))
        .map(|(_, v)| *v)
        .collect();
    let count_all = count(&after, "switchboard_writer_commit_seconds_count");
    assert!(buckets.iter().all(|b| *b <= count_all) && buckets.contains(&count_all));
    // No org id or number in any series.
    assert!(after
        .keys()
        .all(|k| !k.contains(org.id.as_str()) && !k.contains("+1555")));
}

#[actix_web::test]
async fn only_the_admin_creates_orgs() {
    let app = spawn_app().await;
    for token in [None, Some("wrong")] {
        let (status, body) = app
            .request("POST", "/api/v1/orgs", token, Some(json!({"name": "Acme"})))
            .await;
        assert_eq!(status, 401, "{body}");
    }
    let (status, body) = app
        .request(
            "POST",
            "/api/v1/orgs",
            Some(ADMIN_TOKEN),
            Some(json!({"name": ""})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_name"))
    );
    let (status, body) = app
        .request(
            "POST",
            "/api/v1/orgs",
            Some(ADMIN_TOKEN),
            Some(json!({"nom": "x"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_json"))
    );
    let (status, body) = app
        .request(
            "POST",
            "/api/v1/orgs",
            Some(ADMIN_TOKEN),
            Some(json!({"name": "Acme"})),
        )
        .await;
    assert_eq!(status, 201);
    for key in [
        "org_id",
        "name",
        "api_token",
        "webhook_token",
        "default_country",
    ] {
        assert!(body[key].is_string(), "{key} in {body}");
    }
    assert_eq!(body["default_country"], "IN");
    let token = body["api_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/calls", token).await["items"], json!([]));
}

#[actix_web::test]
async fn without_an_admin_token_the_admin_api_is_off() {
    let mut settings = test_settings();
    settings.admin_token = None;
    let app = spawn_app_with(settings).await;
    let (status, body) = app
        .request(
            "POST",
            "/api/v1/orgs",
            Some("anything"),
            Some(json!({"name": "Acme"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("admin_disabled"))
    );
}

#[actix_web::test]
async fn provider_credentials_are_checked_and_never_shown_again() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let (status, body) = app
        .request(
            "PUT",
            "/api/v1/providers/twilio",
            Some(&org.api_token),
            Some(json!({"account_sid": "AC1"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_credentials"))
    );
    let (status, _) = app
        .request(
            "PUT",
            "/api/v1/providers/skype",
            Some(&org.api_token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = app
        .request(
            "PUT",
            "/api/v1/providers/exotel",
            Some(&org.api_token),
            Some(json!({"account_sid": "acme1", "api_key": "k-secret", "api_token": "t-secret", "caller_id": "08012345678", "api_base": "https://api.in.exotel.com"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let listed = app
        .get("/api/v1/providers", &org.api_token)
        .await
        .to_string();
    assert!(listed.contains("exotel") && listed.contains("api.in.exotel.com"));
    for secret in ["k-secret", "t-secret", TWILIO_AUTH_TOKEN] {
        assert!(!listed.contains(secret), "{secret} shown in {listed}");
    }
}

#[actix_web::test]
async fn the_command_line_creates_an_org_the_server_accepts() {
    let url = fresh_database();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["org", "create", "Initech"])
        .env("DATABASE_URL", database_url_text(&url))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let org: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(org["name"], "Initech");
    let mut settings = test_settings();
    settings.database_url = url;
    let app = spawn_app_with(settings).await;
    let token = org["api_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/calls", token).await["items"], json!([]));
}

#[actix_web::test]
async fn migrate_brings_a_new_database_up_to_date() {
    let url = database_url_text(&fresh_database());
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("migrate")
            .env("DATABASE_URL", &url)
            .output()
            .unwrap()
    };
    for _ in 0..2 {
        let output = run();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(
            answer["status"], "migrated",
            "and again: nothing left to do"
        );
    }
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("migrate")
        .env("DATABASE_URL", "mysql://nowhere")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("DATABASE_URL"));
}

#[actix_web::test]
async fn unknown_endpoints_and_bad_bodies_are_json_errors() {
    let app = spawn_app().await;
    let (status, body) = app.request("GET", "/api/v1/nothing-here", None, None).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let org = app.create_org("Acme").await;
    let mut resp = app
        .client
        .put(format!("{}/api/v1/providers/twilio", app.address))
        .insert_header(("Authorization", format!("Bearer {}", org.api_token)))
        .insert_header(("Content-Type", "application/json"))
        .send_body("{not json")
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_json");
}

/// An org reads national numbers in its own country: set at creation or changed later, checked
/// (an unknown code changes nothing), used for contacts and for a PBX's callers alike.
#[actix_web::test]
async fn an_org_reads_national_numbers_in_its_own_country() {
    let app = spawn_app().await;
    let (status, body) = app
        .request(
            "POST",
            "/api/v1/orgs",
            Some(ADMIN_TOKEN),
            Some(json!({"name": "Nowhere", "default_country": "ZZ"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_country"))
    );
    let (status, created) = app
        .request(
            "POST",
            "/api/v1/orgs",
            Some(ADMIN_TOKEN),
            Some(json!({"name": "Acme US", "default_country": "us"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["default_country"], "US");
    let org = TestOrg {
        id: created["org_id"].as_str().unwrap().to_owned(),
        api_token: created["api_token"].as_str().unwrap().to_owned(),
        webhook_token: created["webhook_token"].as_str().unwrap().to_owned(),
    };
    let token = Some(org.api_token.as_str());
    let (status, dana) = app
        .request(
            "POST",
            "/api/v1/contacts",
            token,
            Some(json!({"phone": "(415) 555-0102", "name": "Dana"})),
        )
        .await;
    assert_eq!(
        (status, dana["phone"].as_str()),
        (201, Some("+14155550102")),
        "{dana}"
    );

    // The PBX's caller, written nationally, is the same contact.
    let pbx = json!({"webhook_secret": crate::pbx::SECRET, "utc_offset": "-08:00"});
    app.configure(&org, "yeastar", pbx).await;
    let members = json!([
        {"inbound": {"from": "4155550102", "to": "5550100", "trunk_name": "pri", "member_status": "ALERT"}},
        {"extension": {"number": "101", "channel_id": "PJSIP/101-01", "member_status": "RING"}},
    ]);
    let msg = json!({"call_id": "77.1", "members": members});
    crate::pbx::push(&app, &org, crate::pbx::envelope(30011, msg)).await;
    let calls = app
        .get("/api/v1/calls?provider_call_id=77.1", &org.api_token)
        .await;
    let call = &calls["items"][0];
    assert_eq!(call["from"], "+14155550102", "{call}");
    assert_eq!(call["contact_id"], dana["id"], "{call}");

    // Changed later: checked first, nothing changes when it is wrong.
    let (status, body) = app
        .request(
            "PATCH",
            "/api/v1/org",
            token,
            Some(json!({"default_country": "XX", "name": "Acme UK"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_country"))
    );
    let org_now = app.get("/api/v1/org", &org.api_token).await;
    assert_eq!(
        (
            org_now["default_country"].as_str(),
            org_now["name"].as_str()
        ),
        (Some("US"), Some("Acme US"))
    );
    let (status, body) = app
        .request(
            "PATCH",
            "/api/v1/org",
            token,
            Some(json!({"default_country": "gb", "name": "Acme UK"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["default_country"].as_str(), body["name"].as_str()),
        (Some("GB"), Some("Acme UK"))
    );
    let (status, london) = app
        .request(
            "POST",
            "/api/v1/contacts",
            token,
            Some(json!({"phone": "020 7946 0018"})),
        )
        .await;
    assert_eq!(
        (status, london["phone"].as_str()),
        (201, Some("+442079460018")),
        "{london}"
    );
}
