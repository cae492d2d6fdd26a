//! Plivo, Exotel, Bolna and bot analytics through the real server: one call model for all.

use crate::helpers::*;
use serde_json::{json, Value};

const PLIVO_TOKEN: &str = "test-plivo-auth-token";

async fn org_with_providers(app: &TestApp) -> TestOrg {
    let org = app.create_org("Mixed").await;
    app.configure(
        &org,
        "plivo",
        json!({"auth_id": "MAtest", "auth_token": PLIVO_TOKEN, "from_number": "918000000000"}),
    )
    .await;
    app.configure(&org, "exotel", json!({"account_sid": "acme", "api_key": "k", "api_token": "t", "caller_id": "08012345678"})).await;
    app.configure(
        &org,
        "bolna",
        json!({"api_key": "k", "agent_id": "agent-1"}),
    )
    .await;
    org
}

fn plivo_params(
    uuid: &str,
    event: &str,
    status: &str,
    extra: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("CallUUID", uuid.to_owned()),
        ("RequestUUID", uuid.to_owned()),
        ("Direction", "outbound".to_owned()),
        ("From", "918000000000".to_owned()),
        ("To", "919000000000".to_owned()),
        ("CallStatus", status.to_owned()),
        ("Event", event.to_owned()),
    ];
    params.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    params
}

async fn post_plivo(
    app: &TestApp,
    org: &TestOrg,
    hook: &str,
    params: &[(&str, String)],
    nonce: &str,
) -> (u16, Value) {
    let path = format!("/webhooks/plivo/{}/{hook}", org.id);
    let signature = plivo_v3_signature(
        PLIVO_TOKEN,
        &format!("{}{path}", app.public_url),
        params,
        nonce,
    );
    app.post_raw(
        &path,
        &[
            ("Content-Type", "application/x-www-form-urlencoded".into()),
            ("X-Plivo-Signature-V3", signature),
            ("X-Plivo-Signature-V3-Nonce", nonce.into()),
        ],
        form_body(params).into_bytes(),
    )
    .await
}

#[actix_web::test]
async fn the_test_plivo_signer_matches_a_vector_computed_by_hand() {
    // By hand from Plivo's documented algorithm (POST, no query string):
    //   text = "https://sb.example/h?" + "CallUUIDu1" + "EventRing" + "." + "12345"
    //   python3 -c 'import hmac,hashlib,base64; print(base64.b64encode(hmac.new(b"MY_TOKEN",
    //       b"https://sb.example/h?CallUUIDu1EventRing.12345", hashlib.sha256).digest()).decode())'
    let params = [("Event", "Ring".to_owned()), ("CallUUID", "u1".to_owned())];
    assert_eq!(
        plivo_v3_signature("MY_TOKEN", "https://sb.example/h", &params, "12345"),
        "omRhmGMtJJqOouQG/+nxuyR7maytU3WOMcb0kN3hAOM="
    );
}

#[actix_web::test]
async fn plivo_ring_answer_hangup_in_any_order_with_replays_end_in_one_call() {
    let app = spawn_app().await;
    let org = org_with_providers(&app).await;
    let hangup_extra = [
        ("HangupCauseCode", "4000"),
        ("HangupCauseName", "Normal Hangup"),
        ("HangupSource", "Callee"),
        ("StartTime", "2025-03-04 10:00:01"),
        ("AnswerTime", "2025-03-04 10:00:09"),
        ("EndTime", "2025-03-04 10:01:10"),
        ("Duration", "69"),
        ("BillDuration", "61"),
        ("TotalCost", "0.00850"),
    ];
    let mut finals = Vec::new();
    for (n, order) in [[0, 1, 2, 2], [2, 0, 2, 1]].iter().enumerate() {
        let uuid = format!("8f0c0000-0000-0000-0000-00000000000{n}");
        let steps = [
            ("ring", plivo_params(&uuid, "Ring", "ringing", &[])),
            (
                "answer",
                plivo_params(&uuid, "StartApp", "in-progress", &[]),
            ),
            (
                "hangup",
                plivo_params(&uuid, "Hangup", "completed", &hangup_extra),
            ),
        ];
        for (i, &step) in order.iter().enumerate() {
            let (hook, params) = &steps[step];
            // A replay is the very same request, nonce and all.
            let (status, body) =
                post_plivo(&app, &org, hook, params, &format!("nonce-{step}")).await;
            assert_eq!(status, 200, "step {i}: {body}");
        }
        let calls = app
            .get(
                &format!("/api/v1/calls?provider_call_id={uuid}"),
                &org.api_token,
            )
            .await;
        finals.push(calls["items"][0].clone());
        let id = calls["items"][0]["id"].as_str().unwrap();
        let timeline = app
            .get(&format!("/api/v1/calls/{id}/events"), &org.api_token)
            .await;
        assert_eq!(
            timeline["items"].as_array().unwrap().len(),
            4,
            "created + 3 distinct callbacks"
        );
    }
    for call in &finals {
        assert_eq!(call["provider"], "plivo");
        assert_eq!(call["status"], "completed");
        assert_eq!(call["from"], "+918000000000");
        assert_eq!(call["to"], "+919000000000");
        assert_eq!(call["answered_at"], "2025-03-04T10:00:09Z");
        assert_eq!(call["ended_at"], "2025-03-04T10:01:10Z");
        assert_eq!(call["duration_s"], 69);
        assert_eq!(call["talk_s"], 61);
        // Plivo's own price, in the org's currency (USD by default), no rate set: its price is
        // the cost, and the billed seconds follow talk_s.
        assert_eq!(call["cost"], "0.0085");
        assert_eq!(call["currency"], "USD");
        assert_eq!(call["provider_cost"], "0.0085");
        assert_eq!(call["billed_s"], 61);
    }
}

#[actix_web::test]
async fn plivo_unanswered_completed_is_no_answer_and_forgeries_leave_no_trace() {
    let app = spawn_app().await;
    let org = org_with_providers(&app).await;
    let params = plivo_params(
        "u-none",
        "Hangup",
        "completed",
        &[
            ("AnswerTime", ""),
            ("BillDuration", "0"),
            ("EndTime", "2025-03-04 10:00:40"),
        ],
    );
    let path = format!("/webhooks/plivo/{}/hangup", org.id);
    let good = plivo_v3_signature(
        PLIVO_TOKEN,
        &format!("{}{path}", app.public_url),
        &params,
        "n1",
    );
    for (signature, nonce) in [
        ("bm9wZQ==".to_owned(), "n1"),
        (good.clone(), "n2"),
        (String::new(), "n1"),
    ] {
        let (status, _) = app
            .post_raw(
                &path,
                &[
                    ("Content-Type", "application/x-www-form-urlencoded".into()),
                    ("X-Plivo-Signature-V3", signature),
                    ("X-Plivo-Signature-V3-Nonce", nonce.into()),
                ],
                form_body(&params).into_bytes(),
            )
            .await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        app.get("/api/v1/webhooks", &org.api_token).await["items"],
        json!([])
    );
    let (status, _) = post_plivo(&app, &org, "hangup", &params, "n1").await;
    assert_eq!(status, 200);
    let call = &app
        .get("/api/v1/calls?provider_call_id=u-none", &org.api_token)
        .await["items"][0];
    assert_eq!(call["status"], "no_answer");
    assert_eq!(call["talk_s"], 0);

    let missing = plivo_params("", "Hangup", "completed", &[]);
    let (status, body) = post_plivo(&app, &org, "hangup", &missing, "n3").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_webhook"))
    );
}

fn exotel_terminal(sid: &str) -> Value {
    json!({
        "CallSid": sid, "EventType": "terminal", "Status": "completed",
        "DateUpdated": "2025-03-04 15:31:10", "From": "09876543210", "To": "09123456789",
        "StartTime": "2025-03-04 15:30:01", "EndTime": "2025-03-04 15:31:10",
        "ConversationDuration": 52, "Direction": "outbound-api", "CustomField": "job-42",
        "RecordingUrl": "https://recordings.example/80bf.mp3",
        "Legs": [{"OnCallDuration": 69, "Status": "completed"}, {"OnCallDuration": 52, "Status": "completed"}]
    })
}

#[actix_web::test]
async fn exotel_answered_and_terminal_in_json_form_or_multipart() {
    let app = spawn_app().await;
    let org = org_with_providers(&app).await;
    let path = format!("/webhooks/exotel/{}/status", org.id);
    let answered = json!({"CallSid": "ex1", "EventType": "answered", "Status": "in-progress", "DateUpdated": "2025-03-04 15:30:18", "From": "09876543210", "To": "09123456789", "Direction": "outbound-api"});
    // Terminal first, then answered, then the terminal again (Exotel retries).
    for body in [exotel_terminal("ex1"), answered, exotel_terminal("ex1")] {
        let (status, resp) = app.post_token_json(&path, &org.webhook_token, &body).await;
        assert_eq!(status, 200, "{resp}");
    }
    let call = app
        .get("/api/v1/calls?provider_call_id=ex1", &org.api_token)
        .await["items"][0]
        .clone();
    assert_eq!(call["status"], "completed");
    assert_eq!(call["from"], "+919876543210");
    assert_eq!(call["to"], "+919123456789");
    assert_eq!(call["talk_s"], 52);
    assert_eq!(call["duration_s"], 69);
    assert_eq!(
        call["answered_at"], "2025-03-04T10:00:18Z",
        "IST read as +05:30"
    );
    assert_eq!(call["recording_url"], "https://recordings.example/80bf.mp3");

    // The same callback urlencoded (token in the query) and as multipart.
    let form =
        "CallSid=ex2&Status=busy&From=09876543210&To=09123456789&EndTime=2025-03-04+15%3A40%3A00";
    let (status, resp) = app
        .post_raw(
            &format!("{path}?token={}", org.webhook_token),
            &[("Content-Type", "application/x-www-form-urlencoded".into())],
            form.into(),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    let multipart = "--b0undary\r\nContent-Disposition: form-data; name=\"CallSid\"\r\n\r\nex3\r\n--b0undary\r\nContent-Disposition: form-data; name=\"Status\"\r\n\r\nno-answer\r\n--b0undary--\r\n";
    let (status, resp) = app
        .post_raw(
            &path,
            &[
                (
                    "Content-Type",
                    "multipart/form-data; boundary=b0undary".into(),
                ),
                ("X-Switchboard-Token", org.webhook_token.clone()),
            ],
            multipart.into(),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(
        app.get("/api/v1/calls?provider_call_id=ex2", &org.api_token)
            .await["items"][0]["status"],
        "busy"
    );
    assert_eq!(
        app.get("/api/v1/calls?provider_call_id=ex3", &org.api_token)
            .await["items"][0]["status"],
        "no_answer"
    );

    for token in ["wrong", ""] {
        let (status, _) = app
            .post_token_json(&path, token, &exotel_terminal("ex4"))
            .await;
        assert_eq!(status, 401);
    }
    let (status, body) = app
        .post_token_json(&path, &org.webhook_token, &json!({"Status": "busy"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_webhook"))
    );
    let (status, _) = app
        .post_raw(
            &path,
            &[
                ("Content-Type", "application/json".into()),
                ("X-Switchboard-Token", org.webhook_token.clone()),
            ],
            b"{oops".to_vec(),
        )
        .await;
    assert_eq!(status, 400);
    assert!(app
        .get("/api/v1/calls?provider_call_id=ex4", &org.api_token)
        .await["items"]
        .as_array()
        .unwrap()
        .is_empty());
}

fn bolna_snapshot(id: &str, status: &str, updated_at: &str) -> Value {
    let mut body = json!({
        "id": id, "agent_id": "agent-1", "status": status,
        "created_at": "2025-03-04T10:00:00Z", "updated_at": updated_at,
        "conversation_time": 0, "total_cost": null, "transcript": null, "extracted_data": null,
        "telephony_data": {"to_number": "+919876543210", "from_number": "+918035739222", "call_type": "outbound",
                           "provider": "plivo", "provider_call_id": "carrier-77", "duration": null, "recording_url": null}
    });
    if status == "completed" {
        body["conversation_time"] = json!(61);
        body["total_cost"] = json!(9.8);
        body["transcript"] = json!("agent: hello\nuser: yes, interested");
        body["extracted_data"] = json!({"interested": true});
        body["telephony_data"]["duration"] = json!(63);
        body["telephony_data"]["recording_url"] = json!("https://recordings.example/b714.mp3");
    }
    body
}

#[actix_web::test]
async fn bolna_disconnected_then_completed_two_minutes_later_is_one_call_with_cost_and_transcript()
{
    let app = spawn_app().await;
    let org = org_with_providers(&app).await;
    let path = format!("/webhooks/bolna/{}", org.id);
    let id = "b7140000-0000-4000-8000-000000000001";
    let snapshots = [
        bolna_snapshot(id, "queued", "2025-03-04T10:00:00Z"),
        bolna_snapshot(id, "initiated", "2025-03-04T10:00:01Z"),
        bolna_snapshot(id, "ringing", "2025-03-04T10:00:03Z"),
        bolna_snapshot(id, "in-progress", "2025-03-04T10:00:09Z"),
        bolna_snapshot(id, "call-disconnected", "2025-03-04T10:01:10Z"),
        bolna_snapshot(id, "completed", "2025-03-04T10:03:10Z"),
    ];
    let mut ws = app.ws(&org.api_token, None).await;
    ws.next().await;
    // Out of order, with a duplicate of the disconnect.
    for i in [0, 1, 3, 2, 4, 4] {
        let (status, body) = app
            .post_token_json(&path, &org.webhook_token, &snapshots[i])
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let call = app
        .get(
            &format!("/api/v1/calls?provider_call_id={id}"),
            &org.api_token,
        )
        .await["items"][0]
        .clone();
    assert_eq!(
        call["status"], "disconnected",
        "call-disconnected is not final"
    );
    assert_eq!(call["cost"], Value::Null);

    let (status, _) = app
        .post_token_json(&path, &org.webhook_token, &snapshots[5])
        .await;
    assert_eq!(status, 200);
    let calls = app.get("/api/v1/calls", &org.api_token).await;
    assert_eq!(calls["items"].as_array().unwrap().len(), 1, "one call");
    let call = &calls["items"][0];
    assert_eq!(call["status"], "completed");
    assert_eq!(call["cost"], "0.098");
    assert_eq!(call["currency"], "USD");
    assert_eq!(call["talk_s"], 61);
    assert_eq!(
        call["ended_at"], "2025-03-04T10:01:10Z",
        "the call ended at the disconnect"
    );
    assert_eq!(call["duration_s"], 69);
    assert_eq!(call["carrier_call_id"], "carrier-77");
    assert_eq!(call["recording_url"], "https://recordings.example/b714.mp3");
    assert_eq!(call["analytics"]["extracted_data"]["interested"], true);
    assert!(call["analytics"]["transcript"]
        .as_str()
        .unwrap()
        .contains("interested"));
    // Every change reached the dashboard, in order, the completed call last.
    let mut statuses = Vec::new();
    while statuses.last().map(String::as_str) != Some("completed") {
        statuses.push(
            ws.next().await["data"]["status"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(statuses.first().map(String::as_str), Some("queued"));

    let (status, _) = app
        .post_token_json(
            &path,
            "sbw_forged",
            &bolna_snapshot("b2", "completed", "2025-03-04T10:03:10Z"),
        )
        .await;
    assert_eq!(status, 401);
    let (status, body) = app
        .post_token_json(&path, &org.webhook_token, &json!({"status": "completed"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_webhook"))
    );
}

#[actix_web::test]
async fn analytics_merge_before_the_hangup_by_any_id_and_appear_on_the_timeline() {
    let app = spawn_app().await;
    let org = org_with_providers(&app).await;
    let (_, body) = post_plivo(
        &app,
        &org,
        "ring",
        &plivo_params("uuid-a", "Ring", "ringing", &[]),
        "n",
    )
    .await;
    let call_id = body["call_id"].as_str().unwrap().to_owned();
    let path = format!("/webhooks/analytics/{}", org.id);

    let seed_style = json!({"callUUID": "uuid-a", "transcript": "hello", "sentiment": "neutral"});
    for _ in 0..2 {
        let (status, body) = app
            .post_token_json(&path, &org.webhook_token, &seed_style)
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let ours = json!({"call_id": call_id, "summary": "wants a callback", "sentiment": "positive"});
    assert_eq!(
        app.post_token_json(&path, &org.webhook_token, &ours)
            .await
            .0,
        200
    );

    let call = app
        .get(&format!("/api/v1/calls/{call_id}"), &org.api_token)
        .await;
    assert_eq!(call["status"], "ringing", "analytics move no status");
    assert_eq!(
        call["analytics"],
        json!({"transcript": "hello", "summary": "wants a callback", "sentiment": "positive"})
    );
    let timeline = app
        .get(&format!("/api/v1/calls/{call_id}/events"), &org.api_token)
        .await;
    let merged = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "analytics.merged")
        .count();
    assert_eq!(merged, 2, "the repeated push counted once");

    let (status, body) = app
        .post_token_json(
            &path,
            &org.webhook_token,
            &json!({"callUUID": "nobody", "x": 1}),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, _) = app.post_token_json(&path, "wrong", &ours).await;
    assert_eq!(status, 401);
}

#[actix_web::test]
async fn exotel_live_words_move_a_call_forward_and_never_back() {
    let app = spawn_app().await;
    let org = org_with_providers(&app).await;
    let path = format!("/webhooks/exotel/{}/status", org.id);
    let status_of = |sid: &'static str| {
        let (app, token) = (&app, org.api_token.clone());
        async move {
            app.get(&format!("/api/v1/calls?provider_call_id={sid}"), &token)
                .await["items"][0]["status"]
                .clone()
        }
    };
    // As the integrations this engine replaces sent them: a Status, no EventType.
    for (word, expected) in [
        ("queued", "queued"),
        ("ringing", "ringing"),
        ("in_progress", "answered"),
        ("ringing", "answered"),
        ("answered", "answered"),
    ] {
        let body = json!({"CallSid": "exl1", "Status": word, "From": "919876543210", "To": "09123456789", "Direction": "outbound-api"});
        let (status, resp) = app.post_token_json(&path, &org.webhook_token, &body).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(status_of("exl1").await, expected, "after {word}");
    }
    let ended = json!({"CallSid": "exl1", "Status": "ended", "ConversationDuration": 40});
    app.post_token_json(&path, &org.webhook_token, &ended).await;
    assert_eq!(status_of("exl1").await, "completed");
    let call = app
        .get("/api/v1/calls?provider_call_id=exl1", &org.api_token)
        .await["items"][0]
        .clone();
    assert_eq!(
        call["from"], "+919876543210",
        "every written form of a number reads the same"
    );
    assert_eq!(call["talk_s"], 40);
    // A final word with nobody talking is no answer.
    let body = json!({"CallSid": "exl2", "Status": "completed"});
    app.post_token_json(&path, &org.webhook_token, &body).await;
    assert_eq!(status_of("exl2").await, "no_answer");
    for (sid, word, expected) in [
        ("exl3", "no_answer", "no_answer"),
        ("exl4", "cancelled", "canceled"),
        ("exl5", "failed", "failed"),
    ] {
        let body = json!({"CallSid": sid, "Status": word});
        app.post_token_json(&path, &org.webhook_token, &body).await;
        assert_eq!(status_of(sid).await, expected, "{word}");
    }
}

#[actix_web::test]
async fn an_exotel_inbound_call_pops_its_caller_once() {
    let app = spawn_app().await;
    let org = org_with_providers(&app).await;
    app.add_caller(&org, "09876543210").await;
    let mut ws = app.ws(&org.api_token, None).await;
    assert_eq!(ws.next().await["type"], "snapshot");
    let path = format!("/webhooks/exotel/{}/status", org.id);
    for word in ["ringing", "in-progress"] {
        let body = json!({"CallSid": "exin1", "Status": word, "From": "09876543210", "To": "08012345678", "Direction": "inbound"});
        let (status, resp) = app.post_token_json(&path, &org.webhook_token, &body).await;
        assert_eq!(status, 200, "{resp}");
    }
    let pops = ws.screen_pops(std::time::Duration::from_millis(500)).await;
    assert_eq!(pops.len(), 1, "one pop per call");
    assert_eq!(pops[0]["data"]["caller_name"], "Asha Rao");
    assert_eq!(pops[0]["data"]["company"], "Rao Traders");
    assert_eq!(pops[0]["data"]["call"]["provider"], "exotel");
}

#[actix_web::test]
async fn bolna_status_words_as_integrations_send_them() {
    let app = spawn_app().await;
    let org = org_with_providers(&app).await;
    let path = format!("/webhooks/bolna/{}", org.id);
    for (i, (word, expected)) in [
        ("queued", "queued"),
        ("initiated", "dialing"),
        ("ringing", "ringing"),
        ("in_progress", "answered"),
        ("ongoing", "answered"),
        ("answered", "answered"),
    ]
    .iter()
    .enumerate()
    {
        let body =
            json!({"id": "bw1", "status": word, "updated_at": format!("2025-03-04T10:00:0{i}Z")});
        let (status, resp) = app.post_token_json(&path, &org.webhook_token, &body).await;
        assert_eq!(status, 200, "{resp}");
        let call = app
            .get("/api/v1/calls?provider_call_id=bw1", &org.api_token)
            .await["items"][0]
            .clone();
        assert_eq!(call["status"], *expected, "after {word}");
    }
    for (id, word, expected) in [
        ("bw2", "finished", "no_answer"),
        ("bw3", "error", "failed"),
        ("bw4", "ended", "no_answer"),
    ] {
        let body = json!({"id": id, "status": word, "updated_at": "2025-03-04T10:01:00Z"});
        app.post_token_json(&path, &org.webhook_token, &body).await;
        let call = app
            .get(
                &format!("/api/v1/calls?provider_call_id={id}"),
                &org.api_token,
            )
            .await["items"][0]
            .clone();
        assert_eq!(call["status"], expected, "{word}");
    }
}

/// Plivo's status words in their variants (any case, `-`/`_`/space alike) end the call as the
/// canonical word says, never leave it live; its ring is dated; `Machine=true` marks the call.
#[actix_web::test]
async fn plivo_variant_words_end_the_call_and_its_machine_detection_counts() {
    let app = spawn_app().await;
    let org = org_with_providers(&app).await;
    let table = [
        ("no_answer", "no_answer"),
        ("canceled", "canceled"),
        ("No Answer", "no_answer"),
        ("BUSY", "busy"),
    ];
    for (n, (word, expected)) in table.iter().enumerate() {
        let uuid = format!("9a0c0000-0000-0000-0000-00000000000{n}");
        let ring = plivo_params(&uuid, "Ring", "ringing", &[]);
        let (status, _) = post_plivo(&app, &org, "ring", &ring, &format!("r{n}")).await;
        assert_eq!(status, 200);
        let hangup = plivo_params(&uuid, "Hangup", word, &[("HangupCauseCode", "3000")]);
        let (status, body) = post_plivo(&app, &org, "hangup", &hangup, &format!("h{n}")).await;
        assert_eq!(status, 200, "{body}");
        let call = app
            .get(
                &format!("/api/v1/calls/{}", body["call_id"].as_str().unwrap()),
                &org.api_token,
            )
            .await;
        assert_eq!(call["status"], *expected, "{word}: {call}");
        assert!(call["ringing_at"].is_string(), "{word}: {call}");
    }
    let uuid = "9a0c0000-0000-0000-0000-0000000000aa";
    let extra = [
        ("Machine", "true"),
        ("AnswerTime", "2025-03-04 10:00:09"),
        ("EndTime", "2025-03-04 10:00:30"),
        ("BillDuration", "21"),
    ];
    let hangup = plivo_params(uuid, "Hangup", "completed", &extra);
    let (status, body) = post_plivo(&app, &org, "hangup", &hangup, "m1").await;
    assert_eq!(status, 200, "{body}");
    let call = app
        .get(
            &format!("/api/v1/calls/{}", body["call_id"].as_str().unwrap()),
            &org.api_token,
        )
        .await;
    assert_eq!(call["amd"], "machine", "{call}");
}

/// The final record has the last word on whether anyone answered: one with no talk figure keeps
/// an answered call completed; one that says the customer's leg never picked up (or a voicemail
/// took it) clears the answer an agent's leg or the bot gave, and no figure counts it answered.
#[actix_web::test]
async fn exotel_and_bolna_final_records_decide_the_answer() {
    let app = spawn_app().await;
    let org = org_with_providers(&app).await;
    let exotel = format!("/webhooks/exotel/{}/status", org.id);
    let post = async |path: &str, body: Value| {
        let (status, resp) = app.post_token_json(path, &org.webhook_token, &body).await;
        assert_eq!(status, 200, "{resp}");
    };
    let call = async |id: &str| {
        app.get(
            &format!("/api/v1/calls?provider_call_id={id}"),
            &org.api_token,
        )
        .await["items"][0]
            .clone()
    };
    let answered = |sid: &str| {
        json!({"CallSid": sid, "EventType": "answered", "Status": "in-progress",
               "DateUpdated": "2025-03-04 15:30:18", "Direction": "outbound-api"})
    };

    // Answered, then a terminal `completed` without ConversationDuration: completed, answered.
    post(&exotel, answered("exA")).await;
    let mut terminal = exotel_terminal("exA");
    terminal
        .as_object_mut()
        .unwrap()
        .remove("ConversationDuration");
    terminal.as_object_mut().unwrap().remove("Legs");
    post(&exotel, terminal).await;
    let a = call("exA").await;
    assert_eq!(
        (a["status"].as_str(), a["answered_at"].is_string()),
        (Some("completed"), true),
        "{a}"
    );

    // The agent's leg answered, the customer's leg never did: no_answer, no answer time.
    post(&exotel, answered("exB")).await;
    let mut terminal = exotel_terminal("exB");
    terminal["Status"] = json!("no-answer");
    terminal["ConversationDuration"] = json!(0);
    terminal["Legs"] = json!([{"OnCallDuration": 40, "Status": "completed"}, {"OnCallDuration": 0, "Status": "no-answer"}]);
    post(&exotel, terminal).await;
    let b = call("exB").await;
    assert_eq!(
        (b["status"].as_str(), b["answered_at"].is_null()),
        (Some("no_answer"), true),
        "{b}"
    );

    // Bolna: in-progress, then `completed` without conversation_time — completed, not dialed again.
    let bolna = format!("/webhooks/bolna/{}", org.id);
    let id = "b7140000-0000-4000-8000-0000000000c1";
    post(
        &bolna,
        bolna_snapshot(id, "in-progress", "2025-03-04T10:00:09Z"),
    )
    .await;
    let mut done = bolna_snapshot(id, "completed", "2025-03-04T10:01:10Z");
    done.as_object_mut().unwrap().remove("conversation_time");
    post(&bolna, done).await;
    let c = call(id).await;
    assert_eq!(
        (c["status"].as_str(), c["answered_at"].is_string()),
        (Some("completed"), true),
        "{c}"
    );

    // A Bolna call a voicemail answered: no_answer, its answer cleared.
    let id = "b7140000-0000-4000-8000-0000000000c2";
    post(
        &bolna,
        bolna_snapshot(id, "in-progress", "2025-03-04T10:00:09Z"),
    )
    .await;
    let mut voicemail = bolna_snapshot(id, "completed", "2025-03-04T10:00:40Z");
    voicemail["answered_by_voice_mail"] = json!(true);
    post(&bolna, voicemail).await;
    let d = call(id).await;
    assert_eq!(
        (d["status"].as_str(), d["answered_at"].is_null()),
        (Some("no_answer"), true),
        "{d}"
    );
    assert_eq!(d["talk_s"], 0, "a voicemail's 61 s are not talk: {d}");

    let metrics = app.get("/api/v1/metrics", &org.api_token).await;
    assert_eq!(metrics["answered"], 2, "{metrics}");
    assert_eq!(metrics["answer_rate"], 0.5, "{metrics}");
}

/// Plivo's hangup without `StartTime`: the call lasted `Duration` (69 s), not what Plivo bills
/// (`BillDuration` 120, its pulse), and talked from `AnswerTime` to `EndTime` (61 s).
#[actix_web::test]
async fn a_plivo_call_lasts_its_duration_and_talks_from_its_answer() {
    let app = spawn_app().await;
    let org = org_with_providers(&app).await;
    let extra = [
        ("AnswerTime", "2025-03-04 10:00:09"),
        ("EndTime", "2025-03-04 10:01:10"),
        ("Duration", "69"),
        ("BillDuration", "120"),
    ];
    let uuid = "9a0c0000-0000-0000-0000-0000000000d1";
    let hangup = plivo_params(uuid, "Hangup", "completed", &extra);
    let (status, body) = post_plivo(&app, &org, "hangup", &hangup, "d1").await;
    assert_eq!(status, 200, "{body}");
    let call = app
        .get(
            &format!("/api/v1/calls/{}", body["call_id"].as_str().unwrap()),
            &org.api_token,
        )
        .await;
    assert_eq!(
        (&call["duration_s"], &call["talk_s"], &call["status"]),
        (&json!(69), &json!(61), &json!("completed")),
        "{call}"
    );
    assert_eq!(call["created_at"], "2025-03-04T10:00:01Z", "{call}");
}

/// Twilio's default callbacks: one `completed`, sent (or retried) well after the call ended. The
/// call is dated by its provider moments — created no later than it was answered — so a time
/// filter over the hour it happened finds it.
#[actix_web::test]
async fn a_call_first_heard_of_after_it_ended_is_dated_when_it_happened() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let completed = twilio_params("CAlate0001", "completed", 3, 100);
    assert_eq!(app.twilio_status(&org, &completed).await.0, 200);
    let call = app
        .get("/api/v1/calls?provider_call_id=CAlate0001", &org.api_token)
        .await["items"][0]
        .clone();
    assert_eq!(call["ended_at"], "2025-03-04T10:01:40Z", "{call}");
    assert_eq!(call["answered_at"], "2025-03-04T10:00:39Z", "{call}");
    assert_eq!(call["created_at"], "2025-03-04T10:00:39Z", "{call}");
    let hour = app
        .get(
            "/api/v1/metrics?from=2025-03-04T10:00:00Z&to=2025-03-04T11:00:00Z",
            &org.api_token,
        )
        .await;
    assert_eq!(
        (&hour["calls"], &hour["answered"]),
        (&json!(1), &json!(1)),
        "{hour}"
    );
}
