//! Builds the engine from settings: database, writer, actors, HTTP server, recovery. Shared by
//! `main`, the tests and the benches.

use crate::actors::call::registry::{force_end, Recover};
use crate::actors::campaign::RouteCampaign;
use crate::actors::pbx_resync::Due;
use crate::actors::{Actors, Fanout};
use crate::config::Settings;
use crate::db::health::DbHealth;
use crate::db::writer::Writer;
use crate::db::{self, queries};
use crate::domain::call::Call;
use crate::domain::ids::{CallId, OrgId};
use crate::engine::billing::BillingBook;
use crate::engine::Engine;
use crate::error::AppError;
use crate::http::{self, AppState};
use actix_web::{web, App, HttpServer};
use std::collections::{HashMap, HashSet};
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
        db::run_migrations(&mut write_conn)
            .and_then(|()| db::health::probe_write(&mut write_conn).map_err(|e| e.to_string()))
            .map_err(db::health::explain_read_only)?;
        let billing = BillingBook::load(&mut write_conn)
            .map_err(|e| format!("cannot read the orgs' billing: {e}"))?;
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
        let engine = Arc::new(Engine::new(settings, public_url, pool, writer, billing)?);
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
        // SIGINT / SIGTERM (handled below): in-flight requests get 5 s, so the process is gone
        // within 10 s.
        .shutdown_timeout(5)
        .disable_signals()
        .run();
        actix_web::rt::spawn(stop_on_signal(
            server.handle(),
            state.engine.clone(),
            state.actors.hubs.clone(),
        ));
        tracing::info!(%address, "switchboard listening");
        actix_web::rt::spawn(recover(state.clone()));
        Ok(Application {
            port: address.port(),
            server,
            state,
        })
    }

    /// Stops the server (gracefully, or at once) from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The port the server is bound to (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The engine core (benches reach the writer and settings through it).
    pub fn engine(&self) -> Arc<Engine> {
        self.state.engine.clone()
    }

    /// Once live state is recovered, ends every unfinished call of the org the engine's way, with
    /// `reason` as its hang-up cause; answers how many. For `switchboard demo` on a reused
    /// database: the simulated callers of its earlier run stopped with it and can never hang up.
    pub async fn end_unfinished_calls(
        &self,
        org_id: &OrgId,
        reason: &'static str,
    ) -> Result<usize, AppError> {
        let (engine, actors) = (&self.state.engine, &self.state.actors);
        while !engine.is_ready() {
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        let org = org_id.to_string();
        let ids = engine
            .read(move |conn| Ok(queries::unfinished_call_ids(conn, &org)?))
            .await?;
        for id in &ids {
            let id = CallId::from_stored(id.clone());
            force_end(&actors.calls, org_id, &id, reason, "restart").await?;
        }
        Ok(ids.len())
    }

    /// Serves until the server is stopped (SIGINT/SIGTERM stop it gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Respawns the actors of every unfinished call (invariant 7), then resumes the running
/// campaigns, each step retried until it succeeds (the database answers, every campaign loads);
/// `/readyz` says what keeps it from finishing meanwhile, and turns 200 then.
async fn recover(state: web::Data<AppState>) {
    let (unfinished, started) = until_done(&state, async || recover_calls(&state).await).await;
    state
        .engine
        .set_unready_because("resuming the running campaigns".to_owned());
    let campaigns = until_done(&state, async || resume_campaigns(&state).await).await;
    tracing::info!(unfinished, started, campaigns, "live state recovered");
    state.engine.set_ready();
}

/// `step`'s answer, once it gives one: a failure is logged, shown by `/readyz`, and tried again
/// a second later.
async fn until_done<T>(state: &AppState, mut step: impl AsyncFnMut() -> Result<T, AppError>) -> T {
    loop {
        match step().await {
            Ok(done) => return done,
            Err(error) => {
                tracing::error!(%error, "recovery cannot finish yet; retrying");
                state.engine.set_unready_because(error.message().to_owned());
            }
        }
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Unfinished calls read back per page of this many.
const RECOVERY_PAGE: i64 = 10_000;

/// The unfinished calls page by page, each page's calls and their dedupe keys in one read, handed
/// to the registry already loaded (no read per actor); then every org with a PBX asks it what
/// happened meanwhile. Answers how many calls were unfinished and how many actors started.
async fn recover_calls(state: &AppState) -> Result<(usize, usize), AppError> {
    let (engine, actors) = (&state.engine, &state.actors);
    let (mut after, mut unfinished, mut started) = (None::<String>, 0, 0);
    loop {
        let cursor = after.clone();
        let (page, last) = engine
            .read(move |conn| {
                let rows = queries::unfinished_calls(conn, cursor.as_deref(), RECOVERY_PAGE)?;
                let last = rows.last().map(|row| row.id.clone());
                let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
                let mut keys: HashMap<String, HashSet<String>> = HashMap::new();
                for (call_id, key) in queries::dedupe_keys_of(conn, &ids)? {
                    keys.entry(call_id).or_default().insert(key);
                }
                let calls = rows
                    .into_iter()
                    .filter_map(|row| {
                        let keys = keys.remove(&row.id).unwrap_or_default();
                        match Call::try_from(row) {
                            Ok(call) => Some((call, keys)),
                            Err(error) => {
                                tracing::error!(%error, "a stored call cannot be read back");
                                None
                            }
                        }
                    })
                    .collect::<Vec<_>>();
                Ok((calls, last))
            })
            .await?;
        let Some(last) = last else { break };
        unfinished += page.len();
        started += actors.calls.send(Recover(page)).await?;
        after = Some(last);
    }
    // A PBX went on while the engine was down: what it believes live may have ended, and calls
    // may have begun and ended unheard. Every org with a PBX asks it.
    let pbx_orgs = engine
        .read(|conn| {
            let yeastar = crate::providers::Provider::Yeastar.as_str();
            Ok(queries::orgs_with_provider(conn, yeastar)?)
        })
        .await?;
    for org_id in pbx_orgs {
        actors.pbx_watch.do_send(Due(OrgId::from_stored(org_id)));
    }
    Ok((unfinished, started))
}

/// Resumes every running campaign — each one, whatever another's load does: a campaign that
/// cannot be loaded would stop dialing unseen, so the step fails, naming those that could not be
/// resumed and why. Answers how many resumed.
async fn resume_campaigns(state: &AppState) -> Result<usize, AppError> {
    let (engine, actors) = (&state.engine, &state.actors);
    let campaigns = engine
        .read(|conn| Ok(queries::running_campaigns(conn)?))
        .await?;
    let mut unresumed = Vec::new();
    for campaign in &campaigns {
        let route = RouteCampaign {
            org_id: OrgId::from_stored(campaign.org_id.clone()),
            campaign_id: campaign.id.clone(),
        };
        if let Err(error) = actors.campaigns.send(route).await? {
            tracing::error!(%error, campaign = %campaign.id, "campaign not resumed");
            unresumed.push(format!(
                "campaign {} cannot be resumed: {}",
                campaign.id,
                error.message()
            ));
        }
    }
    match unresumed.is_empty() {
        true => Ok(campaigns.len()),
        false => Err(AppError::new(
            crate::error::Code::Internal,
            unresumed.join("; "),
        )),
    }
}

/// On SIGINT or SIGTERM: dashboard sessions close, and a moment later those that could not are
/// aborted (they would hold a graceful stop for its whole timeout); the server stops gracefully
/// meanwhile — requests under way finish, nothing acknowledged is cut off.
async fn stop_on_signal(
    server: actix_web::dev::ServerHandle,
    engine: Arc<Engine>,
    hubs: actix::Addr<crate::actors::org_hub::HubRegistry>,
) {
    let interrupt = tokio::signal::ctrl_c();
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "SIGTERM cannot be handled");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("stopping: dashboard sessions close, requests under way finish");
    engine.stop_sessions();
    actix_web::rt::spawn(async move {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
        let _ = hubs.send(crate::actors::org_hub::AbortAll).await;
    });
    server.stop(true).await;
}
