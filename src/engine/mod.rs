//! The engine core: what is not an actor and what both the actors and the HTTP layer stand on —
//! settings, the public URL, the read pool, the writer, the org directory, the outbound HTTP client,
//! the dial pacer, the PBX sessions — and the services over them (do-not-call, call lookup, org
//! totals, contacts, campaign progress). It holds no actor address: the writer hands committed
//! events to the publisher it was started with.

pub mod admission;
pub mod billing;
pub mod callback_urls;
pub mod calls;
pub mod campaigns;
pub mod contacts;
pub mod desk;
pub mod dnc;
pub mod inbox;
pub mod keep;
pub mod orgs;
pub mod pacer;
pub mod pbx_dials;
pub mod pbx_records;
pub mod totals;

use crate::config::Settings;
use crate::db::writer::Writer;
use crate::db::{DbConnection, DbPool};
use crate::error::AppError;
use crate::providers::yeastar::PbxSessions;
use admission::Admission;
use billing::BillingBook;
use orgs::OrgDirectory;
use pacer::Pacer;
use pbx_dials::PendingPbxDials;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The longest the engine waits for a provider's API (or the PBX's) to answer one request.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

/// What every actor and handler reaches, shared as `Arc<Engine>`.
pub struct Engine {
    pub settings: Settings,
    /// The base URL providers call back (and sign): `SWITCHBOARD_PUBLIC_URL` or `http://<bound address>`.
    pub public_url: String,
    /// Reads go here (`web::block`), never through the writer.
    pub pool: DbPool,
    /// Every durable change goes here.
    pub writer: Writer,
    pub orgs: OrgDirectory,
    /// Outbound HTTP to providers' APIs.
    pub http: reqwest::Client,
    /// Dial pacing per provider account, shared by every campaign and API dial of that account.
    pub pacer: Pacer,
    /// Each org's PBX API tokens.
    pub pbx_sessions: PbxSessions,
    /// Extension dials placed through the PBX whose PBX call id is not known yet.
    pub pbx_dials: PendingPbxDials,
    /// Sheds webhooks past the in-flight bounds.
    pub admission: Admission,
    /// Every org's currency and rates.
    pub billing: BillingBook,
    /// Migrations ran and live state was recovered.
    ready: AtomicBool,
    /// Why live state is not recovered yet, when the last try failed.
    unready_because: std::sync::Mutex<Option<String>>,
    /// Turns true when the engine is stopping: dashboard sessions close themselves (so that a
    /// graceful stop waits only for requests, not for long-lived WebSockets).
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Engine {
    /// The engine over an open read pool and a started writer.
    pub fn new(
        settings: Settings,
        public_url: String,
        pool: DbPool,
        writer: Writer,
        billing: BillingBook,
    ) -> Result<Self, String> {
        // An idle pooled connection is dropped before a server's keep-alive closes it (5 s is
        // common, and the stand-in's): reusing one the server is closing at that moment fails
        // the request with "connection closed before message completed", and a call's
        // origination cannot be retried blindly.
        let http = reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Engine {
            admission: Admission::new(settings.max_in_flight, settings.max_in_flight_per_org),
            billing,
            settings,
            public_url,
            orgs: OrgDirectory::new(pool.clone()),
            pool,
            writer,
            http,
            pacer: Pacer::default(),
            pbx_sessions: PbxSessions::default(),
            pbx_dials: PendingPbxDials::default(),
            ready: AtomicBool::new(false),
            unready_because: std::sync::Mutex::new(None),
            stopping: tokio::sync::watch::channel(false).0,
        })
    }

    /// The engine is stopping: every dashboard session closes.
    pub fn stop_sessions(&self) {
        self.stopping.send_replace(true);
    }

    /// Resolves when the engine is stopping.
    pub fn stopped(&self) -> impl Future<Output = ()> + 'static {
        let mut stopping = self.stopping.subscribe();
        async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
        }
    }

    /// Runs a blocking read on the read pool (the future borrows nothing: actors await it).
    pub fn read<T, F>(&self, query: F) -> impl Future<Output = Result<T, AppError>> + 'static
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        crate::db::read(&self.pool, query)
    }

    /// Whether live state has been recovered (`/readyz`).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Live state is recovered: `/readyz` answers 200 from now on.
    pub fn set_ready(&self) {
        *self.unready_because.lock().unwrap() = None;
        self.ready.store(true, Ordering::Release);
    }

    /// Live state could not be recovered yet, for this reason (`/readyz` says it).
    pub fn set_unready_because(&self, why: String) {
        *self.unready_because.lock().unwrap() = Some(why);
    }

    /// Why live state is not recovered yet, if a try failed.
    pub fn unready_because(&self) -> Option<String> {
        self.unready_because.lock().unwrap().clone()
    }
}
