//! Tokens and provider credentials never appear in the logs (at `debug`), in error answers or in
//! `/metrics` — driven through the real binary, with every path that handles them exercised:
//! tokens in headers and query strings, webhooks signed, mis-signed and with wrong tokens,
//! provider and PBX calls that fail, scoped tokens issued and revoked.

use crate::helpers::*;
use crate::restart::start_engine_with;
use serde_json::{json, Value};
use std::time::Duration;

const TWILIO_SECRET: &str = "sec-twilio-auth-7f3a9c";
const PBX_WEBHOOK_SECRET: &str = "sec-pbx-webhook-2b8d41";
const PBX_CLIENT_SECRET: &str = "sec-pbx-client-5e6f70";
const EXOTEL_API_TOKEN: &str = "sec-exotel-token-91ab2c";
const BOLNA_API_KEY: &str = "sec-bolna-key-3c4d5e";

#[actix_web::test]
async fn tokens_and_credentials_never_reach_logs_errors_or_metrics() {
    let url = database_url_text(&fresh_database());
    let (engine, address) = start_engine_with(&url, 180, &[("RUST_LOG", "debug")]);
    let app = TestApp::at(address).await;
    let org = app.create_org("Acme").await;
    let mut answers: Vec<String> = Vec::new();
    let mut keep = |(status, body): (u16, Value)| {
        answers.push(body.to_string());
        (status, body)
    };

    // Credentials of every kind, pointing at a closed local port so every provider call fails.
    let dead = "http://127.0.0.1:9";
    for (provider, credentials) in [
        (
            "twilio",
            json!({"account_sid": "ACsecret01", "auth_token": TWILIO_SECRET, "from_number": "+15550000000", "api_base": dead}),
        ),
        (
            "yeastar",
            json!({"webhook_secret": PBX_WEBHOOK_SECRET, "client_id": "pbx-client", "client_secret": PBX_CLIENT_SECRET, "api_base": dead}),
        ),
        (
            "exotel",
            json!({"account_sid": "acme1", "api_key": "key-1", "api_token": EXOTEL_API_TOKEN, "caller_id": "08012345678", "flow_url": "http://my.exotel.com/acme1/exoml/start_voice/1", "api_base": dead}),
        ),
        (
            "bolna",
            json!({"api_key": BOLNA_API_KEY, "agent_id": "agent-1", "from_number": "+15550000000", "api_base": dead}),
        ),
    ] {
        let path = format!("/api/v1/providers/{provider}");
        let (status, body) = keep(
            app.request("PUT", &path, Some(&org.api_token), Some(credentials))
                .await,
        );
        assert_eq!(status, 200, "{provider}: {body}");
    }
    keep(
        app.request("GET", "/api/v1/providers", Some(&org.api_token), None)
            .await,
    );

    // Calls through each provider, and an extension dial through the PBX: all fail upstream,
    // each saying why (the cause under reqwest's "error sending request"), never with a secret.
    for provider in ["twilio", "exotel", "bolna"] {
        let (_, call) = keep(
            app.request(
                "POST",
                "/api/v1/calls",
                Some(&org.api_token),
                Some(json!({"to": "+919812300001", "provider": provider})),
            )
            .await,
        );
        let cause = call["hangup_cause"].as_str().unwrap_or_default();
        assert!(
            cause.contains("could not be reached") && cause.contains("Connection refused"),
            "{provider}: {call}"
        );
    }
    keep(
        app.request(
            "PUT",
            "/api/v1/extensions/101",
            Some(&org.api_token),
            Some(json!({"name": "Desk"})),
        )
        .await,
    );
    keep(
        app.request(
            "POST",
            "/api/v1/extensions/101/dial",
            Some(&org.api_token),
            Some(json!({"to": "+919812300001"})),
        )
        .await,
    );

    // Tokens in headers and in query strings, right and wrong; a scoped token issued and revoked.
    // The one answer that shows a token, once, on purpose: not kept.
    let (_, issued) = app
        .request(
            "POST",
            "/api/v1/tokens",
            Some(&org.api_token),
            Some(json!({"role": "viewer"})),
        )
        .await;
    let viewer = issued["token"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/calls?token={viewer}");
    keep(app.request("GET", &path, None, None).await);
    keep(
        app.request("GET", "/api/v1/calls", Some("sbk_wrong"), None)
            .await,
    );
    let mut ws = app.ws(&org.api_token, None).await;
    ws.next().await;
    let path = format!("/api/v1/tokens/{}", issued["id"].as_str().unwrap());
    keep(
        app.request("DELETE", &path, Some(&org.api_token), None)
            .await,
    );
    keep(
        app.request("GET", "/api/v1/calls", Some(&viewer), None)
            .await,
    );

    // Webhooks: signed, mis-signed, with a wrong token, with the right one.
    let params = twilio_params("CAsecret", "ringing", 1, 5);
    let status_path = format!("/webhooks/twilio/{}/status", org.id);
    let signed = twilio_signature(
        TWILIO_SECRET,
        &format!("{}{status_path}", app.public_url),
        &params,
    );
    keep(app.post_form(&status_path, &params, Some(&signed)).await);
    keep(app.post_form(&status_path, &params, Some("bm90IGl0")).await);
    let analytics = format!("/webhooks/analytics/{}", org.id);
    let push = json!({"call_id": "CAsecret", "summary": "ok"});
    keep(
        app.post_token_json(&analytics, &org.webhook_token, &push)
            .await,
    );
    keep(app.post_token_json(&analytics, "wrong-token", &push).await);
    let exotel = format!(
        "/webhooks/exotel/{}/status?token={}",
        org.id, org.webhook_token
    );
    keep(
        app.post_raw(
            &exotel,
            &[("Content-Type", "application/json".into())],
            json!({"CallSid": "exo1", "Status": "completed"})
                .to_string()
                .into_bytes(),
        )
        .await,
    );
    let yeastar = format!("/webhooks/yeastar/{}", org.id);
    keep(
        app.post_raw(
            &yeastar,
            &[
                ("Content-Type", "application/json".into()),
                ("X-Signature", "bm90IGl0".into()),
            ],
            b"{\"type\":30011}".to_vec(),
        )
        .await,
    );
    // Give failed dials and the PBX login time to log what they log.
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let metrics = app.request("GET", "/metrics", None, None).await.1;

    let secrets = [
        ADMIN_TOKEN,
        &org.api_token,
        &org.webhook_token,
        &viewer,
        TWILIO_SECRET,
        PBX_WEBHOOK_SECRET,
        PBX_CLIENT_SECRET,
        EXOTEL_API_TOKEN,
        BOLNA_API_KEY,
    ];
    let logs = engine.logs();
    assert!(
        logs.lines().count() > 20,
        "the engine logged at debug: {logs}"
    );
    assert!(
        logs.contains("GET /api/v1/calls 401"),
        "refused requests are in the access log, by path only: {logs}"
    );
    for secret in secrets {
        assert!(!logs.contains(secret), "the logs hold a secret: {logs}");
        assert!(
            !metrics.to_string().contains(secret),
            "/metrics holds a secret"
        );
        for answer in &answers {
            assert!(
                !answer.contains(secret),
                "an answer holds a secret: {answer}"
            );
        }
    }
}
