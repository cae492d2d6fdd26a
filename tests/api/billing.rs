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
    let totals = app.get("/api/v1/metrics", &org.api_token).await;
    assert_eq!(totals["cost"], json!({"USD": "0.048"}), "{totals}");
    assert_eq!(totals["billed_minutes"], 3.1, "{totals}");
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
    let body = json!({"currency": "inr", "low_threshold": "5.00"});
    let (status, answer) = app
        .request("PUT", "/api/v1/credits", token, Some(body))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["currency"], "INR");
    assert_eq!(answer["low_threshold"], "5.00");
    assert_eq!(
        app.get("/api/v1/rates", &org.api_token).await["currency"],
        "INR"
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
        answer["currency"], "INR",
        "an absent field is left as it was"
    );
}
