//! Contacts: created, refused twice in any written form, patched, found by any form of the phone.

use crate::helpers::*;
use serde_json::json;

#[actix_web::test]
async fn contacts_are_unique_per_phone_in_any_written_form() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let (status, contact) = app
        .request("POST", "/api/v1/contacts", Some(&org.api_token),
            Some(json!({"phone": "9876543210", "name": "Asha", "company": "Rao Traders", "city": "Pune"})))
        .await;
    assert_eq!(status, 201, "{contact}");
    assert_eq!(contact["phone"], "+919876543210");
    assert_eq!(contact["city"], "Pune");
    let id = contact["id"].as_str().unwrap().to_owned();

    for form in [
        "+919876543210",
        "09876543210",
        "919876543210",
        "+91 98765-43210",
    ] {
        let (status, body) = app
            .request(
                "POST",
                "/api/v1/contacts",
                Some(&org.api_token),
                Some(json!({"phone": form})),
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("contact_exists")),
            "{form}"
        );
    }
    for bad in [
        json!({"phone": "hello"}),
        json!({"name": "no phone"}),
        json!({"phone": "98765", "name": 5}),
    ] {
        let (status, body) = app
            .request("POST", "/api/v1/contacts", Some(&org.api_token), Some(bad))
            .await;
        assert_eq!(status, 400, "{body}");
    }

    let (status, patched) = app
        .request(
            "PATCH",
            &format!("/api/v1/contacts/{id}"),
            Some(&org.api_token),
            Some(json!({"name": "Asha Rao", "city": null, "tier": "gold"})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Asha Rao");
    assert_eq!(patched["company"], "Rao Traders");
    assert!(patched.get("city").is_none());
    assert_eq!(patched["tier"], "gold");

    for form in ["09876543210", "%2B919876543210", "919876543210"] {
        let found = app
            .get(&format!("/api/v1/contacts/by-phone/{form}"), &org.api_token)
            .await;
        assert_eq!(found["id"], id.as_str(), "{form}");
        assert_eq!(found["calls"], json!([]));
    }
    let (status, _) = app
        .request(
            "GET",
            "/api/v1/contacts/by-phone/09999999999",
            Some(&org.api_token),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let other = app.create_org("Globex").await;
    let (status, _) = app
        .request(
            "GET",
            "/api/v1/contacts/by-phone/09876543210",
            Some(&other.api_token),
            None,
        )
        .await;
    assert_eq!(status, 404, "another org's contact does not exist");
    let (status, _) = app
        .request(
            "GET",
            &format!("/api/v1/contacts/{id}"),
            Some(&other.api_token),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let list = app.get("/api/v1/contacts", &org.api_token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}
