//! One org never reaches another's data: every REST operation of the route table, every webhook
//! and the WebSocket, probed with a second org's token, ids and secrets, answers 401/403/404 or
//! the prober's own (empty) data, leaks nothing of the first org, and changes nothing of it.

use crate::helpers::*;
use serde_json::{json, Value};
use switchboard::http::API_ROUTES;

/// What the victim org holds, and the strings that must never reach the prober.
struct Victim {
    org: TestOrg,
    call_id: String,
    campaign_id: String,
    contact_id: String,
    token_id: String,
    agent_id: String,
    queue_id: String,
}

const VICTIM_PHONE: &str = "+919812300001";
const VICTIM_DNC: &str = "+919812300002";
const VICTIM_NAME: &str = "Victoria Tenant";
const VICTIM_EXTENSION_NAME: &str = "Reception Victoria";
const PROBER_TWILIO_TOKEN: &str = "prober-twilio-auth-token";

async fn victim(app: &TestApp) -> Victim {
    let org = app.create_org("Victim").await;
    let (status, body) = app
        .twilio_status(&org, &twilio_params("CAvictim1", "ringing", 1, 5))
        .await;
    assert_eq!(status, 200, "{body}");
    let call_id = body["call_id"].as_str().unwrap().to_owned();
    let created = |(status, body): (u16, Value)| {
        assert!(status == 200 || status == 201, "{status} {body}");
        body
    };
    let token = &org.api_token;
    let contact = created(
        app.request(
            "POST",
            "/api/v1/contacts",
            Some(token),
            Some(json!({"phone": VICTIM_PHONE, "name": VICTIM_NAME})),
        )
        .await,
    );
    let campaign = created(
        app.request(
            "POST",
            "/api/v1/campaigns",
            Some(token),
            Some(json!({"name": "Victim leads", "provider": "twilio", "contacts": [{"phone": "+919812300003"}]})),
        )
        .await,
    );
    created(
        app.request(
            "POST",
            "/api/v1/dnc",
            Some(token),
            Some(json!({"phone": VICTIM_DNC})),
        )
        .await,
    );
    created(
        app.request(
            "PUT",
            "/api/v1/extensions/101",
            Some(token),
            Some(json!({"name": VICTIM_EXTENSION_NAME})),
        )
        .await,
    );
    let issued = created(
        app.request(
            "POST",
            "/api/v1/tokens",
            Some(token),
            Some(json!({"role": "viewer"})),
        )
        .await,
    );
    let agent = created(
        app.request(
            "POST",
            "/api/v1/agents",
            Some(token),
            Some(json!({"name": "Victim's agent"})),
        )
        .await,
    );
    let queue = created(
        app.request(
            "POST",
            "/api/v1/queues",
            Some(token),
            Some(json!({"name": "Victim's queue"})),
        )
        .await,
    );
    Victim {
        agent_id: agent["id"].as_str().unwrap().to_owned(),
        queue_id: queue["id"].as_str().unwrap().to_owned(),
        call_id,
        campaign_id: campaign["id"].as_str().unwrap().to_owned(),
        contact_id: contact["id"].as_str().unwrap().to_owned(),
        token_id: issued["id"].as_str().unwrap().to_owned(),
        org,
    }
}

impl Victim {
    /// Strings of the victim's that no answer to the prober may contain.
    fn secrets(&self) -> Vec<String> {
        vec![
            self.org.id.clone(),
            self.org.api_token.clone(),
            self.org.webhook_token.clone(),
            self.call_id.clone(),
            "CAvictim1".into(),
            self.campaign_id.clone(),
            self.contact_id.clone(),
            self.token_id.clone(),
            VICTIM_PHONE.into(),
            "9812300001".into(),
            VICTIM_DNC.into(),
            VICTIM_NAME.into(),
            VICTIM_EXTENSION_NAME.into(),
            "Victim leads".into(),
            TWILIO_AUTH_TOKEN.into(),
        ]
    }

    /// A route's path with the victim's ids in it.
    fn path(&self, route: &str) -> String {
        let id = if route.starts_with("/calls") {
            &self.call_id
        } else if route.starts_with("/campaigns") {
            &self.campaign_id
        } else if route.starts_with("/contacts") {
            &self.contact_id
        } else if route.starts_with("/agents") {
            &self.agent_id
        } else if route.starts_with("/queues") {
            &self.queue_id
        } else {
            &self.token_id
        };
        format!(
            "/api/v1{}",
            route
                .replace("{id}", id)
                .replace(
                    "{phone}",
                    if route.starts_with("/dnc") {
                        VICTIM_DNC
                    } else {
                        VICTIM_PHONE
                    }
                )
                .replace("{number}", "101")
                .replace("{provider}", "twilio")
                .replace("{action}", "start")
        )
    }
}

/// A plausible body for an operation, naming the victim's things where the body can.
fn probe_body(method: &str, route: &str, victim: &Victim) -> Option<Value> {
    match (method, route) {
        ("get" | "delete", _) => None,
        ("post", "/calls") => Some(
            json!({"to": "+919812300012", "provider": "twilio", "campaign_id": victim.campaign_id, "contact_id": victim.contact_id}),
        ),
        ("post", "/campaigns/{id}/contacts") => {
            Some(json!({"contacts": [{"phone": "+919812300009"}]}))
        }
        ("post", "/tokens") => Some(json!({"role": "viewer"})),
        ("post", "/dnc") => Some(json!({"phone": "+919812300010"})),
        ("post", "/orgs") => Some(json!({"name": "Victim"})),
        ("put", "/providers/{provider}") => Some(
            json!({"account_sid": "ACprober", "auth_token": PROBER_TWILIO_TOKEN, "from_number": "+15550000001", "api_base": "http://127.0.0.1:9"}),
        ),
        ("post", "/extensions/{number}/dial") => Some(json!({"to": "+919812300012"})),
        ("patch", "/contacts/{id}") => Some(json!({"name": "Changed by the prober"})),
        ("post", "/calls/{id}/disposition") => Some(json!({"code": "SALE"})),
        ("post", "/calls/{id}/accept" | "/calls/{id}/reject") => {
            Some(json!({"agent_id": victim.agent_id}))
        }
        ("put", "/dispositions") => Some(json!({"codes": [{"code": "PROBED"}]})),
        _ => Some(
            json!({"name": "prober", "phone": "+919812300011", "provider": "twilio", "contacts": []}),
        ),
    }
}

#[actix_web::test]
async fn another_orgs_token_ids_and_secrets_reach_nothing() {
    let app = spawn_app().await;
    let victim = victim(&app).await;
    let prober = app.create_org("Prober").await;
    let secrets = victim.secrets();
    let leaks = |what: &str, text: &str| {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} leaks {secret}: {text}"
            );
        }
    };

    let mut probed = 0;
    for (method, route) in API_ROUTES {
        if *route == "/ws" {
            continue; // below, as a real WebSocket
        }
        let path = victim.path(route);
        let body = probe_body(method, route, &victim);
        let (status, answer) = app
            .request(&method.to_uppercase(), &path, Some(&prober.api_token), body)
            .await;
        let what = format!("{method} {path}");
        assert!(status < 500, "{what}: {status} {answer}");
        leaks(&what, &answer.to_string());
        // An operation on one of the victim's ids is refused; the org's own collections and its
        // own extension 101 (extension numbers are per org) are the prober's own business.
        let names_victims_id = route.contains("{id}") || route.contains("{phone}");
        if names_victims_id {
            assert!(
                [401, 403, 404].contains(&status),
                "{what} with another org's token: {status} {answer}"
            );
        }
        if *route == "/orgs" {
            assert!([401, 403].contains(&status), "{what}: {status}");
        }
        probed += 1;
    }
    assert_eq!(probed, API_ROUTES.len() - 1);

    // The victim's ids in query strings find nothing either.
    for path in [
        format!("/api/v1/calls?campaign_id={}", victim.campaign_id),
        format!("/api/v1/webhooks?call_id={}", victim.call_id),
        format!(
            "/api/v1/campaigns/{}/contacts?status=pending",
            victim.campaign_id
        ),
    ] {
        let (status, answer) = app
            .request("GET", &path, Some(&prober.api_token), None)
            .await;
        assert!(status < 500, "{path}: {status}");
        leaks(&path, &answer.to_string());
    }

    // Webhooks on the victim's path with the prober's secrets are refused and store nothing.
    let (status, _) = app
        .post_token_json(
            &format!("/webhooks/analytics/{}", victim.org.id),
            &prober.webhook_token,
            &json!({"call_id": victim.call_id, "summary": "forged"}),
        )
        .await;
    assert_eq!(status, 401);
    let (status, answer) = app
        .post_token_json(
            &format!("/webhooks/analytics/{}", prober.id),
            &prober.webhook_token,
            &json!({"call_id": victim.call_id, "summary": "forged"}),
        )
        .await;
    assert_eq!(
        status, 404,
        "the victim's call is not the prober's: {answer}"
    );
    leaks("analytics", &answer.to_string());
    let params = twilio_params("CAvictim1", "completed", 3, 70);
    let path = format!("/webhooks/twilio/{}/status", victim.org.id);
    let forged = twilio_signature(
        PROBER_TWILIO_TOKEN,
        &format!("{}{path}", app.public_url),
        &params,
    );
    let (status, answer) = app.post_form(&path, &params, Some(&forged)).await;
    assert!([401, 403].contains(&status), "{status} {answer}");
    for provider in ["exotel", "bolna"] {
        let path = match provider {
            "exotel" => format!("/webhooks/exotel/{}/status", victim.org.id),
            _ => format!("/webhooks/bolna/{}", victim.org.id),
        };
        let (status, _) = app
            .post_token_json(
                &path,
                &prober.webhook_token,
                &json!({"CallSid": "x", "id": "x"}),
            )
            .await;
        assert_eq!(status, 401, "{path}");
    }

    // The prober's WebSocket sees its own org only.
    let mut ws = app.ws(&prober.api_token, Some(0)).await;
    let first = ws.next().await;
    leaks("the prober's WebSocket", &first.to_string());
    while let Some(event) = ws.next_within(std::time::Duration::from_millis(300)).await {
        leaks("the prober's WebSocket", &event.to_string());
    }

    // Nothing of the victim's changed.
    let token = &victim.org.api_token;
    let call = app
        .get(&format!("/api/v1/calls/{}", victim.call_id), token)
        .await;
    assert_eq!(call["status"], "ringing");
    let contact = app
        .get(&format!("/api/v1/contacts/{}", victim.contact_id), token)
        .await;
    assert_eq!(contact["name"], VICTIM_NAME);
    let campaign = app
        .get(&format!("/api/v1/campaigns/{}", victim.campaign_id), token)
        .await;
    assert_eq!(campaign["status"], "pending", "not started: {campaign}");
    let dnc = app.get("/api/v1/dnc", token).await;
    assert_eq!(dnc["items"].as_array().unwrap().len(), 1);
    let extensions = app.get("/api/v1/extensions", token).await;
    assert_eq!(extensions["items"][0]["name"], VICTIM_EXTENSION_NAME);
    let tokens = app.get("/api/v1/tokens", token).await;
    assert!(
        tokens.to_string().contains(&victim.token_id),
        "not revoked: {tokens}"
    );
    let (status, _) = app
        .twilio_status(
            &victim.org,
            &twilio_params("CAvictim1", "in-progress", 2, 9),
        )
        .await;
    assert_eq!(
        status, 200,
        "the victim's own provider credentials still verify"
    );
}
