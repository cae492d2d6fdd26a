//! The do-not-call list: listed in any written form, checked before a dial.

use crate::helpers::*;
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
