//! The dialer end to end against the stand-in Twilio: contacts added while a campaign runs,
//! recycling by outcome with its timings, the per-number daily cap, calling windows in each
//! contact's own zone, lead priority, and answering-machine detection with its rule.

use crate::desk::{agent, agent_token, desk_session, plivo_post, timeline_kinds, until_state};
use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn dialer_org(app: &TestApp, providers: &FakeProviders) -> TestOrg {
    let org = app.create_org("Dialer floor").await;
    app.configure(
        &org,
        "twilio",
        json!({"account_sid": "ACtest0000", "auth_token": TWILIO_AUTH_TOKEN,
               "from_number": "+15550000000", "api_base": providers.base(), "calls_per_second": 50}),
    )
    .await;
    org
}

fn full_play() -> FakeProviders {
    fake_providers(TwilioPlay::Full {
        step: Duration::from_millis(20),
    })
}

/// Creates a campaign (answered 201): its id.
pub async fn campaign(app: &TestApp, org: &TestOrg, body: Value) -> String {
    let (status, created) = app
        .request(
            "POST",
            "/api/v1/campaigns",
            Some(&org.api_token),
            Some(body),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// Starts a campaign (answered 200).
pub async fn start(app: &TestApp, org: &TestOrg, id: &str) {
    let (status, body) = app
        .request(
            "POST",
            &format!("/api/v1/campaigns/{id}/start"),
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Waits until the campaign is `completed`: the campaign.
pub async fn until_completed(app: &TestApp, org: &TestOrg, id: &str) -> Value {
    until("the campaign completes", async || {
        let campaign = app
            .get(&format!("/api/v1/campaigns/{id}"), &org.api_token)
            .await;
        (campaign["status"] == "completed").then_some(campaign)
    })
    .await
}

async fn contacts(app: &TestApp, org: &TestOrg, id: &str) -> Vec<Value> {
    let page = app
        .get(
            &format!("/api/v1/campaigns/{id}/contacts?limit=1000"),
            &org.api_token,
        )
        .await;
    page["items"].as_array().unwrap().clone()
}

/// The numbers the stand-in Twilio was asked to call, in order.
fn dialed(providers: &FakeProviders) -> Vec<String> {
    providers
        .requests()
        .into_iter()
        .filter(|r| r.provider == "twilio" && r.operation == "calls")
        .map(|r| r.body["To"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn contacts_added_while_a_campaign_runs_are_dialed_before_it_completes() {
    let app = spawn_app().await;
    let providers = full_play();
    let org = dialer_org(&app, &providers).await;
    let id = campaign(
        &app,
        &org,
        json!({"name": "Growing", "provider": "twilio", "concurrency": 1,
        "contacts": [{"phone": "+919000000101"}]}),
    )
    .await;
    start(&app, &org, &id).await;
    let (status, added) = app
        .request(
            "POST",
            &format!("/api/v1/campaigns/{id}/contacts"),
            Some(&org.api_token),
            Some(json!([{"phone": "+919000000111"}, {"phone": "+919000000121"}])),
        )
        .await;
    assert_eq!((status, added["added"].as_u64()), (200, Some(2)), "{added}");
    let done = until_completed(&app, &org, &id).await;
    assert_eq!(done["status"], "completed");
    let all = contacts(&app, &org, &id).await;
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|c| c["status"] == "done"), "{all:?}");
    let mut numbers = dialed(&providers);
    numbers.sort();
    assert_eq!(numbers, ["+919000000101", "+919000000111", "+919000000121"]);
    // Added to a completed campaign: a re-run dials them.
    app.request(
        "POST",
        &format!("/api/v1/campaigns/{id}/contacts"),
        Some(&org.api_token),
        Some(json!([{"phone": "+919000000131"}])),
    )
    .await;
    start(&app, &org, &id).await;
    until("the late contact is dialed", async || {
        dialed(&providers)
            .contains(&"+919000000131".to_owned())
            .then_some(())
    })
    .await;
}

#[actix_web::test]
async fn busy_contacts_are_recycled_by_their_rule_and_capped_per_number_per_day() {
    let app = spawn_app().await;
    let providers = full_play();
    let org = dialer_org(&app, &providers).await;
    // Numbers ending in 7 are busy at the stand-in.
    let id = campaign(
        &app,
        &org,
        json!({"name": "Recycled", "provider": "twilio", "max_attempts": 1,
        "recycle": [{"outcome": "busy", "after_s": 1, "max_attempts": 3}],
        "contacts": [{"phone": "+919000000207"}]}),
    )
    .await;
    start(&app, &org, &id).await;
    let contact = until("three attempts, then failed", async || {
        let contact = contacts(&app, &org, &id).await[0].clone();
        (contact["status"] == "failed").then_some(contact)
    })
    .await;
    assert_eq!(
        (
            contact["attempts"].as_u64(),
            contact["last_outcome"].as_str()
        ),
        (Some(3), Some("busy"))
    );
    let calls = app
        .get(&format!("/api/v1/calls?campaign_id={id}"), &org.api_token)
        .await;
    let mut started: Vec<chrono::DateTime<chrono::Utc>> = calls["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["created_at"].as_str().unwrap().parse().unwrap())
        .collect();
    started.sort();
    assert_eq!(started.len(), 3);
    for pair in started.windows(2) {
        assert!(
            pair[1] - pair[0] >= chrono::Duration::milliseconds(1000),
            "{started:?}"
        );
    }
    // A second campaign for the same number: its day's 3 attempts are used up across campaigns.
    let other = campaign(
        &app,
        &org,
        json!({"name": "Same number", "provider": "twilio",
        "contacts": [{"phone": "+919000000207"}]}),
    )
    .await;
    start(&app, &org, &other).await;
    let waiting = until("the capped contact waits for tomorrow", async || {
        let contact = contacts(&app, &org, &other).await[0].clone();
        (contact["last_error"] == "daily_attempt_cap").then_some(contact)
    })
    .await;
    assert_eq!(waiting["status"], "retry_scheduled");
    assert_eq!(waiting["attempts"], 0);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%dT00:00:00")
        .to_string();
    assert!(
        waiting["next_attempt_at"]
            .as_str()
            .unwrap()
            .starts_with(&tomorrow),
        "{waiting}"
    );
    assert_eq!(dialed(&providers).len(), 3, "not dialed a fourth time");
}

#[actix_web::test]
async fn a_calling_window_is_kept_in_each_contacts_own_time_zone() {
    let app = spawn_app().await;
    let providers = full_play();
    let org = dialer_org(&app, &providers).await;
    // Open for two hours around now in UTC; closed in Tokyo (UTC+9) and in Kolkata (UTC+5:30).
    let now = chrono::Utc::now();
    let hhmm = |t: chrono::DateTime<chrono::Utc>| t.format("%H:%M").to_string();
    let window = json!({"start": hhmm(now - chrono::Duration::hours(1)), "end": hhmm(now + chrono::Duration::hours(1)), "tz": "UTC"});
    let id = campaign(
        &app,
        &org,
        json!({"name": "Around the world", "provider": "twilio", "window": window,
        "contacts": [
            {"phone": "+442071838750", "tz": "Asia/Tokyo"},
            {"phone": "+919000000311"},
            {"phone": "+442071838751", "tz": "Etc/UTC"},
        ]}),
    )
    .await;
    start(&app, &org, &id).await;
    until("the open contact is dialed", async || {
        dialed(&providers)
            .contains(&"+442071838751".to_owned())
            .then_some(())
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        dialed(&providers),
        ["+442071838751"],
        "only the contact whose window is open"
    );
    let all = contacts(&app, &org, &id).await;
    let pending: Vec<&str> = all
        .iter()
        .filter(|c| c["status"] == "pending")
        .map(|c| c["phone"].as_str().unwrap())
        .collect();
    assert_eq!(pending.len(), 2, "{all:?}");
    let campaign = app
        .get(&format!("/api/v1/campaigns/{id}"), &org.api_token)
        .await;
    assert_eq!(
        campaign["status"], "running",
        "waiting contacts keep it running"
    );
    // Once the open contact's call is over, the campaign says what it waits for, and until when.
    let progress = until("the campaign says it waits for a window", async || {
        let progress = app
            .get(&format!("/api/v1/campaigns/{id}/progress"), &org.api_token)
            .await;
        (progress["status_detail"] == "waiting_for_window").then_some(progress)
    })
    .await;
    let next = progress["next_attempt_at"].as_str().unwrap();
    let next = chrono::DateTime::parse_from_rfc3339(next).unwrap();
    let ahead = next.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(
        ahead > chrono::Duration::zero() && ahead < chrono::Duration::hours(24),
        "the next window opens within a day: {progress}"
    );
    // A zone that is not one is refused for that contact only.
    let (_, added) = app
        .request(
            "POST",
            &format!("/api/v1/campaigns/{id}/contacts"),
            Some(&org.api_token),
            Some(json!([{"phone": "+442071838752", "tz": "Mars/Olympus"}])),
        )
        .await;
    assert_eq!(added["invalid"][0]["row"], 1, "{added}");
}

#[actix_web::test]
async fn higher_priority_leads_are_dialed_first() {
    let app = spawn_app().await;
    let providers = full_play();
    let org = dialer_org(&app, &providers).await;
    let id = campaign(
        &app,
        &org,
        json!({"name": "Hot leads", "provider": "twilio", "concurrency": 1,
        "contacts": [
            {"phone": "+919000000401"},
            {"phone": "+919000000411", "priority": 5},
            {"phone": "+919000000421", "priority": "1"},
        ]}),
    )
    .await;
    start(&app, &org, &id).await;
    until("all three are dialed", async || {
        (dialed(&providers).len() == 3).then_some(())
    })
    .await;
    assert_eq!(
        dialed(&providers),
        ["+919000000411", "+919000000421", "+919000000401"]
    );
}

#[actix_web::test]
async fn a_lead_waiting_for_its_retry_holds_up_none_after_it() {
    let app = spawn_app().await;
    let providers = full_play();
    let org = dialer_org(&app, &providers).await;
    // The first lead is busy (numbers ending in 7) and is retried only in an hour.
    let id = campaign(
        &app,
        &org,
        json!({"name": "Later", "provider": "twilio", "concurrency": 1,
        "recycle": [{"outcome": "busy", "after_s": 3600, "max_attempts": 3}],
        "contacts": [
            {"phone": "+919000000401"},
            {"phone": "+919000000417", "priority": 5},
            {"phone": "+919000000421"},
        ]}),
    )
    .await;
    start(&app, &org, &id).await;
    let waiting = until("the two after it are done", async || {
        let all = contacts(&app, &org, &id).await;
        let done = all.iter().filter(|c| c["status"] == "done").count();
        let waiting = all.iter().find(|c| c["status"] == "retry_scheduled");
        (done == 2).then(|| waiting.cloned()).flatten()
    })
    .await;
    assert_eq!(
        dialed(&providers),
        ["+919000000417", "+919000000401", "+919000000421"]
    );
    assert_eq!(waiting["phone"], "+919000000417");
    let retry: chrono::DateTime<chrono::Utc> = waiting["next_attempt_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        retry > chrono::Utc::now() + chrono::Duration::minutes(59),
        "{waiting}"
    );
    // Its hour has not come: it is not dialed again, and the campaign waits for it.
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(dialed(&providers).len(), 3);
    let stored = app
        .get(&format!("/api/v1/campaigns/{id}"), &org.api_token)
        .await;
    assert_eq!(stored["status"], "running", "{stored}");
}

#[actix_web::test]
async fn answering_machine_detection_is_asked_for_and_a_machine_is_hung_up_on() {
    let app = spawn_app().await;
    let providers = full_play();
    let org = dialer_org(&app, &providers).await;
    // Numbers ending in 5 reach a machine at the stand-in.
    let id = campaign(
        &app,
        &org,
        json!({"name": "Machines", "provider": "twilio", "amd": "hangup",
        "contacts": [{"phone": "+919000000505"}, {"phone": "+919000000511"}]}),
    )
    .await;
    start(&app, &org, &id).await;
    until("both contacts are done", async || {
        let all = contacts(&app, &org, &id).await;
        all.iter().all(|c| c["status"] == "done").then_some(())
    })
    .await;
    let asked: Vec<Value> = providers.bodies("twilio");
    assert!(asked
        .iter()
        .filter(|b| b["To"].is_string())
        .all(|b| b["MachineDetection"] == "Enable"));
    let calls = app
        .get(&format!("/api/v1/calls?campaign_id={id}"), &org.api_token)
        .await;
    let amd_of = |to: &str| {
        calls["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["to"] == to)
            .map(|c| c["amd"].clone())
            .unwrap()
    };
    assert_eq!(amd_of("+919000000505"), "machine");
    assert_eq!(amd_of("+919000000511"), "human");
    let hung_up: Vec<Value> = providers
        .requests()
        .into_iter()
        .filter(|r| r.operation == "call_update")
        .map(|r| r.body)
        .collect();
    assert_eq!(hung_up.len(), 1, "only the machine: {hung_up:?}");
    assert_eq!(hung_up[0]["Status"], "completed");
    let all = contacts(&app, &org, &id).await;
    let machine = all.iter().find(|c| c["phone"] == "+919000000505").unwrap();
    assert_eq!(machine["last_outcome"], "machine");
    // Without a rule the provider is not asked to detect anything.
    let plain = campaign(
        &app,
        &org,
        json!({"name": "Plain", "provider": "twilio",
        "contacts": [{"phone": "+919000000521"}]}),
    )
    .await;
    start(&app, &org, &plain).await;
    until("the plain call is placed", async || {
        (dialed(&providers).len() == 3).then_some(())
    })
    .await;
    assert!(providers.bodies("twilio").last().unwrap()["MachineDetection"].is_null());
}

#[actix_web::test]
async fn dialer_fields_outside_what_they_may_be_are_refused() {
    let app = spawn_app().await;
    let providers = full_play();
    let org = dialer_org(&app, &providers).await;
    let base = json!({"name": "Bad", "provider": "twilio", "contacts": []});
    let with = |extra: Value| {
        let mut body = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (body, status) in [
        (with(json!({"mode": "progressive"})), 400),
        (with(json!({"mode": "turbo"})), 400),
        (
            with(json!({"mode": "predictive", "queue_id": "no-such-queue"})),
            404,
        ),
        (with(json!({"amd": "maybe"})), 400),
        (
            with(json!({"recycle": [{"outcome": "completed", "after_s": 10}]})),
            400,
        ),
        (with(json!({"max_abandon_rate": 2})), 400),
        (with(json!({"daily_attempt_cap": 0})), 400),
        (
            with(json!({"provider": "bolna", "mode": "progressive", "queue_id": "x"})),
            400,
        ),
    ] {
        let (got, answer) = app
            .request(
                "POST",
                "/api/v1/campaigns",
                Some(&org.api_token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(got, status, "{body}: {answer}");
    }
    let id = campaign(
        &app,
        &org,
        with(json!({"recycle": [{"outcome": "no_answer", "after_s": 7200}], "amd": "retry"})),
    )
    .await;
    let stored = app
        .get(&format!("/api/v1/campaigns/{id}"), &org.api_token)
        .await;
    assert_eq!(
        (stored["mode"].as_str(), stored["amd"].as_str()),
        (Some("fixed"), Some("retry"))
    );
    assert_eq!(stored["recycle"][0]["after_s"], 7200);
    assert_eq!(stored["daily_attempt_cap"], 3);
}

/// An available agent with a desk session open (its agent token's WebSocket), idle.
async fn agent_on_desk(
    app: &TestApp,
    org: &TestOrg,
    name: &str,
    phone: &str,
) -> (String, WsClient) {
    let id = agent(app, org, name, phone).await;
    let ws = desk_session(app, &agent_token(app, org, &id).await).await;
    until_state(app, org, &id, "idle").await;
    (id, ws)
}

async fn outbound_queue(app: &TestApp, org: &TestOrg) -> String {
    let (status, queue) = app
        .request(
            "POST",
            "/api/v1/queues",
            Some(&org.api_token),
            Some(json!({"name": "Outbound", "wrap_up_s": 0})),
        )
        .await;
    assert_eq!(status, 201, "{queue}");
    queue["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_progressive_campaign_dials_one_call_per_idle_agent_and_connects_each_answer() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::Full {
        step: Duration::from_millis(250),
    });
    let org = dialer_org(&app, &providers).await;
    let queue_id = outbound_queue(&app, &org).await;
    let (_ana, _d1) = agent_on_desk(&app, &org, "Ana", "+15550001001").await;
    let (_ben, _d2) = agent_on_desk(&app, &org, "Ben", "+15550001002").await;
    let leads: Vec<Value> = (0..6)
        .map(|i| json!({"phone": format!("+91900000060{i}")}))
        .collect();
    let id = campaign(
        &app,
        &org,
        json!({"name": "Progressive", "provider": "twilio", "mode": "progressive",
        "queue_id": queue_id, "concurrency": 10, "contacts": leads}),
    )
    .await;
    start(&app, &org, &id).await;
    until_completed(&app, &org, &id).await;
    assert!(
        providers.tally().max_live <= 2,
        "one call per idle agent: {:?}",
        providers.tally()
    );
    assert_eq!(providers.tally().total, 6);
    // The callee holds in silence until an agent is connected by a Calls API update.
    let placed = providers
        .bodies("twilio")
        .into_iter()
        .find(|b| b["To"].is_string())
        .unwrap();
    assert!(
        placed["Twiml"].as_str().unwrap().contains("<Pause"),
        "{placed}"
    );
    let calls = app
        .get(&format!("/api/v1/calls?campaign_id={id}"), &org.api_token)
        .await;
    let calls = calls["items"].as_array().unwrap();
    assert_eq!(calls.len(), 6);
    assert!(
        calls
            .iter()
            .all(|c| c["agent_id"].is_string() && c["queue_id"] == queue_id.as_str()),
        "{calls:?}"
    );
    let connects = providers
        .requests()
        .into_iter()
        .filter(|r| r.operation == "call_update")
        .filter(|r| {
            r.body["Twiml"]
                .as_str()
                .is_some_and(|t| t.contains("<Dial><Number>+1555000100"))
        })
        .count();
    assert_eq!(connects, 6);
    let progress = app
        .get(&format!("/api/v1/campaigns/{id}/progress"), &org.api_token)
        .await;
    assert_eq!(progress["dialMode"], "progressive");
    assert_eq!(progress["abandonRate"], 0.0);
    assert_eq!(progress["agentsIdle"], 2);
    assert!(progress["dialRate"].as_f64().unwrap() > 0.0, "{progress}");
}

#[actix_web::test]
async fn an_answer_no_agent_takes_within_2_s_hears_the_abandon_message_and_is_recycled() {
    let app = spawn_app().await;
    // Answered 9 s after the dial, hung up by the callee 3 s later: past the 2 s wait.
    let providers = fake_providers(TwilioPlay::Full {
        step: Duration::from_millis(3000),
    });
    let org = dialer_org(&app, &providers).await;
    let queue_id = outbound_queue(&app, &org).await;
    let (_agent, desk) = agent_on_desk(&app, &org, "Leaves", "+15550001003").await;
    let id = campaign(
        &app,
        &org,
        json!({"name": "Abandoned", "provider": "twilio", "mode": "progressive",
        "queue_id": queue_id, "abandon_message": "Sorry, we will call you back shortly",
        "recycle": [{"outcome": "abandoned", "after_s": 3600, "max_attempts": 2}],
        "max_attempts": 1, "contacts": [{"phone": "+919000000701"}]}),
    )
    .await;
    start(&app, &org, &id).await;
    until("the lead is dialed", async || {
        (providers.tally().total == 1).then_some(())
    })
    .await;
    // The only agent's desk closes while the call rings: nobody is free when it is answered.
    drop(desk);
    let goodbye = until("the abandon message is played", async || {
        providers
            .requests()
            .into_iter()
            .find(|r| r.operation == "call_update")
            .map(|r| r.body)
    })
    .await;
    assert!(
        goodbye["Twiml"]
            .as_str()
            .unwrap()
            .contains("<Say>Sorry, we will call you back shortly</Say><Hangup/>"),
        "{goodbye}"
    );
    let contact = until("the lead is recycled", async || {
        let contact = contacts(&app, &org, &id).await[0].clone();
        (contact["status"] == "retry_scheduled").then_some(contact)
    })
    .await;
    assert_eq!(contact["last_outcome"], "abandoned");
    let progress = app
        .get(&format!("/api/v1/campaigns/{id}/progress"), &org.api_token)
        .await;
    assert_eq!(progress["abandonRate"], 1.0, "{progress}");
    let call = &app
        .get(&format!("/api/v1/calls?campaign_id={id}"), &org.api_token)
        .await["items"][0];
    let kinds = timeline_kinds(&app, &org, call["id"].as_str().unwrap()).await;
    assert!(kinds.iter().any(|k| k == "abandoned"), "{kinds:?}");
}

#[actix_web::test]
async fn a_predictive_campaign_dials_ahead_of_its_agents_and_holds_the_abandon_rate() {
    let app = spawn_app().await;
    // Half the calls answered after 150 ms of ringing, talking 500 ms; 160 leads, so that the
    // 20 answers pacing needs before it looks ahead come early, whatever the dice say.
    let providers = fake_providers(TwilioPlay::Dialer {
        answered: 0.5,
        ring: Duration::from_millis(150),
        talk: Duration::from_millis(500),
    });
    let org = dialer_org(&app, &providers).await;
    let queue_id = outbound_queue(&app, &org).await;
    let mut desks = Vec::new();
    for i in 0..4 {
        desks.push(
            agent_on_desk(
                &app,
                &org,
                &format!("Agent {i}"),
                &format!("+1555000200{i}"),
            )
            .await,
        );
    }
    let leads: Vec<Value> = (0..160)
        .map(|i| json!({"phone": format!("+9190000{:05}", 10_000 + i * 10 + 1)}))
        .collect();
    let id = campaign(&app, &org, json!({"name": "Predictive", "provider": "twilio", "mode": "predictive",
        "queue_id": queue_id, "concurrency": 50, "abandon_message": "We will call you back",
        "recycle": [{"outcome": "abandoned", "after_s": 3600}], "max_attempts": 2, "contacts": leads})).await;
    start(&app, &org, &id).await;
    let progress = until_within(
        "every lead has been dialed and no call is live",
        Duration::from_secs(60),
        async || {
            let progress = app
                .get(&format!("/api/v1/campaigns/{id}/progress"), &org.api_token)
                .await;
            let c = &progress["contacts"];
            let open = c["pending"].as_u64()? + c["dialing"].as_u64()? + c["in_call"].as_u64()?;
            (open == 0 && progress["liveCalls"] == 0).then_some(progress)
        },
    )
    .await;
    let tally = providers.tally();
    assert_eq!(tally.total, 160, "{tally:?}");
    assert!(
        tally.max_live > 4,
        "it dialed ahead of its 4 agents: {tally:?} {progress}"
    );
    assert!(
        progress["answeredMeasured"].as_u64().unwrap() >= 20,
        "{progress}"
    );
    let abandon_rate = progress["abandonRate"].as_f64().unwrap();
    assert!(
        abandon_rate <= 0.1,
        "held near its 3 % cap over a short run: {progress}"
    );
    // Every message played was for an abandoned answer, and every abandoned answer waits for its
    // recycling. (A person who hangs up within the 2 s before an agent is free is abandoned too,
    // without a message: the test above proves the message on its own.)
    let all = contacts(&app, &org, &id).await;
    let abandoned = all
        .iter()
        .filter(|c| c["last_outcome"] == "abandoned")
        .count();
    let messages = providers
        .requests()
        .into_iter()
        .filter(|r| {
            r.body["Twiml"]
                .as_str()
                .is_some_and(|t| t.contains("<Say>We will call you back</Say>"))
        })
        .count();
    assert!(messages <= abandoned, "{messages} messages: {progress}");
    assert!(all
        .iter()
        .filter(|c| c["last_outcome"] == "abandoned")
        .all(|c| c["status"] == "retry_scheduled"));
    drop(desks);
}

#[actix_web::test]
async fn a_plivo_campaigns_answered_calls_hold_for_an_agent_are_recorded_and_abandoned_in_words() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = app.create_org("Plivo floor").await;
    app.configure(
        &org,
        "plivo",
        json!({"auth_id": "MA1", "auth_token": "plivo-secret",
        "from_number": "918000000000", "api_base": providers.base()}),
    )
    .await;
    let queue_id = outbound_queue(&app, &org).await;
    let (agent_id, desk) = agent_on_desk(&app, &org, "Meera", "+919800007777").await;
    let id = campaign(
        &app,
        &org,
        json!({"name": "Plivo progressive", "provider": "plivo", "mode": "progressive",
        "queue_id": queue_id, "record": true, "abandon_message": "Sorry, we will call back",
        "contacts": [{"phone": "+919000000801"}, {"phone": "+919000000802"}]}),
    )
    .await;
    start(&app, &org, &id).await;
    // Plivo asks the dial's answer URL what to do once the callee answers: hold in silence,
    // recording from the start.
    let answer_url = |n: usize| {
        let providers = providers.clone();
        async move {
            let placed: Vec<Value> = providers
                .requests()
                .into_iter()
                .filter(|r| r.provider == "plivo" && r.operation == "calls")
                .map(|r| r.body)
                .collect();
            let url = placed.get(n)?["answer_url"].as_str()?.to_owned();
            Some(url.split('#').next().unwrap().to_owned())
        }
    };
    let first = until("the first lead is dialed", async || answer_url(0).await).await;
    assert!(first.contains("&hold=1&record=1"), "{first}");
    let answered = |uuid: &str| {
        vec![
            ("CallUUID", uuid.to_owned()),
            ("Direction", "outbound".to_owned()),
            ("From", "918000000000".to_owned()),
            ("To", "919000000801".to_owned()),
            ("CallStatus", "in-progress".to_owned()),
        ]
    };
    let (status, xml) = plivo_post(&app, &first, &answered("pl-out-1")).await;
    assert_eq!(status, 200);
    let xml = xml.as_str().unwrap().to_owned();
    assert!(
        xml.contains("<Record recordSession=\"true\"")
            && xml.ends_with("<Wait length=\"30\"/></Response>"),
        "holds in silence, recording: {xml}"
    );
    assert!(!xml.contains("<Speak>"), "{xml}");
    // The desk gives it to the idle agent at once: Plivo transfers it to the connect URL.
    let transfer = until("the answer is transferred to the agent", async || {
        providers
            .requests()
            .into_iter()
            .find(|r| r.provider == "plivo" && r.operation == "transfer")
            .map(|r| r.body)
    })
    .await;
    assert_eq!(transfer["CallUUID"], "pl-out-1");
    let connect = transfer["aleg_url"].as_str().unwrap().to_owned();
    let (status, xml) = plivo_post(&app, &connect, &[("CallUUID", "pl-out-1".to_owned())]).await;
    assert_eq!(status, 200);
    let xml = xml.as_str().unwrap().to_owned();
    assert!(
        xml.contains("<Dial><Number>+919800007777</Number></Dial>"),
        "{xml}"
    );
    assert!(
        !xml.contains("<Record"),
        "recorded once, from the answer: {xml}"
    );
    let calls = app
        .get(&format!("/api/v1/calls?campaign_id={id}"), &org.api_token)
        .await;
    assert_eq!(calls["items"][0]["agent_id"], agent_id.as_str());
    // The first call ends and the agent is free: the second lead is dialed; the agent's desk
    // closes while it rings, so its answer finds nobody.
    let hangup = first
        .replace("/answer?", "/hangup?")
        .replace("&hold=1&record=1", "");
    let mut ended = answered("pl-out-1");
    ended[4].1 = "completed".to_owned();
    let (status, _) = plivo_post(&app, &hangup, &ended).await;
    assert_eq!(status, 200);
    let second = until("the second lead is dialed", async || answer_url(1).await).await;
    drop(desk);
    until_state(&app, &org, &agent_id, "unavailable").await;
    let mut second_answer = answered("pl-out-2");
    second_answer[3].1 = "919000000802".to_owned();
    let (status, _) = plivo_post(&app, &second, &second_answer).await;
    assert_eq!(status, 200);
    let goodbye = until(
        "the abandoned answer is transferred to its goodbye",
        async || {
            providers
                .requests()
                .into_iter()
                .find(|r| r.operation == "transfer" && r.body["CallUUID"] == "pl-out-2")
                .map(|r| r.body)
        },
    )
    .await;
    let url = goodbye["aleg_url"].as_str().unwrap();
    let (status, xml) = plivo_post(&app, url, &[("CallUUID", "pl-out-2".to_owned())]).await;
    assert_eq!(status, 200);
    let xml = xml.as_str().unwrap().to_owned();
    assert!(
        xml.contains("<Speak>Sorry, we will call back</Speak><Hangup/>"),
        "{xml}"
    );
}

#[actix_web::test]
async fn a_due_callback_is_dialed_by_its_running_campaign_first_and_in_one_of_its_slots() {
    let app = spawn_app().await;
    // Each call rings and talks about 0.8 s; one at a time: six leads take about 5 s.
    let providers = fake_providers(TwilioPlay::Full {
        step: Duration::from_millis(200),
    });
    let org = dialer_org(&app, &providers).await;
    let leads: Vec<Value> = (0..6)
        .map(|i| json!({"phone": format!("+91900000090{i}")}))
        .collect();
    let id = campaign(
        &app,
        &org,
        json!({"name": "Callbacks", "provider": "twilio", "concurrency": 1, "contacts": leads}),
    )
    .await;
    start(&app, &org, &id).await;
    let first = until("the first call ends", async || {
        let calls = app
            .get(&format!("/api/v1/calls?campaign_id={id}"), &org.api_token)
            .await;
        let calls = calls["items"].as_array()?.clone();
        calls
            .into_iter()
            .find(|c| c["to"] == "+919000000900" && c["status"] == "completed")
    })
    .await;
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(500);
    let (status, body) = app
        .request(
            "POST",
            &format!(
                "/api/v1/calls/{}/disposition",
                first["id"].as_str().unwrap()
            ),
            Some(&org.api_token),
            Some(json!({"code": "CALLBACK", "callback_at": due.to_rfc3339()})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let callback = until("the callback is dialed", async || {
        let page = app.get("/api/v1/callbacks", &org.api_token).await;
        let callback = page["items"][0].clone();
        (callback["status"] == "dialed").then_some(callback)
    })
    .await;
    until_completed(&app, &org, &id).await;
    let numbers = dialed(&providers);
    assert_eq!(numbers.len(), 7, "{numbers:?}");
    let again = numbers.iter().rposition(|n| n == "+919000000900").unwrap();
    assert!(
        (1..6).contains(&again),
        "dialed before the leads still pending: {numbers:?}"
    );
    assert_eq!(
        providers.tally().max_live,
        1,
        "the callback took the campaign's one slot"
    );
    let call = app
        .get(
            &format!(
                "/api/v1/calls/{}",
                callback["dialed_call_id"].as_str().unwrap()
            ),
            &org.api_token,
        )
        .await;
    assert_eq!(call["campaign_id"], id.as_str());
    assert_eq!(call["contact_id"], first["contact_id"]);
}

#[actix_web::test]
async fn a_call_over_before_its_dial_returns_still_frees_its_slot_and_moves_its_contact_on() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyNoAnswer);
    let org = dialer_org(&app, &providers).await;
    let leads: Vec<Value> = (0..3)
        .map(|i| json!({"phone": format!("+91900000095{i}")}))
        .collect();
    let id = campaign(
        &app,
        &org,
        json!({"name": "Early ends", "provider": "twilio", "concurrency": 1, "contacts": leads}),
    )
    .await;
    start(&app, &org, &id).await;
    until_completed(&app, &org, &id).await;
    assert_eq!(providers.tally().total, 3);
    let all = contacts(&app, &org, &id).await;
    assert!(
        all.iter()
            .all(|c| c["status"] == "failed" && c["last_outcome"] == "no_answer"),
        "{all:?}"
    );
}

/// A campaign never rings a person who is on a call with the center right now (here an inbound
/// call still ringing in): the contact waits a minute, spends no attempt and is not failed, while
/// the rest of the campaign is dialed.
#[actix_web::test]
async fn a_contact_on_a_live_call_with_the_center_waits_and_is_not_rung_twice() {
    let app = spawn_app().await;
    let providers = full_play();
    let org = dialer_org(&app, &providers).await;
    let (status, _) = crate::inbound::post_voice(
        &app,
        &org,
        &crate::inbound::voice_params("CAlive0001", "+919000000011"),
    )
    .await;
    assert_eq!(status, 200);
    let id = campaign(
        &app,
        &org,
        json!({"name": "Follow-ups", "provider": "twilio", "concurrency": 2,
               "contacts": [{"phone": "+919000000011"}, {"phone": "+919000000021"}]}),
    )
    .await;
    start(&app, &org, &id).await;
    let waiting = until("the busy contact waits", async || {
        let items = contacts(&app, &org, &id).await;
        let first = items
            .iter()
            .find(|c| c["phone"] == "+919000000011")?
            .clone();
        let second_done = items
            .iter()
            .any(|c| c["phone"] == "+919000000021" && c["status"] == "done");
        (first["status"] == "retry_scheduled" && second_done).then_some(first)
    })
    .await;
    assert_eq!(waiting["last_error"], "number_in_call", "{waiting}");
    assert_eq!(waiting["attempts"], 0, "no attempt spent: {waiting}");
    assert!(waiting["next_attempt_at"].is_string(), "{waiting}");
    assert_eq!(
        dialed(&providers),
        ["+919000000021"],
        "never rung while on the line"
    );
    let campaign = app
        .get(&format!("/api/v1/campaigns/{id}"), &org.api_token)
        .await;
    assert_eq!(campaign["status"], "running", "{campaign}");
}

/// Twilio's late `in-progress` (45 s ago) and `completed` (5 s ago, 40 s of talk) for call `sid`
/// to `to`: the record of a call the engine had closed unanswered at its ring deadline.
async fn late_answer(app: &TestApp, org: &TestOrg, sid: &str, to: &str) {
    let at = |s: i64| (chrono::Utc::now() + chrono::Duration::seconds(s)).to_rfc2822();
    let mut answered = twilio_params(sid, "in-progress", 3, 0);
    let mut completed = twilio_params(sid, "completed", 4, 0);
    for (params, when) in [(&mut answered, at(-45)), (&mut completed, at(-5))] {
        params.retain(|(k, _)| !["Timestamp", "CallDuration", "To"].contains(k));
        params.push(("Timestamp", when));
        params.push(("To", to.into()));
    }
    completed.push(("CallDuration", "40".into()));
    for params in [&answered, &completed] {
        let (status, body) = app.twilio_status(org, params).await;
        assert_eq!(status, 200, "{body}");
    }
}

/// The engine closes two unanswered calls at their ring deadline and the campaign completes
/// "2/2 (2 failed)"; then Twilio's late `in-progress` and `completed` (40 s of talk) say one was
/// answered after all: its contact follows its call (done, `completed`), the display says one
/// failed, and the campaign's answer rate is the org metrics' for the campaign — answered over
/// finished calls, one definition.
#[actix_web::test]
async fn a_late_provider_correction_moves_the_contact_and_the_campaigns_figures() {
    let mut settings = test_settings();
    settings.deadlines.ring = Duration::from_secs(1);
    let app = spawn_app_with(settings).await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = dialer_org(&app, &providers).await;
    let leads = json!([{"phone": "+919000000961"}, {"phone": "+919000000962"}]);
    let id = campaign(
        &app,
        &org,
        json!({"name": "Late", "provider": "twilio", "max_attempts": 1, "contacts": leads}),
    )
    .await;
    start(&app, &org, &id).await;
    until_completed(&app, &org, &id).await;
    let progress = app
        .get(&format!("/api/v1/campaigns/{id}/progress"), &org.api_token)
        .await;
    assert_eq!(progress["display"], "2/2 (2 failed)", "{progress}");

    let calls = app
        .get(&format!("/api/v1/calls?campaign_id={id}"), &org.api_token)
        .await;
    let late = calls["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["to"] == "+919000000961")
        .unwrap()
        .clone();
    assert_eq!(late["status"], "no_answer", "{late}");
    let sid = late["provider_call_id"].as_str().unwrap();
    late_answer(&app, &org, sid, "+919000000961").await;
    let call = app
        .get(
            &format!("/api/v1/calls/{}", late["id"].as_str().unwrap()),
            &org.api_token,
        )
        .await;
    assert_eq!(
        (&call["status"], &call["talk_s"]),
        (&json!("completed"), &json!(40)),
        "{call}"
    );

    let progress = until("the contact follows its call", async || {
        let progress = app
            .get(&format!("/api/v1/campaigns/{id}/progress"), &org.api_token)
            .await;
        (progress["display"] == "2/2 (1 failed)").then_some(progress)
    })
    .await;
    // The contact's row is written right after the actor moved it (progress is the actor's).
    until("the contact's row follows", async || {
        let all = contacts(&app, &org, &id).await;
        let corrected = all.iter().find(|c| c["phone"] == "+919000000961").unwrap();
        (corrected["status"] == "done" && corrected["last_outcome"] == "completed").then_some(())
    })
    .await;
    let metrics = app
        .get(&format!("/api/v1/metrics?campaign_id={id}"), &org.api_token)
        .await;
    assert_eq!(metrics["answer_rate"], json!(0.5), "{metrics}");
    assert_eq!(progress["answerRate"], metrics["answer_rate"], "{progress}");
}

/// A contact's first call is closed at its ring deadline and the contact is dialed again; while
/// that second call rings, Twilio's late record says the first was answered (40 s of talk). The
/// person was reached: when the second attempt ends unanswered, the contact is done, not failed.
#[actix_web::test]
async fn a_contact_answered_on_an_earlier_attempt_is_done_whatever_the_later_one_says() {
    let mut settings = test_settings();
    settings.deadlines.ring = Duration::from_secs(4);
    let app = spawn_app_with(settings).await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = dialer_org(&app, &providers).await;
    let leads = json!([{"phone": "+919000000971"}]);
    let body = json!({"name": "Second try", "provider": "twilio", "max_attempts": 2,
        "retry_delay_s": 0, "contacts": leads});
    let id = campaign(&app, &org, body).await;
    start(&app, &org, &id).await;
    let list = format!("/api/v1/calls?campaign_id={id}");
    let first = until("the second attempt rings", async || {
        let calls = app.get(&list, &org.api_token).await;
        let items = calls["items"].as_array()?.clone();
        let first = items.iter().find(|c| c["status"] == "no_answer")?.clone();
        (items.len() == 2).then_some(first)
    })
    .await;
    let sid = first["provider_call_id"].as_str().unwrap();
    late_answer(&app, &org, sid, "+919000000971").await;

    until_completed(&app, &org, &id).await;
    let progress = app
        .get(&format!("/api/v1/campaigns/{id}/progress"), &org.api_token)
        .await;
    assert_eq!(progress["contacts"]["done"], 1, "{progress}");
    assert_eq!(progress["display"], "1/1 (0 failed)", "{progress}");
    let contact = &contacts(&app, &org, &id).await[0];
    assert_eq!(contact["status"], "done", "{contact}");
}
