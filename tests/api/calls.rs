//! The calls API: auth, tenancy, filters, paging, and stuck calls reconciled.

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn calls_need_a_token_and_other_orgs_calls_do_not_exist() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;
    let (_, body) = app
        .twilio_status(&acme, &twilio_params("CA1", "ringing", 1, 2))
        .await;
    let call_id = body["call_id"].as_str().unwrap().to_owned();

    for token in [None, Some("sbk_wrong")] {
        let (status, body) = app.request("GET", "/api/v1/calls", token, None).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"], "unauthorized");
    }
    let path = format!("/api/v1/calls/{call_id}");
    assert_eq!(app.get(&path, &acme.api_token).await["status"], "ringing");
    for path in [
        path.clone(),
        format!("{path}/events"),
        "/api/v1/calls/nonsense".into(),
    ] {
        let (status, body) = app
            .request("GET", &path, Some(&globex.api_token), None)
            .await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"], "not_found");
    }
    assert_eq!(
        app.get("/api/v1/calls", &globex.api_token).await["items"],
        json!([])
    );
}

#[actix_web::test]
async fn calls_are_filtered_and_paged_newest_first() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    for n in 0..5 {
        let status = if n % 2 == 0 { "ringing" } else { "busy" };
        let (code, _) = app
            .twilio_status(&org, &twilio_params(&format!("CA{n}"), status, 1, 2))
            .await;
        assert_eq!(code, 200);
    }
    let first = app.get("/api/v1/calls?limit=2", &org.api_token).await;
    let ids: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["provider_call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CA4", "CA3"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/calls?limit=2&cursor={cursor}"),
            &org.api_token,
        )
        .await;
    let ids: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["provider_call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CA2", "CA1"]);
    let last = app
        .get(
            &format!(
                "/api/v1/calls?limit=2&cursor={}",
                second["next_cursor"].as_str().unwrap()
            ),
            &org.api_token,
        )
        .await;
    assert_eq!(last["items"].as_array().unwrap().len(), 1);
    assert_eq!(last["next_cursor"], serde_json::Value::Null);

    let busy = app.get("/api/v1/calls?status=busy", &org.api_token).await;
    assert_eq!(busy["items"].as_array().unwrap().len(), 2);
    let by_sid = app
        .get("/api/v1/calls?provider_call_id=CA3", &org.api_token)
        .await;
    assert_eq!(by_sid["items"][0]["status"], "busy");
    assert_eq!(by_sid["items"][0]["talk_s"], 0);
    let clamped = app.get("/api/v1/calls?limit=5000", &org.api_token).await;
    assert_eq!(clamped["items"].as_array().unwrap().len(), 5);

    for bad in [
        "status=talking",
        "direction=sideways",
        "limit=0",
        "limit=many",
    ] {
        let (status, body) = app
            .request(
                "GET",
                &format!("/api/v1/calls?{bad}"),
                Some(&org.api_token),
                None,
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["message"].is_string());
    }
}

#[actix_web::test]
async fn a_call_silent_past_its_deadline_is_reconciled_and_a_late_final_record_still_wins() {
    let mut settings = test_settings();
    settings.deadlines.ring = Duration::from_secs(1);
    let app = spawn_app_with(settings).await;
    let org = app.create_org("Acme").await;
    let mut ws = app.ws(&org.api_token, None).await;
    assert_eq!(ws.next().await["type"], "snapshot");

    let (_, body) = app
        .twilio_status(&org, &twilio_params("CAstuck", "ringing", 1, 2))
        .await;
    let call_id = body["call_id"].as_str().unwrap().to_owned();
    assert_eq!(ws.next().await["type"], "call:created");

    let reconciled = ws.next().await;
    assert_eq!(reconciled["type"], "call:updated");
    assert_eq!(reconciled["data"]["status"], "failed");
    assert_eq!(reconciled["data"]["hangup_cause"], "timeout");
    assert_eq!(reconciled["data"]["final_by"], "engine");
    let call = app
        .get(&format!("/api/v1/calls/{call_id}"), &org.api_token)
        .await;
    assert_eq!(call["status"], "failed");
    assert_eq!(
        call["ended_at"],
        serde_json::Value::Null,
        "no end time is invented"
    );
    let last = app.last_timeline_entry(&org, &call_id).await;
    assert_eq!(
        (last["source"].as_str(), last["kind"].as_str()),
        (Some("engine"), Some("reconciled"))
    );

    let mut final_record = twilio_params("CAstuck", "no-answer", 2, 32);
    final_record.push(("SipResponseCode", "487".into()));
    let (status, _) = app.twilio_status(&org, &final_record).await;
    assert_eq!(status, 200);
    let call = app
        .get(&format!("/api/v1/calls/{call_id}"), &org.api_token)
        .await;
    assert_eq!(call["status"], "no_answer");
    assert_eq!(call["final_by"], "provider");
    assert_eq!(call["hangup_cause"], "sip_487");
    assert_eq!(call["ended_at"], "2025-03-04T10:00:32Z");
    assert_eq!(ws.next().await["data"]["status"], "no_answer");
}

#[actix_web::test]
async fn org_metrics_add_up_what_the_calls_say() {
    let mut settings = test_settings();
    settings.metrics_interval = Duration::from_millis(1000);
    let app = spawn_app_with(settings).await;
    let org = app.create_org("Acme").await;
    let mut ws = app.ws(&org.api_token, None).await;
    ws.next().await;
    for params in twilio_sequence("CAdone") {
        assert_eq!(app.twilio_status(&org, &params).await.0, 200);
    }
    assert_eq!(
        app.twilio_status(&org, &twilio_params("CAbusy", "busy", 1, 5))
            .await
            .0,
        200
    );
    assert_eq!(
        app.twilio_status(&org, &twilio_params("CAlive", "ringing", 1, 5))
            .await
            .0,
        200
    );
    let metrics = app.get("/api/v1/metrics", &org.api_token).await;
    assert_eq!(metrics["calls"], 3);
    assert_eq!(metrics["live_calls"], 1);
    assert_eq!(metrics["answered"], 1);
    // Answered over finished calls: the ringing one is in neither (it was counted as unanswered).
    assert_eq!(metrics["answer_rate"], 0.5);
    assert_eq!(metrics["average_talk_s"], 61.0);
    assert!((metrics["talk_minutes"].as_f64().unwrap() - 61.0 / 60.0).abs() < 1e-9);
    assert_eq!(
        metrics["calls_by_status"],
        json!({"completed": 1, "busy": 1, "ringing": 1})
    );
    assert_eq!(metrics["extensions"]["online"], 0);
    let other = app.create_org("Globex").await;
    assert_eq!(
        app.get("/api/v1/metrics", &other.api_token).await["calls"],
        0
    );

    // Dashboards get the same totals a moment after the calls change.
    let pushed = loop {
        let event = ws.next().await;
        if event["type"] == "metrics:updated" && event["data"]["calls"] == 3 {
            break event;
        }
    };
    assert_eq!(pushed["data"], metrics);
}
