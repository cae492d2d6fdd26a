//! Scoped tokens: a wallboard's viewer token reads (GETs, the WebSocket) and changes nothing.

use crate::helpers::*;
use serde_json::json;

#[actix_web::test]
async fn a_viewer_token_reads_and_changes_nothing_until_revoked() {
    let app = spawn_app().await;
    let org = app.create_org("Floor").await;
    let (status, me) = app
        .request("GET", "/api/v1/org", Some(&org.api_token), None)
        .await;
    assert_eq!((status, me["role"].as_str()), (200, Some("owner")));
    assert_eq!(me["org_id"], org.id.as_str());

    let (status, issued) = app
        .request(
            "POST",
            "/api/v1/tokens",
            Some(&org.api_token),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let (id, viewer) = (
        issued["id"].as_str().unwrap(),
        issued["token"].as_str().unwrap(),
    );
    assert_eq!(issued["role"], "viewer");
    assert_ne!(viewer, org.api_token);

    let (status, me) = app.request("GET", "/api/v1/org", Some(viewer), None).await;
    assert_eq!((status, me["role"].as_str()), (200, Some("viewer")));
    app.get("/api/v1/calls", viewer).await;
    app.get("/api/v1/extensions", viewer).await;
    let mut ws = app.ws(viewer, None).await;
    assert_eq!(ws.next().await["type"], "snapshot");

    let refused = [
        (
            "POST",
            "/api/v1/dnc",
            Some(json!({"phone": "+919876543210"})),
        ),
        ("PUT", "/api/v1/extensions/20", Some(json!({"name": "TV"}))),
        (
            "POST",
            "/api/v1/calls",
            Some(json!({"to": "+919876543210", "provider": "twilio"})),
        ),
        ("POST", "/api/v1/tokens", Some(json!({"role": "viewer"}))),
        ("DELETE", &format!("/api/v1/tokens/{id}"), None),
    ];
    for (method, path, body) in refused {
        let (status, answer) = app.request(method, path, Some(viewer), body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (403, Some("forbidden")),
            "{method} {path}"
        );
    }
    assert_eq!(
        app.get("/api/v1/dnc", &org.api_token).await["items"],
        json!([])
    );
    assert_eq!(
        app.get("/api/v1/extensions", &org.api_token).await["items"],
        json!([])
    );
    assert_eq!(
        app.get("/api/v1/calls", &org.api_token).await["items"],
        json!([])
    );

    let list = app.get("/api/v1/tokens", &org.api_token).await;
    assert_eq!(list["items"][0]["id"], id);
    assert!(
        list["items"][0].get("token").is_none(),
        "a token is shown only once"
    );
    assert!(!list.to_string().contains(viewer));

    for (role, status) in [("agent", 400), ("admin", 400)] {
        let (got, _) = app
            .request(
                "POST",
                "/api/v1/tokens",
                Some(&org.api_token),
                Some(json!({"role": role})),
            )
            .await;
        assert_eq!(got, status, "{role}");
    }
    let (status, _) = app
        .request(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .request("GET", "/api/v1/calls", Some(viewer), None)
        .await;
    assert_eq!(status, 401, "a revoked token stops working at once");
    let (status, _) = app
        .request(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Another org's token id is not found, and its viewer sees only its own org.
    let other = app.create_org("Other").await;
    let (_, theirs) = app
        .request(
            "POST",
            "/api/v1/tokens",
            Some(&other.api_token),
            Some(json!({"role": "viewer"})),
        )
        .await;
    let path = format!("/api/v1/tokens/{}", theirs["id"].as_str().unwrap());
    let (status, _) = app
        .request("DELETE", &path, Some(&org.api_token), None)
        .await;
    assert_eq!(status, 404);
    let (_, me) = app
        .request(
            "GET",
            "/api/v1/org",
            Some(theirs["token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(me["org_id"], other.id.as_str());
}
