//! Money through the real server: rates set through the API price every call as it ends, by
//! increment and longest prefix, exactly; duplicates change nothing; the org's totals add up.

use crate::helpers::*;
use serde_json::{json, Value};

/// One Twilio call to `to` through the whole sequence; `answered` decides its outcome.
async fn call_to(app: &TestApp, org: &TestOrg, sid: &str, to: &str, answered: bool) -> String {
    let mut sequence = twilio_sequence(sid);
    if !answered {
        sequence = vec![
            twilio_params(sid, "initiated", 0, 0),
            twilio_params(sid, "no-answer", 1, 30),
        ];
        sequence[1].retain(|(k, _)| *k != "CallDuration");
    }
    let mut call_id = String::new();
    for mut params in sequence {
        for (k, v) in params.iter_mut() {
            if *k == "To" {
                *v = to.to_owned();
            }
        }
        let (status, body) = app.twilio_status(org, &params).await;
        assert_eq!(status, 200, "{body}");
        call_id = body["call_id"].as_str().unwrap().to_owned();
    }
    call_id
}

/// The org's all-time totals, read from the totals kept per day, after checking them against the
/// same totals counted from the calls themselves (a bound that is not a midnight counts them).
async fn kept_totals(app: &TestApp, org: &TestOrg) -> Value {
    let kept = app.get("/api/v1/metrics", &org.api_token).await;
    let counted = app
        .get(
            "/api/v1/metrics?from=2000-01-01T00:00:00.001Z",
            &org.api_token,
        )
        .await;
    assert_eq!(kept, counted, "the kept totals are the calls' own");
    kept
}

fn rates() -> Value {
    json!({"rates": [
        {"provider": "twilio", "direction": "outbound", "per_minute": "0.0130", "increment_s": 60},
        {"provider": "twilio", "direction": "outbound", "per_minute": "0.0200", "increment_s": 6,
         "prefix": "+91"},
        {"provider": "yeastar", "direction": "inbound", "per_minute": "0.0060", "increment_s": 60,
         "minimum_s": 60},
    ]})
}

#[actix_web::test]
async fn rates_price_every_call_exactly_and_the_totals_add_up() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = Some(org.api_token.as_str());
    let (status, body) = app
        .request("PUT", "/api/v1/rates", token, Some(rates()))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["currency"], "USD");
    assert_eq!(body["rates"][1]["per_minute"], "0.02");
    assert_eq!(app.get("/api/v1/rates", &org.api_token).await, body);

    // 61 s: two whole minutes at 0.013; 66 s (six-second steps) at 0.02; unanswered: nothing.
    let us = call_to(
        &app,
        &org,
        "CA00000000000000000000000000000001",
        "+15550002222",
        true,
    )
    .await;
    let india = call_to(
        &app,
        &org,
        "CA00000000000000000000000000000002",
        "+919876543210",
        true,
    )
    .await;
    let missed = call_to(
        &app,
        &org,
        "CA00000000000000000000000000000003",
        "+15550002222",
        false,
    )
    .await;
    for (id, billed, cost) in [
        (&us, 120, "0.026"),
        (&india, 66, "0.022"),
        (&missed, 0, "0.00"),
    ] {
        let call = app
            .get(&format!("/api/v1/calls/{id}"), &org.api_token)
            .await;
        assert_eq!(call["billed_s"], billed, "{call}");
        assert_eq!(call["cost"], cost, "{call}");
        assert_eq!(call["currency"], "USD");
    }
    // The timeline says when the bill was made.
    let timeline = app
        .get(&format!("/api/v1/calls/{us}/events"), &org.api_token)
        .await;
    let billing: Vec<&Value> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["data"].get("billing"))
        .collect();
    assert_eq!(billing.len(), 1, "{timeline}");
    assert_eq!(billing[0]["cost"], "0.026");

    // Every event again: duplicates, nothing moves.
    for params in twilio_sequence("CA00000000000000000000000000000001") {
        let mut params = params;
        for (k, v) in params.iter_mut() {
            if *k == "To" {
                *v = "+15550002222".into();
            }
        }
        let (_, body) = app.twilio_status(&org, &params).await;
        assert_eq!(body["status"], "duplicate");
    }
    let totals = kept_totals(&app, &org).await;
    assert_eq!(totals["cost"], json!({"USD": "0.048"}), "{totals}");
    assert_eq!(totals["billed_minutes"], 3.1, "{totals}");
    assert_eq!(
        (totals["calls"].as_i64(), totals["answered"].as_i64()),
        (Some(3), Some(2))
    );
    assert_eq!(totals["credits"], Value::Null, "credits are off");

    // By period (the calls began 2025-03-04 10:00 UTC, as the provider says).
    let period = |query: &str| format!("/api/v1/metrics?{query}");
    let before = app
        .get(&period("to=2025-03-04T10:00:00Z"), &org.api_token)
        .await;
    assert_eq!(
        (before["calls"].as_i64(), before["cost"].clone()),
        (Some(0), json!({}))
    );
    let within = period("from=2025-03-04T09:00:00%2B00:00&to=2025-03-04T11:00:00Z");
    let within = app.get(&within, &org.api_token).await;
    assert_eq!(
        (within["calls"].as_i64(), within["cost"].clone()),
        (Some(3), json!({"USD": "0.048"}))
    );
    let other_campaign = app.get(&period("campaign_id=nope"), &org.api_token).await;
    assert_eq!(other_campaign["calls"], 0);
    for bad in [
        "from=yesterday",
        "to=2025-13-01T00:00:00Z",
        "from=2025-03-04",
    ] {
        let (status, body) = app
            .request("GET", &period(bad), Some(&org.api_token), None)
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

#[actix_web::test]
async fn a_rate_or_currency_that_is_not_one_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = Some(org.api_token.as_str());
    let (status, _) = app
        .request("PUT", "/api/v1/rates", token, Some(rates()))
        .await;
    assert_eq!(status, 200);
    let rate = |fields: Value| {
        let mut rate = json!({"provider": "twilio", "direction": "outbound", "per_minute": "0.01",
            "increment_s": 60});
        rate.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        json!({"rates": [rate]})
    };
    let bad = [
        rate(json!({"per_minute": "abc"})),
        rate(json!({"per_minute": "-0.01"})),
        rate(json!({"per_minute": "1e3"})),
        rate(json!({"increment_s": 0})),
        rate(json!({"minimum_s": -1})),
        rate(json!({"provider": "acme"})),
        rate(json!({"direction": "sideways"})),
        rate(json!({"prefix": "91x"})),
        json!({"rates": [rates()["rates"][0], rates()["rates"][0]]}),
    ];
    for body in bad {
        let (status, answer) = app
            .request("PUT", "/api/v1/rates", token, Some(body.clone()))
            .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_money")),
            "{body}"
        );
    }
    let (status, _) = app
        .request(
            "PUT",
            "/api/v1/rates",
            token,
            Some(rate(json!({"surprise": 1}))),
        )
        .await;
    assert_eq!(status, 400);
    let stored = app.get("/api/v1/rates", &org.api_token).await;
    assert_eq!(
        stored["rates"].as_array().unwrap().len(),
        3,
        "nothing changed: {stored}"
    );

    let credits = app.get("/api/v1/credits", &org.api_token).await;
    assert_eq!(
        credits,
        json!({"balance": "0.00", "currency": "USD", "low_threshold": null, "enabled": false})
    );
    for body in [
        json!({"currency": "EURO"}),
        json!({"low_threshold": "lots"}),
    ] {
        let (status, answer) = app
            .request("PUT", "/api/v1/credits", token, Some(body))
            .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_money"))
        );
    }
    // The rates are money in USD: the currency is not relabelled under them, and nothing changes.
    let body = json!({"currency": "inr", "low_threshold": "5.00"});
    let (status, answer) = app
        .request("PUT", "/api/v1/credits", token, Some(body))
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("currency_in_use"))
    );
    let body = json!({"currency": "usd", "low_threshold": "5.00"});
    let (status, answer) = app
        .request("PUT", "/api/v1/credits", token, Some(body))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["currency"], "USD");
    assert_eq!(answer["low_threshold"], "5.00");
    assert_eq!(
        app.get("/api/v1/rates", &org.api_token).await["currency"],
        "USD"
    );
    let (_, answer) = app
        .request(
            "PUT",
            "/api/v1/credits",
            token,
            Some(json!({"low_threshold": null})),
        )
        .await;
    assert_eq!(answer["low_threshold"], Value::Null);
    assert_eq!(
        answer["currency"], "USD",
        "an absent field is left as it was"
    );
}

/// The credits events that arrive until the stream is quiet.
async fn credit_events(ws: &mut WsClient) -> Vec<Value> {
    let mut events = Vec::new();
    while let Some(event) = ws.next_within(std::time::Duration::from_millis(500)).await {
        if event["type"] == "credits:updated" {
            events.push(event["data"].clone());
        }
    }
    events
}

async fn top_up(app: &TestApp, org: &TestOrg, amount: &str) -> (u16, Value) {
    let path = format!("/api/v1/orgs/{}/credits", org.id);
    app.request(
        "POST",
        &path,
        Some(ADMIN_TOKEN),
        Some(json!({ "amount": amount })),
    )
    .await
}

#[actix_web::test]
async fn credits_are_debited_once_per_call_and_an_empty_balance_stops_new_calls() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = app.create_org("Acme").await;
    app.configure(&org, "twilio", json!({"account_sid": "ACtest0000", "auth_token": TWILIO_AUTH_TOKEN, "from_number": "+15550000000", "api_base": providers.base()})).await;
    let token = Some(org.api_token.as_str());
    app.request("PUT", "/api/v1/rates", token, Some(rates()))
        .await;
    let dial = json!({"to": "+919876543210", "provider": "twilio"});

    // Not limited before the first top-up; the admin's token only; amounts above 0 only.
    let (status, _) = app
        .request("POST", "/api/v1/calls", token, Some(dial.clone()))
        .await;
    assert_eq!(status, 201);
    let path = format!("/api/v1/orgs/{}/credits", org.id);
    let (status, _) = app
        .request("POST", &path, token, Some(json!({"amount": "5.00"})))
        .await;
    assert_eq!(status, 401, "an org cannot top itself up");
    for amount in ["abc", "-1", "0", "1e2"] {
        let (status, body) = top_up(&app, &org, amount).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_money")),
            "{amount}"
        );
    }
    let body = json!({"low_threshold": "0.05"});
    app.request("PUT", "/api/v1/credits", token, Some(body))
        .await;
    let mut ws = app.ws(&org.api_token, None).await;
    // Joined once its opening snapshot arrives: the top-up after it is heard live.
    assert_eq!(ws.next().await["type"], "snapshot");
    let (status, credits) = top_up(&app, &org, "0.10").await;
    assert_eq!(status, 200, "{credits}");
    assert_eq!(
        credits,
        json!({"balance": "0.10", "currency": "USD", "low_threshold": "0.05", "enabled": true})
    );

    // Four answered calls of 0.026, every event sent twice: each is debited once.
    let mut calls = Vec::new();
    for n in 0..4 {
        let sid = format!("CA{n:032}");
        let id = call_to(&app, &org, &sid, "+15550002222", true).await;
        assert_eq!(call_to(&app, &org, &sid, "+15550002222", true).await, id);
        calls.push(id);
    }
    let events = credit_events(&mut ws).await;
    let seen: Vec<(&str, &str, bool)> = events
        .iter()
        .map(|e| {
            (
                e["change"].as_str().unwrap(),
                e["balance"].as_str().unwrap(),
                e["low"] == true,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("0.10", "0.10", false),
            ("-0.026", "0.074", false),
            ("-0.026", "0.048", true),
            ("-0.026", "0.022", true),
            ("-0.026", "-0.004", true),
        ],
        "{events:?}"
    );
    assert_eq!(events[1]["call_id"], calls[0].as_str());

    // At or below zero: new calls are refused, nothing is dialed; inbound calls still tracked.
    let dialed = providers.bodies("twilio").len();
    let (status, body) = app
        .request("POST", "/api/v1/calls", token, Some(dial.clone()))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (402, Some("insufficient_credits"))
    );
    assert_eq!(
        providers.bodies("twilio").len(),
        dialed,
        "nothing was dialed"
    );
    let tracked = call_to(
        &app,
        &org,
        "CA99999999999999999999999999999999",
        "+15550002222",
        true,
    );
    assert!(!tracked.await.is_empty());

    // The ledger: one top-up, one debit per call, and it sums to the balance.
    let ledger = app.get("/api/v1/credits/ledger", &org.api_token).await;
    let lines = ledger["items"].as_array().unwrap();
    assert_eq!(lines.len(), 6, "{ledger}");
    let sum: i64 = lines
        .iter()
        .map(|l| (l["amount"].as_str().unwrap().parse::<f64>().unwrap() * 1e6).round() as i64)
        .sum();
    let balance = app.get("/api/v1/credits", &org.api_token).await["balance"].clone();
    assert_eq!(balance, "-0.03");
    assert_eq!(sum, -30_000);
    assert_eq!(
        lines[0]["balance"], "-0.03",
        "newest first, with the balance after it"
    );
    assert_eq!(lines.last().unwrap()["reason"], "top_up");
    let totals = kept_totals(&app, &org).await;
    assert_eq!(
        totals["credits"],
        json!({"balance": "-0.03", "currency": "USD", "low": true})
    );
    let debits = lines.iter().filter(|l| l["reason"] == "call").count();
    assert_eq!(debits, 5);

    let (status, _) = top_up(&app, &org, "1.00").await;
    assert_eq!(status, 200);
    let (status, _) = app
        .request("POST", "/api/v1/calls", token, Some(dial))
        .await;
    assert_eq!(status, 201, "a top-up lets calls through again");
}

#[actix_web::test]
async fn a_campaign_pauses_when_credits_run_out_and_resumes_after_a_top_up() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::Full {
        step: std::time::Duration::from_millis(20),
    });
    let org = app.create_org("Dialer").await;
    app.configure(&org, "twilio", json!({"account_sid": "ACtest0000", "auth_token": TWILIO_AUTH_TOKEN, "from_number": "+15550000000", "api_base": providers.base(), "calls_per_second": 200})).await;
    let token = Some(org.api_token.as_str());
    app.request("PUT", "/api/v1/rates", token, Some(rates()))
        .await;
    top_up(&app, &org, "0.01").await;
    // A tracked call spends more than the balance.
    call_to(
        &app,
        &org,
        "CA00000000000000000000000000000001",
        "+15550002222",
        true,
    )
    .await;
    let credits = app.get("/api/v1/credits", &org.api_token).await;
    assert_eq!(credits["balance"], "-0.016", "{credits}");
    let contacts: Vec<Value> = (0..3)
        .map(|i| json!({"phone": format!("+9190000{:05}", i * 10 + 1)}))
        .collect();
    let body =
        json!({"name": "Leads", "provider": "twilio", "concurrency": 1, "contacts": contacts});
    let (_, campaign) = app
        .request("POST", "/api/v1/campaigns", token, Some(body))
        .await;
    let id = campaign["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .request(
            "POST",
            &format!("/api/v1/campaigns/{id}/start"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut campaign = Value::Null;
    for _ in 0..200 {
        campaign = app
            .get(&format!("/api/v1/campaigns/{id}"), &org.api_token)
            .await;
        if campaign["status"] == "paused" {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(campaign["status"], "paused", "{campaign}");
    assert_eq!(campaign["failure_reason"], "insufficient_credits");
    assert!(providers.bodies("twilio").is_empty(), "nobody was dialed");
    // A supervisor's resume (or start) cannot run it without credits: 402, and it stays paused.
    for action in ["resume", "start"] {
        let path = format!("/api/v1/campaigns/{id}/{action}");
        let (status, body) = app.request("POST", &path, token, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (402, Some("insufficient_credits")),
            "{action}: {body}"
        );
    }
    actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    let still = app
        .get(&format!("/api/v1/campaigns/{id}"), &org.api_token)
        .await;
    assert_eq!(still["status"], "paused", "{still}");

    let (status, _) = top_up(&app, &org, "10.00").await;
    assert_eq!(status, 200);
    for _ in 0..400 {
        campaign = app
            .get(&format!("/api/v1/campaigns/{id}"), &org.api_token)
            .await;
        if campaign["status"] == "completed" {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(campaign["status"], "completed", "{campaign}");
    assert_eq!(
        providers.bodies("twilio").len(),
        3,
        "every contact dialed once"
    );
    let totals = app
        .get(&format!("/api/v1/metrics?campaign_id={id}"), &org.api_token)
        .await;
    assert_eq!(totals["calls"], 3, "the campaign's calls only: {totals}");
}

#[actix_web::test]
async fn the_billing_export_streams_every_call_once_in_creation_order() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = Some(org.api_token.as_str());
    app.request("PUT", "/api/v1/rates", token, Some(rates()))
        .await;
    // More calls than one page of the export.
    let calls = 1_050;
    for n in 0..calls {
        let sid = format!("CA{n:032}");
        // Each a second after the last: a call is dated by its provider times.
        let mut params = twilio_params(&sid, "completed", 3, 70 + n as u32);
        params.retain(|(k, _)| *k != "CallDuration");
        params.push(("CallDuration", "61".into()));
        let (status, body) = app.twilio_status(&org, &params).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = app
        .request("GET", "/api/v1/calls/export.csv", token, None)
        .await;
    assert_eq!(status, 200);
    let text = body.as_str().expect("CSV, not JSON").to_owned();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "call_id");
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), calls, "every call once");
    let totals = kept_totals(&app, &org).await;
    assert_eq!(totals["calls"], calls);
    assert_eq!(totals["cost"], json!({"USD": "27.30"}), "1,050 × 0.026");
    let ids: std::collections::HashSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(ids.len(), calls, "no call twice across pages");
    let created: Vec<&str> = rows.iter().map(|r| &r[column("created_at")]).collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    for row in &rows {
        assert_eq!(&row[column("billed_s")], "120");
        assert_eq!(&row[column("cost")], "0.026");
        assert_eq!(&row[column("currency")], "USD");
    }
    // By period: the calls created before the 500th (each began 61 s before its `completed`).
    let cut = created[500].to_owned();
    let path = format!("/api/v1/calls/export.csv?from=2025-01-01T00:00:00Z&to={cut}");
    let (_, body) = app.request("GET", &path, token, None).await;
    let rows = csv::Reader::from_reader(body.as_str().unwrap().as_bytes())
        .records()
        .count();
    assert_eq!(rows, created.iter().filter(|c| **c < cut.as_str()).count());
    assert_eq!(rows, 500);
    let (status, body) = app
        .request("GET", "/api/v1/calls/export.csv?from=soon", token, None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_query"))
    );
}

#[actix_web::test]
async fn a_burst_of_a_thousand_events_gives_at_most_one_metrics_update_a_second() {
    let app = spawn_app_with(switchboard::config::Settings {
        metrics_interval: std::time::Duration::from_secs(1),
        ..test_settings()
    })
    .await;
    let org = app.create_org("Acme").await;
    let mut ws = app.ws(&org.api_token, None).await;
    let started = std::time::Instant::now();
    let sends = (0..250).map(|n| {
        let (app, org) = (&app, &org);
        async move {
            for params in twilio_sequence(&format!("CA{n:032}")) {
                let (status, _) = app.twilio_status(org, &params).await;
                assert_eq!(status, 200);
            }
        }
    });
    futures_util::future::join_all(sends).await;
    let mut updates = Vec::new();
    let mut published = Vec::new();
    // Listen until a quiet stretch longer than the interval: every update has come.
    while let Some(event) = ws.next_within(std::time::Duration::from_millis(2500)).await {
        if event["type"] == "metrics:updated" {
            updates.push((started.elapsed(), event["data"].clone()));
            let at = event["at"].as_str().unwrap_or_default();
            published.push(chrono::DateTime::parse_from_rfc3339(at).unwrap());
        }
    }
    let span = updates.last().unwrap().0.as_secs_f64();
    assert!(
        updates.len() as f64 <= span.ceil() + 1.0,
        "{} updates over {span:.1} s for 1,000 events",
        updates.len()
    );
    // Apart by when the engine published them (the event's `at`), not by when this client, on a
    // loaded machine, happened to read them.
    for pair in published.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap.num_milliseconds() >= 500, "updates {gap:?} apart");
    }
    let last = &updates.last().unwrap().1;
    assert_eq!(last["calls"], 250, "the last update has everything: {last}");
    assert_eq!(last, &app.get("/api/v1/metrics", &org.api_token).await);
}

#[actix_web::test]
async fn a_late_twilio_price_read_from_its_api_replaces_the_rate_and_adjusts_the_debit() {
    let app = spawn_app_with(switchboard::config::Settings {
        price_retry: std::time::Duration::from_millis(500),
        ..test_settings()
    })
    .await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    providers.script(|s| s.twilio_price = None);
    let org = app.create_org("Acme").await;
    app.configure(&org, "twilio", json!({"account_sid": "ACtest0000", "auth_token": TWILIO_AUTH_TOKEN, "from_number": "+15550000000", "api_base": providers.base(), "fetch_prices": "true"})).await;
    let token = Some(org.api_token.as_str());
    app.request("PUT", "/api/v1/rates", token, Some(rates()))
        .await;
    top_up(&app, &org, "1.00").await;
    let call_id = call_to(&app, &org, &format!("CA{:032}", 1), "+15550002222", true).await;
    let call = app
        .get(&format!("/api/v1/calls/{call_id}"), &org.api_token)
        .await;
    assert_eq!(
        call["cost"], "0.026",
        "priced by the rate until Twilio's price is known"
    );

    // Twilio has not priced the call yet; then it has (its price is a negative charge).
    let details = || price_asks(&providers);
    for _ in 0..100 {
        if details() > 0 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(details(), 1, "asked once, off the ingest path");
    providers.script(|s| s.twilio_price = Some("-0.01700".into()));
    // Asked again after `price_retry`.
    let mut call = call;
    for _ in 0..200 {
        call = app
            .get(&format!("/api/v1/calls/{call_id}"), &org.api_token)
            .await;
        if call["provider_cost"] == "0.017" {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        (
            call["cost"].as_str(),
            call["provider_cost"].as_str(),
            call["provider_currency"].as_str()
        ),
        (Some("0.017"), Some("0.017"), Some("USD")),
        "{call}"
    );
    assert_eq!(
        call["billed_s"], 120,
        "billed seconds still follow the rate's increment"
    );
    let last = app.last_timeline_entry(&org, &call_id).await;
    assert_eq!(last["kind"], "price", "{last}");
    assert_eq!(last["data"]["billing"]["previous_cost"], "0.026");
    // Debited 0.026 first, then given back the difference: once each.
    let ledger = app.get("/api/v1/credits/ledger", &org.api_token).await;
    let lines: Vec<(String, String)> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["reason"].as_str().unwrap().into(),
                l["amount"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            ("adjustment".to_owned(), "0.009".to_owned()),
            ("call".into(), "-0.026".into()),
            ("top_up".into(), "1.00".into())
        ]
    );
    assert_eq!(
        app.get("/api/v1/credits", &org.api_token).await["balance"],
        "0.983"
    );
    let totals = kept_totals(&app, &org).await;
    assert_eq!(totals["cost"], json!({"USD": "0.017"}));
    assert_eq!(totals["calls_by_status"], json!({"completed": 1}));
}

/// A price still to be asked when the engine stops is asked by the next one: the call ended, the
/// provider had not priced it, the process was killed; after the restart the price arrives and the
/// cost, the ledger and the totals converge on it.
#[actix_web::test]
async fn a_price_not_yet_given_before_a_restart_is_asked_after_it() {
    use crate::restart::start_engine_with;
    let url = database_url_text(&fresh_database());
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    providers.script(|s| s.twilio_price = None);
    let details = || price_asks(&providers);
    // The first engine asks once (the provider has no price yet), then would wait an hour.
    let (first, address) = start_engine_with(&url, 600, &[("SWITCHBOARD_PRICE_RETRY_S", "3600")]);
    let app = TestApp::at(address).await;
    let org = app.create_org("Acme").await;
    app.configure(&org, "twilio", json!({"account_sid": "ACtest0000", "auth_token": TWILIO_AUTH_TOKEN, "from_number": "+15550000000", "api_base": providers.base(), "fetch_prices": "true"})).await;
    app.request("PUT", "/api/v1/rates", Some(&org.api_token), Some(rates()))
        .await;
    top_up(&app, &org, "1.00").await;
    let call_id = call_to(&app, &org, &format!("CA{:032}", 7), "+15550002222", true).await;
    until("the first engine asked for the price", async || {
        (details() >= 1).then_some(())
    })
    .await;
    drop(first);

    providers.script(|s| s.twilio_price = Some("-0.01700".into()));
    let (_second, address) = start_engine_with(&url, 600, &[("SWITCHBOARD_PRICE_RETRY_S", "1")]);
    let app = TestApp::at(address).await;
    let call = until("the price arrives after the restart", async || {
        let call = app
            .get(&format!("/api/v1/calls/{call_id}"), &org.api_token)
            .await;
        (call["provider_cost"] == "0.017").then_some(call)
    })
    .await;
    assert_eq!(call["cost"], "0.017", "{call}");
    assert_eq!(
        app.get("/api/v1/credits", &org.api_token).await["balance"],
        "0.983",
        "debited the rate's 0.026, then given back the difference"
    );
    let totals = kept_totals(&app, &org).await;
    assert_eq!(totals["cost"], json!({"USD": "0.017"}));
}

/// How many times the stand-in's call-details API (where prices are read) was asked.
fn price_asks(providers: &FakeProviders) -> usize {
    providers
        .requests()
        .iter()
        .filter(|r| r.operation == "call_details")
        .count()
}

/// Money is never relabelled: once an org holds money in its currency (a balance, ledger
/// entries, rates), the currency cannot change; an org with none may choose it.
#[actix_web::test]
async fn a_currency_holding_money_cannot_be_relabelled() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = Some(org.api_token.as_str());
    let (status, body) = app
        .request(
            "PUT",
            "/api/v1/credits",
            token,
            Some(json!({"currency": "inr"})),
        )
        .await;
    assert_eq!(
        (status, body["currency"].as_str()),
        (200, Some("INR")),
        "{body}"
    );
    let (status, body) = app
        .request(
            "PUT",
            "/api/v1/credits",
            token,
            Some(json!({"currency": "USD"})),
        )
        .await;
    assert_eq!(status, 200, "nothing held yet: {body}");
    app.request("PUT", "/api/v1/rates", token, Some(rates()))
        .await;
    let (status, body) = app
        .request(
            "PUT",
            "/api/v1/credits",
            token,
            Some(json!({"currency": "EUR"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("currency_in_use")),
        "{body}"
    );
    app.request("PUT", "/api/v1/rates", token, Some(json!({"rates": []})))
        .await;
    top_up(&app, &org, "1.00").await;
    let (status, body) = app
        .request(
            "PUT",
            "/api/v1/credits",
            token,
            Some(json!({"currency": "INR", "low_threshold": "0.50"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("currency_in_use")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("USD"), "{body}");
    let credits = app.get("/api/v1/credits", &org.api_token).await;
    assert_eq!(
        (
            credits["balance"].as_str(),
            credits["currency"].as_str(),
            credits["low_threshold"].as_str()
        ),
        (Some("1.00"), Some("USD"), None),
        "nothing changed: {credits}"
    );
    // The same currency again, with a threshold: fine.
    let (status, body) = app
        .request(
            "PUT",
            "/api/v1/credits",
            token,
            Some(json!({"currency": "usd", "low_threshold": "0.50"})),
        )
        .await;
    assert_eq!(
        (status, body["low_threshold"].as_str()),
        (200, Some("0.50")),
        "{body}"
    );
}

/// A provider reuses a call id long after that call ended (a PBX after a restart, a simulator run
/// again): the late event is kept on the old call's timeline, marked `ignored: another_call`, and
/// never turns it into the new call — its talk, cost and debit stay, and the ledger's debits equal
/// the calls' costs.
#[actix_web::test]
async fn a_reused_call_id_long_after_its_call_ended_never_rewrites_that_call_or_its_money() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = Some(org.api_token.as_str());
    app.request("PUT", "/api/v1/rates", token, Some(rates()))
        .await;
    assert_eq!(top_up(&app, &org, "1.00").await.0, 200);
    // Ended on 4 March 2025 (its provider times): long ago.
    let call_id = call_to(&app, &org, "CAreused01", "+919876543210", true).await;
    let before = app
        .get(&format!("/api/v1/calls/{call_id}"), &org.api_token)
        .await;
    assert_eq!(
        before["cost"], "0.022",
        "61 s by 6 s at 0.02 a minute: {before}"
    );

    let mut reused = twilio_params("CAreused01", "completed", 9, 0);
    for (k, v) in reused.iter_mut() {
        match *k {
            "To" => *v = "+15550009999".into(),
            "CallDuration" => *v = "300".into(),
            "Timestamp" => *v = chrono::Utc::now().to_rfc2822(),
            "SequenceNumber" => *v = "12".into(),
            _ => {}
        }
    }
    let (status, body) = app.twilio_status(&org, &reused).await;
    assert_eq!(status, 200, "{body}");
    let after = app
        .get(&format!("/api/v1/calls/{call_id}"), &org.api_token)
        .await;
    for field in ["to", "talk_s", "cost", "status", "ended_at"] {
        assert_eq!(after[field], before[field], "{field}: {after}");
    }
    let last = app.last_timeline_entry(&org, &call_id).await;
    assert_eq!(last["data"]["ignored"], "another_call", "{last}");

    let ledger = app.get("/api/v1/credits/ledger", &org.api_token).await;
    let debits: Vec<&str> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["call_id"].is_string())
        .map(|l| l["amount"].as_str().unwrap())
        .collect();
    assert_eq!(debits, ["-0.022"], "{ledger}");
    assert_eq!(
        kept_totals(&app, &org).await["cost"],
        json!({"USD": "0.022"})
    );
}
