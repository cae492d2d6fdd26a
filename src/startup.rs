//! Builds the engine from settings: database, writer, actors, HTTP server, recovery. Shared by
//! `main`, the tests and the benches.

use crate::actors::campaign::RouteCampaign;
use crate::actors::registry::Recover;
use crate::actors::{Actors, Fanout};
use crate::config::Settings;
use crate::db::health::DbHealth;
use crate::db::writer::Writer;
use crate::db::{self, queries};
use crate::domain::ids::{CallId, OrgId};
use crate::engine::Engine;
use crate::http::{self, AppState};
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// A built engine, listening, not yet awaited.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Runs migrations, starts the writer, the actors and the HTTP server, then recovers live
    /// calls in the background (`/readyz` turns 200 when that is done).
    pub async fn build(settings: Settings) -> Result<Self, String> {
        let url = settings.database_url.clone();
        let sync = settings.sqlite_sync;
        let mut write_conn =
            db::connect(&url, sync).map_err(|e| format!("cannot open the database: {e}"))?;
        db::run_migrations(&mut write_conn)?;
        let health = DbHealth::watched(url.clone(), sync);
        let pool = db::read_pool(&url, sync, settings.read_pool_size, health.clone())?;

        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));

        if let Some(keep) = settings.retention {
            db::retention::start(url.clone(), sync, keep, settings.prune_every);
        }
        let fanout = Fanout::new();
        let writer = Writer::start(
            write_conn,
            url,
            sync,
            settings.writer_max_batch,
            fanout.publisher(),
            health,
        );
        let engine = Arc::new(Engine::new(settings, public_url, pool, writer)?);
        let actors = Actors::start(engine.clone(), fanout);
        let state = web::Data::new(AppState { engine, actors });
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .wrap(actix_web::middleware::from_fn(http::access_log))
                .wrap(
                    actix_web::middleware::ErrorHandlers::new().default_handler(http::json_errors),
                )
                .configure(http::routes)
        })
        .on_connect(http::ws::remember_socket)
        .listen(listener)
        .map_err(|e| e.to_string())?
        // SIGINT / SIGTERM: in-flight requests get 5 s, so the process is gone within 10 s.
        .shutdown_timeout(5)
        .run();
        tracing::info!(%address, "switchboard listening");
        actix_web::rt::spawn(recover(state.clone()));
        Ok(Application {
            port: address.port(),
            server,
            state,
        })
    }

    /// The port the server is bound to (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The engine core (benches reach the writer and settings through it).
    pub fn engine(&self) -> Arc<Engine> {
        self.state.engine.clone()
    }

    /// Serves until the server is stopped (SIGINT/SIGTERM stop it gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Respawns the actors of every unfinished call (invariant 7), retrying until the database answers.
async fn recover(state: web::Data<AppState>) {
    let (engine, actors) = (&state.engine, &state.actors);
    loop {
        let loaded = engine
            .read(|conn| {
                Ok(queries::unfinished_calls(conn)?
                    .into_iter()
                    .map(|(org, id)| (OrgId::from_stored(org), CallId::from_stored(id)))
                    .collect::<Vec<_>>())
            })
            .await;
        match loaded {
            Ok(calls) => {
                let count = calls.len();
                let started = actors.calls.send(Recover(calls)).await;
                let campaigns = engine
                    .read(|conn| Ok(queries::running_campaigns(conn)?))
                    .await;
                match (started, campaigns) {
                    (Ok(started), Ok(campaigns)) => {
                        for campaign in &campaigns {
                            let route = RouteCampaign {
                                org_id: OrgId::from_stored(campaign.org_id.clone()),
                                campaign_id: campaign.id.clone(),
                            };
                            if let Err(error) = actors.campaigns.send(route).await {
                                tracing::error!(%error, campaign = %campaign.id, "campaign not resumed");
                            }
                        }
                        tracing::info!(
                            unfinished = count,
                            started,
                            campaigns = campaigns.len(),
                            "live state recovered"
                        );
                        engine.set_ready();
                        return;
                    }
                    (Err(error), _) => {
                        tracing::error!(%error, "recovery could not reach the registry")
                    }
                    (_, Err(error)) => {
                        tracing::error!(%error, "recovery cannot read campaigns yet")
                    }
                }
            }
            Err(error) => tracing::error!(%error, "recovery cannot read the database yet"),
        }
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    }
}
