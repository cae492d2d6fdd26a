//! Inbound calls: TwiML / Plivo XML that connects the caller, and the screen pop on the WebSocket.

use crate::helpers::*;
use serde_json::json;

pub fn voice_params(sid: &str, from: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CallSid", sid.to_owned()),
        ("AccountSid", "ACtest0000".to_owned()),
        ("From", from.to_owned()),
        ("To", "+918035739222".to_owned()),
        ("CallStatus", "ringing".to_owned()),
        ("Direction", "inbound".to_owned()),
        ("ApiVersion", "2010-04-01".to_owned()),
    ]
}

pub async fn post_voice(app: &TestApp, org: &TestOrg, params: &[(&str, String)]) -> (u16, String) {
    let path = format!("/webhooks/twilio/{}/voice", org.id);
    let signature = twilio_signature(
        TWILIO_AUTH_TOKEN,
        &format!("{}{path}", app.public_url),
        params,
    );
    let mut resp = app
        .client
        .post(format!("{}{path}", app.address))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .insert_header(("X-Twilio-Signature", signature))
        .send_body(form_body(params))
        .await
        .unwrap();
    let content_type = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/xml"), "{content_type}");
    let body = String::from_utf8(resp.body().await.unwrap().to_vec()).unwrap();
    (resp.status().as_u16(), body)
}

#[actix_web::test]
async fn an_inbound_twilio_call_gets_twiml_and_pops_the_callers_history() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    // A known customer with one earlier (outbound) call.
    let (status, _) = app
        .request("POST", "/api/v1/contacts", Some(&org.api_token),
            Some(json!({"phone": "09876543210", "name": "Asha Rao", "company": "Rao Traders", "tier": "gold"})))
        .await;
    assert_eq!(status, 201);
    let mut earlier = twilio_params("CAearlier", "busy", 1, 5);
    earlier[3].1 = "+919876543210".into();
    assert_eq!(app.twilio_status(&org, &earlier).await.0, 200);

    let mut ws = app.ws(&org.api_token, None).await;
    assert_eq!(ws.next().await["type"], "snapshot");

    let (status, twiml) = post_voice(&app, &org, &voice_params("CAin1", "+919876543210")).await;
    assert_eq!(status, 200);
    assert!(
        twiml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"),
        "{twiml}"
    );
    assert!(
        twiml.contains("<Say>") && twiml.ends_with("<Hangup/></Response>"),
        "nobody configured: {twiml}"
    );

    let mut pop = None;
    for _ in 0..3 {
        let event = ws.next().await;
        if event["type"] == "incoming:call" {
            pop = Some(event);
            break;
        }
    }
    let pop = pop.expect("an incoming:call event");
    let data = &pop["data"];
    assert_eq!(data["caller_name"], "Asha Rao");
    assert_eq!(data["company"], "Rao Traders");
    assert_eq!(data["contact"]["tier"], "gold");
    assert_eq!(data["previous_calls"], 1);
    assert_eq!(data["last_call_status"], "busy");
    assert_eq!(data["suggested_agent"], serde_json::Value::Null);
    assert_eq!(data["call"]["direction"], "inbound");
    assert_eq!(data["call"]["status"], "ringing");
    assert_eq!(data["call"]["from"], "+919876543210");
    let call_id = data["call"]["id"].as_str().unwrap().to_owned();
    assert_eq!(data["call"]["contact_id"], data["contact"]["id"]);

    // Twilio retries the voice request: same TwiML, no second call, no second pop.
    let (status, again) = post_voice(&app, &org, &voice_params("CAin1", "+919876543210")).await;
    assert_eq!((status, again), (200, twiml));
    assert!(ws
        .next_within(std::time::Duration::from_millis(300))
        .await
        .is_none());

    // The contact's history now holds both calls, newest first.
    let contact = app
        .get(
            "/api/v1/contacts/by-phone/%2B91%2098765%2043210",
            &org.api_token,
        )
        .await;
    let ids: Vec<&str> = contact["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], call_id);
}

#[actix_web::test]
async fn an_unknown_caller_becomes_a_contact_and_the_configured_target_is_dialed() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    app.configure(&org, "twilio", json!({
        "account_sid": "ACtest0000", "auth_token": TWILIO_AUTH_TOKEN, "from_number": "+15550000000",
        "inbound_dial": "+919000000001"
    })).await;
    let mut ws = app.ws(&org.api_token, None).await;
    ws.next().await;
    let (status, twiml) = post_voice(&app, &org, &voice_params("CAin2", "+14155550123")).await;
    assert_eq!(status, 200);
    assert!(twiml.contains("<Dial>+919000000001</Dial>"), "{twiml}");
    let pop = loop {
        let event = ws.next().await;
        if event["type"] == "incoming:call" {
            break event;
        }
    };
    assert_eq!(pop["data"]["previous_calls"], 0);
    assert_eq!(pop["data"]["caller_name"], serde_json::Value::Null);
    let contact = app
        .get("/api/v1/contacts/by-phone/14155550123", &org.api_token)
        .await;
    assert_eq!(contact["phone"], "+14155550123");
    assert_eq!(contact["calls"].as_array().unwrap().len(), 1);

    let (status, _) = app
        .post_form(
            &format!("/webhooks/twilio/{}/voice", org.id),
            &voice_params("CAin3", "+1"),
            Some("forged"),
        )
        .await;
    assert_eq!(status, 401);
}

#[actix_web::test]
async fn an_inbound_plivo_call_is_answered_with_plivo_xml() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    app.configure(&org, "plivo", json!({"auth_id": "MA1", "auth_token": "plivo-secret", "from_number": "918000000000", "inbound_message": "We are closed"})).await;
    let params = vec![
        ("CallUUID", "in-uuid".to_owned()),
        ("Direction", "inbound".to_owned()),
        ("From", "919876543210".to_owned()),
        ("To", "918035739222".to_owned()),
        ("CallStatus", "ringing".to_owned()),
        ("Event", "StartApp".to_owned()),
    ];
    let path = format!("/webhooks/plivo/{}/answer", org.id);
    let signature = plivo_v3_signature(
        "plivo-secret",
        &format!("{}{path}", app.public_url),
        &params,
        "nn",
    );
    let (status, body) = app
        .post_raw(
            &path,
            &[
                ("Content-Type", "application/x-www-form-urlencoded".into()),
                ("X-Plivo-Signature-V3", signature),
                ("X-Plivo-Signature-V3-Nonce", "nn".into()),
            ],
            form_body(&params).into_bytes(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Speak>We are closed</Speak><Hangup/></Response>"
    );
    let call = &app
        .get("/api/v1/calls?provider_call_id=in-uuid", &org.api_token)
        .await["items"][0];
    assert_eq!(
        (call["direction"].as_str(), call["status"].as_str()),
        (Some("inbound"), Some("ringing"))
    );
    assert!(call["contact_id"].is_string());
}

#[actix_web::test]
async fn the_screen_pop_suggests_the_online_extension_free_the_longest() {
    use crate::pbx::{envelope, pbx_org, push};
    let app = spawn_app().await;
    let org = pbx_org(&app, None).await;
    for number in ["41", "42"] {
        push(
            &app,
            &org,
            envelope(30007, json!({"extension": number, "status": "Registered"})),
        )
        .await;
    }
    push(
        &app,
        &org,
        envelope(
            30009,
            json!({"extension": "41", "status": "do_not_disturb"}),
        ),
    )
    .await;
    let mut ws = app.ws(&org.api_token, None).await;
    ws.next().await;
    let (status, _) = post_voice(&app, &org, &voice_params("CAin4", "+919876543210")).await;
    assert_eq!(status, 200);
    let pop = loop {
        let event = ws.next().await;
        if event["type"] == "incoming:call" {
            break event;
        }
    };
    assert_eq!(
        pop["data"]["suggested_agent"]["number"], "42",
        "41 is on do-not-disturb"
    );
}
