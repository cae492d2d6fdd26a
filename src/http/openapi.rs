//! `GET /api/openapi.json`: the OpenAPI 3 document of the REST API, generated from the handlers'
//! `#[utoipa::path]` attributes and their body types. A test holds it against the route table
//! (`API_ROUTES`), so the document and the routes cannot drift apart.

use super::tokens;
use super::{agents, dispositions, export, queues, webhooks, ws};
use super::{billing, calls, campaigns, contacts, dnc, extensions, org_metrics, orgs, providers};
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, RefOr, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard",
        description = "Live call model, campaigns, PBX presence and dashboards. Every `/api/v1` \
            operation takes `Authorization: Bearer <api_token>`; a viewer token only reads. \
            Errors are `{\"error\": code, \"message\": sentence}`. Webhooks (`/webhooks/…`) are \
            described in docs/api.md."
    ),
    paths(
        orgs::create_org, orgs::current_org, orgs::patch_org,
        tokens::create_token, tokens::list_tokens, tokens::revoke_token,
        providers::list_providers, providers::put_provider,
        calls::list_calls, calls::create_call, calls::get_call, calls::call_timeline,
        export::calls_csv,
        campaigns::create_campaign, campaigns::list_campaigns, campaigns::get_campaign,
        campaigns::post_contacts, campaigns::campaign_contacts, campaigns::progress,
        campaigns::steer,
        contacts::create_contact, contacts::list_contacts, contacts::contact_by_phone,
        contacts::get_contact, contacts::patch_contact,
        extensions::list_extensions, extensions::put_extension, extensions::dial,
        extensions::reset, extensions::resync,
        dnc::add, dnc::list, dnc::remove,
        org_metrics::org_metrics,
        billing::put_rates, billing::get_rates, billing::get_credits, billing::put_credits,
        billing::ledger, billing::top_up,
        webhooks::list_inbox,
        agents::create_agent, agents::list_agents, agents::get_agent, agents::patch_agent,
        agents::delete_agent, agents::accept, agents::reject,
        queues::create_queue, queues::list_queues, queues::get_queue, queues::patch_queue,
        queues::delete_queue,
        dispositions::put_codes, dispositions::get_codes, dispositions::dispose,
        dispositions::list_callbacks,
        ws::connect,
    ),
    modifiers(&Conventions)
)]
pub struct ApiDoc;

/// What every operation shares: the bearer token, and the JSON error answers.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        let error = ObjectBuilder::new()
            .property("error", ObjectBuilder::new().schema_type(Type::String))
            .property("message", ObjectBuilder::new().schema_type(Type::String))
            .required("error")
            .required("message")
            .build();
        components
            .schemas
            .insert("Error".into(), RefOr::T(error.into()));
        let answer = |description: &str| {
            let content = ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Error",
                ))))
                .build();
            ResponseBuilder::new()
                .description(description)
                .content("application/json", content)
                .build()
        };
        let requirement =
            utoipa::openapi::security::SecurityRequirement::new("api_token", Vec::<String>::new());
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                operation.security = Some(vec![requirement.clone()]);
                let responses = &mut operation.responses.responses;
                for (status, description) in [
                    ("400", "The input cannot be read; nothing changed"),
                    ("401", "A missing or unknown token"),
                    ("403", "A viewer token asked to change something, or an agent token to act as another"),
                    ("404", "No such resource for this org"),
                    ("409", "Refused in the resource's present state"),
                    (
                        "503",
                        "The database cannot store now; nothing was acknowledged",
                    ),
                ] {
                    responses
                        .entry(status.into())
                        .or_insert_with(|| RefOr::T(answer(description)));
                }
            }
        }
    }
}

/// The document as JSON.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
