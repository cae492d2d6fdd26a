//! What a call tells those who listen to it — its news — once each change is committed. The call
//! actor holds only `Recipient`s of these (the actix chat example's way): it never names the
//! campaigns, the desk or the price fetcher that hear them, and they import the call, not the
//! other way round.

use crate::domain::call::CallStatus;
use crate::domain::ids::{CallId, OrgId};
use crate::providers::Provider;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A call of the campaign changed (sent by its call actor).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct CallChanged {
    pub org_id: OrgId,
    pub campaign_id: String,
    pub call_id: String,
    pub contact_id: Option<String>,
    pub status: CallStatus,
    pub has_analytics: bool,
    pub disposition: Option<String>,
    /// Answering-machine detection's result.
    pub amd: Option<String>,
    /// Answered while no agent of the campaign's queue was free: hung up (abandoned).
    pub abandoned: bool,
    /// Answered by the one definition (it has `answered_at`).
    pub answered: bool,
}

/// A queued call's actor reports a committed change: a new caller waits, or a call the desk
/// knows left the live statuses.
#[derive(Message)]
#[rtype(result = "()")]
pub struct QueuedCallChanged {
    pub org_id: OrgId,
    pub call_id: String,
    pub queue_id: String,
    pub queued_at: DateTime<Utc>,
    pub live: bool,
    pub assigned: bool,
    /// Its agent is on the line with it (the desk connected them).
    pub connected: bool,
    /// A campaign's call (given to an agent when answered, never queued as a caller).
    pub outbound: bool,
    /// The caller's screen pop (with the call), shown with every offer.
    pub pop: Option<Value>,
}

/// A call whose price is wanted.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct WantPrice {
    pub org_id: OrgId,
    pub call_id: CallId,
    pub provider: Provider,
    pub provider_call_id: String,
    /// When the engine saw the call end (its own clock: a provider's may be off, or the call's
    /// times old): its price is given up a day after.
    pub seen_ended_at: DateTime<Utc>,
}

/// Who hears a call's news.
#[derive(Clone)]
pub struct Listeners {
    /// A campaign's call changed (its status, analytics): the campaign counts it.
    pub campaigns: Recipient<CallChanged>,
    /// A queued call changed (a caller starts waiting, hangs up, or its call ends): its org's desk.
    pub desks: Recipient<QueuedCallChanged>,
    /// A call whose price the provider's API will know has ended.
    pub prices: Recipient<WantPrice>,
}
