//! Late prices: Twilio's status callbacks carry no price and Exotel's rarely do, so for an
//! account that sets `"fetch_prices": "true"` a finished call's price is read from the provider's
//! call-details API — off the ingest path, at most one request a second per account, again later
//! while the provider has not priced the call yet, given up 24 h after the call ended
//! (CONTRACT.md, "Billing and credits"). A price found goes to the call's actor as an event of its
//! own: the call, its bill, the org's totals and its credits move with it, and its timeline says so.
//!
//! What is still to be asked is durable without a list of its own: a finished call with no
//! provider price that ended less than a day ago. On start the fetcher reads those back from the
//! calls table, so a deploy between a call's end and its price forgets nothing.

use super::call::news::WantPrice;
use super::call::registry::{deliver, CallRef, CallRegistry};
use super::call::ProviderEvent;
use crate::db::queries;
use crate::domain::call::{Authority, CallEvent};
use crate::domain::ids::{CallId, OrgId};
use crate::domain::time::{from_text, to_text};
use crate::engine::Engine;
use crate::providers::outbound::fetch_price;
use crate::providers::Provider;
use actix::prelude::*;
use chrono::Utc;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a call's price is waited for after the call ended.
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The longest wait between two asks (the first is `SWITCHBOARD_PRICE_RETRY_S`, doubled each time).
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// A wanted price and when to ask for it.
struct Wanted {
    call: WantPrice,
    due: Instant,
    attempts: u32,
}

/// Asks the providers' APIs for the prices of finished calls, one request a second per account.
pub struct PriceFetcher {
    engine: Arc<Engine>,
    calls: Addr<CallRegistry>,
    /// By account (`org:provider`), in the order they were wanted.
    wanted: HashMap<String, Vec<Wanted>>,
    /// How often each account may be asked.
    every: Duration,
}

impl PriceFetcher {
    pub fn new(engine: Arc<Engine>, calls: Addr<CallRegistry>) -> Self {
        PriceFetcher {
            engine,
            calls,
            wanted: HashMap::new(),
            every: Duration::from_secs(1),
        }
    }

    /// Each account's first due call, asked now.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        for queue in self.wanted.values_mut() {
            let Some(i) = queue.iter().position(|w| w.due <= now) else {
                continue;
            };
            let wanted = queue.remove(i);
            let (engine, calls, me) = (self.engine.clone(), self.calls.clone(), ctx.address());
            actix::spawn(async move {
                if !ask(&engine, &calls, &wanted.call).await {
                    me.do_send(Retry(wanted));
                }
            });
        }
        self.wanted.retain(|_, queue| !queue.is_empty());
    }
}

/// Reads one call's price and hands it to the call; false when it is to be asked again.
async fn ask(engine: &Engine, calls: &Addr<CallRegistry>, call: &WantPrice) -> bool {
    let credentials = match engine.orgs.credentials(&call.org_id, call.provider).await {
        Ok(Some(credentials)) => credentials,
        Ok(None) => return true, // The account is gone: nothing to ask.
        Err(error) => {
            tracing::warn!(%error, call_id = %call.call_id, "the call's account could not be read yet");
            return false;
        }
    };
    let price = match fetch_price(&engine.http, &credentials, &call.provider_call_id).await {
        Ok(Some(price)) => price,
        Ok(None) => return false,
        Err(error) => {
            tracing::warn!(%error, provider = call.provider.as_str(), "the call's price could not be read yet");
            return false;
        }
    };
    let event = ProviderEvent {
        event: CallEvent {
            authority: Authority::Provider,
            cost: Some(price.amount.clone()),
            currency: Some(price.currency.clone()),
            ..CallEvent::default()
        },
        dedupe_key: format!(
            "{}:price:{}:{}",
            call.provider.as_str(),
            call.provider_call_id,
            price.amount
        ),
        inbox: None,
        kind: "price",
        raw_status: None,
        data: serde_json::json!({"price": price.amount, "price_unit": price.currency}),
        screen_pop: None,
        snapshot: false,
    };
    let target = CallRef::Ours(call.org_id.clone(), call.call_id.clone());
    match deliver(calls, target, event).await {
        Ok(_) => true,
        Err(error) => {
            tracing::warn!(%error, call_id = %call.call_id, "the call's price could not be stored yet");
            false
        }
    }
}

impl Actor for PriceFetcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.every, |act, ctx| act.tick(ctx));
        let (engine, me) = (self.engine.clone(), ctx.address());
        actix::spawn(async move {
            // Until the database answers: what is not read back here is never asked.
            while let Err(error) = recover(&engine, &me).await {
                tracing::error!(%error, "the prices still to be asked cannot be read back yet; retrying");
                actix::clock::sleep(Duration::from_secs(5)).await;
            }
        });
    }
}

/// Wants again the price of every call that ended in the last day without one, for accounts
/// that fetch prices: what the fetcher held in memory before a restart.
async fn recover(engine: &Engine, me: &Addr<PriceFetcher>) -> Result<(), crate::error::AppError> {
    const PAGE: i64 = 1_000;
    let since = to_text(Utc::now() - GIVE_UP_AFTER);
    let mut after: Option<String> = None;
    let mut wanted = 0usize;
    loop {
        let (since, from) = (since.clone(), after.clone());
        let page = engine
            .read(move |conn| {
                Ok(queries::unpriced_calls(
                    conn,
                    &since,
                    from.as_deref(),
                    PAGE,
                )?)
            })
            .await?;
        after = page.last().map(|call| call.id.clone());
        for call in &page {
            let Some(provider) = Provider::parse(&call.provider) else {
                continue;
            };
            let org_id = OrgId::from_stored(call.org_id.clone());
            // One account that cannot be read now does not stop the others' prices.
            let fetches = match engine.orgs.credentials(&org_id, provider).await {
                Ok(credentials) => credentials.is_some_and(|c| c.fetches_prices()),
                Err(error) => {
                    tracing::warn!(%error, call_id = %call.id, "its account cannot be read: its price is not asked again");
                    false
                }
            };
            if !fetches {
                continue;
            }
            me.do_send(WantPrice {
                org_id,
                call_id: CallId::from_stored(call.id.clone()),
                provider,
                provider_call_id: call.provider_call_id.clone().unwrap_or_default(),
                seen_ended_at: from_text(&call.last_event_at).unwrap_or_else(Utc::now),
            });
            wanted += 1;
        }
        if (page.len() as i64) < PAGE {
            break;
        }
    }
    if wanted > 0 {
        tracing::info!(calls = wanted, "prices still to be asked were read back");
    }
    Ok(())
}

impl Handler<WantPrice> for PriceFetcher {
    type Result = ();

    fn handle(&mut self, msg: WantPrice, _: &mut Context<Self>) {
        let account = format!("{}:{}", msg.org_id, msg.provider.as_str());
        let now = Instant::now();
        self.wanted.entry(account).or_default().push(Wanted {
            call: msg,
            // Providers price a call a few seconds after it ends.
            due: now + Duration::from_secs(2),
            attempts: 0,
        });
    }
}

/// A price not found yet: asked again later, until a day has passed.
#[derive(Message)]
#[rtype(result = "()")]
struct Retry(Wanted);

impl Handler<Retry> for PriceFetcher {
    type Result = ();

    fn handle(&mut self, msg: Retry, _: &mut Context<Self>) {
        let mut wanted = msg.0;
        if (Utc::now() - wanted.call.seen_ended_at)
            .to_std()
            .unwrap_or_default()
            >= GIVE_UP_AFTER
        {
            tracing::warn!(call_id = %wanted.call.call_id, "no price from the provider after a day; given up");
            return;
        }
        let wait = self
            .engine
            .settings
            .price_retry
            .saturating_mul(2u32.saturating_pow(wanted.attempts))
            .min(LONGEST_WAIT);
        wanted.attempts += 1;
        wanted.due = Instant::now() + wait;
        let account = format!("{}:{}", wanted.call.org_id, wanted.call.provider.as_str());
        self.wanted.entry(account).or_default().push(wanted);
    }
}
