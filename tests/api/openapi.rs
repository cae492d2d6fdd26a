//! The OpenAPI document is generated from the handlers and held against the route table, and the
//! page, its assets and the API reference are served by the binary itself.

use crate::helpers::*;
use std::collections::BTreeSet;
use switchboard::http::API_ROUTES;

#[actix_web::test]
async fn the_openapi_document_names_every_route_and_nothing_else() {
    let app = spawn_app().await;
    let (status, doc) = app.request("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            documented.insert((method.clone(), path.clone()));
            let what = format!("{method} {path}");
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{what} has a summary"
            );
            assert!(
                operation["responses"]["401"].is_object(),
                "{what} answers errors as JSON"
            );
            assert!(operation["security"].is_array(), "{what} names its token");
        }
    }
    let routed: BTreeSet<(String, String)> = API_ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), format!("/api/v1{path}")))
        .collect();
    assert_eq!(
        documented, routed,
        "the document and the routes are the same operations"
    );
    // Request bodies are described from the handlers' own types.
    let new_call = &doc["paths"]["/api/v1/calls"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    assert_eq!(new_call["$ref"], "#/components/schemas/NewCall");
    let schema = &doc["components"]["schemas"]["NewCall"];
    assert!(schema["required"]
        .as_array()
        .unwrap()
        .contains(&"to".into()));
}

#[actix_web::test]
async fn the_dashboard_and_the_reference_are_served_offline_from_the_binary() {
    let app = spawn_app().await;
    for (path, kind, marker) in [
        ("/", "text/html", "/assets/app.js"),
        ("/assets/app.js", "text/javascript", "new WebSocket"),
        ("/assets/app.css", "text/css", ".ext.incall"),
        ("/api/reference", "text/html", "/api/openapi.json"),
    ] {
        let mut response = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        let body =
            String::from_utf8(response.body().limit(1 << 20).await.unwrap().to_vec()).unwrap();
        assert!(body.contains(marker), "{path}");
        assert!(
            !body.contains("https://"),
            "{path} loads nothing from the network"
        );
    }
}
