//! The agent desk as plain data: agents with an availability of their own beside their
//! extensions' presence, queues with skills, SLA and ring timeout, the calls waiting in them, and
//! the routing rule — a waiting call (higher-priority queue first, then longest waiting) is offered
//! to the longest-idle free agent with the queue's skills who has not turned it down this round.
//!
//! Every state has a way out by time: an offer expires after the queue's ring timeout, wrap-up
//! ends after the queue's wrap-up time, a caller waits at most the queue's maximum wait; and an
//! agent who misses `max_missed_offers` offers in a row is set `away` (reason `missed_offers`).
//! The actor that owns a [`Desk`] asks [`Desk::next_deadline`] when to look again.

use super::extension::Presence;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// What an agent says of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Available,
    Away,
    Break,
    LoggedOut,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Away => "away",
            Self::Break => "break",
            Self::LoggedOut => "logged_out",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        [Self::Available, Self::Away, Self::Break, Self::LoggedOut]
            .into_iter()
            .find(|a| a.as_str() == word)
    }
}

/// What an agent is doing, derived from its availability, reachability, offer and calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentState {
    Idle,
    Offered,
    Busy,
    WrapUp,
    Unavailable,
}

impl AgentState {
    pub const ALL: [AgentState; 5] = [
        Self::Idle,
        Self::Offered,
        Self::Busy,
        Self::WrapUp,
        Self::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Offered => "offered",
            Self::Busy => "busy",
            Self::WrapUp => "wrap_up",
            Self::Unavailable => "unavailable",
        }
    }
}

/// The disposition codes of an org that has not set its own: `DNC` lists the number as
/// do-not-call, `CALLBACK` schedules a dial at its `callback_at`.
pub const DEFAULT_DISPOSITIONS: [(&str, &str); 4] = [
    ("SALE", "Sale"),
    ("CALLBACK", "Call back"),
    ("NOT_INTERESTED", "Not interested"),
    ("DNC", "Do not call"),
];

/// The disposition code that lists the number as do-not-call.
pub const DNC: &str = "DNC";
/// The disposition code that schedules a dial at its `callback_at`.
pub const CALLBACK: &str = "CALLBACK";

/// The reason an agent is set `away` by the desk after missed offers.
pub const MISSED_OFFERS: &str = "missed_offers";

/// An agent as configured (stored) and as it stands now (in memory).
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub extensions: Vec<String>,
    pub skills: Vec<String>,
    /// Where a provider connects a caller to this agent: a number or a `sip:` URI.
    pub phone: Option<String>,
    pub availability: Availability,
    pub availability_reason: Option<String>,
    pub availability_since: DateTime<Utc>,
    /// Open dashboard sessions of this agent.
    pub sessions: u32,
    /// The presence of each of its extensions, as last heard.
    pub presence: HashMap<String, Presence>,
    pub offer: Option<Offer>,
    /// The queued call it took, while that call is live.
    pub call: Option<String>,
    pub wrap_up_until: Option<DateTime<Utc>>,
    /// Since when it has been free: the longest-idle agent is offered first.
    pub idle_since: DateTime<Utc>,
    /// Offers missed in a row.
    pub missed: u32,
}

impl Agent {
    /// A configured agent, with nothing live yet.
    pub fn new(id: String, name: String, availability: Availability, since: DateTime<Utc>) -> Self {
        Agent {
            id,
            name,
            extensions: Vec::new(),
            skills: Vec::new(),
            phone: None,
            availability,
            availability_reason: None,
            availability_since: since,
            sessions: 0,
            presence: HashMap::new(),
            offer: None,
            call: None,
            wrap_up_until: None,
            idle_since: since,
            missed: 0,
        }
    }

    /// Reachable: a dashboard session is open for it, or one of its extensions is registered.
    pub fn reachable(&self) -> bool {
        self.sessions > 0
            || self.extensions.iter().any(|n| {
                matches!(
                    self.presence.get(n),
                    Some(Presence::Online | Presence::Ringing | Presence::Incall)
                )
            })
    }

    /// One of its extensions rings or is in a call (a call the desk did not give it counts too).
    fn phone_busy(&self) -> bool {
        self.extensions.iter().any(|n| {
            matches!(
                self.presence.get(n),
                Some(Presence::Ringing | Presence::Incall)
            )
        })
    }

    fn dnd(&self) -> bool {
        self.extensions
            .iter()
            .any(|n| self.presence.get(n) == Some(&Presence::Dnd))
    }

    pub fn state(&self, now: DateTime<Utc>) -> AgentState {
        if self.call.is_some() || self.phone_busy() {
            AgentState::Busy
        } else if self.offer.is_some() {
            AgentState::Offered
        } else if self.wrap_up_until.is_some_and(|until| until > now) {
            AgentState::WrapUp
        } else if self.availability != Availability::Available || !self.reachable() || self.dnd() {
            AgentState::Unavailable
        } else {
            AgentState::Idle
        }
    }

    /// The contract's agent object, with its live state.
    pub fn to_json(&self, now: DateTime<Utc>) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "extensions": self.extensions,
            "skills": self.skills,
            "phone": self.phone,
            "availability": self.availability.as_str(),
            "availability_reason": self.availability_reason,
            "availability_since": self.availability_since,
            "state": self.state(now).as_str(),
            "reachable": self.reachable(),
            "sessions": self.sessions,
            "call_id": self.call,
            "offer": self.offer.as_ref().map(|o| serde_json::json!({
                "call_id": o.call_id, "queue_id": o.queue_id, "expires_at": o.expires_at,
            })),
            "wrap_up_until": self.wrap_up_until.filter(|until| *until > now),
            "idle_since": self.idle_since,
            "missed_offers": self.missed,
        })
    }

    /// Whether it can take a call of a queue needing `skills` (a queue without skills takes all).
    fn has_skills(&self, skills: &[String]) -> bool {
        skills.iter().all(|s| self.skills.contains(s))
    }
}

/// A call offered to an agent, until it accepts, rejects or the offer expires.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub call_id: String,
    pub queue_id: String,
    pub expires_at: DateTime<Utc>,
    /// Accept is being committed: the offer neither expires nor moves on meanwhile.
    pub accepting: bool,
}

/// Where a caller goes after the queue's maximum wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overflow {
    /// Into another queue of the org, keeping its place in time.
    Queue(String),
    /// Hears this message and is hung up.
    Message(String),
}

/// A queue as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    pub id: String,
    pub name: String,
    pub skills: Vec<String>,
    pub sla_s: i64,
    pub ring_timeout_s: i64,
    pub wrap_up_s: i64,
    /// The number callers dial to reach this queue (calls to it are queued here).
    pub number: Option<String>,
    pub priority: i32,
    pub max_wait_s: Option<i64>,
    pub overflow: Option<Overflow>,
    pub max_missed_offers: u32,
}

impl Queue {
    /// The contract's queue object, with its live figures when known.
    pub fn to_json(&self, figures: Option<&QueueFigures>) -> serde_json::Value {
        let mut json = serde_json::json!({
            "id": self.id,
            "name": self.name,
            "skills": self.skills,
            "sla_s": self.sla_s,
            "ring_timeout_s": self.ring_timeout_s,
            "wrap_up_s": self.wrap_up_s,
            "number": self.number,
            "priority": self.priority,
            "max_wait_s": self.max_wait_s,
            "overflow_queue_id": match &self.overflow { Some(Overflow::Queue(id)) => Some(id), _ => None },
            "overflow_message": match &self.overflow { Some(Overflow::Message(m)) => Some(m), _ => None },
            "max_missed_offers": self.max_missed_offers,
        });
        if let (Some(f), serde_json::Value::Object(fields)) = (figures, &mut json) {
            let agents: serde_json::Map<String, serde_json::Value> = f
                .agents
                .iter()
                .map(|(state, n)| (state.as_str().to_owned(), serde_json::json!(n)))
                .collect();
            for (key, value) in [
                ("waiting", serde_json::json!(f.waiting)),
                ("longest_wait_s", serde_json::json!(f.longest_wait_s)),
                ("answered", serde_json::json!(f.counts.answered)),
                (
                    "answered_within_sla",
                    serde_json::json!(f.counts.answered_within_sla),
                ),
                ("abandoned", serde_json::json!(f.counts.abandoned)),
                ("overflowed", serde_json::json!(f.counts.overflowed)),
                ("agents", serde_json::Value::Object(agents)),
            ] {
                fields.insert(key.to_owned(), value);
            }
        }
        json
    }

    /// A queue with the defaults: no skills (every agent), 20 s SLA, 15 s ring timeout, 10 s
    /// wrap-up, no number, priority 0, no maximum wait, away after 2 missed offers.
    pub fn new(id: String, name: String) -> Self {
        Queue {
            id,
            name,
            skills: Vec::new(),
            sla_s: 20,
            ring_timeout_s: 15,
            wrap_up_s: 10,
            number: None,
            priority: 0,
            max_wait_s: None,
            overflow: None,
            max_missed_offers: 2,
        }
    }
}

/// A caller waiting in a queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub call_id: String,
    pub queue_id: String,
    pub since: DateTime<Utc>,
    /// Agents that rejected or missed it this round.
    pub passed: Vec<String>,
    pub offered_to: Option<String>,
    /// The screen pop shown with each offer.
    pub pop: serde_json::Value,
}

/// A queue's counts since the desk began counting (the day, for the engine).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub answered: u64,
    pub answered_within_sla: u64,
    pub abandoned: u64,
    pub overflowed: u64,
}

impl Counts {
    /// An answer: an agent accepted the caller (within the queue's SLA or not).
    pub fn answer(&mut self, within_sla: bool) {
        self.answered += 1;
        self.answered_within_sla += u64::from(within_sla);
    }

    /// Takes back an answer counted at an accept that never became a conversation.
    fn unanswer(&mut self, within_sla: bool) {
        self.answered = self.answered.saturating_sub(1);
        if within_sla {
            self.answered_within_sla = self.answered_within_sla.saturating_sub(1);
        }
    }
}

/// A queue's live figures: what a wallboard reads.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueFigures {
    pub waiting: usize,
    pub longest_wait_s: i64,
    pub counts: Counts,
    /// Agents who could take this queue's calls, by state.
    pub agents: Vec<(AgentState, usize)>,
}

/// A call an agent took, while it is live.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    pub agent_id: String,
    pub queue_id: String,
    /// Counted as answered within the SLA.
    pub within_sla: bool,
    /// A campaign's answered call given to the agent (not one of the queue's callers: not
    /// counted in its figures).
    pub outbound: bool,
    /// When the agent took it: with the queue's mean talk time, when the agent will be free.
    pub since: DateTime<Utc>,
}

/// A queue's agents as a campaign paces by them: those idle now (less the answered calls
/// already waiting for one), and those expected to be free within the look-ahead.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outlook {
    pub idle: usize,
    pub freeing: usize,
}

/// How much of each new talk time the queue's mean takes (an exponential moving average:
/// about the last 20 calls count).
const TALK_WEIGHT: f64 = 0.1;

/// How long an answered campaign call waits for a free agent before it is abandoned
/// (CONTRACT.md "Dialer": no free agent within 2 s).
pub const ANSWER_WAIT_S: i64 = 2;

/// A campaign's call a person answered, waiting (at most [`ANSWER_WAIT_S`]) for a free agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    pub call_id: String,
    pub queue_id: String,
    pub until: DateTime<Utc>,
}

/// Why an accept or reject is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferRefusal {
    /// The offer moved on, or the call is already accepted or gone.
    Expired,
    UnknownAgent,
}

/// What a change asks the owner to do: tell the dashboards, connect the caller, end a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Offer the call to the agent (`incoming:call` with its `offer`).
    Offer {
        call_id: String,
        agent_id: String,
        expires_at: DateTime<Utc>,
    },
    /// The agent's state or availability changed (`agent:updated`); `stored` when its
    /// availability changed and must be written.
    AgentChanged { agent_id: String, stored: bool },
    /// The queue's figures changed (`queue:updated`).
    QueueChanged(String),
    /// The caller waited the queue's maximum: play this and hang up.
    Overflowed { call_id: String, message: String },
    /// A campaign's answered call goes to this agent at once: commit and connect.
    Connect { call_id: String, agent_id: String },
    /// No agent was free for a campaign's answered call in time: it hears the campaign's
    /// abandon message and is hung up.
    Abandon { call_id: String },
}

/// One org's agents, queues and waiting callers.
#[derive(Debug, Clone, Default)]
pub struct Desk {
    pub agents: HashMap<String, Agent>,
    pub queues: HashMap<String, Queue>,
    pub waiting: Vec<Waiting>,
    pub assigned: HashMap<String, Assigned>,
    pub counts: HashMap<String, Counts>,
    /// Campaigns' answered calls waiting for a free agent, oldest first.
    pub answered: Vec<Answered>,
    /// Each queue's mean talk time of its agents' calls, in seconds (moving average), once one
    /// has ended.
    pub talk_s: HashMap<String, f64>,
}

fn seconds(s: i64) -> Duration {
    Duration::seconds(s.max(0))
}

impl Desk {
    /// The queue a new inbound call to `to` waits in: the queue with that number, else the
    /// highest-priority queue without a number; none when the org has no such queue.
    pub fn queue_for(&self, to: Option<&str>) -> Option<&Queue> {
        let by_number = self
            .queues
            .values()
            .find(|q| q.number.is_some() && q.number.as_deref() == to);
        by_number.or_else(|| {
            self.queues
                .values()
                .filter(|q| q.number.is_none())
                .max_by(|a, b| a.priority.cmp(&b.priority).then(b.id.cmp(&a.id)))
        })
    }

    /// A caller starts waiting (a repeat of a call already here or taken changes nothing).
    pub fn enqueue(
        &mut self,
        call_id: &str,
        queue_id: &str,
        since: DateTime<Utc>,
        pop: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let known = self.waiting.iter().any(|w| w.call_id == call_id)
            || self.assigned.contains_key(call_id);
        if known || !self.queues.contains_key(queue_id) {
            return Vec::new();
        }
        self.waiting.push(Waiting {
            call_id: call_id.to_owned(),
            queue_id: queue_id.to_owned(),
            since,
            passed: Vec::new(),
            offered_to: None,
            pop,
        });
        let mut effects = vec![Effect::QueueChanged(queue_id.to_owned())];
        effects.extend(self.route(now));
        effects
    }

    /// A campaign's call was answered by a person: it goes to a free agent of the queue at once,
    /// or waits for one at most [`ANSWER_WAIT_S`].
    pub fn campaign_answered(
        &mut self,
        call_id: &str,
        queue_id: &str,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let known = self.answered.iter().any(|a| a.call_id == call_id)
            || self.assigned.contains_key(call_id);
        if !known {
            self.answered.push(Answered {
                call_id: call_id.to_owned(),
                queue_id: queue_id.to_owned(),
                until: now + seconds(ANSWER_WAIT_S),
            });
        }
        self.route(now)
    }

    /// The agents a progressive or predictive campaign paces by: idle agents who can take the
    /// queue's calls (less the answered calls already waiting for one), and — for a predictive
    /// campaign's look-ahead — those expected to be free within `horizon`: their wrap-up ends,
    /// or their call will have lasted its queue's mean talk time (plus the wrap-up after it) —
    /// not one already past that. An agent away, unreachable, offered a call or busy on a call
    /// of its own is in neither.
    pub fn outlook_for(&self, queue_id: &str, now: DateTime<Utc>, horizon: Duration) -> Outlook {
        let Some(queue) = self.queues.get(queue_id) else {
            return Outlook::default();
        };
        let by = now + horizon;
        let mut outlook = Outlook::default();
        for agent in self.agents.values().filter(|a| a.has_skills(&queue.skills)) {
            match agent.state(now) {
                AgentState::Idle => outlook.idle += 1,
                _ if agent.availability != Availability::Available
                    || !agent.reachable()
                    || agent.offer.is_some() => {}
                AgentState::WrapUp => {
                    outlook.freeing += usize::from(agent.wrap_up_until.is_some_and(|u| u <= by));
                }
                AgentState::Busy => {
                    let free_at = agent.call.as_ref().and_then(|call| {
                        let assigned = self.assigned.get(call)?;
                        let talk = self.talk_s.get(&assigned.queue_id)?;
                        let wrap_up = self
                            .queues
                            .get(&assigned.queue_id)
                            .map_or(0, |q| q.wrap_up_s);
                        let talk = Duration::milliseconds((talk * 1000.0) as i64);
                        Some(assigned.since + talk + seconds(wrap_up))
                    });
                    // A call already past its expected end says nothing of when it ends.
                    let soon = free_at.is_some_and(|at| now <= at && at <= by);
                    outlook.freeing += usize::from(soon);
                }
                _ => {}
            }
        }
        let waiting = self
            .answered
            .iter()
            .filter(|a| a.queue_id == queue_id)
            .count();
        outlook.idle = outlook.idle.saturating_sub(waiting);
        outlook
    }

    /// Gives waiting answered campaign calls to the longest-idle free agent of their queue.
    fn connect_answered(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut i = 0;
        while i < self.answered.len() {
            let skills = self
                .queues
                .get(&self.answered[i].queue_id)
                .map(|q| q.skills.clone());
            let pick = skills.and_then(|skills| {
                self.agents
                    .values()
                    .filter(|a| a.state(now) == AgentState::Idle && a.has_skills(&skills))
                    .min_by_key(|a| (a.idle_since, a.id.clone()))
                    .map(|a| a.id.clone())
            });
            let Some(agent_id) = pick else {
                i += 1;
                continue;
            };
            let answered = self.answered.remove(i);
            if let Some(agent) = self.agents.get_mut(&agent_id) {
                agent.call = Some(answered.call_id.clone());
            }
            self.assigned.insert(
                answered.call_id.clone(),
                Assigned {
                    agent_id: agent_id.clone(),
                    queue_id: answered.queue_id,
                    within_sla: false,
                    outbound: true,
                    since: now,
                },
            );
            effects.push(Effect::Connect {
                call_id: answered.call_id,
                agent_id: agent_id.clone(),
            });
            effects.push(Effect::AgentChanged {
                agent_id,
                stored: false,
            });
        }
        effects
    }

    /// Offers every waiting call that can be offered now; answers the offers made. A person on
    /// the line of a campaign's call goes first.
    pub fn route(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let mut effects = self.connect_answered(now);
        let mut order: Vec<usize> = (0..self.waiting.len())
            .filter(|&i| self.waiting[i].offered_to.is_none())
            .collect();
        let priority = |w: &Waiting| self.queues.get(&w.queue_id).map_or(0, |q| q.priority);
        order.sort_by(|&a, &b| {
            let (a, b) = (&self.waiting[a], &self.waiting[b]);
            priority(b).cmp(&priority(a)).then(a.since.cmp(&b.since))
        });
        for i in order {
            let Some(queue) = self.queues.get(&self.waiting[i].queue_id) else {
                continue;
            };
            let free: Vec<&Agent> = self
                .agents
                .values()
                .filter(|a| a.state(now) == AgentState::Idle && a.has_skills(&queue.skills))
                .collect();
            let untried: Vec<&&Agent> = free
                .iter()
                .filter(|a| !self.waiting[i].passed.contains(&a.id))
                .collect();
            // Everyone free has passed on it: a new round.
            let new_round = untried.is_empty();
            let pick = if new_round {
                free.iter().min_by_key(|a| (a.idle_since, a.id.clone()))
            } else {
                untried
                    .into_iter()
                    .min_by_key(|a| (a.idle_since, a.id.clone()))
            };
            let Some(agent_id) = pick.map(|a| a.id.clone()) else {
                continue;
            };
            let expires_at = now + seconds(queue.ring_timeout_s);
            let waiting = &mut self.waiting[i];
            if new_round {
                waiting.passed.clear();
            }
            waiting.offered_to = Some(agent_id.clone());
            let offer = Offer {
                call_id: waiting.call_id.clone(),
                queue_id: waiting.queue_id.clone(),
                expires_at,
                accepting: false,
            };
            let call_id = offer.call_id.clone();
            if let Some(agent) = self.agents.get_mut(&agent_id) {
                agent.offer = Some(offer);
            }
            effects.push(Effect::Offer {
                call_id,
                agent_id: agent_id.clone(),
                expires_at,
            });
            effects.push(Effect::AgentChanged {
                agent_id,
                stored: false,
            });
        }
        effects
    }

    fn current_offer(&self, call_id: &str, agent_id: &str) -> Result<&Offer, OfferRefusal> {
        let agent = self
            .agents
            .get(agent_id)
            .ok_or(OfferRefusal::UnknownAgent)?;
        agent
            .offer
            .as_ref()
            .filter(|o| o.call_id == call_id)
            .ok_or(OfferRefusal::Expired)
    }

    /// The agent says yes: the offer holds (neither expires nor moves on) while the assignment
    /// is committed. Refused when the offer is not this agent's any more.
    pub fn begin_accept(
        &mut self,
        call_id: &str,
        agent_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), OfferRefusal> {
        let offer = self.current_offer(call_id, agent_id)?;
        if offer.accepting || offer.expires_at <= now {
            return Err(OfferRefusal::Expired);
        }
        if let Some(offer) = self.agents.get_mut(agent_id).and_then(|a| a.offer.as_mut()) {
            offer.accepting = true;
        }
        Ok(())
    }

    /// The assignment is committed: the call leaves the queue, the agent is busy with it.
    pub fn accepted(&mut self, call_id: &str, agent_id: &str, now: DateTime<Utc>) -> Vec<Effect> {
        let Some(at) = self.waiting.iter().position(|w| w.call_id == call_id) else {
            return Vec::new();
        };
        let waiting = self.waiting.remove(at);
        let sla = self.queues.get(&waiting.queue_id).map_or(0, |q| q.sla_s);
        let within_sla = now - waiting.since <= seconds(sla);
        self.counts
            .entry(waiting.queue_id.clone())
            .or_default()
            .answer(within_sla);
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.offer = None;
            agent.call = Some(call_id.to_owned());
            agent.missed = 0;
        }
        self.assigned.insert(
            call_id.to_owned(),
            Assigned {
                agent_id: agent_id.to_owned(),
                queue_id: waiting.queue_id.clone(),
                within_sla,
                outbound: false,
                since: now,
            },
        );
        vec![
            Effect::AgentChanged {
                agent_id: agent_id.to_owned(),
                stored: false,
            },
            Effect::QueueChanged(waiting.queue_id),
        ]
    }

    /// The assignment could not be committed: the offer is released and the call offered again.
    pub fn accept_failed(
        &mut self,
        call_id: &str,
        agent_id: &str,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        self.pass(call_id, agent_id, false, now)
    }

    /// The agent turns the offer down: the call goes to the next agent.
    pub fn reject(
        &mut self,
        call_id: &str,
        agent_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>, OfferRefusal> {
        let offer = self.current_offer(call_id, agent_id)?;
        if offer.accepting {
            return Err(OfferRefusal::Expired);
        }
        Ok(self.pass(call_id, agent_id, false, now))
    }

    /// The agent did not take the offer (rejected, missed, or went away): it passes this round,
    /// and a missed offer counts towards being set away.
    fn pass(
        &mut self,
        call_id: &str,
        agent_id: &str,
        missed: bool,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut stored = false;
        if let Some(agent) = self.agents.get_mut(agent_id) {
            if agent.offer.as_ref().is_some_and(|o| o.call_id == call_id) {
                agent.offer = None;
            }
            if missed {
                agent.missed += 1;
                let limit = self
                    .waiting
                    .iter()
                    .find(|w| w.call_id == call_id)
                    .and_then(|w| self.queues.get(&w.queue_id))
                    .map_or(2, |q| q.max_missed_offers);
                if limit > 0
                    && agent.missed >= limit
                    && agent.availability == Availability::Available
                {
                    agent.availability = Availability::Away;
                    agent.availability_reason = Some(MISSED_OFFERS.to_owned());
                    agent.availability_since = now;
                    stored = true;
                }
            }
        }
        effects.push(Effect::AgentChanged {
            agent_id: agent_id.to_owned(),
            stored,
        });
        if let Some(waiting) = self.waiting.iter_mut().find(|w| w.call_id == call_id) {
            if waiting.offered_to.as_deref() == Some(agent_id) {
                waiting.offered_to = None;
            }
            if !waiting.passed.iter().any(|p| p == agent_id) {
                waiting.passed.push(agent_id.to_owned());
            }
        }
        effects.extend(self.route(now));
        effects
    }

    /// A call the desk knows left the live statuses: a waiting caller hung up (abandoned), or an
    /// agent's call ended (wrap-up starts). A caller an agent accepted who hung up before the desk
    /// connected them (`connected` false) never talked to anyone: it is abandoned, not answered,
    /// and the agent is free at once.
    pub fn call_ended(
        &mut self,
        call_id: &str,
        connected: bool,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.answered.retain(|a| a.call_id != call_id);
        if let Some(at) = self.waiting.iter().position(|w| w.call_id == call_id) {
            let waiting = self.waiting.remove(at);
            self.counts
                .entry(waiting.queue_id.clone())
                .or_default()
                .abandoned += 1;
            if let Some(agent_id) = waiting.offered_to {
                if let Some(agent) = self.agents.get_mut(&agent_id) {
                    agent.offer = None;
                }
                effects.push(Effect::AgentChanged {
                    agent_id,
                    stored: false,
                });
            }
            effects.push(Effect::QueueChanged(waiting.queue_id));
        }
        if let Some(assigned) = self.assigned.remove(call_id) {
            let never_talked = !connected && !assigned.outbound;
            if never_talked {
                let counts = self.counts.entry(assigned.queue_id.clone()).or_default();
                counts.unanswer(assigned.within_sla);
                counts.abandoned += 1;
            } else {
                let talked = (now - assigned.since).num_milliseconds().max(0) as f64 / 1000.0;
                self.talk_s
                    .entry(assigned.queue_id.clone())
                    .and_modify(|mean| *mean += (talked - *mean) * TALK_WEIGHT)
                    .or_insert(talked);
            }
            let wrap_up = match never_talked {
                true => 0,
                false => self
                    .queues
                    .get(&assigned.queue_id)
                    .map_or(0, |q| q.wrap_up_s),
            };
            if let Some(agent) = self.agents.get_mut(&assigned.agent_id) {
                if agent.call.as_deref() == Some(call_id) {
                    agent.call = None;
                    let until = now + seconds(wrap_up);
                    agent.wrap_up_until = (wrap_up > 0).then_some(until);
                    agent.idle_since = until;
                }
            }
            effects.push(Effect::AgentChanged {
                agent_id: assigned.agent_id,
                stored: false,
            });
            effects.push(Effect::QueueChanged(assigned.queue_id));
        }
        effects.extend(self.route(now));
        effects
    }

    /// Connecting the caller to the agent who accepted failed: the call waits again, first in
    /// line, and its answer is not counted.
    pub fn connect_failed(&mut self, call_id: &str, now: DateTime<Utc>) -> Vec<Effect> {
        let Some(assigned) = self.assigned.remove(call_id) else {
            return Vec::new();
        };
        if assigned.outbound {
            // A campaign's answered call that could not reach its agent: abandoned.
            if let Some(agent) = self.agents.get_mut(&assigned.agent_id) {
                agent.call = None;
            }
            let mut effects = vec![
                Effect::AgentChanged {
                    agent_id: assigned.agent_id,
                    stored: false,
                },
                Effect::Abandon {
                    call_id: call_id.to_owned(),
                },
            ];
            effects.extend(self.route(now));
            return effects;
        }
        let counts = self.counts.entry(assigned.queue_id.clone()).or_default();
        counts.unanswer(assigned.within_sla);
        if let Some(agent) = self.agents.get_mut(&assigned.agent_id) {
            agent.call = None;
        }
        self.waiting.insert(
            0,
            Waiting {
                call_id: call_id.to_owned(),
                queue_id: assigned.queue_id.clone(),
                since: now,
                passed: vec![assigned.agent_id.clone()],
                offered_to: None,
                pop: serde_json::Value::Null,
            },
        );
        let mut effects = vec![
            Effect::AgentChanged {
                agent_id: assigned.agent_id,
                stored: false,
            },
            Effect::QueueChanged(assigned.queue_id),
        ];
        effects.extend(self.route(now));
        effects
    }

    /// An agent's availability, as it or a supervisor sets it.
    pub fn set_availability(
        &mut self,
        agent_id: &str,
        availability: Availability,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let Some(agent) = self.agents.get_mut(agent_id) else {
            return Vec::new();
        };
        if agent.availability != Availability::Available && availability == Availability::Available
        {
            agent.idle_since = now;
            agent.missed = 0;
        }
        agent.availability = availability;
        agent.availability_reason = reason;
        agent.availability_since = now;
        let mut effects = vec![Effect::AgentChanged {
            agent_id: agent_id.to_owned(),
            stored: true,
        }];
        effects.extend(self.release_if_unavailable(agent_id, now));
        effects.extend(self.route(now));
        effects
    }

    /// An agent who can no longer take its pending offer (away, session gone) gives it up, not
    /// counted as missed.
    fn release_if_unavailable(&mut self, agent_id: &str, now: DateTime<Utc>) -> Vec<Effect> {
        let Some(agent) = self.agents.get(agent_id) else {
            return Vec::new();
        };
        let gone = agent.availability != Availability::Available || !agent.reachable();
        match (&agent.offer, gone) {
            (Some(offer), true) if !offer.accepting => {
                let call_id = offer.call_id.clone();
                self.pass(&call_id, agent_id, false, now)
            }
            _ => Vec::new(),
        }
    }

    /// A dashboard session of the agent opened (`+1`) or closed (`-1`).
    pub fn session(&mut self, agent_id: &str, opened: bool, now: DateTime<Utc>) -> Vec<Effect> {
        let Some(agent) = self.agents.get_mut(agent_id) else {
            return Vec::new();
        };
        let was = agent.state(now);
        if opened {
            agent.sessions += 1;
        } else {
            agent.sessions = agent.sessions.saturating_sub(1);
        }
        let mut effects = Vec::new();
        if agent.state(now) != was {
            effects.push(Effect::AgentChanged {
                agent_id: agent_id.to_owned(),
                stored: false,
            });
        }
        effects.extend(self.release_if_unavailable(agent_id, now));
        effects.extend(self.route(now));
        effects
    }

    /// An extension's presence changed: its agents' states may have.
    pub fn presence(
        &mut self,
        number: &str,
        presence: Presence,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let mut touched = Vec::new();
        for agent in self.agents.values_mut() {
            if agent.extensions.iter().any(|n| n == number) {
                let was = agent.state(now);
                agent.presence.insert(number.to_owned(), presence);
                if agent.state(now) != was {
                    touched.push(agent.id.clone());
                }
            }
        }
        let mut effects = Vec::new();
        for agent_id in touched {
            effects.push(Effect::AgentChanged {
                agent_id: agent_id.clone(),
                stored: false,
            });
            effects.extend(self.release_if_unavailable(&agent_id, now));
        }
        effects.extend(self.route(now));
        effects
    }

    /// What time has decided: expired offers (missed), finished wrap-ups, callers past their
    /// queue's maximum wait (overflowed).
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let mut effects = Vec::new();
        let lapsed: Vec<(String, String)> = self
            .agents
            .values()
            .filter_map(|a| {
                a.offer
                    .as_ref()
                    .filter(|o| !o.accepting && o.expires_at <= now)
                    .map(|o| (o.call_id.clone(), a.id.clone()))
            })
            .collect();
        for (call_id, agent_id) in lapsed {
            effects.extend(self.pass(&call_id, &agent_id, true, now));
        }
        let wrapped: Vec<String> = self
            .agents
            .values_mut()
            .filter(|a| a.wrap_up_until.is_some_and(|until| until <= now))
            .map(|a| {
                a.wrap_up_until = None;
                a.id.clone()
            })
            .collect();
        for agent_id in wrapped {
            effects.push(Effect::AgentChanged {
                agent_id,
                stored: false,
            });
        }
        effects.extend(self.overflow(now));
        let (late, waiting): (Vec<Answered>, Vec<Answered>) = std::mem::take(&mut self.answered)
            .into_iter()
            .partition(|a| a.until <= now);
        self.answered = waiting;
        effects.extend(
            late.into_iter()
                .map(|a| Effect::Abandon { call_id: a.call_id }),
        );
        effects.extend(self.route(now));
        effects
    }

    fn overflow(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut i = 0;
        while i < self.waiting.len() {
            let waiting = &self.waiting[i];
            let queue = self.queues.get(&waiting.queue_id);
            let due = queue
                .and_then(|q| q.max_wait_s)
                .is_some_and(|max| now - waiting.since >= seconds(max));
            let accepting = waiting.offered_to.as_ref().is_some_and(|agent_id| {
                self.agents
                    .get(agent_id)
                    .and_then(|a| a.offer.as_ref())
                    .is_some_and(|o| o.accepting)
            });
            if !due || accepting {
                i += 1;
                continue;
            }
            let overflow = queue.and_then(|q| q.overflow.clone());
            let waiting = self.waiting.remove(i);
            self.counts
                .entry(waiting.queue_id.clone())
                .or_default()
                .overflowed += 1;
            effects.push(Effect::QueueChanged(waiting.queue_id.clone()));
            if let Some(agent_id) = &waiting.offered_to {
                if let Some(agent) = self.agents.get_mut(agent_id) {
                    agent.offer = None;
                }
                effects.push(Effect::AgentChanged {
                    agent_id: agent_id.clone(),
                    stored: false,
                });
            }
            match overflow {
                Some(Overflow::Queue(next)) if self.queues.contains_key(&next) => {
                    effects.push(Effect::QueueChanged(next.clone()));
                    self.waiting.push(Waiting {
                        queue_id: next,
                        since: now,
                        passed: Vec::new(),
                        offered_to: None,
                        ..waiting
                    });
                }
                Some(Overflow::Message(message)) => effects.push(Effect::Overflowed {
                    call_id: waiting.call_id,
                    message,
                }),
                _ => effects.push(Effect::Overflowed {
                    call_id: waiting.call_id,
                    message: String::new(),
                }),
            }
        }
        effects
    }

    /// When [`Desk::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        let offers = self.agents.values().filter_map(|a| {
            a.offer
                .as_ref()
                .filter(|o| !o.accepting)
                .map(|o| o.expires_at)
        });
        let wrap_ups = self.agents.values().filter_map(|a| a.wrap_up_until);
        let waits = self.waiting.iter().filter_map(|w| {
            let max = self.queues.get(&w.queue_id)?.max_wait_s?;
            Some(w.since + seconds(max))
        });
        let answered = self.answered.iter().map(|a| a.until);
        offers.chain(wrap_ups).chain(waits).chain(answered).min()
    }

    /// A queue's live figures.
    pub fn figures(&self, queue_id: &str, now: DateTime<Utc>) -> Option<QueueFigures> {
        let queue = self.queues.get(queue_id)?;
        let waiting: Vec<&Waiting> = self
            .waiting
            .iter()
            .filter(|w| w.queue_id == queue_id)
            .collect();
        let longest_wait_s = waiting
            .iter()
            .map(|w| (now - w.since).num_seconds().max(0))
            .max()
            .unwrap_or(0);
        let members: Vec<AgentState> = self
            .agents
            .values()
            .filter(|a| a.has_skills(&queue.skills))
            .map(|a| a.state(now))
            .collect();
        let agents = AgentState::ALL
            .iter()
            .map(|s| (*s, members.iter().filter(|m| *m == s).count()))
            .collect();
        Some(QueueFigures {
            waiting: waiting.len(),
            longest_wait_s,
            counts: self.counts.get(queue_id).copied().unwrap_or_default(),
            agents,
        })
    }

    /// An agent's configuration changed (created or edited): its live state is kept.
    pub fn put_agent(&mut self, mut agent: Agent, now: DateTime<Utc>) -> Vec<Effect> {
        if let Some(old) = self.agents.remove(&agent.id) {
            agent.sessions = old.sessions;
            agent.presence = old.presence;
            agent.offer = old.offer;
            agent.call = old.call;
            agent.wrap_up_until = old.wrap_up_until;
            agent.idle_since = old.idle_since;
            agent.missed = old.missed;
        }
        let agent_id = agent.id.clone();
        self.agents.insert(agent_id.clone(), agent);
        let mut effects = vec![Effect::AgentChanged {
            agent_id: agent_id.clone(),
            stored: false,
        }];
        effects.extend(self.release_if_unavailable(&agent_id, now));
        effects.extend(self.route(now));
        effects
    }

    /// An agent was deleted: a pending offer moves on.
    pub fn remove_agent(&mut self, agent_id: &str, now: DateTime<Utc>) -> Vec<Effect> {
        let Some(agent) = self.agents.remove(agent_id) else {
            return Vec::new();
        };
        let mut effects = Vec::new();
        if let Some(offer) = agent.offer {
            if let Some(w) = self.waiting.iter_mut().find(|w| w.call_id == offer.call_id) {
                w.offered_to = None;
            }
            effects.push(Effect::QueueChanged(offer.queue_id));
        }
        effects.extend(self.route(now));
        effects
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn queue(id: &str, skills: &[&str]) -> Queue {
        Queue {
            skills: skills.iter().map(|s| s.to_string()).collect(),
            ..Queue::new(id.into(), id.into())
        }
    }

    fn agent(id: &str, idle_since: i64, skills: &[&str]) -> Agent {
        let mut agent = Agent::new(
            id.into(),
            id.into(),
            Availability::Available,
            at(idle_since),
        );
        agent.skills = skills.iter().map(|s| s.to_string()).collect();
        agent.sessions = 1;
        agent
    }

    fn desk(agents: Vec<Agent>, queues: Vec<Queue>) -> Desk {
        Desk {
            agents: agents.into_iter().map(|a| (a.id.clone(), a)).collect(),
            queues: queues.into_iter().map(|q| (q.id.clone(), q)).collect(),
            ..Desk::default()
        }
    }

    fn offers(effects: &[Effect]) -> Vec<(String, String)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Offer {
                    call_id, agent_id, ..
                } => Some((call_id.clone(), agent_id.clone())),
                _ => None,
            })
            .collect()
    }

    fn pair(call: &str, agent: &str) -> (String, String) {
        (call.to_owned(), agent.to_owned())
    }

    #[test]
    fn the_longest_idle_agent_with_the_skills_is_offered_first() {
        let mut d = desk(
            vec![
                agent("a", 30, &["en"]),
                agent("b", 10, &["en"]),
                agent("c", 0, &["fr"]),
            ],
            vec![queue("q", &["en"])],
        );
        let effects = d.enqueue("c1", "q", at(100), serde_json::json!({}), at(100));
        assert_eq!(offers(&effects), vec![pair("c1", "b")]);
        assert_eq!(d.agents["b"].state(at(100)), AgentState::Offered);
    }

    #[test]
    fn the_outlook_counts_agents_about_to_be_free() {
        let mut q = queue("q", &[]);
        q.wrap_up_s = 10;
        let mut away = agent("z", 0, &[]);
        away.availability = Availability::Away;
        let mut d = desk(vec![agent("a", 0, &[]), agent("b", 5, &[]), away], vec![q]);
        // a takes c1 at 100 and talks 30 s: the queue's mean talk time is 30 s; its wrap-up
        // lasts until 140.
        d.enqueue("c1", "q", at(100), serde_json::json!({}), at(100));
        d.begin_accept("c1", "a", at(100)).unwrap();
        d.accepted("c1", "a", at(100));
        d.call_ended("c1", true, at(130));
        assert_eq!(d.talk_s["q"], 30.0);
        // b takes c2 at 132: free at 132 + 30 + 10 = 172, by its queue's figures.
        d.enqueue("c2", "q", at(132), serde_json::json!({}), at(132));
        d.begin_accept("c2", "b", at(132)).unwrap();
        d.accepted("c2", "b", at(132));
        let outlook = |d: &Desk, now, ahead| d.outlook_for("q", at(now), Duration::seconds(ahead));
        let looks = |idle, freeing| Outlook { idle, freeing };
        assert_eq!(outlook(&d, 135, 3), looks(0, 0));
        assert_eq!(
            outlook(&d, 135, 5),
            looks(0, 1),
            "a's wrap-up ends within 5 s"
        );
        assert_eq!(outlook(&d, 165, 6), looks(1, 0));
        assert_eq!(outlook(&d, 165, 7), looks(1, 1), "b is about to be free");
        assert_eq!(
            outlook(&d, 175, 5),
            looks(1, 0),
            "b's call runs past its expected end: not counted"
        );
        // An answered campaign call waiting for an agent takes an idle one.
        d.answered.push(Answered {
            call_id: "c3".into(),
            queue_id: "q".into(),
            until: at(167),
        });
        assert_eq!(outlook(&d, 165, 7), looks(0, 1));
        // The mean moves with each call: b talks 50 s → 32 s.
        d.call_ended("c2", true, at(182));
        assert!((d.talk_s["q"] - 32.0).abs() < 1e-9);
    }

    #[test]
    fn a_caller_who_hangs_up_between_accept_and_connect_is_abandoned() {
        let mut d = desk(vec![agent("a", 0, &[])], vec![queue("q", &[])]);
        d.enqueue("c1", "q", at(100), serde_json::json!({}), at(100));
        d.begin_accept("c1", "a", at(103)).unwrap();
        d.accepted("c1", "a", at(103));
        d.call_ended("c1", false, at(104));
        let counts = d.figures("q", at(104)).unwrap().counts;
        assert_eq!(
            (
                counts.answered,
                counts.answered_within_sla,
                counts.abandoned
            ),
            (0, 0, 1)
        );
        assert_eq!(d.agents["a"].state(at(104)), AgentState::Idle, "no wrap-up");
        assert!(!d.talk_s.contains_key("q"), "no talk to learn from");
    }

    #[test]
    fn a_queue_without_skills_takes_every_agent() {
        let mut d = desk(vec![agent("fr", 0, &["fr"])], vec![queue("q", &[])]);
        let effects = d.enqueue("c1", "q", at(1), serde_json::json!({}), at(1));
        assert_eq!(offers(&effects), vec![pair("c1", "fr")]);
    }

    #[test]
    fn rejected_goes_to_the_next_and_accepted_leaves_the_queue() {
        let mut d = desk(
            vec![agent("a", 0, &[]), agent("b", 5, &[])],
            vec![queue("q", &[])],
        );
        d.enqueue("c1", "q", at(100), serde_json::json!({}), at(100));
        let effects = d.reject("c1", "a", at(103)).unwrap();
        assert_eq!(offers(&effects), vec![pair("c1", "b")]);
        assert_eq!(d.reject("c1", "a", at(104)), Err(OfferRefusal::Expired));
        d.begin_accept("c1", "b", at(105)).unwrap();
        assert_eq!(
            d.begin_accept("c1", "b", at(105)),
            Err(OfferRefusal::Expired),
            "accepted twice"
        );
        d.accepted("c1", "b", at(105));
        assert_eq!(d.agents["b"].state(at(105)), AgentState::Busy);
        let figures = d.figures("q", at(105)).unwrap();
        assert_eq!((figures.waiting, figures.counts.answered), (0, 1));
        assert_eq!(figures.counts.answered_within_sla, 1);
        // The call ends: wrap-up, then idle again, and last in line.
        d.call_ended("c1", true, at(200));
        assert_eq!(d.agents["b"].state(at(205)), AgentState::WrapUp);
        d.tick(at(210));
        assert_eq!(d.agents["b"].state(at(210)), AgentState::Idle);
        let effects = d.enqueue("c2", "q", at(220), serde_json::json!({}), at(220));
        assert_eq!(offers(&effects), vec![pair("c2", "a")]);
    }

    #[test]
    fn when_everyone_passed_a_new_round_starts() {
        let mut d = desk(vec![agent("a", 0, &[])], vec![queue("q", &[])]);
        d.enqueue("c1", "q", at(0), serde_json::json!({}), at(0));
        let effects = d.reject("c1", "a", at(1)).unwrap();
        assert_eq!(offers(&effects), vec![pair("c1", "a")]);
    }

    #[test]
    fn busy_away_unreachable_and_dnd_agents_are_never_offered() {
        let mut busy = agent("busy", 0, &[]);
        busy.extensions = vec!["101".into()];
        busy.presence.insert("101".into(), Presence::Incall);
        let mut away = agent("away", 0, &[]);
        away.availability = Availability::Away;
        let mut gone = agent("gone", 0, &[]);
        gone.sessions = 0;
        let mut dnd = agent("dnd", 0, &[]);
        dnd.extensions = vec!["102".into()];
        dnd.presence.insert("102".into(), Presence::Dnd);
        let mut d = desk(vec![busy, away, gone, dnd], vec![queue("q", &[])]);
        let effects = d.enqueue("c1", "q", at(0), serde_json::json!({}), at(0));
        assert!(offers(&effects).is_empty());
        assert_eq!(d.figures("q", at(0)).unwrap().waiting, 1);
        // An agent reachable by its online extension alone is offered.
        let effects = d.presence("101", Presence::Online, at(1));
        assert_eq!(offers(&effects), vec![pair("c1", "busy")]);
    }

    #[test]
    fn an_expired_offer_moves_on_and_two_misses_set_the_agent_away() {
        let mut d = desk(
            vec![agent("a", 0, &[]), agent("b", 5, &[])],
            vec![queue("q", &[])],
        );
        d.enqueue("c1", "q", at(0), serde_json::json!({}), at(0));
        assert_eq!(d.next_deadline(), Some(at(15)));
        let effects = d.tick(at(15));
        assert_eq!(offers(&effects), vec![pair("c1", "b")]);
        assert_eq!(d.agents["a"].missed, 1);
        d.tick(at(30));
        // b missed once, a is offered again and misses a second time.
        d.tick(at(45));
        assert_eq!(d.agents["a"].availability, Availability::Away);
        assert_eq!(
            d.agents["a"].availability_reason.as_deref(),
            Some(MISSED_OFFERS)
        );
    }

    #[test]
    fn a_session_that_drops_gives_its_offer_up_and_is_not_offered_again() {
        let mut d = desk(
            vec![agent("a", 0, &[]), agent("b", 5, &[])],
            vec![queue("q", &[])],
        );
        d.enqueue("c1", "q", at(0), serde_json::json!({}), at(0));
        let effects = d.session("a", false, at(2));
        assert_eq!(offers(&effects), vec![pair("c1", "b")]);
        assert_eq!(d.agents["a"].missed, 0);
        assert_eq!(d.agents["a"].state(at(2)), AgentState::Unavailable);
    }

    #[test]
    fn a_caller_who_hangs_up_while_waiting_is_abandoned() {
        let mut d = desk(vec![agent("a", 0, &[])], vec![queue("q", &[])]);
        d.enqueue("c1", "q", at(0), serde_json::json!({}), at(0));
        d.call_ended("c1", true, at(4));
        let figures = d.figures("q", at(4)).unwrap();
        assert_eq!((figures.waiting, figures.counts.abandoned), (0, 1));
        assert_eq!(d.agents["a"].state(at(4)), AgentState::Idle);
    }

    #[test]
    fn past_the_maximum_wait_a_caller_overflows() {
        let mut first = queue("q", &["x"]);
        first.max_wait_s = Some(60);
        first.overflow = Some(Overflow::Queue("spill".into()));
        let mut spill = queue("spill", &[]);
        spill.max_wait_s = Some(30);
        spill.overflow = Some(Overflow::Message("Sorry".into()));
        let mut d = desk(vec![], vec![first, spill]);
        d.enqueue("c1", "q", at(0), serde_json::json!({}), at(0));
        d.tick(at(60));
        assert_eq!(d.waiting[0].queue_id, "spill");
        let effects = d.tick(at(90));
        assert!(effects.contains(&Effect::Overflowed {
            call_id: "c1".into(),
            message: "Sorry".into()
        }));
        assert!(d.waiting.is_empty());
        assert_eq!(d.figures("q", at(90)).unwrap().counts.overflowed, 1);
    }

    #[test]
    fn higher_priority_queues_are_served_first() {
        let low = queue("low", &[]);
        let mut high = queue("high", &[]);
        high.priority = 5;
        let mut d = desk(vec![], vec![low, high]);
        d.enqueue("old", "low", at(0), serde_json::json!({}), at(0));
        d.enqueue("new", "high", at(10), serde_json::json!({}), at(10));
        let effects = d.put_agent(agent("a", 0, &[]), at(11));
        assert_eq!(offers(&effects), vec![pair("new", "a")]);
    }

    #[test]
    fn an_inbound_call_waits_in_its_numbers_queue_or_the_first_general_one() {
        let mut sales = queue("sales", &[]);
        sales.number = Some("+15550001".into());
        let mut general = queue("general", &[]);
        general.priority = 1;
        let d = desk(vec![], vec![sales, general, queue("other", &[])]);
        assert_eq!(d.queue_for(Some("+15550001")).unwrap().id, "sales");
        assert_eq!(d.queue_for(Some("+15559999")).unwrap().id, "general");
        assert!(Desk::default().queue_for(None).is_none());
    }

    #[test]
    fn a_failed_connect_offers_the_call_again_without_counting_it() {
        let mut d = desk(
            vec![agent("a", 0, &[]), agent("b", 5, &[])],
            vec![queue("q", &[])],
        );
        d.enqueue("c1", "q", at(0), serde_json::json!({}), at(0));
        d.begin_accept("c1", "a", at(1)).unwrap();
        d.accepted("c1", "a", at(1));
        let effects = d.connect_failed("c1", at(2));
        assert_eq!(offers(&effects), vec![pair("c1", "b")]);
        assert_eq!(d.figures("q", at(2)).unwrap().counts.answered, 0);
        assert_eq!(d.agents["a"].state(at(2)), AgentState::Idle);
    }
}
