//! Campaigns against a stand-in Twilio that places calls and calls back like the real one.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::config::Settings;

/// The stand-in Twilio: answers `Calls.json` at once, then plays the call through its
/// StatusCallback (initiated, ringing, then busy for numbers ending in 7, else in-progress and
/// completed), each call lasting about `talk` ms.
fn fake_twilio(talk: u64) -> FakeProviders {
    fake_providers(TwilioPlay::Full {
        step: Duration::from_millis(talk / 3),
    })
}

async fn campaign_org(app: &TestApp, api: &str, token: &str) -> TestOrg {
    let org = app.create_org("Dialer").await;
    app.configure(&org, "twilio", json!({"account_sid": "ACtest0000", "auth_token": token, "from_number": "+15550000000", "api_base": api, "calls_per_second": 200})).await;
    org
}

fn numbers(n: usize) -> Vec<Value> {
    (0..n)
        .map(
            |i| json!({"phone": format!("+9190000{:05}", i * 10 + 1), "name": format!("Lead {i}")}),
        )
        .collect()
}

async fn wait_for_status(app: &TestApp, org: &TestOrg, id: &str, status: &str) -> Value {
    for _ in 0..400 {
        let progress = app
            .get(&format!("/api/v1/campaigns/{id}/progress"), &org.api_token)
            .await;
        let counts = &progress["callCounts"];
        let sum: u64 = ["processed", "ringing", "call-ended", "completed"]
            .iter()
            .map(|k| counts[*k].as_u64().unwrap())
            .sum();
        assert_eq!(
            sum,
            progress["totalCalls"].as_u64().unwrap(),
            "the four counts add up: {progress}"
        );
        if progress["campaignStatus"] == status {
            return progress;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("campaign never became {status}");
}

#[actix_web::test]
async fn a_30_contact_campaign_keeps_to_its_concurrency_retries_skips_dnc_and_completes_after_the_last_hangup(
) {
    let app = spawn_app().await;
    let twilio = fake_twilio(90);
    let api = twilio.base().to_owned();
    let org = campaign_org(&app, &api, TWILIO_AUTH_TOKEN).await;
    let mut contacts = numbers(28);
    contacts.push(json!({"phone": "+919000099997", "name": "Always busy"}));
    contacts.push(json!({"phone": "+919000088881", "name": "Do not call"}));
    contacts.push(json!({"phone": "not-a-number"}));
    let (status, campaign) = app
        .request("POST", "/api/v1/campaigns", Some(&org.api_token), Some(json!({
            "name": "March leads", "provider": "twilio", "concurrency": 3, "max_attempts": 2, "retry_delay_s": 0,
            "contacts": contacts,
        })))
        .await;
    assert_eq!(status, 201, "{campaign}");
    assert_eq!(campaign["contacts_added"], 30);
    assert_eq!(campaign["invalid_contacts"][0]["row"], 31);
    let id = campaign["id"].as_str().unwrap().to_owned();
    app.request(
        "POST",
        "/api/v1/dnc",
        Some(&org.api_token),
        Some(json!({"phone": "+919000088881"})),
    )
    .await;

    let mut ws = app.ws(&org.api_token, None).await;
    let snapshot = ws.next().await;
    assert_eq!(
        snapshot["data"]["campaigns"][0]["id"],
        id.as_str(),
        "the snapshot lists the campaigns"
    );
    let (status, started) = app
        .request(
            "POST",
            &format!("/api/v1/campaigns/{id}/start"),
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(
        (status, started["status"].as_str()),
        (200, Some("running")),
        "{started}"
    );
    let (status, body) = app
        .request(
            "POST",
            &format!("/api/v1/campaigns/{id}/start"),
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("campaign_running"))
    );

    let progress = wait_for_status(&app, &org, &id, "completed").await;
    {
        let seen = twilio.tally();
        assert!(
            seen.max_live <= 3,
            "at most 3 live calls, saw {}",
            seen.max_live
        );
        assert_eq!(
            seen.dials.get("+919000088881"),
            None,
            "the DNC number was never dialed"
        );
        assert_eq!(
            seen.dials["+919000099997"], 2,
            "busy: retried once, then max_attempts"
        );
        assert_eq!(seen.total, 28 + 2);
    }
    assert_eq!(progress["totalContacts"], 30);
    assert_eq!(progress["contacts"]["done"], 28);
    assert_eq!(progress["contacts"]["failed"], 1);
    assert_eq!(progress["contacts"]["skipped"], 1);
    assert_eq!(progress["display"], "30/30 (2 failed)");
    assert_eq!(
        progress["callCounts"]["processed"].as_u64().unwrap()
            + progress["callCounts"]["ringing"].as_u64().unwrap(),
        0,
        "no call live at completion"
    );
    let calls = app
        .get(
            &format!("/api/v1/calls?campaign_id={id}&limit=1000"),
            &org.api_token,
        )
        .await;
    assert!(calls["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] != "queued" && c["status"] != "ringing"));
    let contacts = app
        .get(
            &format!("/api/v1/campaigns/{id}/contacts?limit=100"),
            &org.api_token,
        )
        .await;
    let busy = contacts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phone"] == "+919000099997")
        .unwrap();
    assert_eq!(
        (
            busy["status"].as_str(),
            busy["attempts"].as_i64(),
            busy["last_outcome"].as_str()
        ),
        (Some("failed"), Some(2), Some("busy"))
    );

    // A bot's analytics for one of the calls moves it to the seed's `completed` bucket.
    let call_id = calls["items"][0]["id"].as_str().unwrap().to_owned();
    let analytics = json!({"call_id": call_id, "summary": "interested"});
    let (status, _) = app
        .post_token_json(
            &format!("/webhooks/analytics/{}", org.id),
            &org.webhook_token,
            &analytics,
        )
        .await;
    assert_eq!(status, 200);
    let after = app
        .get(&format!("/api/v1/campaigns/{id}/progress"), &org.api_token)
        .await;
    assert_eq!(after["callCounts"]["completed"], 1);
    assert_eq!(
        after["callCounts"]["call-ended"].as_u64().unwrap(),
        progress["callCounts"]["call-ended"].as_u64().unwrap() - 1
    );
    let listed = app.get("/api/v1/campaigns", &org.api_token).await;
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let (status, _) = app
        .request(
            "GET",
            &format!("/api/v1/campaigns/{id}/contacts?cursor=abc"),
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(status, 400);

    let mut kinds = std::collections::HashSet::new();
    while !(kinds.contains("campaign:updated") && kinds.contains("campaign:progress")) {
        let Some(event) = ws.next_within(Duration::from_secs(10)).await else {
            break;
        };
        kinds.insert(event["type"].as_str().unwrap().to_owned());
    }
    assert!(
        kinds.contains("campaign:updated") && kinds.contains("campaign:progress"),
        "{kinds:?}"
    );
}

#[actix_web::test]
async fn pause_resume_and_cancel_take_effect_at_once() {
    let app = spawn_app().await;
    let twilio = fake_twilio(600);
    let api = twilio.base().to_owned();
    let org = campaign_org(&app, &api, TWILIO_AUTH_TOKEN).await;
    let (_, campaign) = app
        .request(
            "POST",
            "/api/v1/campaigns",
            Some(&org.api_token),
            Some(json!({
                "name": "Slow", "provider": "twilio", "concurrency": 2, "contacts": numbers(8),
            })),
        )
        .await;
    let id = campaign["id"].as_str().unwrap().to_owned();
    let steer = |action: &'static str| {
        let (app, token, id) = (&app, org.api_token.clone(), id.clone());
        async move {
            app.request(
                "POST",
                &format!("/api/v1/campaigns/{id}/{action}"),
                Some(&token),
                None,
            )
            .await
        }
    };
    assert_eq!(steer("start").await.0, 200);
    for _ in 0..250 {
        if twilio.tally().total >= 2 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, paused) = steer("pause").await;
    assert_eq!((status, paused["status"].as_str()), (200, Some("paused")));
    let dialed = twilio.tally().total;
    assert_eq!(dialed, 2, "the first two dials, then nothing new");
    actix_web::rt::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        twilio.tally().total,
        dialed,
        "paused: no new dial while the live calls finish"
    );
    assert_eq!(steer("resume").await.1["status"], "running");
    for _ in 0..250 {
        if twilio.tally().total > dialed {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(twilio.tally().total > dialed, "resumed where it stopped");
    let (status, cancelled) = steer("cancel").await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled"))
    );
    let after_cancel = twilio.tally().total;
    actix_web::rt::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        twilio.tally().total,
        after_cancel,
        "cancelled: nothing more dialed"
    );
    let progress = app
        .get(&format!("/api/v1/campaigns/{id}/progress"), &org.api_token)
        .await;
    assert_eq!(
        progress["contacts"]["skipped"].as_u64().unwrap(),
        8 - after_cancel as u64,
        "what was not dialed is marked"
    );
    let (status, body) = steer("pause").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("invalid_transition"))
    );

    // Started again, it runs over what the cancel left.
    assert_eq!(steer("start").await.1["status"], "running");
    let progress = wait_for_status(&app, &org, &id, "completed").await;
    assert_eq!(progress["contacts"]["done"], 8);
    assert_eq!(twilio.tally().total, 8, "nobody dialed twice");
}

#[actix_web::test]
async fn rejected_provider_credentials_fail_the_campaign_with_the_reason() {
    let app = spawn_app().await;
    // The stand-in Twilio refuses another auth token with its real 401.
    let stand_in = fake_providers(TwilioPlay::EarlyInitiated);
    let api = stand_in.base().to_owned();
    let org = campaign_org(&app, &api, "not-the-right-token").await;
    let (_, campaign) = app
        .request(
            "POST",
            "/api/v1/campaigns",
            Some(&org.api_token),
            Some(json!({
                "name": "Doomed", "provider": "twilio", "concurrency": 1, "contacts": numbers(3),
            })),
        )
        .await;
    let id = campaign["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.request(
            "POST",
            &format!("/api/v1/campaigns/{id}/start"),
            Some(&org.api_token),
            None
        )
        .await
        .0,
        200
    );
    let progress = wait_for_status(&app, &org, &id, "failed").await;
    let campaign = app
        .get(&format!("/api/v1/campaigns/{id}"), &org.api_token)
        .await;
    let reason = campaign["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("credentials") && reason.contains("401"),
        "{reason}"
    );
    assert!(!campaign.to_string().contains("not-the-right-token"));
    assert_eq!(progress["totalCalls"], 1, "no more dials after the refusal");

    let (status, body) = app
        .request(
            "POST",
            "/api/v1/campaigns",
            Some(&org.api_token),
            Some(json!({"name": "x", "provider": "twilio", "concurrency": 0})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_campaign"))
    );
    let (status, body) = app
        .request("POST", "/api/v1/campaigns", Some(&org.api_token), Some(json!({"name": "x", "provider": "twilio", "window": {"start": "9", "end": "21:00", "tz": "Asia/Kolkata"}})))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_campaign"))
    );
}

#[actix_web::test]
async fn a_csv_is_read_as_rfc_4180_writes_it_and_progress_always_counts_failures() {
    let app = spawn_app().await;
    let stand_in = fake_twilio(50);
    let org = campaign_org(&app, stand_in.base(), TWILIO_AUTH_TOKEN).await;
    let (_, campaign) = app
        .request(
            "POST",
            "/api/v1/campaigns",
            Some(&org.api_token),
            Some(json!({"name": "Spreadsheet", "provider": "twilio"})),
        )
        .await;
    let id = campaign["id"].as_str().unwrap().to_owned();
    // As a spreadsheet exports it: a byte-order mark, `\r\n`, a capitalised header, quoted commas,
    // a quoted line break, doubled quotes, numbers whose ranges the metadata calls unassigned.
    let csv = "\u{feff}Name,Phone,Note,City\r\n\
        \"Rao, Asha\",+1 555 123 4567,\"call after 5,\r\nnot before\",Pune\r\n\
        \"Ravi \"\"RK\"\" Kumar\",+44 7700 900123,\"said \"\"maybe\"\"\",Leeds\r\n\
        Bad,12,,\r\n";
    let (status, report) = app
        .post_raw(
            &format!("/api/v1/campaigns/{id}/contacts"),
            &[
                ("Content-Type", "text/csv; charset=utf-8".into()),
                ("Authorization", format!("Bearer {}", org.api_token)),
            ],
            csv.into(),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["added"], 2, "{report}");
    assert_eq!(report["invalid"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["invalid"][0]["row"], 3, "no phantom row: {report}");
    let asha = app
        .get("/api/v1/contacts/by-phone/+15551234567", &org.api_token)
        .await;
    assert_eq!(asha["name"], "Rao, Asha", "{asha}");
    assert_eq!(asha["Note"], "call after 5,\r\nnot before", "{asha}");
    assert_eq!(asha["City"], "Pune", "{asha}");
    let ravi = app
        .get("/api/v1/contacts/by-phone/+447700900123", &org.api_token)
        .await;
    assert_eq!(ravi["name"], "Ravi \"RK\" Kumar", "{ravi}");
    assert_eq!(ravi["Note"], "said \"maybe\"", "{ravi}");
    assert_eq!(ravi["City"], "Leeds", "{ravi}");
    let progress = app
        .get(&format!("/api/v1/campaigns/{id}/progress"), &org.api_token)
        .await;
    assert_eq!(progress["display"], "0/2 (0 failed)", "{progress}");
}

#[actix_web::test]
async fn contacts_arrive_as_json_or_csv_with_bad_rows_reported() {
    let app = spawn_app().await;
    let stand_in = fake_twilio(50);
    let api = stand_in.base().to_owned();
    let org = campaign_org(&app, &api, TWILIO_AUTH_TOKEN).await;
    let (_, campaign) = app
        .request(
            "POST",
            "/api/v1/campaigns",
            Some(&org.api_token),
            Some(json!({"name": "Empty", "provider": "twilio"})),
        )
        .await;
    let id = campaign["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .request(
            "POST",
            &format!("/api/v1/campaigns/{id}/start"),
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("nothing_to_dial"))
    );
    let csv =
        "name,phone,city\n\"Rao, Asha\",09876543210,Pune\nBad,12,\nRavi,+919000000001,Delhi\n";
    let (status, report) = app
        .post_raw(
            &format!("/api/v1/campaigns/{id}/contacts"),
            &[
                ("Content-Type", "text/csv".into()),
                ("Authorization", format!("Bearer {}", org.api_token)),
            ],
            csv.into(),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["added"], 2);
    assert_eq!(report["invalid"][0]["row"], 2);
    let contact = app
        .get("/api/v1/contacts/by-phone/09876543210", &org.api_token)
        .await;
    assert_eq!(
        (contact["name"].as_str(), contact["city"].as_str()),
        (Some("Rao, Asha"), Some("Pune"))
    );
    let (status, report) = app
        .request(
            "POST",
            &format!("/api/v1/campaigns/{id}/contacts"),
            Some(&org.api_token),
            Some(json!([{"phone": "+919000000002"}])),
        )
        .await;
    assert_eq!((status, report["added"].as_u64()), (200, Some(1)));
    let listed = app
        .get(&format!("/api/v1/campaigns/{id}/contacts"), &org.api_token)
        .await;
    let phones: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["phone"].as_str().unwrap())
        .collect();
    assert_eq!(phones, ["+919876543210", "+919000000001", "+919000000002"]);
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "pending"));
    // A number the org already has keeps its contact, as it is; a new one is created.
    let (status, known) = app
        .request(
            "POST",
            "/api/v1/contacts",
            Some(&org.api_token),
            Some(json!({"phone": "+919000000003", "name": "Known"})),
        )
        .await;
    assert_eq!(status, 201, "{known}");
    let (status, report) = app
        .request(
            "POST",
            &format!("/api/v1/campaigns/{id}/contacts"),
            Some(&org.api_token),
            Some(json!([{"phone": "+919000000003", "name": "Other"}, {"phone": "+919000000004"}])),
        )
        .await;
    assert_eq!((status, report["added"].as_u64()), (200, Some(2)));
    let listed = app
        .get(&format!("/api/v1/campaigns/{id}/contacts"), &org.api_token)
        .await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[3]["contact_id"], known["id"]);
    let again = app
        .get("/api/v1/contacts/by-phone/+919000000003", &org.api_token)
        .await;
    assert_eq!(again["name"], "Known");
    let created = app
        .get("/api/v1/contacts/by-phone/+919000000004", &org.api_token)
        .await;
    assert_eq!(items[4]["contact_id"], created["id"]);
}

#[actix_web::test]
async fn a_campaign_resumes_after_a_kill_9_without_dialing_anyone_twice() {
    use crate::restart::start_engine;
    let twilio = fake_twilio(1500);
    let api = twilio.base().to_owned();
    let url = database_url_text(&fresh_database());
    let (engine, address) = start_engine(&url, 180);
    let app = TestApp::at(address).await;
    let org = campaign_org(&app, &api, TWILIO_AUTH_TOKEN).await;
    let (_, campaign) = app
        .request("POST", "/api/v1/campaigns", Some(&org.api_token), Some(json!({
            "name": "Interrupted", "provider": "twilio", "concurrency": 2, "contacts": numbers(6),
        })))
        .await;
    let id = campaign["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.request(
            "POST",
            &format!("/api/v1/campaigns/{id}/start"),
            Some(&org.api_token),
            None
        )
        .await
        .0,
        200
    );
    for _ in 0..100 {
        if twilio.tally().total >= 2 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    drop(engine); // kill -9, two calls in flight

    // The calls in flight lost their callbacks with the engine: short deadlines close them.
    let (_engine, address) = start_engine(&url, 2);
    let app = TestApp::at(address).await;
    let progress = wait_for_status(&app, &org, &id, "completed").await;
    let seen = twilio.tally();
    assert_eq!(seen.total, 6, "every contact dialed once: {:?}", seen.dials);
    assert!(seen.dials.values().all(|n| *n == 1));
    assert!(seen.max_live <= 2, "{seen:?}");
    assert_eq!(progress["totalCalls"], 6);
}

#[actix_web::test]
async fn a_campaign_whose_write_failed_reads_itself_back_and_ends_as_the_database_says() {
    let settings = test_settings();
    let url = settings.database_url.clone();
    let app = spawn_app_with(settings).await;
    let twilio = fake_twilio(90);
    let org = campaign_org(&app, twilio.base(), TWILIO_AUTH_TOKEN).await;
    let contacts = numbers(4);
    let doomed = contacts[1]["phone"].as_str().unwrap().to_owned();
    // The database refuses to record that one contact as done, as a full disk would.
    let when = format!("NEW.status = 'done' AND NEW.phone = '{doomed}'");
    crate::hostile::refuse(&url, "UPDATE", "campaign_contacts", Some(&when));
    let (_, campaign) = app
        .request(
            "POST",
            "/api/v1/campaigns",
            Some(&org.api_token),
            Some(json!({
                "name": "Flaky disk", "provider": "twilio", "concurrency": 2, "contacts": contacts,
            })),
        )
        .await;
    let id = campaign["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/campaigns/{id}/contacts");
    app.request(
        "POST",
        &format!("/api/v1/campaigns/{id}/start"),
        Some(&org.api_token),
        None,
    )
    .await;
    // Its call ends, the write fails: the database still says in_call.
    for _ in 0..100 {
        if twilio.tally().total == 4 && twilio.tally().live == 0 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let stored = app.get(&path, &org.api_token).await;
    let status_of = |list: &Value| -> Vec<(String, String)> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["phone"].as_str().unwrap().to_owned(),
                    c["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert!(
        status_of(&stored).contains(&(doomed.clone(), "in_call".into())),
        "{stored}"
    );
    // The disk has room again: the actor, having noticed, reads itself back and records it.
    crate::hostile::refuse(&url, "UPDATE", "campaign_contacts", None);
    let mut last = Value::Null;
    for _ in 0..100 {
        last = app.get(&path, &org.api_token).await;
        if status_of(&last).iter().all(|(_, s)| s == "done") {
            assert_eq!(
                twilio.tally().dials.get(&doomed),
                Some(&1),
                "nobody dialed twice"
            );
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the campaign never caught up with what it should store: {last}");
}

/// A campaign that no longer runs leaves memory after its grace without use, and is read back
/// from the database when next asked: what was changed there meanwhile is what it then says.
#[actix_web::test]
async fn a_finished_campaign_leaves_memory_after_its_grace_and_is_read_back_when_next_asked() {
    let settings = Settings {
        campaign_grace: Duration::from_secs(2),
        ..test_settings()
    };
    let url = settings.database_url.clone();
    let app = spawn_app_with(settings).await;
    let twilio = fake_twilio(60);
    let org = campaign_org(&app, twilio.base(), TWILIO_AUTH_TOKEN).await;
    let id = crate::dialer::campaign(
        &app,
        &org,
        json!({"name": "Done", "provider": "twilio", "contacts": numbers(3)}),
    )
    .await;
    let progress = format!("/api/v1/campaigns/{id}/progress");
    crate::dialer::start(&app, &org, &id).await;
    wait_for_status(&app, &org, &id, "completed").await;
    // An operator marks one contact skipped behind the engine's back: the campaign's actor,
    // used a moment ago, still says what it holds.
    let skip = format!("UPDATE campaign_contacts SET status = 'skipped' WHERE campaign_id = '{id}' AND phone = '+919000000001'");
    crate::hostile::execute(&url, &[skip]);
    let held = app.get(&progress, &org.api_token).await;
    assert_eq!(held["contacts"]["done"], 3, "{held}");
    // Unused past its grace, it left; asked again, it is read back from the database.
    actix_web::rt::time::sleep(Duration::from_secs(4)).await;
    let read_back = app.get(&progress, &org.api_token).await;
    assert_eq!(
        (
            &read_back["contacts"]["done"],
            &read_back["contacts"]["skipped"]
        ),
        (&json!(2), &json!(1)),
        "{read_back}"
    );
    assert_eq!(read_back["campaignStatus"], "completed");
    // Gone again, it still answers a supervisor: a re-run finds nobody left to dial.
    actix_web::rt::time::sleep(Duration::from_secs(4)).await;
    let (status, body) = app
        .request(
            "POST",
            &format!("/api/v1/campaigns/{id}/start"),
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("nothing_to_dial")),
        "{body}"
    );
    assert_eq!(twilio.tally().total, 3, "nobody was dialed again");
}

/// A running campaign the engine cannot load when it starts (its account's stored credentials
/// unreadable, behind the engine's back) keeps `/readyz` at 503, saying which campaign, and a
/// request for it gets the load's error, not a 404; once the row reads again, recovery finishes
/// and the campaign is there, still running.
#[actix_web::test]
async fn a_running_campaign_that_cannot_be_loaded_keeps_the_engine_unready_and_says_why() {
    let settings = test_settings();
    let url = settings.database_url.clone();
    let app = spawn_app_with(settings.clone()).await;
    let twilio = fake_twilio(60_000);
    let org = campaign_org(&app, twilio.base(), TWILIO_AUTH_TOKEN).await;
    let body = json!({"name": "Night shift", "provider": "twilio", "concurrency": 1, "contacts": numbers(3)});
    let id = crate::dialer::campaign(&app, &org, body).await;
    let start = format!("/api/v1/campaigns/{id}/start");
    let (status, _) = app
        .request("POST", &start, Some(&org.api_token), None)
        .await;
    assert_eq!(status, 200);
    let account = format!("org_id = '{}' AND provider = 'twilio'", org.id);
    crate::hostile::execute(
        &url,
        &[format!(
            "UPDATE provider_accounts SET credentials = substr(credentials, 2) WHERE {account}"
        )],
    );
    let again = spawn_app_unready(settings).await;
    let said = until(
        "/readyz says which campaign keeps it from being ready",
        async || {
            let (status, body) = again.request("GET", "/readyz", None, None).await;
            let names_it = body["message"].as_str().is_some_and(|m| m.contains(&id));
            (status == 503 && names_it).then_some(body)
        },
    )
    .await;
    assert_eq!(said["error"], "not_ready", "{said}");
    let pause = format!("/api/v1/campaigns/{id}/pause");
    let (status, body) = again
        .request("POST", &pause, Some(&org.api_token), None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (500, Some("internal")),
        "{body}"
    );
    crate::hostile::execute(
        &url,
        &[format!(
            "UPDATE provider_accounts SET credentials = '{{' || credentials WHERE {account}"
        )],
    );
    again.wait_ready().await;
    let progress = again
        .get(&format!("/api/v1/campaigns/{id}/progress"), &org.api_token)
        .await;
    assert_eq!(progress["campaignStatus"], "running", "{progress}");
}
