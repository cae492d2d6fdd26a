//! The agent desk end to end: queued inbound calls offered to agents over the WebSocket, accept
//! and reject through the API, the caller moved to the agent through the stand-in Twilio,
//! abandoned callers, queue figures, dispositions (DNC, CALLBACK), agent tokens, recording.

use crate::helpers::*;
use crate::inbound::{post_voice, voice_params};
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::engine::callback_urls::RETRY_FRAGMENT;

/// An org whose Twilio account is the stand-in's.
pub async fn desk_org(app: &TestApp, providers: &FakeProviders) -> TestOrg {
    let org = app.create_org("Acme Support").await;
    app.configure(
        &org,
        "twilio",
        json!({"account_sid": "ACtest0000", "auth_token": TWILIO_AUTH_TOKEN,
               "from_number": "+15550000000", "api_base": providers.base()}),
    )
    .await;
    org
}

async fn create(app: &TestApp, org: &TestOrg, path: &str, body: Value) -> Value {
    let (status, created) = app
        .request("POST", path, Some(&org.api_token), Some(body))
        .await;
    assert_eq!(status, 201, "POST {path}: {created}");
    created
}

/// An available agent with a phone the caller is connected to.
pub async fn agent(app: &TestApp, org: &TestOrg, name: &str, phone: &str) -> String {
    let body = json!({"name": name, "phone": phone, "availability": "available"});
    let agent = create(app, org, "/api/v1/agents", body).await;
    assert_eq!(agent["state"], "unavailable", "no session yet: {agent}");
    agent["id"].as_str().unwrap().to_owned()
}

pub async fn agent_token(app: &TestApp, org: &TestOrg, agent_id: &str) -> String {
    let token = create(
        app,
        org,
        "/api/v1/tokens",
        json!({"role": "agent", "agent_id": agent_id}),
    )
    .await;
    assert_eq!(token["agent_id"], agent_id);
    token["token"].as_str().unwrap().to_owned()
}

/// The agent's own dashboard session (its agent token's WebSocket): it is reachable while open.
pub async fn desk_session(app: &TestApp, token: &str) -> WsClient {
    let mut ws = app.ws(token, None).await;
    assert_eq!(ws.next().await["type"], "snapshot");
    ws
}

/// Waits until the agent's state is `state` (the desk hears of sessions asynchronously).
pub async fn until_state(app: &TestApp, org: &TestOrg, agent_id: &str, state: &str) -> Value {
    for _ in 0..200 {
        let agent = app
            .get(&format!("/api/v1/agents/{agent_id}"), &org.api_token)
            .await;
        if agent["state"] == state {
            return agent;
        }
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("agent {agent_id} never became {state}");
}

fn inbound_end(sid: &str, from: &str) -> Vec<(&'static str, String)> {
    let mut params = voice_params(sid, from);
    for (name, value) in params.iter_mut() {
        if *name == "CallStatus" {
            *value = "completed".into();
        }
    }
    params.push(("SequenceNumber", "5".into()));
    params.push(("CallDuration", "30".into()));
    params
}

/// The engine's call for a Twilio sid.
async fn call_of(app: &TestApp, org: &TestOrg, sid: &str) -> Value {
    let page = app
        .get(
            &format!("/api/v1/calls?provider_call_id={sid}"),
            &org.api_token,
        )
        .await;
    page["items"][0].clone()
}

/// The kinds of a call's timeline entries, oldest first.
pub async fn timeline_kinds(app: &TestApp, org: &TestOrg, call_id: &str) -> Vec<String> {
    let events = app
        .get(&format!("/api/v1/calls/{call_id}/events"), &org.api_token)
        .await;
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// The stand-in Twilio's call updates (moving live calls), oldest first.
fn call_updates(providers: &FakeProviders) -> Vec<Value> {
    providers
        .requests()
        .into_iter()
        .filter(|r| r.provider == "twilio" && r.operation == "call_update")
        .map(|r| r.body)
        .collect()
}

#[actix_web::test]
async fn a_queued_caller_is_offered_rejected_offered_again_accepted_and_connected() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = desk_org(&app, &providers).await;
    app.add_caller(&org, "+919876543210").await;
    let queue = create(
        &app,
        &org,
        "/api/v1/queues",
        json!({"name": "Support", "sla_s": 30, "ring_timeout_s": 30, "wrap_up_s": 1}),
    )
    .await;
    let queue_id = queue["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (queue["waiting"].as_u64(), queue["answered"].as_u64()),
        (Some(0), Some(0))
    );
    // Ana has been free the longest; both have their desk open.
    let ana = agent(&app, &org, "Ana", "+15550001001").await;
    let ben = agent(&app, &org, "Ben", "+15550001002").await;
    let (ana_token, ben_token) = (
        agent_token(&app, &org, &ana).await,
        agent_token(&app, &org, &ben).await,
    );
    let _ana_desk = desk_session(&app, &ana_token).await;
    let _ben_desk = desk_session(&app, &ben_token).await;
    until_state(&app, &org, &ana, "idle").await;
    until_state(&app, &org, &ben, "idle").await;
    let mut wall = app.ws(&org.api_token, None).await;
    assert_eq!(wall.next().await["type"], "snapshot");

    let (status, twiml) = post_voice(&app, &org, &voice_params("CAq1", "+919876543210")).await;
    assert_eq!(status, 200);
    assert!(twiml.contains("<Enqueue>Support</Enqueue>"), "{twiml}");
    let offer = wall
        .next_of("incoming:call", |d| d["offer"]["agent_id"] == ana.as_str())
        .await;
    let call_id = offer["data"]["call_id"].as_str().unwrap().to_owned();
    assert_eq!(
        offer["data"]["contact"]["name"], "Asha Rao",
        "the screen pop: {offer}"
    );
    assert_eq!(offer["data"]["offer"]["queue_id"], queue_id.as_str());
    assert!(offer["data"]["offer"]["expires_at"].is_string());
    let figures = app
        .get(&format!("/api/v1/queues/{queue_id}"), &org.api_token)
        .await;
    assert_eq!(figures["waiting"], 1);
    assert_eq!(figures["agents"]["offered"], 1);

    // Ana turns it down with her own token: Ben is offered it.
    let reject = format!("/api/v1/calls/{call_id}/reject");
    let (status, body) = app
        .request(
            "POST",
            &reject,
            Some(&ana_token),
            Some(json!({"reason": "on a break"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    wall.next_of("incoming:call", |d| d["offer"]["agent_id"] == ben.as_str())
        .await;
    // Ana's token cannot answer for Ben, and Ana's offer has moved on.
    let accept = format!("/api/v1/calls/{call_id}/accept");
    let (status, body) = app
        .request(
            "POST",
            &accept,
            Some(&ana_token),
            Some(json!({"agent_id": ben})),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
    let (status, body) = app
        .request("POST", &accept, Some(&ana_token), Some(json!({})))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("offer_expired"))
    );

    let (status, accepted) = app
        .request("POST", &accept, Some(&ben_token), Some(json!({})))
        .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["agent_id"], ben.as_str());
    assert_eq!(accepted["queue_id"], queue_id.as_str());
    let (status, body) = app
        .request("POST", &accept, Some(&ben_token), Some(json!({})))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("offer_expired")),
        "accepted twice"
    );

    // The caller is moved to Ben: the Calls API update with TwiML dialing his phone.
    let update = until("the caller is connected", async || {
        call_updates(&providers).into_iter().next()
    })
    .await;
    assert_eq!(update["CallSid"], "CAq1");
    let twiml = update["Twiml"].as_str().unwrap();
    assert!(
        twiml.contains("<Dial><Number>+15550001002</Number></Dial>"),
        "{twiml}"
    );
    let timeline = until("connected is on the timeline", async || {
        let kinds = timeline_kinds(&app, &org, &call_id).await;
        kinds.contains(&"connected".to_owned()).then_some(kinds)
    })
    .await;
    for kind in ["rejected", "assigned", "connected"] {
        assert!(timeline.contains(&kind.to_owned()), "{timeline:?}");
    }
    until_state(&app, &org, &ben, "busy").await;
    let figures = app
        .get(&format!("/api/v1/queues/{queue_id}"), &org.api_token)
        .await;
    assert_eq!(
        (figures["waiting"].as_u64(), figures["answered"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(figures["answered_within_sla"], 1);

    // A second caller is offered to Ana (Ben is busy), and hangs up while waiting: abandoned.
    post_voice(&app, &org, &voice_params("CAq2", "+14155550123")).await;
    wall.next_of("incoming:call", |d| d["offer"]["agent_id"] == ana.as_str())
        .await;
    let (status, _) = app
        .twilio_status(&org, &inbound_end("CAq2", "+14155550123"))
        .await;
    assert_eq!(status, 200);
    let figures = wall.next_of("queue:updated", |d| d["abandoned"] == 1).await;
    assert_eq!(figures["data"]["waiting"], 0);
    assert_eq!(figures["data"]["answered"], 1);
    until_state(&app, &org, &ana, "idle").await;

    // Ben's call ends: wrap-up, then idle again.
    app.twilio_status(&org, &inbound_end("CAq1", "+919876543210"))
        .await;
    let wrapping = wall
        .next_of("agent:updated", |d| {
            d["id"] == ben.as_str() && d["state"] == "wrap_up"
        })
        .await;
    assert!(wrapping["data"]["wrap_up_until"].is_string());
    until_state(&app, &org, &ben, "idle").await;
    let call = call_of(&app, &org, "CAq1").await;
    assert_eq!(
        (call["status"].as_str(), call["agent_id"].as_str()),
        (Some("completed"), Some(ben.as_str()))
    );
    // `/metrics` counts the desk's offers (the registry is the process's: at least these).
    let samples = prometheus_samples(&app).await;
    for (result, at_least) in [("offered", 3.0), ("rejected", 1.0), ("accepted", 1.0)] {
        let key = format!("switchboard_desk_offers_total{{result=\"{result}\"}}");
        assert!(
            samples.get(&key).copied().unwrap_or(0.0) >= at_least,
            "{key}"
        );
    }
    // The figures add up: two callers, one answered, one abandoned, none waiting.
    let figures = app
        .get(&format!("/api/v1/queues/{queue_id}"), &org.api_token)
        .await;
    assert_eq!(
        (
            figures["answered"].as_u64(),
            figures["abandoned"].as_u64(),
            figures["waiting"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );
}

#[actix_web::test]
async fn busy_away_and_disconnected_agents_are_never_offered_a_call() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = desk_org(&app, &providers).await;
    create(
        &app,
        &org,
        "/api/v1/queues",
        json!({"name": "Sales", "ring_timeout_s": 60}),
    )
    .await;
    let away = agent(&app, &org, "Away", "+15550002001").await;
    let dropped = agent(&app, &org, "Dropped", "+15550002002").await;
    let free = agent(&app, &org, "Free", "+15550002003").await;
    let away_token = agent_token(&app, &org, &away).await;
    let dropped_token = agent_token(&app, &org, &dropped).await;
    let free_token = agent_token(&app, &org, &free).await;
    // Away sets itself away; Dropped's session closes; only Free is left.
    let _away_desk = desk_session(&app, &away_token).await;
    let (status, body) = app
        .request(
            "PATCH",
            &format!("/api/v1/agents/{away}"),
            Some(&away_token),
            Some(json!({"availability": "away", "reason": "lunch"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["availability"].as_str(),
            body["availability_reason"].as_str()
        ),
        (Some("away"), Some("lunch"))
    );
    let dropped_desk = desk_session(&app, &dropped_token).await;
    until_state(&app, &org, &dropped, "idle").await;
    drop(dropped_desk);
    until_state(&app, &org, &dropped, "unavailable").await;
    let _free_desk = desk_session(&app, &free_token).await;
    until_state(&app, &org, &free, "idle").await;
    let mut wall = app.ws(&org.api_token, None).await;
    assert_eq!(wall.next().await["type"], "snapshot");

    post_voice(&app, &org, &voice_params("CAb1", "+14155550100")).await;
    let offer = wall
        .next_of("incoming:call", |d| d["offer"].is_object())
        .await;
    assert_eq!(offer["data"]["offer"]["agent_id"], free.as_str());
    // Free takes it and is busy; the next caller waits: nobody else may be offered it.
    let call_id = offer["data"]["call_id"].as_str().unwrap();
    let (status, _) = app
        .request(
            "POST",
            &format!("/api/v1/calls/{call_id}/accept"),
            Some(&free_token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
    post_voice(&app, &org, &voice_params("CAb2", "+14155550101")).await;
    let waiting = wall
        .next_of("queue:updated", |d| {
            d["waiting"] == 1 && d["agents"]["busy"] == 1
        })
        .await;
    assert_eq!(waiting["data"]["agents"]["idle"], 0);
    assert!(
        wall.screen_pops(Duration::from_millis(500))
            .await
            .is_empty(),
        "offered to an agent who is busy, away or gone"
    );
    // Away comes back: it is offered the waiting caller at once.
    app.request(
        "PATCH",
        &format!("/api/v1/agents/{away}"),
        Some(&away_token),
        Some(json!({"availability": "available"})),
    )
    .await;
    let offer = wall
        .next_of("incoming:call", |d| d["offer"].is_object())
        .await;
    assert_eq!(offer["data"]["offer"]["agent_id"], away.as_str());
}

#[actix_web::test]
async fn an_offer_nobody_answers_moves_on_and_two_misses_set_the_agent_away() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = desk_org(&app, &providers).await;
    create(
        &app,
        &org,
        "/api/v1/queues",
        json!({"name": "Help", "ring_timeout_s": 1, "max_missed_offers": 2}),
    )
    .await;
    let sleepy = agent(&app, &org, "Sleepy", "+15550003001").await;
    let token = agent_token(&app, &org, &sleepy).await;
    let _desk = desk_session(&app, &token).await;
    until_state(&app, &org, &sleepy, "idle").await;
    let mut wall = app.ws(&org.api_token, None).await;
    assert_eq!(wall.next().await["type"], "snapshot");
    post_voice(&app, &org, &voice_params("CAm1", "+14155550200")).await;
    let first = wall
        .next_of("incoming:call", |d| d["offer"].is_object())
        .await;
    // The ring timeout passes: offered again (a new round), missed again, then away.
    let second = wall
        .next_of("incoming:call", |d| d["offer"].is_object())
        .await;
    assert_ne!(first["seq"], second["seq"]);
    let away = wall
        .next_of("agent:updated", |d| {
            d["id"] == sleepy.as_str() && d["availability"] == "away"
        })
        .await;
    assert_eq!(away["data"]["availability_reason"], "missed_offers");
    let call_id = second["data"]["call_id"].as_str().unwrap();
    let (status, body) = app
        .request(
            "POST",
            &format!("/api/v1/calls/{call_id}/accept"),
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("offer_expired"))
    );
    let queue = &app.get("/api/v1/queues", &org.api_token).await["items"][0];
    assert_eq!(queue["waiting"], 1, "still waiting, for nobody: {queue}");
}

#[actix_web::test]
async fn a_failed_connect_offers_the_call_to_the_next_agent() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    providers.script(|s| s.twilio_update_status = Some(400));
    let org = desk_org(&app, &providers).await;
    create(
        &app,
        &org,
        "/api/v1/queues",
        json!({"name": "Help", "ring_timeout_s": 30}),
    )
    .await;
    let first = agent(&app, &org, "First", "+15550004001").await;
    let second = agent(&app, &org, "Second", "+15550004002").await;
    let _d1 = desk_session(&app, &agent_token(&app, &org, &first).await).await;
    let _d2 = desk_session(&app, &agent_token(&app, &org, &second).await).await;
    until_state(&app, &org, &second, "idle").await;
    let mut wall = app.ws(&org.api_token, None).await;
    assert_eq!(wall.next().await["type"], "snapshot");
    post_voice(&app, &org, &voice_params("CAf1", "+14155550300")).await;
    let offer = wall
        .next_of("incoming:call", |d| {
            d["offer"]["agent_id"] == first.as_str()
        })
        .await;
    let call_id = offer["data"]["call_id"].as_str().unwrap();
    let (status, _) = app
        .request(
            "POST",
            &format!("/api/v1/calls/{call_id}/accept"),
            Some(&org.api_token),
            Some(json!({"agent_id": first})),
        )
        .await;
    assert_eq!(status, 200, "the assignment is committed before connecting");
    wall.next_of("incoming:call", |d| {
        d["offer"]["agent_id"] == second.as_str()
    })
    .await;
    let call = until("the call is unassigned", async || {
        let call = app
            .get(&format!("/api/v1/calls/{call_id}"), &org.api_token)
            .await;
        call["agent_id"].is_null().then_some(call)
    })
    .await;
    assert_eq!(call["status"], "ringing");
    let queue = &app.get("/api/v1/queues", &org.api_token).await["items"][0];
    assert_eq!(
        (queue["answered"].as_u64(), queue["waiting"].as_u64()),
        (Some(0), Some(1))
    );
}

#[actix_web::test]
async fn a_dnc_disposition_blocks_the_number_from_every_dial() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = desk_org(&app, &providers).await;
    let token = Some(org.api_token.as_str());
    let (status, call) = app
        .request(
            "POST",
            "/api/v1/calls",
            token,
            Some(json!({"to": "+919812345678", "provider": "twilio"})),
        )
        .await;
    assert_eq!(status, 201, "{call}");
    let path = format!("/api/v1/calls/{}/disposition", call["id"].as_str().unwrap());
    let (status, body) = app
        .request("POST", &path, token, Some(json!({"code": "NO_SUCH"})))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unknown_disposition"))
    );
    let (status, disposed) = app
        .request(
            "POST",
            &path,
            token,
            Some(json!({"code": "DNC", "note": "asked not to be called"})),
        )
        .await;
    assert_eq!(status, 200, "{disposed}");
    assert_eq!(disposed["disposition"]["code"], "DNC");
    assert_eq!(disposed["disposition"]["note"], "asked not to be called");
    let listed = app.get("/api/v1/dnc", &org.api_token).await;
    assert_eq!(listed["items"][0]["phone"], "+919812345678");
    // Neither a direct dial nor a campaign reaches the number again.
    crate::dnc::direct_dial_is_refused(&app, token, "09812345678").await;
    let campaign = create(
        &app,
        &org,
        "/api/v1/campaigns",
        json!({"name": "Renewals", "provider": "twilio",
        "contacts": [{"phone": "+919812345678"}]}),
    )
    .await;
    let id = campaign["id"].as_str().unwrap();
    app.request(
        "POST",
        &format!("/api/v1/campaigns/{id}/start"),
        token,
        None,
    )
    .await;
    let contact = until("the contact is skipped", async || {
        let contacts = app
            .get(&format!("/api/v1/campaigns/{id}/contacts"), &org.api_token)
            .await;
        let contact = contacts["items"][0].clone();
        (contact["status"] == "skipped").then_some(contact)
    })
    .await;
    assert_eq!(contact["last_error"], "do_not_call", "{contact}");
    let dials = providers
        .bodies("twilio")
        .into_iter()
        .filter(|b| b["To"] == "+919812345678")
        .count();
    assert_eq!(dials, 1, "only the first call");
    // The org's codes are its own once set.
    let (status, codes) = app
        .request(
            "PUT",
            "/api/v1/dispositions",
            token,
            Some(json!({"codes": [{"code": "SALE"}, {"code": "DNC", "label": "Never again"}]})),
        )
        .await;
    assert_eq!(status, 200, "{codes}");
    assert_eq!(
        app.get("/api/v1/dispositions", &org.api_token).await["items"][1]["label"],
        "Never again"
    );
    let (status, _) = app
        .request(
            "POST",
            &path,
            token,
            Some(json!({"code": "CALLBACK", "callback_at": "2030-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, 400, "CALLBACK is no longer one of the org's codes");
}

#[actix_web::test]
async fn a_callback_disposition_dials_the_contact_again_at_the_chosen_time_through_its_campaign() {
    let app = spawn_app().await;
    // The call is answered and completes; its campaign (one contact) completes before the
    // callback is due, so the scheduler dials it itself (tests/api/dialer.rs has one a running
    // campaign dials).
    let providers = fake_providers(TwilioPlay::Full {
        step: Duration::from_millis(50),
    });
    let org = desk_org(&app, &providers).await;
    let token = Some(org.api_token.as_str());
    let campaign = create(
        &app,
        &org,
        "/api/v1/campaigns",
        json!({"name": "Follow-ups", "provider": "twilio",
        "contacts": [{"phone": "+919811112222", "name": "Ravi"}]}),
    )
    .await;
    let campaign_id = campaign["id"].as_str().unwrap().to_owned();
    app.request(
        "POST",
        &format!("/api/v1/campaigns/{campaign_id}/start"),
        token,
        None,
    )
    .await;
    let call = until("the campaign dials", async || {
        let page = app
            .get(
                &format!("/api/v1/calls?campaign_id={campaign_id}"),
                &org.api_token,
            )
            .await;
        page["items"].get(0).cloned()
    })
    .await;
    let path = format!("/api/v1/calls/{}/disposition", call["id"].as_str().unwrap());
    let (status, body) = app
        .request("POST", &path, token, Some(json!({"code": "CALLBACK"})))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_body")),
        "needs callback_at"
    );
    // A time in the past would dial the customer at once, while still on the line; a time
    // years ahead is a typo. Both are refused, and nothing is scheduled.
    let now = chrono::Utc::now();
    for at in [
        now - chrono::Duration::minutes(5),
        now + chrono::Duration::days(400),
    ] {
        let body = json!({"code": "CALLBACK", "callback_at": at.to_rfc3339()});
        let (status, answer) = app.request("POST", &path, token, Some(body)).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_body")),
            "{at}: {answer}"
        );
    }
    let pending = app.get("/api/v1/callbacks", &org.api_token).await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 0, "{pending}");
    let due = chrono::Utc::now() + chrono::Duration::seconds(2);
    let (status, body) = app
        .request(
            "POST",
            &path,
            token,
            Some(json!({"code": "CALLBACK", "callback_at": due.to_rfc3339()})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let pending = app.get("/api/v1/callbacks", &org.api_token).await;
    assert_eq!(pending["items"][0]["status"], "pending");
    crate::dialer::until_completed(&app, &org, &campaign_id).await;
    assert_eq!(
        providers.bodies("twilio").len(),
        1,
        "not dialed before its time"
    );
    // The campaign's progress counts the disposition.
    let progress = until("the progress counts the disposition", async || {
        let progress = app
            .get(
                &format!("/api/v1/campaigns/{campaign_id}/progress"),
                &org.api_token,
            )
            .await;
        (progress["dispositions"]["CALLBACK"] == 1).then_some(progress)
    })
    .await;
    assert_eq!(progress["success"], true);
    let callback = until("the callback is dialed", async || {
        let page = app.get("/api/v1/callbacks", &org.api_token).await;
        let callback = page["items"][0].clone();
        (callback["status"] == "dialed").then_some(callback)
    })
    .await;
    assert!(chrono::Utc::now() >= due);
    let dialed = app
        .get(
            &format!(
                "/api/v1/calls/{}",
                callback["dialed_call_id"].as_str().unwrap()
            ),
            &org.api_token,
        )
        .await;
    assert_eq!(dialed["to"], "+919811112222");
    assert_eq!(
        dialed["campaign_id"],
        campaign_id.as_str(),
        "through its campaign"
    );
    assert_eq!(dialed["contact_id"], call["contact_id"]);
    let dials: Vec<Value> = providers.bodies("twilio");
    assert_eq!(dials.len(), 2);
    assert_eq!(dials[1]["To"], "+919811112222");
}

#[actix_web::test]
async fn agent_and_viewer_tokens_act_only_as_far_as_their_role() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = desk_org(&app, &providers).await;
    let me = agent(&app, &org, "Me", "+15550005001").await;
    let other = agent(&app, &org, "Other", "+15550005002").await;
    let mine = agent_token(&app, &org, &me).await;
    let (status, body) = app
        .request(
            "POST",
            "/api/v1/tokens",
            Some(&org.api_token),
            Some(json!({"role": "agent", "agent_id": "nobody"})),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let viewer = create(&app, &org, "/api/v1/tokens", json!({"role": "viewer"})).await;
    let viewer = viewer["token"].as_str().unwrap();
    let me_path = format!("/api/v1/agents/{me}");
    let cases = [
        (
            "PATCH",
            me_path.clone(),
            mine.as_str(),
            json!({"availability": "break"}),
            200,
        ),
        (
            "PATCH",
            me_path.clone(),
            mine.as_str(),
            json!({"name": "Renamed"}),
            403,
        ),
        (
            "PATCH",
            format!("/api/v1/agents/{other}"),
            mine.as_str(),
            json!({"availability": "away"}),
            403,
        ),
        (
            "POST",
            "/api/v1/queues".to_owned(),
            mine.as_str(),
            json!({"name": "Mine"}),
            403,
        ),
        (
            "POST",
            "/api/v1/calls".to_owned(),
            mine.as_str(),
            json!({"to": "+15550009999", "provider": "twilio"}),
            403,
        ),
        (
            "PATCH",
            me_path.clone(),
            viewer,
            json!({"availability": "available"}),
            403,
        ),
        ("DELETE", me_path.clone(), mine.as_str(), json!({}), 403),
    ];
    for (method, path, token, body, expected) in cases {
        let (status, answer) = app.request(method, &path, Some(token), Some(body)).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
    }
    let org_seen = app.get("/api/v1/org", &mine).await;
    assert_eq!(
        (org_seen["role"].as_str(), org_seen["agent_id"].as_str()),
        (Some("agent"), Some(me.as_str()))
    );
    assert_eq!(app.get(&me_path, &mine).await["availability"], "break");
    // An agent token's session is its own agent's desk only.
    let (status, _) = app
        .request(
            "GET",
            &format!("/api/v1/ws?agent={other}"),
            Some(&mine),
            None,
        )
        .await;
    assert_eq!(status, 403);
}

#[actix_web::test]
async fn recording_is_asked_of_the_provider_when_the_org_records() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = desk_org(&app, &providers).await;
    let token = Some(org.api_token.as_str());
    let dial = json!({"to": "+919800001111", "provider": "twilio"});
    app.request("POST", "/api/v1/calls", token, Some(dial.clone()))
        .await;
    let (status, org_now) = app
        .request("PATCH", "/api/v1/org", token, Some(json!({"record": true})))
        .await;
    assert_eq!((status, org_now["record"].as_bool()), (200, Some(true)));
    app.request("POST", "/api/v1/calls", token, Some(dial))
        .await;
    let (status, _) = app
        .request(
            "POST",
            "/api/v1/calls",
            token,
            Some(json!({"to": "+919800002222", "provider": "twilio", "record": true})),
        )
        .await;
    assert_eq!(status, 201);
    let records: Vec<Value> = providers
        .bodies("twilio")
        .into_iter()
        .map(|b| b["Record"].clone())
        .collect();
    assert_eq!(records, vec![Value::Null, json!("true"), json!("true")]);
    // The recording's URL from the final callback is on the call.
    let newest = &app.get("/api/v1/calls", &org.api_token).await["items"][0];
    let sid = newest["provider_call_id"].as_str().unwrap().to_owned();
    let mut done = twilio_params(&sid, "completed", 9, 80);
    done.push((
        "RecordingUrl",
        "https://api.twilio.com/recordings/RE1".into(),
    ));
    assert_eq!(app.twilio_status(&org, &done).await.0, 200);
    let call = call_of(&app, &org, &sid).await;
    assert_eq!(
        call["recording_url"],
        "https://api.twilio.com/recordings/RE1"
    );
    // Twilio reports a recording to the engine's recording URL for that call: its URL goes on the
    // call once the recording is completed, not while it is in progress.
    let asked = providers.bodies("twilio").pop().unwrap();
    let newest = app.get("/api/v1/calls", &org.api_token).await["items"][0].clone();
    let callback = asked["RecordingStatusCallback"].as_str().unwrap();
    let path = format!(
        "/webhooks/twilio/{}/recording?call={}",
        org.id,
        newest["id"].as_str().unwrap()
    );
    let asks_for_retries = format!("{}{path}{RETRY_FRAGMENT}", app.public_url);
    assert_eq!(callback, asks_for_retries);
    let sid = newest["provider_call_id"].as_str().unwrap().to_owned();
    let url = "https://api.twilio.com/recordings/RE2";
    // (The final status callback above already put RE1 there: an unfinished recording leaves it.)
    let first = "https://api.twilio.com/recordings/RE1";
    for (status, expected) in [("in-progress", first), ("completed", url)] {
        let params = vec![
            ("AccountSid", "ACtest0000".to_owned()),
            ("CallSid", sid.clone()),
            ("RecordingSid", "RE2".to_owned()),
            ("RecordingStatus", status.to_owned()),
            ("RecordingUrl", url.to_owned()),
        ];
        let signature = twilio_signature(
            TWILIO_AUTH_TOKEN,
            &format!("{}{path}", app.public_url),
            &params,
        );
        let (code, body) = app.post_form(&path, &params, Some(&signature)).await;
        assert_eq!(code, 200, "{body}");
        let call = call_of(&app, &org, &sid).await;
        assert_eq!(call["recording_url"].as_str(), Some(expected), "{status}");
    }
    let (code, _) = app
        .post_form(&path, &[("CallSid", sid.clone())], Some("forged"))
        .await;
    assert_eq!(code, 401);
}

/// Posts a form to a Plivo webhook URL (query included) signed as Plivo signs it.
pub async fn plivo_post(app: &TestApp, url: &str, params: &[(&str, String)]) -> (u16, Value) {
    use switchboard::providers::plivo::{v3_base, v3_signature};
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let signature = v3_signature("plivo-secret", &v3_base(false, url, &owned), "nonce1");
    let path = url.strip_prefix(&app.public_url).unwrap();
    app.post_raw(
        path,
        &[
            ("Content-Type", "application/x-www-form-urlencoded".into()),
            ("X-Plivo-Signature-V3", signature),
            ("X-Plivo-Signature-V3-Nonce", "nonce1".into()),
        ],
        form_body(params).into_bytes(),
    )
    .await
}

#[actix_web::test]
async fn a_queued_plivo_caller_holds_and_is_transferred_to_the_agent_who_accepts() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = desk_org(&app, &providers).await;
    app.configure(
        &org,
        "plivo",
        json!({"auth_id": "MA1", "auth_token": "plivo-secret",
        "from_number": "918000000000", "api_base": providers.base()}),
    )
    .await;
    create(&app, &org, "/api/v1/queues", json!({"name": "Billing"})).await;
    let (status, _) = app
        .request(
            "PATCH",
            "/api/v1/org",
            Some(&org.api_token),
            Some(json!({"record": true})),
        )
        .await;
    assert_eq!(status, 200);
    let agent_id = agent(&app, &org, "Priya", "+919800005555").await;
    let _desk = desk_session(&app, &agent_token(&app, &org, &agent_id).await).await;
    until_state(&app, &org, &agent_id, "idle").await;
    let mut wall = app.ws(&org.api_token, None).await;
    assert_eq!(wall.next().await["type"], "snapshot");
    let answer = format!("{}/webhooks/plivo/{}/answer", app.public_url, org.id);
    let params = vec![
        ("CallUUID", "pl-uuid-1".to_owned()),
        ("Direction", "inbound".to_owned()),
        ("From", "919876543210".to_owned()),
        ("To", "918035739222".to_owned()),
        ("CallStatus", "ringing".to_owned()),
    ];
    let (status, xml) = plivo_post(&app, &answer, &params).await;
    assert_eq!(status, 200);
    let xml = xml.as_str().unwrap().to_owned();
    assert!(
        xml.contains("<Speak>") && xml.contains("<Wait length="),
        "holds: {xml}"
    );
    let offer = wall
        .next_of("incoming:call", |d| d["offer"].is_object())
        .await;
    let call_id = offer["data"]["call_id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .request(
            "POST",
            &format!("/api/v1/calls/{call_id}/accept"),
            Some(&org.api_token),
            Some(json!({"agent_id": agent_id})),
        )
        .await;
    assert_eq!(status, 200);
    // The Transfer API points the caller at the engine's connect URL, which dials the agent.
    let transfer = until("the caller is transferred", async || {
        providers
            .requests()
            .into_iter()
            .find(|r| r.provider == "plivo" && r.operation == "transfer")
            .map(|r| r.body)
    })
    .await;
    assert_eq!(
        (transfer["CallUUID"].as_str(), transfer["legs"].as_str()),
        (Some("pl-uuid-1"), Some("aleg"))
    );
    let url = transfer["aleg_url"].as_str().unwrap();
    assert_eq!(
        url,
        format!(
            "{}/webhooks/plivo/{}/connect?call={call_id}{RETRY_FRAGMENT}",
            app.public_url, org.id
        ),
        "the transfer's URL asks Plivo to retry what the engine could not take"
    );
    let (status, xml) = plivo_post(&app, url, &[("CallUUID", "pl-uuid-1".to_owned())]).await;
    assert_eq!(status, 200);
    let xml = xml.as_str().unwrap().to_owned();
    assert!(
        xml.contains("<Dial><Number>+919800005555</Number></Dial>"),
        "{xml}"
    );
    // The org records: the conversation is recorded, and Plivo reports it to the engine.
    let recording = format!(
        "{}/webhooks/plivo/{}/recording?call={call_id}{RETRY_FRAGMENT}",
        app.public_url, org.id
    );
    assert!(xml.contains(&format!("<Record recordSession=\"true\" redirect=\"false\" maxLength=\"14400\" callbackUrl=\"{}\"", recording.replace('&', "&amp;"))), "{xml}");
    let done = [
        ("CallUUID", "pl-uuid-1".to_owned()),
        ("RecordingID", "rec-1".to_owned()),
        ("RecordUrl", "https://media.plivo.com/rec-1.mp3".to_owned()),
    ];
    let (status, _) = plivo_post(&app, &recording, &done).await;
    assert_eq!(status, 200);
    let call = app
        .get(&format!("/api/v1/calls/{call_id}"), &org.api_token)
        .await;
    assert_eq!(call["recording_url"], "https://media.plivo.com/rec-1.mp3");
    let forged = app
        .post_raw(
            url.strip_prefix(&app.public_url).unwrap(),
            &[("X-Plivo-Signature-V3", "forged".into())],
            Vec::new(),
        )
        .await;
    assert_eq!(forged.0, 401);
}

#[actix_web::test]
async fn a_restart_puts_waiting_callers_back_in_line_and_keeps_the_days_figures() {
    let settings = test_settings();
    let app = spawn_app_with(settings.clone()).await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = desk_org(&app, &providers).await;
    let queue = create(&app, &org, "/api/v1/queues", json!({"name": "Night"})).await;
    let queue_id = queue["id"].as_str().unwrap().to_owned();
    post_voice(&app, &org, &voice_params("CAr1", "+14155550400")).await;
    post_voice(&app, &org, &voice_params("CAr2", "+14155550401")).await;
    app.twilio_status(&org, &inbound_end("CAr2", "+14155550401"))
        .await;
    let before = app
        .get(&format!("/api/v1/queues/{queue_id}"), &org.api_token)
        .await;
    assert_eq!(
        (before["waiting"].as_u64(), before["abandoned"].as_u64()),
        (Some(1), Some(1))
    );
    // The same database, a new engine: the caller still waits, the abandoned one is still counted.
    let again = spawn_app_with(settings).await;
    let after = again
        .get(&format!("/api/v1/queues/{queue_id}"), &org.api_token)
        .await;
    assert_eq!(
        (after["waiting"].as_u64(), after["abandoned"].as_u64()),
        (Some(1), Some(1)),
        "{after}"
    );
    let agent_id = agent(&again, &org, "Late shift", "+15550006001").await;
    let token = agent_token(&again, &org, &agent_id).await;
    let mut desk = again.ws(&token, None).await;
    let offer = desk
        .next_of("incoming:call", |d| {
            d["offer"]["agent_id"] == agent_id.as_str()
        })
        .await;
    assert_eq!(
        offer["data"]["call_id"],
        call_of(&again, &org, "CAr1").await["id"]
    );
    drop(app);
}

#[actix_web::test]
async fn a_caller_past_the_maximum_wait_overflows_to_the_next_queue_then_hears_the_message() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = desk_org(&app, &providers).await;
    let last = create(
        &app,
        &org,
        "/api/v1/queues",
        json!({"name": "Last resort", "number": "+15550009000",
        "max_wait_s": 1, "overflow_message": "We are closed for tonight"}),
    )
    .await;
    let first = create(
        &app,
        &org,
        "/api/v1/queues",
        json!({"name": "Front", "max_wait_s": 1,
        "overflow_queue_id": last["id"]}),
    )
    .await;
    let (status, body) = app
        .request(
            "PATCH",
            &format!("/api/v1/queues/{}", first["id"].as_str().unwrap()),
            Some(&org.api_token),
            Some(json!({"overflow_queue_id": first["id"]})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_body")),
        "not into itself"
    );
    post_voice(&app, &org, &voice_params("CAo1", "+14155550500")).await;
    let update = until("the caller hears the message", async || {
        call_updates(&providers).into_iter().next()
    })
    .await;
    assert_eq!(update["CallSid"], "CAo1");
    let twiml = update["Twiml"].as_str().unwrap();
    assert!(
        twiml.contains("<Say>We are closed for tonight</Say><Hangup/>"),
        "{twiml}"
    );
    // The desk publishes its figures as it acts; read them once both queues have counted.
    let counted = |queues: &Value| {
        queues["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .all(|q| (q["overflowed"].as_u64(), q["waiting"].as_u64()) == (Some(1), Some(0)))
        })
    };
    let queues = until("both queues count the overflow", async || {
        let queues = app.get("/api/v1/queues", &org.api_token).await;
        counted(&queues).then_some(queues)
    })
    .await;
    for queue in queues["items"].as_array().unwrap() {
        assert_eq!(
            (queue["overflowed"].as_u64(), queue["waiting"].as_u64()),
            (Some(1), Some(0)),
            "{queue}"
        );
    }
    // The desk notes the goodbye on the call once the provider has taken it.
    let call = until("the call says it overflowed", async || {
        let call = call_of(&app, &org, "CAo1").await;
        let kinds = timeline_kinds(&app, &org, call["id"].as_str().unwrap()).await;
        kinds.iter().any(|k| k == "overflowed").then_some(call)
    })
    .await;
    // Read again: the note may have been committed after the call was read above.
    let call = call_of(&app, &org, call["provider_call_id"].as_str().unwrap()).await;
    assert_eq!(call["hangup_cause"], "queue_overflow", "{call}");
    // A queue with callers in it is not deleted from under them; an empty one is.
    let (status, _) = app
        .request(
            "DELETE",
            &format!("/api/v1/queues/{}", last["id"].as_str().unwrap()),
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(status, 204);
}

#[actix_web::test]
async fn a_pbx_caller_who_dials_a_queue_number_is_transferred_to_the_accepting_agents_extension() {
    use crate::pbx::{envelope, pbx_org, push};
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = pbx_org(&app, Some(providers.base())).await;
    create(
        &app,
        &org,
        "/api/v1/queues",
        json!({"name": "PBX support", "number": "6400"}),
    )
    .await;
    // An agent reachable by its registered extension alone (no dashboard session).
    let agent = create(
        &app,
        &org,
        "/api/v1/agents",
        json!({"name": "Desk phone", "extensions": ["301"], "availability": "available"}),
    )
    .await;
    let agent_id = agent["id"].as_str().unwrap().to_owned();
    push(
        &app,
        &org,
        envelope(30007, json!({"extension": "301", "status": "Registered"})),
    )
    .await;
    until_state(&app, &org, &agent_id, "idle").await;
    let mut wall = app.ws(&org.api_token, None).await;
    assert_eq!(wall.next().await["type"], "snapshot");
    // A call to another number rings its extensions as before: not queued.
    let elsewhere = json!({"inbound": {"from": "09876543211", "to": "8035739222", "channel_id": "PJSIP/trunk-0002", "member_status": "ALERT"}});
    push(
        &app,
        &org,
        envelope(30011, json!({"call_id": "77.0", "members": [elsewhere]})),
    )
    .await;
    let held = json!({"inbound": {"from": "09876543210", "to": "6400", "trunk_name": "pri",
        "channel_id": "PJSIP/trunk-0001", "member_status": "ANSWERED"}});
    push(
        &app,
        &org,
        envelope(30011, json!({"call_id": "77.1", "members": [held.clone()]})),
    )
    .await;
    let offer = wall
        .next_of("incoming:call", |d| d["offer"].is_object())
        .await;
    assert_eq!(offer["data"]["offer"]["agent_id"], agent_id.as_str());
    assert_eq!(offer["data"]["pbx_channel"], "PJSIP/trunk-0001");
    let call_id = offer["data"]["call_id"].as_str().unwrap();
    let other = app
        .get("/api/v1/calls?provider_call_id=77.0", &org.api_token)
        .await;
    assert!(other["items"][0]["queue_id"].is_null(), "{other}");
    let (status, body) = app
        .request(
            "POST",
            &format!("/api/v1/calls/{call_id}/accept"),
            Some(&org.api_token),
            Some(json!({"agent_id": agent_id})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let transfer = until("the PBX is asked to transfer", async || {
        providers
            .requests()
            .into_iter()
            .find(|r| r.operation == "pbx_transfer")
            .map(|r| r.body)
    })
    .await;
    assert_eq!(
        transfer,
        json!({"type": "blind", "channel_id": "PJSIP/trunk-0001", "number": "301"})
    );
    // The PBX rings the agent's extension: the agent is busy with the call.
    let ringing = json!({"extension": {"number": "301", "channel_id": "PJSIP/301-01", "member_status": "RING"}});
    push(
        &app,
        &org,
        envelope(
            30011,
            json!({"call_id": "77.1", "members": [held, ringing]}),
        ),
    )
    .await;
    until_state(&app, &org, &agent_id, "busy").await;
}

/// A caller held in a queue is not answered: Twilio's `in-progress` is the engine's hold. The call
/// is answered when an agent takes it, talks only from then, and is billed the provider's whole
/// duration; a caller who hangs up on hold is abandoned — no_answer, never answered — and every
/// figure says so.
#[actix_web::test]
async fn a_caller_on_hold_is_answered_by_an_agent_not_by_the_queue() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = desk_org(&app, &providers).await;
    let token = Some(org.api_token.as_str());
    app.request("PUT", "/api/v1/rates", token, Some(json!({"rates": [
        {"provider": "twilio", "direction": "inbound", "per_minute": "0.0100", "increment_s": 60}]})))
        .await;
    create(
        &app,
        &org,
        "/api/v1/queues",
        json!({"name": "Support", "ring_timeout_s": 30}),
    )
    .await;
    let in_progress = |sid: &str, from: &str| {
        let mut params = voice_params(sid, from);
        for (name, value) in params.iter_mut() {
            if *name == "CallStatus" {
                *value = "in-progress".into();
            }
        }
        params.push(("SequenceNumber", "1".into()));
        params
    };
    // Nobody is free: both callers wait on hold.
    for (sid, from) in [("CAhold1", "+14155550601"), ("CAhold2", "+14155550602")] {
        post_voice(&app, &org, &voice_params(sid, from)).await;
        assert_eq!(
            app.twilio_status(&org, &in_progress(sid, from)).await.0,
            200
        );
        let call = call_of(&app, &org, sid).await;
        assert_eq!(
            (call["status"].as_str(), call["queue_outcome"].as_str()),
            (Some("ringing"), Some("waiting")),
            "held, not answered: {call}"
        );
        assert!(call["answered_at"].is_null(), "{call}");
    }
    assert_eq!(
        app.get("/api/v1/metrics", &org.api_token).await["answered"],
        0
    );

    // The second caller hangs up on hold: abandoned, never answered, billed its hold.
    app.twilio_status(&org, &inbound_end("CAhold2", "+14155550602"))
        .await;
    let gone = call_of(&app, &org, "CAhold2").await;
    assert_eq!(
        (gone["status"].as_str(), gone["queue_outcome"].as_str()),
        (Some("no_answer"), Some("abandoned")),
        "{gone}"
    );
    assert!(gone["answered_at"].is_null(), "{gone}");
    assert_eq!(gone["talk_s"], 0, "{gone}");
    assert!(gone["wait_s"].is_i64(), "{gone}");
    assert_eq!(
        gone["billed_s"], 60,
        "the provider's 30 s, by the minute: {gone}"
    );

    // An agent comes and takes the first: answered from then, handled.
    let ana = agent(&app, &org, "Ana", "+15550001001").await;
    let ana_token = agent_token(&app, &org, &ana).await;
    let _desk = desk_session(&app, &ana_token).await;
    let waiting = call_of(&app, &org, "CAhold1").await;
    let call_id = waiting["id"].as_str().unwrap().to_owned();
    until("the waiting caller is offered to Ana", async || {
        let agent = app
            .get(&format!("/api/v1/agents/{ana}"), &org.api_token)
            .await;
        (agent["offer"]["call_id"] == call_id.as_str()).then_some(())
    })
    .await;
    let (status, taken) = app
        .request(
            "POST",
            &format!("/api/v1/calls/{call_id}/accept"),
            Some(&ana_token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{taken}");
    assert!(
        taken["wait_s"].is_i64(),
        "waited until Ana took it: {taken}"
    );
    // Answered once the desk has connected the caller to Ana (the stand-in's call update).
    let taken = until("the caller is connected", async || {
        let call = call_of(&app, &org, "CAhold1").await;
        (call["status"] == "answered").then_some(call)
    })
    .await;
    assert_eq!(taken["queue_outcome"], "handled", "{taken}");
    assert!(
        taken["answered_at"].as_str() >= taken["assigned_at"].as_str(),
        "{taken}"
    );
    app.twilio_status(&org, &inbound_end("CAhold1", "+14155550601"))
        .await;
    let done = call_of(&app, &org, "CAhold1").await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(
        done["talk_s"].as_i64().unwrap() < 30,
        "only the time with the agent, not the provider's 30 s: {done}"
    );
    assert_eq!(
        done["billed_s"], 60,
        "billed the provider's duration: {done}"
    );
    let metrics = app.get("/api/v1/metrics", &org.api_token).await;
    assert_eq!(
        (&metrics["answered"], &metrics["answer_rate"]),
        (&json!(1), &json!(0.5)),
        "{metrics}"
    );
}
