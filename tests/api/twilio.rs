//! Twilio status callbacks through the real server.

use crate::helpers::*;
use serde_json::{json, Value};
use switchboard::config::Settings;

/// The call as a reader sees it, without what differs between two calls by construction.
fn comparable(mut call: Value) -> Value {
    let obj = call.as_object_mut().unwrap();
    for key in ["id", "provider_call_id", "updated_at"] {
        obj.remove(key);
    }
    call
}

#[actix_web::test]
async fn the_full_sequence_in_any_order_with_duplicates_ends_in_the_same_call() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let orders: [&[usize]; 4] = [
        &[0, 1, 2, 3],
        &[3, 2, 1, 0, 3, 0],
        &[2, 2, 0, 3, 1, 1],
        &[1, 3, 3, 0, 2],
    ];
    let mut finals = Vec::new();
    for (n, order) in orders.iter().enumerate() {
        let sid = format!("CA{n:032}");
        let sequence = twilio_sequence(&sid);
        let mut call_id = None;
        let mut seen = std::collections::HashSet::new();
        for &i in order.iter() {
            let (status, body) = app.twilio_status(&org, &sequence[i]).await;
            assert_eq!(status, 200, "{body}");
            let expected = if seen.insert(i) {
                "accepted"
            } else {
                "duplicate"
            };
            assert_eq!(body["status"], expected, "event {i} of order {order:?}");
            call_id.get_or_insert(body["call_id"].as_str().unwrap().to_owned());
        }
        let call_id = call_id.unwrap();
        let call = app
            .get(&format!("/api/v1/calls/{call_id}"), &org.api_token)
            .await;
        assert_eq!(call["provider_call_id"], sid.as_str());
        let timeline = app
            .get(&format!("/api/v1/calls/{call_id}/events"), &org.api_token)
            .await;
        let kinds: Vec<&str> = timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["raw_status"].as_str().unwrap_or("(engine)"))
            .collect();
        assert_eq!(
            kinds.len(),
            5,
            "created + four provider events, no duplicates: {kinds:?}"
        );
        assert_eq!(kinds[0], "(engine)");
        let mut provider_words: Vec<&str> = kinds[1..].to_vec();
        provider_words.sort();
        assert_eq!(
            provider_words,
            ["completed", "in-progress", "initiated", "ringing"]
        );
        finals.push(call);
    }
    let reference = &finals[0];
    assert_eq!(reference["status"], "completed");
    assert_eq!(reference["direction"], "outbound");
    assert_eq!(reference["from"], "+15550001111");
    assert_eq!(reference["to"], "+15550002222");
    assert_eq!(reference["created_at"], "2025-03-04T10:00:00Z");
    assert_eq!(reference["ringing_at"], "2025-03-04T10:00:02Z");
    assert_eq!(reference["answered_at"], "2025-03-04T10:00:09Z");
    assert_eq!(reference["ended_at"], "2025-03-04T10:01:10Z");
    assert_eq!(reference["duration_s"], 70);
    assert_eq!(reference["talk_s"], 61);
    assert_eq!(reference["final_by"], "provider");
    for other in &finals[1..] {
        assert_eq!(comparable(other.clone()), comparable(reference.clone()));
    }
    let list = app
        .get("/api/v1/calls?status=completed", &org.api_token)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
}

#[actix_web::test]
async fn the_test_signer_reproduces_twilios_published_vector() {
    // The example of Twilio's security documentation and SDK tests.
    let params = [
        ("CallSid", "CA1234567890ABCDE".to_owned()),
        ("Caller", "+14158675309".to_owned()),
        ("Digits", "1234".to_owned()),
        ("From", "+14158675309".to_owned()),
        ("To", "+18005551212".to_owned()),
    ];
    assert_eq!(
        twilio_signature(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params
        ),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
}

#[actix_web::test]
async fn a_flipped_byte_in_the_signature_is_rejected_and_leaves_no_trace() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let params = twilio_params("CAforged", "ringing", 1, 2);
    let path = format!("/webhooks/twilio/{}/status", org.id);
    let good = twilio_signature(
        TWILIO_AUTH_TOKEN,
        &format!("{}{path}", app.public_url),
        &params,
    );
    let mut bytes = good.clone().into_bytes();
    bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(bytes).unwrap();

    let mut ws = app.ws(&org.api_token, None).await;
    assert_eq!(ws.next().await["type"], "snapshot");

    for signature in [Some(flipped.as_str()), None, Some("")] {
        let (status, body) = app.post_form(&path, &params, signature).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "unauthorized");
    }
    // A correct signature over other fields does not cover these.
    let mut tampered = params.clone();
    tampered[6].1 = "completed".into();
    let (status, _) = app.post_form(&path, &tampered, Some(&good)).await;
    assert_eq!(status, 401);

    let calls = app.get("/api/v1/calls", &org.api_token).await;
    assert_eq!(calls["items"], serde_json::json!([]));
    let inbox = app.get("/api/v1/webhooks", &org.api_token).await;
    assert_eq!(inbox["items"], serde_json::json!([]));
    assert!(ws
        .next_within(std::time::Duration::from_millis(300))
        .await
        .is_none());

    let (status, _) = app.post_form(&path, &params, Some(&good)).await;
    assert_eq!(status, 200, "the untouched signature is accepted");
    let inbox = app
        .get("/api/v1/webhooks?provider=twilio", &org.api_token)
        .await;
    assert_eq!(inbox["items"].as_array().unwrap().len(), 1);
    assert_eq!(inbox["items"][0]["dedupe_key"], "CAforged:seq:1");
}

#[actix_web::test]
async fn the_public_url_is_what_is_signed_with_or_without_its_default_port() {
    let mut settings = test_settings();
    settings.public_url = Some("https://switchboard.example".into());
    let app = spawn_app_with(settings).await;
    let org = app.create_org("Acme").await;
    let path = format!("/webhooks/twilio/{}/status", org.id);
    let params = twilio_params("CAport", "ringing", 1, 2);
    for base in [
        "https://switchboard.example",
        "https://switchboard.example:443",
    ] {
        let signature = twilio_signature(TWILIO_AUTH_TOKEN, &format!("{base}{path}"), &params);
        let (status, body) = app.post_form(&path, &params, Some(&signature)).await;
        assert_eq!(status, 200, "{base}: {body}");
    }
    let local = twilio_signature(
        TWILIO_AUTH_TOKEN,
        &format!("{}{path}", app.address),
        &params,
    );
    let (status, _) = app.post_form(&path, &params, Some(&local)).await;
    assert_eq!(status, 401, "the bound address is not the public URL");
}

#[actix_web::test]
async fn a_malformed_callback_is_a_400_and_changes_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let missing_sid: Vec<_> = twilio_params("CAx", "ringing", 1, 2)
        .into_iter()
        .filter(|(k, _)| *k != "CallSid")
        .collect();
    let mut bad_seq = twilio_params("CAy", "ringing", 1, 2);
    bad_seq[7].1 = "first".into();
    for params in [missing_sid, bad_seq] {
        let (status, body) = app.twilio_status(&org, &params).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "malformed_webhook");
        assert!(
            body["message"].as_str().unwrap().contains("CallSid")
                || body["message"].as_str().unwrap().contains("SequenceNumber")
        );
    }
    let calls = app.get("/api/v1/calls", &org.api_token).await;
    assert_eq!(calls["items"], serde_json::json!([]));
}

#[actix_web::test]
async fn an_unknown_org_is_a_404_whatever_its_form() {
    let app = spawn_app().await;
    let params = twilio_params("CA1", "ringing", 1, 2);
    for org in ["not-an-id", "0190a8b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b"] {
        let (status, body) = app
            .post_form(
                &format!("/webhooks/twilio/{org}/status"),
                &params,
                Some("x"),
            )
            .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"], "not_found");
    }
}

#[actix_web::test]
async fn an_org_without_twilio_credentials_cannot_be_signed_for() {
    let app = spawn_app().await;
    let (_, body) = app
        .request(
            "POST",
            "/api/v1/orgs",
            Some(ADMIN_TOKEN),
            Some(serde_json::json!({"name": "Bare"})),
        )
        .await;
    let org = TestOrg {
        id: body["org_id"].as_str().unwrap().into(),
        api_token: body["api_token"].as_str().unwrap().into(),
        webhook_token: body["webhook_token"].as_str().unwrap().into(),
    };
    let (status, _) = app
        .twilio_status(&org, &twilio_params("CA1", "ringing", 1, 2))
        .await;
    assert_eq!(status, 401);
}

#[actix_web::test]
async fn a_get_status_callback_is_signed_over_its_url_and_read_from_its_query() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let query = form_body(&twilio_params("CAget", "ringing", 1, 2));
    let path = format!("/webhooks/twilio/{}/status?{query}", org.id);
    let signature = twilio_signature(TWILIO_AUTH_TOKEN, &format!("{}{path}", app.public_url), &[]);
    let get = |signature: String| {
        let (app, path) = (&app, path.clone());
        async move {
            app.client
                .get(format!("{}{path}", app.address))
                .insert_header(("X-Twilio-Signature", signature))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(get("forged".into()).await, 401);
    assert_eq!(get(signature).await, 200);
    let calls = app
        .get("/api/v1/calls?provider_call_id=CAget", &org.api_token)
        .await;
    assert_eq!(calls["items"][0]["status"], "ringing");
}

#[actix_web::test]
async fn a_late_callback_after_the_calls_actor_retired_reaches_the_same_call() {
    let app = spawn_app_with(Settings {
        call_grace: std::time::Duration::from_millis(200),
        ..test_settings()
    })
    .await;
    let org = app.create_org("Acme").await;
    let sid = format!("CA{:032}", 7);
    let sequence = twilio_sequence(&sid);
    let mut call_id = String::new();
    for params in &sequence {
        let (status, body) = app.twilio_status(&org, params).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("accepted")));
        call_id = body["call_id"].as_str().unwrap().to_owned();
    }
    // Twice over: each time the actor retires after its grace and a fresh one reads the call back.
    for round in 0..2 {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(500)).await;
        let (status, body) = app.twilio_status(&org, &sequence[3]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["status"], "duplicate",
            "round {round}: the keys were read back"
        );
        assert_eq!(body["call_id"], call_id.as_str());
        let mut late = twilio_params(&sid, "completed", 4 + round, 75);
        late.push(("RecordingUrl", format!("https://rec.example/{round}")));
        let (status, body) = app.twilio_status(&org, &late).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("accepted")));
        assert_eq!(
            body["call_id"],
            call_id.as_str(),
            "the same call, not a new one"
        );
    }
    let calls = app.get("/api/v1/calls", &org.api_token).await;
    assert_eq!(calls["items"].as_array().unwrap().len(), 1, "{calls}");
    assert_eq!(calls["items"][0]["status"], "completed");
}

/// Twilio's default status callbacks send only `completed`: a call that talked 42 s is answered,
/// dated back from its end, and every figure counts it; callbacks without `Timestamp` (optional)
/// still give an answered, ended call its times.
#[actix_web::test]
async fn a_call_known_only_by_its_completed_callback_is_answered_and_counted() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let mut completed = twilio_params("CAdefault0001", "completed", 0, 100);
    for (name, value) in completed.iter_mut() {
        if *name == "CallDuration" {
            *value = "42".into();
        }
    }
    let (status, body) = app.twilio_status(&org, &completed).await;
    assert_eq!(status, 200, "{body}");
    let call = app
        .get(
            &format!("/api/v1/calls/{}", body["call_id"].as_str().unwrap()),
            &org.api_token,
        )
        .await;
    assert_eq!(call["status"], "completed", "{call}");
    assert_eq!(call["talk_s"], 42, "{call}");
    assert_eq!(call["ended_at"], "2025-03-04T10:01:40Z", "{call}");
    assert_eq!(
        call["answered_at"], "2025-03-04T10:00:58Z",
        "end − talk: {call}"
    );
    let metrics = app.get("/api/v1/metrics", &org.api_token).await;
    assert_eq!(
        (
            &metrics["answered"],
            &metrics["answer_rate"],
            &metrics["average_talk_s"]
        ),
        (&json!(1), &json!(1.0), &json!(42.0)),
        "{metrics}"
    );

    // The whole sequence without `Timestamp`: answered and ended all the same.
    for params in twilio_sequence("CAnotime0001") {
        let params: Vec<_> = params
            .into_iter()
            .filter(|(k, _)| *k != "Timestamp")
            .collect();
        assert_eq!(app.twilio_status(&org, &params).await.0, 200);
    }
    let page = app
        .get(
            "/api/v1/calls?provider_call_id=CAnotime0001",
            &org.api_token,
        )
        .await;
    let call = &page["items"][0];
    assert_eq!(call["status"], "completed", "{call}");
    for time in ["ringing_at", "answered_at", "ended_at"] {
        assert!(call[time].is_string(), "{time}: {call}");
    }
    assert_eq!(call["talk_s"], 61, "{call}");
    let metrics = app.get("/api/v1/metrics", &org.api_token).await;
    assert_eq!(metrics["answered"], 2, "{metrics}");
}
