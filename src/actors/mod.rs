//! Thin actors: each owns state, calls the pure domain, and hands durable changes to the writer.
//! Every actor holds `Arc<Engine>` (or less) plus the addresses it talks to, given at
//! construction; [`Actors::start`] wires them, two that know each other through
//! `Context::new()` / `ctx.address()` before either runs.

pub mod call;
pub mod campaign;
pub mod desk;
pub mod dial_path;
pub mod extension;
pub mod org_hub;
pub mod org_metrics;
pub mod pbx_resync;
pub mod prices;
pub mod scheduled_callbacks;

use crate::db::writer::Publisher;
use crate::domain::events::EventType;
use crate::engine::Engine;
use actix::prelude::*;
use call::news::Listeners;
use call::registry::CallRegistry;
use call::CallDeps;
use campaign::CampaignRegistry;
use desk::DeskRegistry;
use dial_path::Dialer;
use extension::ExtensionRegistry;
use org_hub::{HubRegistry, Publish};
use org_metrics::{MetricsPublisher, Touched};
use prices::PriceFetcher;
use std::sync::Arc;

/// The addresses of the long-lived actors, as the HTTP layer and start-up reach them.
#[derive(Clone)]
pub struct Actors {
    pub calls: Addr<CallRegistry>,
    pub extensions: Addr<ExtensionRegistry>,
    pub campaigns: Addr<CampaignRegistry>,
    pub hubs: Addr<HubRegistry>,
    /// Each org's agent desk.
    pub desks: Addr<DeskRegistry>,
    /// The one dial path.
    pub dialer: Dialer,
    /// Dials the callbacks agents schedule.
    pub callbacks: Addr<scheduled_callbacks::CallbackScheduler>,
    /// Resyncs a silent PBX.
    pub pbx_watch: Addr<pbx_resync::PbxWatch>,
    /// What an on-demand resync talks to.
    pub resync: pbx_resync::ResyncDeps,
}

/// The actors the writer publishes to (the hubs, the metrics publisher) and the desks: made
/// before the writer (and so before the engine); the metrics publisher and the desks start only
/// once the engine exists, the call and extension actors holding their addresses before.
pub struct Fanout {
    hubs: Addr<HubRegistry>,
    metrics: Context<MetricsPublisher>,
    desks: Context<DeskRegistry>,
}

impl Fanout {
    /// Starts the hub registry and readies the metrics publisher's mailbox.
    pub fn new() -> Self {
        Fanout {
            hubs: HubRegistry::default().start(),
            metrics: Context::new(),
            desks: Context::new(),
        }
    }

    /// What the writer calls after each commit: the events go to their org's hub, and an org
    /// whose calls or extensions changed gets its totals re-published.
    pub fn publisher(&self) -> Publisher {
        let (hubs, metrics) = (self.hubs.clone(), self.metrics.address());
        Box::new(move |org_id, events| {
            let moves_totals = events
                .iter()
                .any(|e| e.event_type.is_call() || e.event_type == EventType::ExtensionUpdated);
            if moves_totals {
                metrics.do_send(Touched(org_id.clone()));
            }
            hubs.do_send(Publish {
                org_id: org_id.clone(),
                events,
            })
        })
    }
}

impl Default for Fanout {
    fn default() -> Self {
        Self::new()
    }
}

impl Actors {
    /// Starts every long-lived actor over the engine.
    pub fn start(engine: Arc<Engine>, fanout: Fanout) -> Self {
        fanout.metrics.run(MetricsPublisher::new(engine.clone()));
        let extensions =
            ExtensionRegistry::new(engine.clone(), fanout.desks.address().recipient()).start();
        let campaigns_context = Context::<CampaignRegistry>::new();
        let prices_context = Context::<PriceFetcher>::new();
        // The call actors' listeners stand above them and need the registry: they get their
        // addresses first, and start once it exists.
        let calls = CallRegistry::new(CallDeps {
            engine: engine.clone(),
            extensions: extensions.clone(),
            listeners: Listeners {
                campaigns: campaigns_context.address().recipient(),
                desks: fanout.desks.address().recipient(),
                prices: prices_context.address().recipient(),
            },
        })
        .start();
        let desks = fanout
            .desks
            .run(DeskRegistry::new(engine.clone(), calls.clone()));
        prices_context.run(PriceFetcher::new(engine.clone(), calls.clone()));
        let campaigns = campaigns_context.run(CampaignRegistry::new(
            engine.clone(),
            calls.clone(),
            extensions.clone(),
            desks.clone(),
        ));
        let dialer = Dialer::new(engine.clone(), calls.clone(), extensions.clone());
        let resync = pbx_resync::ResyncDeps {
            engine: engine.clone(),
            calls: calls.clone(),
            extensions: extensions.clone(),
        };
        Actors {
            pbx_watch: pbx_resync::PbxWatch::new(resync.clone()).start(),
            resync,
            callbacks: scheduled_callbacks::CallbackScheduler::new(
                engine,
                dialer.clone(),
                campaigns.clone(),
            )
            .start(),
            dialer,
            calls,
            extensions,
            campaigns,
            hubs: fanout.hubs,
            desks,
        }
    }
}
