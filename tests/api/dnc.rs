//! The do-not-call list: listed in any written form, checked before a dial.

use crate::helpers::*;
use crate::inbound::{post_voice, voice_params};
use crate::pbx::{envelope, pbx_org, push};
use serde_json::json;

#[actix_web::test]
async fn numbers_are_listed_once_in_any_form_and_never_dialed() {
    let app = spawn_app().await;
    let org = pbx_org(&app, Some("http://127.0.0.1:9")).await;
    let (status, entry) = app
        .request(
            "POST",
            "/api/v1/dnc",
            Some(&org.api_token),
            Some(json!({"phone": "09876543210", "reason": "asked twice"})),
        )
        .await;
    assert_eq!(status, 201, "{entry}");
    assert_eq!(
        (entry["id"].as_str(), entry["phone"].as_str()),
        (Some("+919876543210"), Some("+919876543210"))
    );
    let (status, again) = app
        .request(
            "POST",
            "/api/v1/dnc",
            Some(&org.api_token),
            Some(json!({"phone": "+91 98765 43210"})),
        )
        .await;
    assert_eq!(
        (status, again["reason"].as_str()),
        (200, Some("asked twice")),
        "listing twice keeps the entry"
    );
    let (status, _) = app
        .request(
            "POST",
            "/api/v1/dnc",
            Some(&org.api_token),
            Some(json!({"phone": "nope"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        app.get("/api/v1/dnc", &org.api_token).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A dial to a listed number is refused before the PBX is asked (its API here is unreachable).
    push(
        &app,
        &org,
        envelope(30007, json!({"extension": "20", "status": "Registered"})),
    )
    .await;
    let (status, body) = app
        .request(
            "POST",
            "/api/v1/extensions/20/dial",
            Some(&org.api_token),
            Some(json!({"to": "919876543210"})),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (409, Some("do_not_call")));

    let (status, _) = app
        .request(
            "DELETE",
            "/api/v1/dnc/9876543210",
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .request(
            "DELETE",
            "/api/v1/dnc/9876543210",
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = app
        .request(
            "POST",
            "/api/v1/extensions/20/dial",
            Some(&org.api_token),
            Some(json!({"to": "919876543210"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("provider_error")),
        "off the list: the PBX is asked"
    );
    let other = app.create_org("Other").await;
    assert_eq!(
        app.get("/api/v1/dnc", &other.api_token).await["items"],
        json!([])
    );
}

/// Numbers in ranges libphonenumber's metadata calls unassigned (NANP's 555-01xx, Ofcom's drama
/// range) are real callers' numbers as far as the list goes: a caller who asks never to be called
/// again is listed, by the API and by an agent's DNC disposition, and never dialed.
#[actix_web::test]
async fn any_well_formed_e164_caller_can_be_put_on_the_list() {
    let app = spawn_app().await;
    let providers = fake_providers(TwilioPlay::EarlyInitiated);
    let org = crate::desk::desk_org(&app, &providers).await;
    let token = Some(org.api_token.as_str());
    let (status, entry) = app
        .request(
            "POST",
            "/api/v1/dnc",
            token,
            Some(json!({"phone": "+1 (555) 123-4567"})),
        )
        .await;
    assert_eq!(status, 201, "{entry}");
    assert_eq!(entry["phone"], "+15551234567");

    // An agent's DNC disposition of a call from such a caller lists the caller.
    for (sid, from) in [
        ("CAdnc0001", "+447700900123"),
        ("CAdnc0002", "+15550104242"),
    ] {
        let (status, _) = post_voice(&app, &org, &voice_params(sid, from)).await;
        assert_eq!(status, 200);
        let page = app
            .get(
                &format!("/api/v1/calls?provider_call_id={sid}"),
                &org.api_token,
            )
            .await;
        let call = &page["items"][0];
        assert_eq!(call["from"], from, "{call}");
        let path = format!("/api/v1/calls/{}/disposition", call["id"].as_str().unwrap());
        let (status, disposed) = app
            .request("POST", &path, token, Some(json!({"code": "DNC"})))
            .await;
        assert_eq!(status, 200, "{disposed}");
    }
    let listed: Vec<String> = app.get("/api/v1/dnc", &org.api_token).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["phone"].as_str().unwrap().to_owned())
        .collect();
    for phone in ["+15551234567", "+447700900123", "+15550104242"] {
        assert!(listed.iter().any(|p| p == phone), "{phone} in {listed:?}");
    }

    // Neither a direct dial nor a campaign reaches them.
    direct_dial_is_refused(&app, token, "+44 7700 900123").await;
    let (status, campaign) = app
        .request(
            "POST",
            "/api/v1/campaigns",
            token,
            Some(json!({"name": "Renewals", "provider": "twilio",
                "contacts": [{"phone": "+15551234567"}, {"phone": "+447700900123"}]})),
        )
        .await;
    assert_eq!(status, 201, "{campaign}");
    assert_eq!(campaign["contacts_added"], 2, "{campaign}");
    let id = campaign["id"].as_str().unwrap();
    app.request(
        "POST",
        &format!("/api/v1/campaigns/{id}/start"),
        token,
        None,
    )
    .await;
    until("both contacts are skipped", async || {
        let contacts = app
            .get(&format!("/api/v1/campaigns/{id}/contacts"), &org.api_token)
            .await;
        let items = contacts["items"].as_array().unwrap().clone();
        items
            .iter()
            .all(|c| c["status"] == "skipped" && c["last_error"] == "do_not_call")
            .then_some(())
    })
    .await;
    assert!(
        providers.bodies("twilio").is_empty(),
        "nothing was dialed: {:?}",
        providers.bodies("twilio")
    );

    // Taken off the list in any written form.
    let (status, _) = app
        .request("DELETE", "/api/v1/dnc/+1%20555%20123%204567", token, None)
        .await;
    assert!(status == 200 || status == 204, "{status}");
    let left = app.get("/api/v1/dnc", &org.api_token).await;
    assert_eq!(left["items"].as_array().unwrap().len(), 2, "{left}");
}

/// A direct Twilio dial to `to` answers 409 `do_not_call`.
pub async fn direct_dial_is_refused(app: &TestApp, token: Option<&str>, to: &str) {
    let (status, body) = app
        .request(
            "POST",
            "/api/v1/calls",
            token,
            Some(json!({"to": to, "provider": "twilio"})),
        )
        .await;
    let refused = (status, body["error"].as_str());
    assert_eq!(refused, (409, Some("do_not_call")), "{to}: {body}");
}
