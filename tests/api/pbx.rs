//! Yeastar PBX events: live extension presence, the call model, busy protection, nothing stuck.

use crate::helpers::*;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use std::time::Duration;

pub const SECRET: &str = "0123456789abcdef0123456789abcdef";

pub async fn pbx_org(app: &TestApp, api_base: Option<&str>) -> TestOrg {
    let org = app.create_org("Floor").await;
    let mut credentials = json!({"webhook_secret": SECRET, "utc_offset": "+05:30"});
    if let Some(base) = api_base {
        credentials["api_base"] = json!(base);
        credentials["client_id"] = json!("test-client");
        credentials["client_secret"] = json!("test-client-secret");
    }
    app.configure(&org, "yeastar", credentials).await;
    org
}

/// The PBX's signature, by its documented algorithm: Base64(HMAC-SHA256(secret, raw body)).
fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The P-Series envelope: `msg` is a JSON string.
pub fn envelope(event_type: u32, msg: Value) -> Vec<u8> {
    json!({"type": event_type, "sn": "3631A2124XXX", "msg": msg.to_string()})
        .to_string()
        .into_bytes()
}

pub async fn push(app: &TestApp, org: &TestOrg, body: Vec<u8>) -> Value {
    let signature = sign(&body);
    let (status, resp) = app
        .post_raw(
            &format!("/webhooks/yeastar/{}", org.id),
            &[
                ("Content-Type", "application/json".into()),
                ("X-Signature", signature),
            ],
            body,
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    resp
}

fn ext(number: &str, status: &str) -> Value {
    json!({"extension": {"number": number, "channel_id": format!("PJSIP/{number}-01"), "member_status": status}})
}

fn inbound(status: &str) -> Value {
    json!({"inbound": {"from": "09876543210", "to": "8035739222", "trunk_name": "pri", "member_status": status}})
}

fn outbound(status: &str) -> Value {
    json!({"outbound": {"from": "20", "to": "919876543210", "trunk_name": "sip-out", "member_status": status}})
}

fn call_state(call_id: &str, members: Vec<Value>) -> Vec<u8> {
    envelope(30011, json!({"call_id": call_id, "members": members}))
}

fn cdr(call_id: &str, from: &str, to: &str, talk: i64, status: &str, kind: &str) -> Vec<u8> {
    envelope(
        30012,
        json!({
            "call_id": call_id, "time_start": "2025-03-04 15:30:00", "call_from": from, "call_to": to,
            "call_duration": 70, "talk_duration": talk, "status": status, "type": kind,
            "recording": "20250304-153000-40.wav"
        }),
    )
}

async fn presence(
    app: &TestApp,
    org: &TestOrg,
) -> std::collections::BTreeMap<String, (String, usize)> {
    let list = app
        .get("/api/v1/extensions?limit=1000", &org.api_token)
        .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["number"].as_str().unwrap().to_owned(),
                (
                    e["presence"].as_str().unwrap().to_owned(),
                    e["active_calls"].as_array().unwrap().len(),
                ),
            )
        })
        .collect()
}

fn of<'a>(p: &'a std::collections::BTreeMap<String, (String, usize)>, number: &str) -> &'a str {
    &p[number].0
}

async fn call_of(app: &TestApp, org: &TestOrg, pbx_call_id: &str) -> Value {
    app.get(
        &format!("/api/v1/calls?provider_call_id={pbx_call_id}"),
        &org.api_token,
    )
    .await["items"][0]
        .clone()
}

#[actix_web::test]
async fn an_inbound_call_to_extension_40_rings_talks_hangs_up_and_gets_its_cdr() {
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    let mut ws = app.ws(&org.api_token, None).await;
    ws.next().await;
    push(
        &app,
        &org,
        envelope(
            30007,
            json!({"extension": "40", "kind": "Sip", "status": "Registered"}),
        ),
    )
    .await;
    assert_eq!(of(&presence(&app, &org).await, "40"), "online");

    push(
        &app,
        &org,
        call_state("1700.1", vec![inbound("ALERT"), ext("40", "RING")]),
    )
    .await;
    assert_eq!(of(&presence(&app, &org).await, "40"), "ringing");
    let call = call_of(&app, &org, "1700.1").await;
    assert_eq!(
        (call["direction"].as_str(), call["status"].as_str()),
        (Some("inbound"), Some("ringing"))
    );
    assert_eq!(call["from"], "+919876543210");
    assert_eq!(call["extensions"], json!(["40"]));

    push(
        &app,
        &org,
        call_state("1700.1", vec![inbound("ANSWERED"), ext("40", "ANSWER")]),
    )
    .await;
    let p = presence(&app, &org).await;
    assert_eq!((of(&p, "40"), p["40"].1), ("incall", 1));

    push(
        &app,
        &org,
        call_state("1700.1", vec![inbound("BYE"), ext("40", "BYE")]),
    )
    .await;
    assert_eq!(
        of(&presence(&app, &org).await, "40"),
        "online",
        "the BYE frees the extension at once"
    );
    // Before its CDR the call is dated by when the PBX's events arrived: answered and ended, so
    // the answer rate counts it and the call log shows its times.
    let live = call_of(&app, &org, "1700.1").await;
    assert_eq!(live["status"], "disconnected");
    let (answered, ended) = (live["answered_at"].as_str(), live["ended_at"].as_str());
    assert!(answered.is_some_and(|a| a.starts_with("20")), "{live}");
    assert!(ended >= answered, "{live}");
    let totals = app.get("/api/v1/metrics", &org.api_token).await;
    assert_eq!(totals["answered"], 1, "{totals}");

    push(
        &app,
        &org,
        cdr("1700.1", "09876543210", "40", 61, "ANSWERED", "Inbound"),
    )
    .await;
    let call = call_of(&app, &org, "1700.1").await;
    assert_eq!(call["status"], "completed");
    assert_eq!(call["talk_s"], 61);
    assert_eq!(call["duration_s"], 70);
    assert_eq!(
        call["created_at"], "2025-03-04T10:00:00Z",
        "PBX time read at +05:30"
    );
    assert_eq!(call["answered_at"], "2025-03-04T10:00:09Z");
    assert_eq!(call["ended_at"], "2025-03-04T10:01:10Z");

    // The WebSocket saw the extension go online → ringing → incall → online.
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let event = ws.next().await;
        if event["type"] == "extension:updated" {
            seen.push(event["data"]["presence"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen, ["online", "ringing", "incall", "online"]);
}

#[actix_web::test]
async fn outbound_and_internal_calls_move_every_extension_in_them() {
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    // Outbound: extension 20 to an external number.
    push(&app, &org, call_state("1700.2", vec![ext("20", "ALERT")])).await;
    assert_eq!(
        of(&presence(&app, &org).await, "20"),
        "incall",
        "dialing out is being on the phone"
    );
    push(
        &app,
        &org,
        call_state("1700.2", vec![ext("20", "ALERT"), outbound("EARLYMEDIA")]),
    )
    .await;
    assert_eq!(call_of(&app, &org, "1700.2").await["status"], "ringing");
    push(
        &app,
        &org,
        call_state("1700.2", vec![ext("20", "ANSWERED"), outbound("ANSWER")]),
    )
    .await;
    let call = call_of(&app, &org, "1700.2").await;
    assert_eq!(
        (call["direction"].as_str(), call["status"].as_str()),
        (Some("outbound"), Some("answered"))
    );
    assert_eq!(call["to"], "+919876543210");
    push(
        &app,
        &org,
        call_state("1700.2", vec![ext("20", "BYE"), outbound("BYE")]),
    )
    .await;
    push(
        &app,
        &org,
        cdr("1700.2", "20", "919876543210", 40, "ANSWERED", "Outbound"),
    )
    .await;
    assert_eq!(of(&presence(&app, &org).await, "20"), "online");
    assert_eq!(call_of(&app, &org, "1700.2").await["status"], "completed");

    // Internal: 502 calls 503; both busy, then both online.
    push(
        &app,
        &org,
        call_state("1700.3", vec![ext("502", "ALERT"), ext("503", "RING")]),
    )
    .await;
    let p = presence(&app, &org).await;
    assert_eq!((of(&p, "502"), of(&p, "503")), ("incall", "ringing"));
    push(
        &app,
        &org,
        call_state("1700.3", vec![ext("502", "ANSWERED"), ext("503", "ANSWER")]),
    )
    .await;
    let p = presence(&app, &org).await;
    assert_eq!((of(&p, "502"), of(&p, "503")), ("incall", "incall"));
    let call = call_of(&app, &org, "1700.3").await;
    assert_eq!(
        (
            call["direction"].as_str(),
            call["from"].as_str(),
            call["to"].as_str()
        ),
        (Some("internal"), Some("502"), Some("503"))
    );
    push(
        &app,
        &org,
        call_state("1700.3", vec![ext("502", "BYE"), ext("503", "BYE")]),
    )
    .await;
    let p = presence(&app, &org).await;
    assert_eq!((of(&p, "502"), of(&p, "503")), ("online", "online"));
    push(
        &app,
        &org,
        cdr("1700.3", "502", "503", 0, "NO ANSWER", "Internal"),
    )
    .await;
    assert_eq!(call_of(&app, &org, "1700.3").await["status"], "no_answer");
}

#[actix_web::test]
async fn call_waiting_keeps_the_extension_incall_until_both_calls_end() {
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    push(
        &app,
        &org,
        call_state("1700.4", vec![inbound("ANSWERED"), ext("40", "ANSWER")]),
    )
    .await;
    push(
        &app,
        &org,
        call_state("1700.5", vec![inbound("ALERT"), ext("40", "RING")]),
    )
    .await;
    let p = presence(&app, &org).await;
    assert_eq!((of(&p, "40"), p["40"].1), ("incall", 2));
    push(
        &app,
        &org,
        call_state("1700.4", vec![inbound("HOLD"), ext("40", "HOLD")]),
    )
    .await;
    push(
        &app,
        &org,
        call_state("1700.5", vec![inbound("ANSWERED"), ext("40", "ANSWER")]),
    )
    .await;
    push(
        &app,
        &org,
        call_state("1700.4", vec![inbound("BYE"), ext("40", "BYE")]),
    )
    .await;
    let p = presence(&app, &org).await;
    assert_eq!((of(&p, "40"), p["40"].1), ("incall", 1));
    push(
        &app,
        &org,
        call_state("1700.5", vec![inbound("BYE"), ext("40", "BYE")]),
    )
    .await;
    assert_eq!(of(&presence(&app, &org).await, "40"), "online");
}

#[actix_web::test]
async fn events_out_of_order_and_twice_never_leave_an_extension_stuck() {
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    // CDR before BYE.
    push(
        &app,
        &org,
        call_state("1700.6", vec![inbound("ANSWERED"), ext("40", "ANSWER")]),
    )
    .await;
    push(
        &app,
        &org,
        cdr("1700.6", "09876543210", "40", 30, "ANSWERD", "Inbound"),
    )
    .await;
    assert_eq!(
        of(&presence(&app, &org).await, "40"),
        "online",
        "the CDR ends the call for its extensions"
    );
    push(
        &app,
        &org,
        call_state("1700.6", vec![inbound("BYE"), ext("40", "BYE")]),
    )
    .await;
    assert_eq!(of(&presence(&app, &org).await, "40"), "online");
    assert_eq!(call_of(&app, &org, "1700.6").await["status"], "completed");

    // BYE before ANSWER: the late ANSWER does not pull the extension back into the call.
    push(
        &app,
        &org,
        call_state("1700.7", vec![inbound("ALERT"), ext("41", "RING")]),
    )
    .await;
    push(
        &app,
        &org,
        call_state("1700.7", vec![inbound("BYE"), ext("41", "BYE")]),
    )
    .await;
    push(
        &app,
        &org,
        call_state("1700.7", vec![inbound("ANSWERED"), ext("41", "ANSWER")]),
    )
    .await;
    assert_eq!(of(&presence(&app, &org).await, "41"), "online");
    assert_eq!(
        call_of(&app, &org, "1700.7").await["status"],
        "disconnected"
    );

    // The same event twice: one effect.
    let body = call_state("1700.8", vec![inbound("ALERT"), ext("42", "RING")]);
    assert_eq!(push(&app, &org, body.clone()).await["status"], "accepted");
    assert_eq!(push(&app, &org, body).await["status"], "duplicate");
    let call = call_of(&app, &org, "1700.8").await;
    let timeline = app
        .get(
            &format!("/api/v1/calls/{}/events", call["id"].as_str().unwrap()),
            &org.api_token,
        )
        .await;
    assert_eq!(
        timeline["items"].as_array().unwrap().len(),
        2,
        "created + one 30011"
    );

    // An event type the engine does not use: stored, ignored.
    assert_eq!(
        push(&app, &org, envelope(30020, json!({"anything": true}))).await["status"],
        "ignored"
    );
    let inbox = app
        .get("/api/v1/webhooks?provider=yeastar", &org.api_token)
        .await;
    assert_eq!(inbox["items"][0]["kind"], "yeastar.30020");
    assert_eq!(inbox["items"][0]["outcome"], "ignored");
    // The flat form and presence events.
    let flat = json!({"type": 30009, "extension": "42", "status": "do_not_disturb"})
        .to_string()
        .into_bytes();
    push(&app, &org, flat).await;
    let p = presence(&app, &org).await;
    assert_eq!(of(&p, "42"), "ringing", "a ringing call outranks DND");
}

#[actix_web::test]
async fn a_lost_bye_is_reconciled_at_the_deadline_and_a_late_cdr_still_enriches() {
    let mut settings = test_settings();
    settings.deadlines.talk = Duration::from_secs(1);
    let app = spawn_app_with(settings).await;
    let org = pbx_org(&app, None).await;
    let mut ws = app.ws(&org.api_token, None).await;
    ws.next().await;
    push(
        &app,
        &org,
        call_state("1700.9", vec![inbound("ANSWERED"), ext("40", "ANSWER")]),
    )
    .await;
    assert_eq!(of(&presence(&app, &org).await, "40"), "incall");
    // No BYE, no CDR: the engine closes the call and frees the extension by itself.
    let mut freed = false;
    for _ in 0..8 {
        let Some(event) = ws.next_within(Duration::from_secs(3)).await else {
            break;
        };
        if event["type"] == "extension:updated" && event["data"]["presence"] == "online" {
            freed = true;
            break;
        }
    }
    assert!(freed, "extension:updated back to online on the WebSocket");
    assert_eq!(of(&presence(&app, &org).await, "40"), "online");
    let call = call_of(&app, &org, "1700.9").await;
    assert_eq!(
        (call["status"].as_str(), call["hangup_cause"].as_str()),
        (Some("failed"), Some("timeout"))
    );
    let timeline = app
        .get(
            &format!("/api/v1/calls/{}/events", call["id"].as_str().unwrap()),
            &org.api_token,
        )
        .await;
    assert!(timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "reconciled"));

    push(
        &app,
        &org,
        cdr("1700.9", "09876543210", "40", 61, "ANSWERED", "Inbound"),
    )
    .await;
    let call = call_of(&app, &org, "1700.9").await;
    assert_eq!(
        (call["status"].as_str(), call["final_by"].as_str()),
        (Some("completed"), Some("provider"))
    );
    assert_eq!(call["talk_s"], 61);
    assert_eq!(of(&presence(&app, &org).await, "40"), "online");
}

/// The stand-in PBX OpenAPI (`src/sim`), recording what it was asked.
/// A PBX call whose BYE and CDR never came (the extension answered, then nothing): at its
/// deadline the engine reads the PBX's own record of the call (`cdr/list`) and closes it as the
/// PBX says — answered, 33 s of talk, the extension free — instead of guessing a timeout.
#[actix_web::test]
async fn a_pbx_call_whose_cdr_never_came_is_closed_at_its_deadline_by_the_pbxs_record() {
    let mut settings = test_settings();
    settings.deadlines.talk = Duration::from_secs(1);
    let app = spawn_app_with(settings).await;
    let (base, providers) = fake_pbx_api(false);
    let org = pbx_org(&app, Some(&base)).await;
    push(
        &app,
        &org,
        call_state("1700.7", vec![inbound("ANSWERED"), ext("40", "ANSWER")]),
    )
    .await;
    let started = chrono::Utc::now().timestamp() - 40;
    providers.pbx_cdr(json!({"uid": "1700.7", "timestamp": started,
        "call_from": "09876543210", "call_to": "40", "duration": 38, "ring_duration": 5,
        "talk_duration": 33, "disposition": "ANSWERED", "call_type": "Inbound"}));
    let call = until("the deadline closes the call", async || {
        let call = call_of(&app, &org, "1700.7").await;
        (call["status"] == "completed").then_some(call)
    })
    .await;
    assert_eq!(
        (&call["talk_s"], &call["hangup_cause"]),
        (&json!(33), &Value::Null),
        "the PBX's record, not a timeout: {call}"
    );
    let kinds = app
        .get(
            &format!("/api/v1/calls/{}/events", call["id"].as_str().unwrap()),
            &org.api_token,
        )
        .await;
    assert!(
        kinds["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "yeastar.30012" && e["source"] == "engine"),
        "{kinds}"
    );
    assert!(
        pbx_log(&providers)
            .iter()
            .any(|r| r.get("cdr_list").is_some()),
        "the PBX's records were asked"
    );
    until("the extension is free", async || {
        (of(&presence(&app, &org).await, "40") == "online").then_some(())
    })
    .await;
}

fn fake_pbx_api(refuse_logins: bool) -> (String, FakeProviders) {
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    providers.script(|s| s.pbx_refuse_logins = refuse_logins);
    (providers.base().to_owned(), providers)
}

/// What the PBX was asked, as `{operation: body}`, oldest first.
fn pbx_log(providers: &FakeProviders) -> Vec<Value> {
    providers
        .requests()
        .into_iter()
        .filter(|r| r.provider == "yeastar")
        .map(|r| {
            assert_eq!(r.user_agent, "OpenAPI");
            if r.operation == "dial" {
                assert_eq!(r.query, "access_token=tok-1");
            }
            json!({ r.operation: r.body })
        })
        .collect()
}

#[actix_web::test]
async fn dialing_a_busy_or_offline_extension_is_refused_and_a_free_one_dials_through_the_pbx() {
    let app = spawn_app().await;
    let (api, pbx) = fake_pbx_api(false);
    let org = pbx_org(&app, Some(&api)).await;
    let dial = |number: &'static str| {
        let (app, token) = (&app, org.api_token.clone());
        async move {
            app.request(
                "POST",
                &format!("/api/v1/extensions/{number}/dial"),
                Some(&token),
                Some(json!({"to": "09876543210"})),
            )
            .await
        }
    };
    let (status, _) = dial("77").await;
    assert_eq!(status, 404, "an extension nobody has heard of");

    push(
        &app,
        &org,
        envelope(30007, json!({"extension": "30", "status": "Unregistered"})),
    )
    .await;
    let (status, body) = dial("30").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("extension_offline"))
    );

    push(
        &app,
        &org,
        envelope(30007, json!({"extension": "20", "status": "Registered"})),
    )
    .await;
    let (status, call) = dial("20").await;
    assert_eq!(status, 201, "{call}");
    assert_eq!(call["provider"], "yeastar");
    assert_eq!(call["provider_call_id"], "1800.1");
    assert_eq!(
        (call["from"].as_str(), call["to"].as_str()),
        (Some("20"), Some("+919876543210"))
    );
    let log = pbx_log(&pbx);
    assert_eq!(
        log[0]["get_token"],
        json!({"username": "test-client", "password": "test-client-secret"})
    );
    assert_eq!(log[1]["dial"]["caller"], "20");
    assert_eq!(log[1]["dial"]["callee"], "09876543210");

    let (status, body) = dial("20").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("extension_busy")),
        "busy with the call it just placed"
    );
    assert_eq!(
        pbx_log(&pbx).len(),
        2,
        "nothing sent to the PBX for a refused dial"
    );

    // The PBX reports the call; it ends; the extension can dial again.
    push(
        &app,
        &org,
        call_state("1800.1", vec![ext("20", "ANSWERED"), outbound("ANSWER")]),
    )
    .await;
    push(
        &app,
        &org,
        call_state("1800.1", vec![ext("20", "BYE"), outbound("BYE")]),
    )
    .await;
    assert_eq!(of(&presence(&app, &org).await, "20"), "online");
    assert_eq!(
        call_of(&app, &org, "1800.1").await["status"],
        "disconnected"
    );
    let (status, _) = dial("20").await;
    assert_eq!(status, 201);
    let log = pbx_log(&pbx);
    let logins = log.iter().filter(|r| r.get("get_token").is_some()).count();
    assert_eq!(
        (logins, log.len()),
        (1, 3),
        "one login, its token reused for the second dial"
    );

    // Credits on and used up by the first call's bill: a free extension's dial is refused with
    // 402 before anything reaches the PBX.
    let token = Some(org.api_token.as_str());
    let rates = json!({"rates": [{"provider": "yeastar", "direction": "outbound",
        "per_minute": "1.00", "increment_s": 60}]});
    let (status, _) = app
        .request("PUT", "/api/v1/rates", token, Some(rates))
        .await;
    assert_eq!(status, 200);
    let top_up = format!("/api/v1/orgs/{}/credits", org.id);
    let amount = Some(json!({"amount": "0.50"}));
    assert_eq!(
        app.request("POST", &top_up, Some(ADMIN_TOKEN), amount)
            .await
            .0,
        200
    );
    push(
        &app,
        &org,
        cdr("1800.1", "20", "09876543210", 61, "ANSWERED", "Outbound"),
    )
    .await;
    let credits = app.get("/api/v1/credits", &org.api_token).await;
    assert_eq!(credits["balance"], "-1.50", "{credits}");
    push(
        &app,
        &org,
        envelope(30007, json!({"extension": "21", "status": "Registered"})),
    )
    .await;
    let (status, body) = dial("21").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (402, Some("insufficient_credits")),
        "{body}"
    );
    assert_eq!(pbx_log(&pbx).len(), 3, "nothing sent to the PBX");
}

#[actix_web::test]
async fn a_pbx_event_that_beats_the_dial_answer_lands_on_the_dialed_call() {
    let app = spawn_app().await;
    let (api, pbx) = fake_pbx_api(false);
    let org = pbx_org(&app, Some(&api)).await;
    let webhook = format!("{}/webhooks/yeastar/{}", app.address, org.id);
    pbx.script(|s| s.pbx_event_before_answer = Some((webhook, SECRET.into())));
    push(
        &app,
        &org,
        envelope(30007, json!({"extension": "20", "status": "Registered"})),
    )
    .await;
    let (status, call) = app
        .request(
            "POST",
            "/api/v1/extensions/20/dial",
            Some(&org.api_token),
            Some(json!({"to": "09876543210"})),
        )
        .await;
    assert_eq!(status, 201, "{call}");
    assert_eq!(
        (
            call["provider_call_id"].as_str(),
            call["direction"].as_str()
        ),
        (Some("1800.1"), Some("outbound"))
    );
    let calls = app.get("/api/v1/calls", &org.api_token).await["items"].clone();
    assert_eq!(
        calls.as_array().unwrap().len(),
        1,
        "the PBX's early event adopted the dialed call: {calls}"
    );
    let timeline = app
        .get(
            &format!("/api/v1/calls/{}/events", call["id"].as_str().unwrap()),
            &org.api_token,
        )
        .await;
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "originate", "yeastar.30011", "dialed"]);
    let inbox = app
        .get("/api/v1/webhooks?provider=yeastar", &org.api_token)
        .await;
    assert_eq!(inbox["items"][0]["kind"], "yeastar.30011");
    assert_eq!(inbox["items"][0]["outcome"], "applied");
    assert_ne!(
        of(&presence(&app, &org).await, "20"),
        "online",
        "busy with the call"
    );
}

#[actix_web::test]
async fn a_refused_pbx_login_is_reported_and_not_retried_in_a_loop() {
    let app = spawn_app().await;
    let (api, pbx) = fake_pbx_api(true);
    let org = pbx_org(&app, Some(&api)).await;
    push(
        &app,
        &org,
        envelope(30007, json!({"extension": "20", "status": "Registered"})),
    )
    .await;
    for _ in 0..3 {
        let (status, body) = app
            .request(
                "POST",
                "/api/v1/extensions/20/dial",
                Some(&org.api_token),
                Some(json!({"to": "21"})),
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (502, Some("provider_error"))
        );
        assert!(
            !body.to_string().contains("test-client-secret"),
            "no secret in errors: {body}"
        );
    }
    assert_eq!(
        pbx_log(&pbx).len(),
        1,
        "one refused login, then no more tries"
    );
    // Outbound calls exist before they are dialed: each refused dial is on record as failed, and
    // the extension it made busy is free again.
    let calls = app.get("/api/v1/calls", &org.api_token).await["items"].clone();
    let calls = calls.as_array().unwrap();
    assert_eq!(calls.len(), 3, "{calls:?}");
    for call in calls {
        assert_eq!(call["status"], "failed");
        assert!(call["hangup_cause"]
            .as_str()
            .unwrap()
            .starts_with("provider_error"));
    }
    assert_eq!(of(&presence(&app, &org).await, "20"), "online");
}

#[actix_web::test]
async fn a_supervisor_reset_frees_a_stuck_extension_and_names_survive() {
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    let (status, body) = app
        .request(
            "PUT",
            "/api/v1/extensions/40",
            Some(&org.api_token),
            Some(json!({"name": "Asha (sales)"})),
        )
        .await;
    assert_eq!(
        (status, body["name"].as_str(), body["presence"].as_str()),
        (200, Some("Asha (sales)"), Some("offline"))
    );
    push(
        &app,
        &org,
        call_state(
            "1700.10",
            vec![
                inbound("ANSWERED"),
                ext("40", "ANSWER"),
                ext("41", "ANSWER"),
            ],
        ),
    )
    .await;
    let (status, body) = app
        .request(
            "POST",
            "/api/v1/extensions/40/reset",
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["presence"], "online");
    assert_eq!(body["name"], "Asha (sales)");
    let p = presence(&app, &org).await;
    assert_eq!(
        (of(&p, "40"), of(&p, "41")),
        ("online", "online"),
        "everyone in the reset call is freed"
    );
    let call = call_of(&app, &org, "1700.10").await;
    assert_eq!(
        (call["status"].as_str(), call["hangup_cause"].as_str()),
        (Some("failed"), Some("manual_reset"))
    );
    let (status, _) = app
        .request(
            "PUT",
            "/api/v1/extensions/bad%20number",
            Some(&org.api_token),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn a_bad_signature_is_refused_and_leaves_no_trace() {
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    let body = call_state("1700.11", vec![inbound("ALERT"), ext("40", "RING")]);
    let mut forged = sign(&body).into_bytes();
    forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
    for signature in [String::from_utf8(forged).unwrap(), String::new()] {
        let (status, _) = app
            .post_raw(
                &format!("/webhooks/yeastar/{}", org.id),
                &[
                    ("Content-Type", "application/json".into()),
                    ("X-Signature", signature),
                ],
                body.clone(),
            )
            .await;
        assert_eq!(status, 401);
    }
    // A signature over other bytes (the same JSON re-serialized) does not cover these.
    let other =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
    let (status, _) = app
        .post_raw(
            &format!("/webhooks/yeastar/{}", org.id),
            &[
                ("Content-Type", "application/json".into()),
                ("X-Signature", sign(&other)),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        app.get("/api/v1/extensions", &org.api_token).await["items"],
        json!([])
    );
    assert_eq!(
        app.get("/api/v1/calls", &org.api_token).await["items"],
        json!([])
    );
    assert_eq!(
        app.get("/api/v1/webhooks", &org.api_token).await["items"],
        json!([])
    );
    let (status, _) = app
        .post_raw(
            &format!("/webhooks/yeastar/{}", org.id),
            &[("X-Signature", sign(b"{nope"))],
            b"{nope".to_vec(),
        )
        .await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn presence_and_live_extension_calls_survive_a_restart() {
    let settings = test_settings();
    let app = spawn_app_with(settings.clone()).await;
    let org = pbx_org(&app, None).await;
    push(
        &app,
        &org,
        call_state("1700.12", vec![inbound("ANSWERED"), ext("40", "ANSWER")]),
    )
    .await;
    push(
        &app,
        &org,
        envelope(30007, json!({"extension": "41", "status": "Registered"})),
    )
    .await;
    // A second engine on the same database, as after a restart.
    let restarted = spawn_app_with(settings).await;
    let p = presence(&restarted, &org).await;
    assert_eq!(
        (of(&p, "40"), p["40"].1, of(&p, "41")),
        ("incall", 1, "online")
    );
    let mut ws = restarted.ws(&org.api_token, None).await;
    let snapshot = ws.next().await;
    assert_eq!(snapshot["data"]["extensions"].as_array().unwrap().len(), 2);
    assert_eq!(snapshot["data"]["calls"].as_array().unwrap().len(), 1);
    push(
        &restarted,
        &org,
        call_state("1700.12", vec![inbound("BYE"), ext("40", "BYE")]),
    )
    .await;
    assert_eq!(of(&presence(&restarted, &org).await, "40"), "online");
}

/// Posts a raw PBX body (any shape), signed; answers status and body.
async fn push_raw(app: &TestApp, org: &TestOrg, body: Value) -> (u16, Value) {
    let body = body.to_string().into_bytes();
    let signature = sign(&body);
    app.post_raw(
        &format!("/webhooks/yeastar/{}", org.id),
        &[
            ("Content-Type", "application/json".into()),
            ("X-Signature", signature),
        ],
        body,
    )
    .await
}

#[actix_web::test]
async fn flat_cdrs_as_integrations_received_them_end_the_call_and_free_the_extension() {
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    for (call_id, member, number, cdr) in [
        (
            "1900.1",
            inbound("ANSWERED"),
            "40",
            json!({"type": "Inbound", "call_id": "1900.1", "call_from": "6940960701", "call_to": "40",
                   "status": "ANSWERED", "talk_duration": 120, "call_duration": 130,
                   "time_start": "2025-03-04 15:30:00", "recording": "20250304-153000-40.wav"}),
        ),
        (
            "1900.2",
            outbound("ANSWER"),
            "20",
            json!({"type": "outbound", "call_id": "1900.2", "call_from": "20", "call_to": "919876543210",
                   "status": "ANSWERD", "talk_duration": 30}),
        ),
    ] {
        let ext_status = if number == "40" { "ANSWER" } else { "ANSWERED" };
        push(
            &app,
            &org,
            call_state(call_id, vec![member, ext(number, ext_status)]),
        )
        .await;
        assert_eq!(of(&presence(&app, &org).await, number), "incall");
        let (status, body) = push_raw(&app, &org, cdr).await;
        assert_eq!(status, 200, "{body}");
        let call = call_of(&app, &org, call_id).await;
        assert_eq!(call["status"], "completed", "{call}");
        assert_eq!(
            of(&presence(&app, &org).await, number),
            "online",
            "not stuck in a call"
        );
    }
    let inbound_call = call_of(&app, &org, "1900.1").await;
    assert_eq!(inbound_call["talk_s"], 120);
    assert_eq!(inbound_call["recording"], "20250304-153000-40.wav");
    assert_eq!(
        inbound_call["recording_url"],
        Value::Null,
        "a file name is not a URL"
    );
    assert_eq!(call_of(&app, &org, "1900.2").await["talk_s"], 30);
}

#[actix_web::test]
async fn s_series_spellings_and_impossible_durations_are_read_without_a_panic() {
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    // API v2 `event` names, `ext` members with `memberstatus`, a NewCdr with its misspellings.
    let (status, body) = push_raw(&app, &org, json!({"event": "CallStatus", "callid": "1901.1",
        "members": [{"inbound": {"from": "09876543210", "to": "8035739222", "memberstatus": "ANSWERED"}},
                    {"ext": {"number": "41", "memberstatus": "ANSWER"}}]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(of(&presence(&app, &org).await, "41"), "incall");
    let (status, body) = push_raw(
        &app,
        &org,
        json!({"action": "NewCdr", "callid": "1901.1",
        "timestart": "2025-03-04 15:30:00", "callfrom": "09876543210", "callto": "41",
        "callduraction": "75", "talkduraction": "61", "status": "ANSWERED", "type": "Inbound"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let call = call_of(&app, &org, "1901.1").await;
    assert_eq!(
        (call["status"].as_str(), call["talk_s"].as_i64()),
        (Some("completed"), Some(61))
    );
    assert_eq!(of(&presence(&app, &org).await, "41"), "online");

    // A signed CDR with durations no call can have: kept, the durations dropped, no panic.
    push(
        &app,
        &org,
        call_state("1901.2", vec![inbound("ANSWERED"), ext("42", "ANSWER")]),
    )
    .await;
    let (status, body) = push_raw(&app, &org, json!({"type": 30012, "sn": "x", "msg": json!({
        "call_id": "1901.2", "time_start": "2025-03-04 15:30:00", "call_from": "09876543210",
        "call_to": "42", "call_duration": 9_000_000_000_000_000_i64, "talk_duration": 9_000_000_000_000_000_i64,
        "status": "ANSWERED", "type": "Inbound"}).to_string()})).await;
    assert_eq!(status, 200, "{body}");
    let call = call_of(&app, &org, "1901.2").await;
    assert_eq!(call["duration_s"], Value::Null, "{call}");
    assert!(call["talk_s"].as_i64().unwrap_or(0) < 86_400, "{call}");
    assert_eq!(call["final_by"], "provider", "the CDR itself was kept");
    assert_eq!(of(&presence(&app, &org).await, "42"), "online");
    app.get("/healthz", &org.api_token).await;
}

#[actix_web::test]
async fn a_pbx_inbound_call_ringing_an_extension_pops_its_caller() {
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    app.add_caller(&org, "09876543210").await;
    let mut ws = app.ws(&org.api_token, None).await;
    assert_eq!(ws.next().await["type"], "snapshot");
    // An inbound call rings two extensions in turn (a ring group), then is answered.
    for members in [
        vec![inbound("ALERT"), ext("50", "RING")],
        vec![inbound("ALERT"), ext("51", "RING")],
        vec![inbound("ANSWERED"), ext("51", "ANSWER")],
    ] {
        push(&app, &org, call_state("1902.1", members)).await;
    }
    let pops = ws.screen_pops(Duration::from_millis(500)).await;
    assert_eq!(pops.len(), 1, "one pop per call");
    let data = &pops[0]["data"];
    assert_eq!(data["caller_name"], "Asha Rao");
    assert_eq!(data["company"], "Rao Traders");
    assert_eq!(data["call"]["provider"], "yeastar");
    assert_eq!(data["call"]["from"], "+919876543210");
    let call = call_of(&app, &org, "1902.1").await;
    assert!(
        call["contact_id"].is_string(),
        "the call knows its caller: {call}"
    );
}

/// An inbound call the PBX's trunk answered (its IVR or queue) while the extension only rang is
/// not answered by a person: when the extension was busy, the call is busy with no answer time,
/// and no figure counts it answered.
#[actix_web::test]
async fn a_trunk_answered_by_the_pbx_while_the_extension_rings_is_not_an_answer() {
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    push(
        &app,
        &org,
        call_state("1950.1", vec![inbound("ANSWERED"), ext("60", "RING")]),
    )
    .await;
    let call = call_of(&app, &org, "1950.1").await;
    assert_eq!(call["status"], "ringing", "{call}");
    assert!(call["answered_at"].is_null(), "{call}");
    let failed = json!({"call_id": "1950.1", "reason": "486 User Busy",
        "members": [{"extension": {"number": "60", "member_status": "BYE"}}]});
    push(&app, &org, envelope(30015, failed)).await;
    let call = call_of(&app, &org, "1950.1").await;
    assert_eq!(call["status"], "busy", "{call}");
    assert!(call["answered_at"].is_null(), "{call}");
    let metrics = app.get("/api/v1/metrics", &org.api_token).await;
    assert_eq!(metrics["answered"], 0, "{metrics}");
}

/// A 30011 snapshot has no id or sequence: the same snapshot again right after itself is a retry,
/// but after another one it is the call's state coming back — an agent takes the caller off hold —
/// and it goes on the timeline (a retry of that is still a duplicate).
#[actix_web::test]
async fn a_call_taken_off_hold_is_a_new_event_not_a_duplicate_of_its_first_answer() {
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    let talking = call_state("1800.1", vec![inbound("ANSWERED"), ext("40", "ANSWER")]);
    let holding = call_state("1800.1", vec![inbound("ANSWERED"), ext("40", "HOLD")]);
    let outcomes = [
        push(&app, &org, talking.clone()).await,
        push(&app, &org, talking.clone()).await,
        push(&app, &org, holding).await,
        push(&app, &org, talking.clone()).await,
        push(&app, &org, talking).await,
    ];
    let words: Vec<&str> = outcomes
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        words,
        ["accepted", "duplicate", "accepted", "accepted", "duplicate"],
        "answer, its retry, hold, un-hold, its retry"
    );
    let call = call_of(&app, &org, "1800.1").await;
    let timeline = app
        .get(
            &format!("/api/v1/calls/{}/events", call["id"].as_str().unwrap()),
            &org.api_token,
        )
        .await;
    let statuses: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["raw_status"].as_str())
        .collect();
    assert_eq!(
        statuses,
        ["ANSWERED,ANSWER", "ANSWERED,HOLD", "ANSWERED,ANSWER"],
        "{timeline}"
    );
    assert_eq!(call["status"], "answered");
}

/// A call answered and hung up within a second: the extension said ANSWER, and the CDR says
/// ANSWERED with `talk_duration` 0 (the PBX rounds). It was answered — found by the demo's check
/// against its simulators' truth. An ANSWERED CDR with no talk and no answer event is not.
#[actix_web::test]
async fn an_answer_shorter_than_a_second_is_still_an_answer() {
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    push(
        &app,
        &org,
        call_state("1900.1", vec![inbound("ANSWERED"), ext("40", "ANSWER")]),
    )
    .await;
    push(
        &app,
        &org,
        cdr("1900.1", "09876543210", "40", 0, "ANSWERED", "Inbound"),
    )
    .await;
    let call = call_of(&app, &org, "1900.1").await;
    assert_eq!(
        (
            &call["status"],
            call["answered_at"].is_string(),
            &call["talk_s"]
        ),
        (&json!("completed"), true, &json!(0)),
        "{call}"
    );
    push(
        &app,
        &org,
        cdr("1900.2", "09876543210", "41", 0, "ANSWERED", "Inbound"),
    )
    .await;
    let call = call_of(&app, &org, "1900.2").await;
    assert_eq!(
        (&call["status"], call["answered_at"].is_null()),
        (&json!("no_answer"), true),
        "{call}"
    );
    let metrics = app.get("/api/v1/metrics", &org.api_token).await;
    assert_eq!(metrics["answered"], 1, "{metrics}");
}

/// An extension as the PBX's extension list has it.
fn listed(number: &str, online: bool, presence: &str) -> Value {
    json!({"id": 1, "number": number, "presence_status": presence,
           "online_status": {"sip_phone": {"status": i32::from(online)}}})
}

/// The PBX's webhooks go quiet while 3 of 5 calls end and two extensions change (one unregisters,
/// one turns on do-not-disturb). `POST /api/v1/extensions/resync` asks the PBX's own API what is
/// true and the board equals the PBX: the ended calls are over (`pbx_resync` on their timeline)
/// and their extensions free, the live ones still in call, the changed extensions as the PBX says.
/// A PBX whose API fails changes nothing and says so.
#[actix_web::test]
async fn after_a_webhook_gap_a_resync_makes_the_board_equal_the_pbx() {
    let app = spawn_app().await;
    let (base, providers) = fake_pbx_api(false);
    let org = pbx_org(&app, Some(&base)).await;
    let numbers: Vec<String> = (101..=107).map(|n| n.to_string()).collect();
    for number in &numbers {
        let registered = json!({"extension": number, "status": "Registered"});
        push(&app, &org, envelope(30007, registered)).await;
    }
    for n in 1..=5 {
        let members = vec![inbound("ANSWERED"), ext(&format!("10{n}"), "ANSWER")];
        push(&app, &org, call_state(&format!("2000.{n}"), members)).await;
    }
    let p = presence(&app, &org).await;
    assert!(
        (101..=105).all(|n| of(&p, &n.to_string()) == "incall"),
        "{p:?}"
    );

    // The gap: calls 1–3 ended, 106 unregistered, 107 went do-not-disturb; no webhook said so.
    let still = |n: u32| json!({"call_id": format!("2000.{n}"), "members": [inbound("ANSWERED"), ext(&format!("10{n}"), "ANSWER")]});
    providers.script(|s| {
        s.pbx_calls = vec![still(4), still(5)];
        s.pbx_extensions = numbers
            .iter()
            .map(|n| match n.as_str() {
                "106" => listed(n, false, "available"),
                "107" => listed(n, true, "do_not_disturb"),
                _ => listed(n, true, "available"),
            })
            .collect();
        s.pbx_state_error = Some(10001);
    });
    let mut board = app.ws(&org.api_token, None).await;
    let (status, body) = app
        .request(
            "POST",
            "/api/v1/extensions/resync",
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("provider_error")),
        "{body}"
    );
    let metrics = app.request("GET", "/metrics", None, None).await.1;
    assert!(
        metrics
            .as_str()
            .is_some_and(|m| m.contains("switchboard_pbx_resyncs_total{result=\"failed\"}")),
        "a failed resync is counted: {metrics}"
    );
    let failed = board.next_of("presence:resynced", |_| true).await;
    assert_eq!(
        (&failed["data"]["trigger"], &failed["data"]["ok"]),
        (&json!("demand"), &json!(false)),
        "the dashboards hear that the PBX could not be asked: {failed}"
    );
    assert!(
        failed["data"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{failed}"
    );
    assert_eq!(
        presence(&app, &org).await,
        p,
        "a failed resync changes nothing"
    );

    providers.script(|s| s.pbx_state_error = None);
    // The PBX's records: call 1 (whose end the engine missed) talked 42 s; call 9 rang and was
    // answered entirely inside the gap (the engine never heard of it); call 8 is an old one.
    let now = chrono::Utc::now().timestamp();
    let record = |id: &str, at: i64, talk: i64| {
        json!({"uid": id, "timestamp": at, "call_from": "Customer<09876543210>",
            "call_to": "101", "duration": talk + 5, "talk_duration": talk,
            "disposition": "ANSWERED", "call_type": "Inbound"})
    };
    providers.pbx_cdr(record("2000.8", now - 30 * 3600, 10));
    providers.pbx_cdr(record("2000.1", now - 50, 42));
    providers.pbx_cdr(record("2000.9", now - 20, 12));
    let (status, done) = app
        .request(
            "POST",
            "/api/v1/extensions/resync",
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(status, 202, "{done}");
    assert_eq!(
        (
            &done["calls_ended"],
            &done["extensions_changed"],
            &done["records_applied"]
        ),
        (&json!(3), &json!(2), &json!(2)),
        "{done}"
    );
    let announced = board.next_of("presence:resynced", |_| true).await;
    assert_eq!(
        announced["data"],
        json!({"trigger": "demand", "ok": true, "changed": done}),
        "the dashboards hear what the resync changed"
    );
    let unheard = call_of(&app, &org, "2000.9").await;
    assert_eq!(
        (&unheard["status"], &unheard["talk_s"], &unheard["from"]),
        (&json!("completed"), &json!(12), &json!("+919876543210")),
        "a call the engine never heard of is on the board from the PBX's record: {unheard}"
    );
    assert_eq!(
        call_of(&app, &org, "2000.1").await["talk_s"],
        42,
        "the missed CDR's talk, not the resync's guess"
    );
    let p = presence(&app, &org).await;
    let words: Vec<&str> = numbers.iter().map(|n| of(&p, n)).collect();
    assert_eq!(
        words,
        ["online", "online", "online", "incall", "incall", "offline", "dnd"],
        "{p:?}"
    );
    let ended = call_of(&app, &org, "2000.1").await;
    assert_eq!(ended["hangup_cause"], "pbx_resync", "{ended}");
    assert!(
        !ended["status"]
            .as_str()
            .is_some_and(|s| ["queued", "dialing", "ringing", "answered"].contains(&s)),
        "{ended}"
    );
    assert_eq!(call_of(&app, &org, "2000.4").await["status"], "answered");
    let timeline = app
        .get(
            &format!("/api/v1/calls/{}/events", ended["id"].as_str().unwrap()),
            &org.api_token,
        )
        .await;
    let said: Vec<(Value, Value)> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].clone(), e["data"]["trigger"].clone()))
        .collect();
    assert_eq!(
        said[said.len() - 2..],
        [
            (json!("reconciled"), json!("pbx_resync")),
            (json!("yeastar.30012"), Value::Null)
        ],
        "ended by the resync, then its record applied: {timeline}"
    );

    // Again: nothing left to change.
    let (_, again) = app
        .request(
            "POST",
            "/api/v1/extensions/resync",
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(
        again,
        json!({"calls_ended": 0, "extensions_changed": 0, "memberships_left": 0,
               "extensions_confirmed": 7, "records_applied": 0, "unapplied": 0})
    );
    // Every extension says how fresh its state is: the PBX's API confirmed it just now.
    let list = app.get("/api/v1/extensions", &org.api_token).await;
    for e in list["items"].as_array().unwrap() {
        assert!(e["confirmed_at"].is_string(), "{e}");
        assert!(e["state_age_s"].as_i64().is_some_and(|age| age <= 2), "{e}");
    }
}

/// The done-when of issue 28's resync, time-scaled: the PBX's webhooks stop while 50 of 60 calls
/// end and 10 extensions turn on do-not-disturb. With `SWITCHBOARD_PBX_RESYNC_S` = 2, within
/// 2 + 5 s of the last webhook the board equals the PBX, with no request from anyone.
#[actix_web::test]
async fn a_silent_pbx_is_resynced_by_itself_within_its_period() {
    let mut settings = test_settings();
    settings.pbx_resync = std::time::Duration::from_secs(2);
    let app = spawn_app_with(settings).await;
    let (base, providers) = fake_pbx_api(false);
    let org = pbx_org(&app, Some(&base)).await;
    let numbers: Vec<String> = (101..=160).map(|n| n.to_string()).collect();
    for number in &numbers {
        let registered = json!({"extension": number, "status": "Registered"});
        push(&app, &org, envelope(30007, registered)).await;
    }
    let member = |n: usize| vec![inbound("ANSWERED"), ext(&numbers[n], "ANSWER")];
    for n in 0..60 {
        push(&app, &org, call_state(&format!("3000.{n}"), member(n))).await;
    }
    providers.script(|s| {
        s.pbx_calls = (50..60)
            .map(|n| json!({"call_id": format!("3000.{n}"), "members": member(n)}))
            .collect();
        s.pbx_extensions = numbers
            .iter()
            .enumerate()
            .map(|(i, n)| {
                listed(
                    n,
                    true,
                    if i < 10 {
                        "do_not_disturb"
                    } else {
                        "available"
                    },
                )
            })
            .collect();
    });
    let mut board = app.ws(&org.api_token, None).await;
    let silent = std::time::Instant::now();
    let expected: Vec<&str> = (0..60)
        .map(|i| match i {
            0..10 => "dnd",
            10..50 => "online",
            _ => "incall",
        })
        .collect();
    until("the board equals the PBX", async || {
        let p = presence(&app, &org).await;
        let words: Vec<&str> = numbers.iter().map(|n| of(&p, n)).collect();
        (words == expected).then_some(())
    })
    .await;
    let took = silent.elapsed();
    eprintln!("a silent PBX resynced {took:?} after its last webhook");
    assert!(took < std::time::Duration::from_secs(7), "{took:?}");
    let metrics = app.get("/api/v1/metrics", &org.api_token).await;
    assert_eq!(metrics["live_calls"], 10, "{metrics}");
    let announced = board
        .next_of("presence:resynced", |d| d["trigger"] == "silence")
        .await;
    assert_eq!(
        announced["data"]["changed"]["calls_ended"], 50,
        "{announced}"
    );
}

/// The engine refuses one PBX event (its database locked: 503) while the PBX keeps talking — no
/// silence, and the PBX never sends that event again. The refused BYE's call is over on the PBX:
/// once the refusals stop, the engine looks at the PBX by itself (`presence:resynced`, trigger
/// `refused`), and the call ends and its extension is free, long before any deadline.
#[actix_web::test]
async fn a_refused_pbx_event_is_looked_for_at_the_pbx_though_it_keeps_talking() {
    let mut settings = test_settings();
    // Longer than the refused event waits for the lock: no silence is long enough to be one.
    settings.pbx_resync = Duration::from_secs(10);
    let url = settings.database_url.clone();
    let app = spawn_app_with(settings).await;
    let (base, providers) = fake_pbx_api(false);
    let org = pbx_org(&app, Some(&base)).await;
    for number in ["101", "102"] {
        let registered = json!({"extension": number, "status": "Registered"});
        push(&app, &org, envelope(30007, registered)).await;
    }
    let answered = vec![inbound("ANSWERED"), ext("101", "ANSWER")];
    push(&app, &org, call_state("4000.1", answered)).await;
    providers.script(|s| {
        s.pbx_calls = Vec::new();
        s.pbx_extensions = vec![
            listed("101", true, "available"),
            listed("102", true, "available"),
        ];
    });
    let mut board = app.ws(&org.api_token, None).await;
    let lock = WriteLock::hold(&url);
    let bye = call_state("4000.1", vec![inbound("BYE"), ext("101", "BYE")]);
    let signature = sign(&bye);
    let headers = [
        ("Content-Type", "application/json".into()),
        ("X-Signature", signature),
    ];
    let (status, answer) = app
        .post_raw(&format!("/webhooks/yeastar/{}", org.id), &headers, bye)
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (503, Some("unavailable"))
    );
    lock.release();
    // The PBX is never silent: another extension's events keep coming.
    let mut beat = 0;
    let call = until(
        "the refused BYE's call is over, its extension free",
        async || {
            beat += 1;
            let word = ["Registered", "Unregistered"][beat % 2];
            let seen = json!({"extension": "102", "status": word});
            push(&app, &org, envelope(30007, seen)).await;
            let call = call_of(&app, &org, "4000.1").await;
            let free = of(&presence(&app, &org).await, "101") == "online";
            (call["status"] != "answered" && free).then_some(call)
        },
    )
    .await;
    assert_eq!(call["hangup_cause"], "pbx_resync", "{call}");
    let announced = board
        .next_of("presence:resynced", |d| d["trigger"] == "refused")
        .await;
    assert_eq!(
        announced["data"]["changed"]["calls_ended"], 1,
        "{announced}"
    );
}

/// The simulated PBX itself goes quiet for 4 s in the middle of its traffic (every webhook lost,
/// its state API still true): afterwards, with the resync period at 1 s, the board equals what the
/// PBX really has — every extension's presence as registered, no call the PBX ended still live.
#[actix_web::test]
async fn a_simulated_pbx_webhook_gap_is_repaired_by_the_resync() {
    use switchboard::sim::dice::Dice;
    use switchboard::sim::pbx::{Gap, PbxSim};
    use switchboard::sim::truth::Truth;
    let mut settings = test_settings();
    settings.pbx_resync = std::time::Duration::from_secs(1);
    let app = spawn_app_with(settings).await;
    let (base, providers) = fake_pbx_api(false);
    let org = pbx_org(&app, Some(&base)).await;
    let truth = Truth::new();
    let sim = PbxSim {
        webhook_url: format!("{}/webhooks/yeastar/{}", app.address, org.id),
        secret: SECRET.into(),
        extensions: 20,
        calls_per_minute: 60.0,
        speed: 10.0,
        lost_bye: 0.0,
        lost_cdr: 0.0,
        truth: Some(truth.clone()),
        api: Some(providers.clone()),
        gap: Some(Gap {
            after: std::time::Duration::from_secs(2),
            lasting: std::time::Duration::from_secs(4),
        }),
    };
    actix_web::rt::spawn(sim.run(Dice::new(7)));
    actix_web::rt::time::sleep(std::time::Duration::from_secs(8)).await;
    truth.close();
    until("the PBX's calls are over", async || {
        (truth.live() == 0).then_some(())
    })
    .await;
    let over = std::time::Instant::now();
    let registered = truth.extensions();
    assert_eq!(registered.len(), 20);
    until("the board equals the PBX", async || {
        let p = presence(&app, &org).await;
        let same = registered.iter().all(|(n, online)| {
            p.get(n).map(|(word, _)| word.as_str())
                == Some(if *online { "online" } else { "offline" })
        });
        let live = app.get("/api/v1/metrics", &org.api_token).await["live_calls"].as_i64();
        (same && live == Some(0)).then_some(())
    })
    .await;
    eprintln!(
        "the board equals the PBX {:?} after its last call",
        over.elapsed()
    );
    assert!(over.elapsed() < std::time::Duration::from_secs(6));
    let ended = app.get("/api/v1/calls?limit=1000", &org.api_token).await;
    let resynced = ended["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["hangup_cause"] == "pbx_resync")
        .count();
    assert!(
        resynced > 0,
        "the gap swallowed calls' ends, the resync ended them: {ended}"
    );
}
