//! Placing calls through the providers' APIs (`POST /api/v1/calls`), against a local stand-in
//! server (`src/sim`) that speaks each provider's format and, like Twilio, may call back before
//! it answers.

use crate::helpers::*;
use serde_json::{json, Value};

/// The stand-in provider APIs (`src/sim`); its Twilio posts a signed `initiated` callback to
/// the StatusCallback it was given before answering (a callback that beats the API's answer).
fn stand_in() -> (String, FakeProviders) {
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    (providers.base().to_owned(), providers)
}

async fn dial(app: &TestApp, org: &TestOrg, provider: &str, to: &str) -> (u16, Value) {
    app.request(
        "POST",
        "/api/v1/calls",
        Some(&org.api_token),
        Some(json!({"to": to, "provider": provider})),
    )
    .await
}

#[actix_web::test]
async fn a_twilio_call_exists_before_the_api_answers_and_its_early_callback_lands_on_it() {
    let app = spawn_app().await;
    let (api, providers) = stand_in();
    let org = app.create_org("Acme").await;
    app.configure(&org, "twilio", json!({"account_sid": "ACtest0000", "auth_token": TWILIO_AUTH_TOKEN, "from_number": "+15550000000", "api_base": api})).await;

    let (status, call) = dial(&app, &org, "twilio", "09876543210").await;
    assert_eq!(status, 201, "{call}");
    let sid = call["provider_call_id"].as_str().unwrap().to_owned();
    assert!(
        sid.starts_with("CAfake") && sid.ends_with("0001"),
        "the stand-in's first sid of this run: {sid}"
    );
    assert_eq!(
        call["status"], "dialing",
        "the callback that beat the API's answer was applied"
    );
    assert_eq!(
        (call["to"].as_str(), call["from"].as_str()),
        (Some("+919876543210"), Some("+15550000000"))
    );
    let calls = app.get("/api/v1/calls", &org.api_token).await;
    assert_eq!(
        calls["items"].as_array().unwrap().len(),
        1,
        "one call, not two"
    );

    let sent = &providers.bodies("twilio")[0];
    assert_eq!(sent["To"], "+919876543210");
    assert_eq!(
        sent["StatusCallbackEvent"],
        json!(["initiated", "ringing", "answered", "completed"])
    );
    let callback = sent["StatusCallback"].as_str().unwrap();
    let id = call["id"].as_str().unwrap();
    assert!(
        callback.ends_with(&format!("/status?call={id}#rc=3&rp=ct,rt,5xx")),
        "{callback}"
    );
    assert!(sent["Twiml"].as_str().unwrap().starts_with("<?xml"));

    let kinds: Vec<String> = app
        .get(&format!("/api/v1/calls/{id}/events"), &org.api_token)
        .await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["created", "originate", "twilio.status", "placed"]);

    // The rest of the call's callbacks come to the same URL.
    let url = callback.split('#').next().unwrap();
    let path = url.strip_prefix(&app.address).unwrap();
    let mut completed = twilio_params(&sid, "completed", 3, 70);
    completed[3].1 = "+919876543210".into();
    let (status, _) = app
        .post_form(
            path,
            &completed,
            Some(&twilio_signature(TWILIO_AUTH_TOKEN, url, &completed)),
        )
        .await;
    assert_eq!(status, 200);
    let call = app
        .get(&format!("/api/v1/calls/{id}"), &org.api_token)
        .await;
    assert_eq!(
        (call["status"].as_str(), call["talk_s"].as_i64()),
        (Some("completed"), Some(61))
    );
}

#[actix_web::test]
async fn a_refused_call_is_recorded_with_the_providers_words_and_no_secret() {
    let app = spawn_app().await;
    let (api, _providers) = stand_in();
    let org = app.create_org("Acme").await;
    app.configure(&org, "twilio", json!({"account_sid": "ACtest0000", "auth_token": "wrong-secret-value", "from_number": "+15550000000", "api_base": api})).await;
    let (status, call) = dial(&app, &org, "twilio", "+919876543210").await;
    assert_eq!(status, 201, "{call}");
    assert_eq!(call["status"], "failed");
    let cause = call["hangup_cause"].as_str().unwrap();
    assert!(
        cause.contains("401") && cause.contains("Authenticate"),
        "{cause}"
    );
    assert!(!call.to_string().contains("wrong-secret-value"));

    let (status, body) = dial(&app, &org, "yeastar", "+919876543210").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_provider"))
    );
    let (status, body) = dial(&app, &org, "plivo", "+919876543210").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("provider_not_configured"))
    );
    let (status, body) = dial(&app, &org, "twilio", "not a number").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_phone"))
    );
    app.request(
        "POST",
        "/api/v1/dnc",
        Some(&org.api_token),
        Some(json!({"phone": "+919000000009"})),
    )
    .await;
    let (status, body) = dial(&app, &org, "twilio", "09000000009").await;
    assert_eq!((status, body["error"].as_str()), (409, Some("do_not_call")));
    assert_eq!(
        app.get("/api/v1/calls", &org.api_token).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[actix_web::test]
async fn plivo_exotel_and_bolna_calls_are_placed_in_their_own_formats_and_tracked() {
    let app = spawn_app().await;
    let (api, providers) = stand_in();
    let org = app.create_org("Acme").await;
    app.configure(&org, "plivo", json!({"auth_id": "MA1", "auth_token": "plivo-secret", "from_number": "918000000000", "api_base": api})).await;
    app.configure(&org, "exotel", json!({"account_sid": "acme1", "api_key": "k", "api_token": "t", "caller_id": "08012345678", "flow_url": "http://my.exotel.com/acme1/exoml/start_voice/1", "api_base": api})).await;
    app.configure(
        &org,
        "bolna",
        json!({"api_key": "test-bolna-key", "agent_id": "agent-1", "api_base": api}),
    )
    .await;

    // Plivo: its API gives no CallUUID; the first callback (to a URL naming our call) does.
    let (status, call) = dial(&app, &org, "plivo", "+919876543210").await;
    assert_eq!(
        (status, call["provider_call_id"].clone()),
        (201, Value::Null),
        "{call}"
    );
    let sent = &providers.bodies("plivo")[0];
    assert_eq!(
        (sent["to"].as_str(), sent["from"].as_str()),
        (Some("919876543210"), Some("918000000000"))
    );
    let ring_url = sent["ring_url"]
        .as_str()
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_owned();
    assert!(ring_url.ends_with(&format!("/ring?call={}", call["id"].as_str().unwrap())));
    let params = vec![
        ("CallUUID", "plivo-uuid-1".to_owned()),
        ("Direction", "outbound".to_owned()),
        ("From", "918000000000".to_owned()),
        ("To", "919876543210".to_owned()),
        ("CallStatus", "ringing".to_owned()),
        ("Event", "Ring".to_owned()),
    ];
    let signature = {
        // Plivo V3 over a URL with a query: `?` + sorted query + `.` + sorted body (providers.md §2.3).
        use base64::Engine as _;
        use hmac::Mac;
        let (base, query) = ring_url.split_once('?').unwrap();
        let mut body: Vec<String> = params.iter().map(|(k, v)| format!("{k}{v}")).collect();
        body.sort();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"plivo-secret").unwrap();
        mac.update(format!("{base}?{query}.{}.n1", body.concat()).as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    };
    let (status, _) = app
        .post_raw(
            ring_url.strip_prefix(&app.address).unwrap(),
            &[
                ("Content-Type", "application/x-www-form-urlencoded".into()),
                ("X-Plivo-Signature-V3", signature),
                ("X-Plivo-Signature-V3-Nonce", "n1".into()),
            ],
            form_body(&params).into_bytes(),
        )
        .await;
    assert_eq!(status, 200);
    let call = app
        .get(
            &format!("/api/v1/calls/{}", call["id"].as_str().unwrap()),
            &org.api_token,
        )
        .await;
    assert_eq!(
        (call["provider_call_id"].as_str(), call["status"].as_str()),
        (Some("plivo-uuid-1"), Some("ringing"))
    );

    // Exotel: the customer as 91XXXXXXXXXX, the flow, a StatusCallback that authenticates itself.
    let (status, call) = dial(&app, &org, "exotel", "09876543210").await;
    assert_eq!(
        (status, call["provider_call_id"].as_str()),
        (201, Some("exo-1"))
    );
    let sent = &providers.bodies("exotel")[0];
    assert_eq!(
        (sent["From"].as_str(), sent["CallerId"].as_str()),
        (Some("919876543210"), Some("08012345678"))
    );
    assert!(sent["Url"].as_str().unwrap().contains("start_voice"));
    let status_url = sent["StatusCallback"].as_str().unwrap().to_owned();
    let path = status_url.strip_prefix(&app.address).unwrap();
    let terminal = json!({"CallSid": "exo-1", "EventType": "terminal", "Status": "busy", "EndTime": "2025-03-04 15:30:20"});
    let (status, _) = app
        .post_raw(
            path,
            &[("Content-Type", "application/json".into())],
            terminal.to_string().into(),
        )
        .await;
    assert_eq!(
        status, 200,
        "the per-call token in the URL authenticates the callback"
    );
    let forged = path.replace("sig=", "sig=0");
    let (status, _) = app
        .post_raw(
            &forged,
            &[("Content-Type", "application/json".into())],
            terminal.to_string().into(),
        )
        .await;
    assert_eq!(status, 401);
    let call = app
        .get(
            &format!("/api/v1/calls/{}", call["id"].as_str().unwrap()),
            &org.api_token,
        )
        .await;
    assert_eq!(call["status"], "busy");

    // Bolna: the execution id is the call's provider id; its webhook updates the same call.
    let (status, call) = dial(&app, &org, "bolna", "+919876543210").await;
    assert_eq!(
        (status, call["provider_call_id"].as_str()),
        (201, Some("exec-1"))
    );
    let sent = &providers.bodies("bolna")[0];
    let bolna = providers
        .requests()
        .into_iter()
        .find(|r| r.provider == "bolna");
    assert_eq!(bolna.unwrap().authorization, "Bearer test-bolna-key");
    assert_eq!(sent["recipient_phone_number"], "+919876543210");
    assert_eq!(sent["user_data"]["call_id"], call["id"]);
    let snapshot =
        json!({"id": "exec-1", "status": "ringing", "updated_at": "2025-03-04T10:00:03Z"});
    let (status, body) = app
        .post_token_json(
            &format!("/webhooks/bolna/{}", org.id),
            &org.webhook_token,
            &snapshot,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["call_id"], call["id"]);
    let calls = app.get("/api/v1/calls", &org.api_token).await;
    assert_eq!(
        calls["items"].as_array().unwrap().len(),
        3,
        "one call per provider, none twice"
    );
}

#[actix_web::test]
async fn a_stuck_call_is_settled_by_asking_the_providers_api() {
    let mut settings = test_settings();
    settings.deadlines.ring = std::time::Duration::from_secs(1);
    let app = spawn_app_with(settings).await;
    let (api, _providers) = stand_in();
    let org = app.create_org("Acme").await;
    app.configure(&org, "twilio", json!({"account_sid": "ACtest0000", "auth_token": TWILIO_AUTH_TOKEN, "from_number": "+15550000000", "api_base": api})).await;
    let (_, call) = dial(&app, &org, "twilio", "+919876543210").await;
    let id = call["id"].as_str().unwrap().to_owned();
    let mut status = Value::Null;
    for _ in 0..60 {
        status = app
            .get(&format!("/api/v1/calls/{id}"), &org.api_token)
            .await["status"]
            .clone();
        if status != "dialing" {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "no_answer", "what the provider's API said");
    let call = app
        .get(&format!("/api/v1/calls/{id}"), &org.api_token)
        .await;
    assert_eq!(
        call["final_by"], "engine",
        "an outcome with no record is the engine's inference: a final callback may still replace it"
    );
    let timeline = app
        .get(&format!("/api/v1/calls/{id}/events"), &org.api_token)
        .await;
    assert!(timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "polled"));
}

/// A provider slower to answer the dial (2 s) than the call's ring deadline (1 s here; a store
/// that refuses the answer for a while does the same to 180 s): the deadline does not close the
/// call for want of the provider's id — the engine would close as `failed` / `timeout` a call the
/// provider placed, and its callbacks would find it over. Once the answer is kept, the deadline
/// asks the provider's API, which says how the call went.
#[actix_web::test]
async fn a_call_is_not_closed_while_the_providers_answer_to_its_dial_is_awaited() {
    let mut settings = test_settings();
    settings.deadlines.ring = std::time::Duration::from_secs(1);
    let app = spawn_app_with(settings).await;
    let talk = std::time::Duration::from_secs(600);
    let providers = fake_providers(TwilioPlay::CompletedOnly { talk });
    providers.script(|s| s.twilio_answer_after = Some(std::time::Duration::from_secs(2)));
    let org = app.create_org("Acme").await;
    app.configure(&org, "twilio", json!({"account_sid": "ACtest0000", "auth_token": TWILIO_AUTH_TOKEN, "from_number": "+15550000000", "api_base": providers.base()})).await;
    let (status, call) = dial(&app, &org, "twilio", "+919876543210").await;
    assert_eq!(status, 201, "{call}");
    let path = format!("/api/v1/calls/{}", call["id"].as_str().unwrap());
    let call = until("the call is settled by asking the provider", async || {
        let call = app.get(&path, &org.api_token).await;
        (call["status"] != "dialing" && call["status"] != "queued").then_some(call)
    })
    .await;
    assert_eq!(
        call["status"], "no_answer",
        "what the provider's API said: {call}"
    );
    assert_ne!(
        call["hangup_cause"], "timeout",
        "no close for want of its answer: {call}"
    );
    assert!(call["provider_call_id"].is_string(), "{call}");
}

/// A callback URL's `?call=` is trusted only for the org's own call of that provider: org B's
/// signed Twilio callback naming org A's placed call lands on a call of B's own (by its
/// `CallSid`), and A's call does not move; the same callback without the name lands there too.
#[actix_web::test]
async fn a_callback_naming_another_orgs_call_is_routed_by_its_own_provider_id() {
    let app = spawn_app().await;
    let (api, _providers) = stand_in();
    let twilio = json!({"account_sid": "ACtest0000", "auth_token": TWILIO_AUTH_TOKEN, "from_number": "+15550000000", "api_base": api});
    let acme = app.create_org("Acme").await;
    app.configure(&acme, "twilio", twilio.clone()).await;
    let other = app.create_org("Other").await;
    app.configure(&other, "twilio", twilio).await;
    let (status, placed) = dial(&app, &acme, "twilio", "+919876543210").await;
    assert_eq!(status, 201, "{placed}");
    let acme_call = placed["id"].as_str().unwrap().to_owned();
    let before = app
        .get(&format!("/api/v1/calls/{acme_call}"), &acme.api_token)
        .await;

    let params = twilio_params("CAforeign0001", "in-progress", 1, 0);
    let path = format!("/webhooks/twilio/{}/status?call={acme_call}", other.id);
    let url = format!("{}{path}", app.public_url);
    let signature = twilio_signature(TWILIO_AUTH_TOKEN, &url, &params);
    let (status, answer) = app.post_form(&path, &params, Some(&signature)).await;
    assert_eq!(status, 200, "{answer}");
    let landed = answer["call_id"].as_str().unwrap().to_owned();
    assert_ne!(landed, acme_call, "never another org's call: {answer}");
    let own = app
        .get(&format!("/api/v1/calls/{landed}"), &other.api_token)
        .await;
    assert_eq!(own["provider_call_id"], "CAforeign0001", "{own}");
    let after = app
        .get(&format!("/api/v1/calls/{acme_call}"), &acme.api_token)
        .await;
    assert_eq!(
        (&after["status"], &after["provider_call_id"]),
        (&before["status"], &before["provider_call_id"]),
        "{after}"
    );
    let again = twilio_params("CAforeign0001", "completed", 2, 5);
    let (status, answer) = app.twilio_status(&other, &again).await;
    assert_eq!(
        (status, answer["call_id"].as_str()),
        (200, Some(landed.as_str()))
    );
}

/// An engine whose talk deadline is 1 s, and a Twilio call `sid` it heard ring and answer: its
/// `completed` never comes. Twilio's call resource (the stand-in's) has the call's record — 42 s
/// of talk — unless it answers `poll_error`.
async fn answered_past_its_talk_deadline(
    sid: &str,
    poll_error: Option<u16>,
) -> (TestApp, FakeProviders, TestOrg) {
    let mut settings = test_settings();
    settings.deadlines.talk = std::time::Duration::from_secs(1);
    let app = spawn_app_with(settings).await;
    let (api, providers) = stand_in();
    providers.script(|s| {
        s.twilio_poll_error = poll_error;
        s.twilio_poll_status = "completed".into();
        s.twilio_poll_duration = Some(42);
    });
    let org = app.create_org("Acme").await;
    app.configure(&org, "twilio", json!({"account_sid": "ACtest0000", "auth_token": TWILIO_AUTH_TOKEN, "from_number": "+15550000000", "api_base": api})).await;
    for (seq, status) in ["ringing", "in-progress"].into_iter().enumerate() {
        let params = twilio_params(sid, status, seq as u32, seq as u32);
        assert_eq!(app.twilio_status(&org, &params).await.0, 200);
    }
    (app, providers, org)
}

/// The org's one call, once a deadline's poll has ended it.
async fn ended_by_a_poll(app: &TestApp, org: &TestOrg) -> Value {
    until("a deadline's poll ends the call", async || {
        let call = app.get("/api/v1/calls", &org.api_token).await["items"][0].clone();
        (call["status"] != "answered").then_some(call)
    })
    .await
}

/// An answered Twilio call whose `completed` callback never came (refused while the engine was
/// overloaded, past the retries the URL asks for): at its deadline the engine asks Twilio's call
/// resource, which has the call's record, and the call ends as that callback would have ended
/// it — its talk, its cost, the provider's final word — not as an outcome with no duration.
#[actix_web::test]
async fn a_call_whose_last_callback_was_lost_gets_its_record_from_the_providers_api() {
    let (app, _providers, org) = answered_past_its_talk_deadline("CAlostend", None).await;
    let call = ended_by_a_poll(&app, &org).await;
    assert_eq!(
        (&call["status"], &call["talk_s"], &call["final_by"]),
        (&json!("completed"), &json!(42), &json!("provider")),
        "{call}"
    );
    assert_eq!(call["billed_s"], 42, "billed as its talk: {call}");
    let metrics = app.get("/api/v1/metrics", &org.api_token).await;
    assert_eq!(
        (&metrics["answered"], &metrics["average_talk_s"]),
        (&json!(1), &json!(42.0)),
        "{metrics}"
    );
}

/// A call past its deadline whose provider cannot be asked (its call-details API failing) is not
/// closed for it: the engine asks again a while later, and the call ends as the provider's
/// record says once it answers.
#[actix_web::test]
async fn a_call_whose_provider_cannot_be_asked_at_its_deadline_is_asked_again_not_closed() {
    let (app, providers, org) = answered_past_its_talk_deadline("CAunasked", Some(500)).await;
    until("the deadline asks the provider, which fails", async || {
        let asked = providers
            .requests()
            .iter()
            .any(|r| r.operation == "call_details");
        asked.then_some(())
    })
    .await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(500)).await;
    let call = app.get("/api/v1/calls", &org.api_token).await["items"][0].clone();
    assert_eq!(
        call["status"], "answered",
        "not closed for want of an answer: {call}"
    );
    providers.script(|s| s.twilio_poll_error = None);
    let call = ended_by_a_poll(&app, &org).await;
    assert_eq!(
        (&call["status"], &call["talk_s"], &call["final_by"]),
        (&json!("completed"), &json!(42), &json!("provider")),
        "{call}"
    );
}

#[actix_web::test]
async fn an_exotel_account_without_a_flow_connects_two_numbers_or_says_what_it_needs() {
    let app = spawn_app().await;
    let (api, providers) = stand_in();
    let org = app.create_org("Acme").await;
    app.configure(&org, "exotel", json!({"account_sid": "acme1", "api_key": "k", "api_token": "t", "caller_id": "08012345678", "api_base": api})).await;

    let (status, body) = dial(&app, &org, "exotel", "+919876543210").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("flow_url_required")),
        "{body}"
    );
    assert!(providers.bodies("exotel").is_empty(), "nothing sent");
    assert_eq!(
        app.get("/api/v1/calls", &org.api_token).await["items"],
        json!([]),
        "a refused dial stores nothing"
    );

    let (status, call) = app
        .request(
            "POST",
            "/api/v1/calls",
            Some(&org.api_token),
            Some(json!({"to": "9876543210", "provider": "exotel", "from": "09123456789"})),
        )
        .await;
    assert_eq!(status, 201, "{call}");
    let sent = &providers.bodies("exotel")[0];
    assert_eq!(
        (
            sent["From"].as_str(),
            sent["To"].as_str(),
            sent["CallerId"].as_str()
        ),
        (
            Some("919123456789"),
            Some("919876543210"),
            Some("08012345678")
        ),
        "the agent first, then the customer"
    );
    assert!(sent.get("Url").is_none());

    // A campaign on such an account cannot dial: refused at start, not retried forever.
    let (_, campaign) = app
        .request(
            "POST",
            "/api/v1/campaigns",
            Some(&org.api_token),
            Some(json!({
                "name": "No flow", "provider": "exotel", "contacts": [{"phone": "+919000000001"}],
            })),
        )
        .await;
    let (status, body) = app
        .request(
            "POST",
            &format!(
                "/api/v1/campaigns/{}/start",
                campaign["id"].as_str().unwrap()
            ),
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("flow_url_required"))
    );
}
