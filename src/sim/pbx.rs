//! A simulated Yeastar P-Series PBX: extensions register, then inbound, outbound and internal calls
//! ring, are answered (or not) and end, each told to the engine as the PBX tells it — 30007, 30011
//! RING / ANSWER / BYE snapshots, 30015 failures, 30012 CDRs — through the real webhook endpoint,
//! signed with the org's secret. Now and then a BYE or a CDR is lost (the engine's deadlines must
//! repair it) and a caller reaches a busy extension.

use super::dice::Dice;
use super::providers::FakeProviders;
use super::truth::{Line, Truth};
use crate::providers::yeastar;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;

/// What the simulated PBX does.
#[derive(Clone)]
pub struct PbxSim {
    /// `…/webhooks/yeastar/{org_id}` of the engine.
    pub webhook_url: String,
    /// The org's Yeastar `webhook_secret`.
    pub secret: String,
    /// Extensions `101`, `102`, …
    pub extensions: u32,
    /// New calls per minute (before `speed`).
    pub calls_per_minute: f64,
    /// Multiplies the rate and divides ring and talk times.
    pub speed: f64,
    /// Share of calls whose BYE never arrives, and of calls whose CDR never arrives (each on its
    /// own: a call can lose both, and then only the PBX's API or a deadline can end it).
    pub lost_bye: f64,
    pub lost_cdr: f64,
    /// Where each call's real outcome is recorded; new calls start only while it is open.
    pub truth: Option<Truth>,
    /// The stand-in whose PBX state API (extension list, call query) answers what this PBX
    /// really has — also what its lost webhooks did not say.
    pub api: Option<FakeProviders>,
    /// A webhook gap on purpose: from `after` the start for `lasting`, no webhook is sent (calls
    /// go on, the state API stays true) — what a resync must repair.
    pub gap: Option<Gap>,
}

/// The shortest talk of an answered PBX call, whatever the speed.
const MIN_TALK: Duration = Duration::from_millis(1200);

/// When the PBX's webhooks go quiet, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Gap {
    pub after: Duration,
    pub lasting: Duration,
}

impl PbxSim {
    /// The extension numbers the PBX has.
    pub fn numbers(&self) -> Vec<String> {
        (1..=self.extensions)
            .map(|i| (100 + i).to_string())
            .collect()
    }

    /// Runs the PBX on the current (actix) runtime until the runtime stops: registrations first,
    /// then calls at the configured rate. Answers once every extension has registered.
    pub async fn run(self, mut dice: Dice) {
        let pbx = Rc::new(Pbx {
            client: reqwest::Client::new(),
            sim: self.clone(),
            busy: RefCell::default(),
            next_call: RefCell::new(1),
            started: chrono::Utc::now().timestamp(),
            began: std::time::Instant::now(),
        });
        let numbers = self.numbers();
        for (i, number) in numbers.iter().enumerate() {
            // One extension in ten stays unregistered: the board shows offline ones too.
            let status = if i % 10 == 9 {
                "Unregistered"
            } else {
                "Registered"
            };
            pbx.registered(number, status == "Registered");
            pbx.send(30007, json!({"extension": number, "status": status}))
                .await;
        }
        let online: Vec<String> = numbers
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 10 != 9)
            .map(|(_, n)| n.clone())
            .collect();
        let every = Duration::from_secs_f64(60.0 / (self.calls_per_minute * self.speed).max(0.01));
        actix_web::rt::spawn(async move {
            loop {
                actix_web::rt::time::sleep(every).await;
                if pbx.sim.truth.as_ref().is_some_and(|truth| !truth.is_open()) {
                    return;
                }
                let seed = dice.between(0, u64::MAX - 1);
                let call = pbx.clone().call(online.clone(), Dice::new(seed));
                actix_web::rt::spawn(call);
            }
        });
    }
}

struct Pbx {
    client: reqwest::Client,
    sim: PbxSim,
    /// Extensions in a call right now.
    busy: RefCell<HashSet<String>>,
    next_call: RefCell<u64>,
    /// When this run of the PBX started (Unix seconds): the first part of its call ids.
    started: i64,
    /// The same moment on the monotonic clock (the gap is timed from it).
    began: std::time::Instant,
}

/// One side of a call as a 30011 member.
#[derive(Clone)]
enum Side {
    Extension(String),
    Inbound { from: String, to: String },
    Outbound { from: String, to: String },
}

impl Side {
    fn member(&self, status: &str) -> Value {
        match self {
            Side::Extension(number) => json!({"extension": {
                "number": number, "channel_id": format!("PJSIP/{number}-0001"), "member_status": status}}),
            Side::Inbound { from, to } => json!({"inbound": {
                "from": from, "to": to, "trunk_name": "sim-trunk", "member_status": status}}),
            Side::Outbound { from, to } => json!({"outbound": {
                "from": from, "to": to, "trunk_name": "sim-trunk", "member_status": status}}),
        }
    }

    fn number(&self) -> String {
        match self {
            Side::Extension(n) => n.clone(),
            Side::Inbound { from, .. } => from.clone(),
            Side::Outbound { to, .. } => to.clone(),
        }
    }
}

impl Pbx {
    /// Posts one PBX event, signed as the PBX signs it; a call's event is timed (for the
    /// dashboard's latency) and its acknowledgement recorded in the truth.
    async fn send(&self, event_type: u32, msg: Value) {
        if let Some(gap) = self.sim.gap {
            let since = self.began.elapsed();
            if since >= gap.after && since < gap.after + gap.lasting {
                return;
            }
        }
        let truth = self.sim.truth.as_ref();
        if let (Some(truth), Some(call_id)) = (truth, msg["call_id"].as_str()) {
            truth.sending(call_id);
        }
        let body =
            json!({"type": event_type, "sn": "SIM0000000001", "msg": msg.to_string()}).to_string();
        let signature = yeastar::signature(&self.sim.secret, body.as_bytes());
        let sent = self
            .client
            .post(&self.sim.webhook_url)
            .header("Content-Type", "application/json")
            .header("X-Signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                let answer: Value = response.json().await.unwrap_or(Value::Null);
                if let Some(truth) = truth {
                    truth.acknowledged(&answer);
                }
            }
            Ok(response) => {
                tracing::debug!(status = %response.status(), "the engine refused a PBX event");
                if let (Some(truth), true) = (truth, response.status().is_server_error()) {
                    truth.given_up();
                }
            }
            Err(error) => tracing::debug!(%error, "the simulated PBX could not reach the engine"),
        }
    }

    fn free(&self, online: &[String], dice: &mut Dice) -> Option<String> {
        let busy = self.busy.borrow();
        let free: Vec<&String> = online.iter().filter(|n| !busy.contains(*n)).collect();
        dice.pick(&free).map(|n| (*n).clone())
    }

    /// One call from start to end.
    async fn call(self: Rc<Self>, online: Vec<String>, mut dice: Dice) {
        let speed = self.sim.speed;
        let id = {
            let mut next = self.next_call.borrow_mut();
            *next += 1;
            // As Yeastar writes them (`1651057476.362`: when the PBX started counting, then a
            // sequence): a rerun never reuses the ids of an earlier run's calls.
            format!("{}.{}{}", self.started, *next, dice.between(1, 9))
        };
        let customer = format!("0{}", dice.between(7_000_000_000, 9_999_999_999));
        let roll = dice.unit();
        let (caller, callee, kind) = if roll < 0.55 {
            // Inbound; now and then to an extension already on the phone.
            let busy_now: Vec<String> = self.busy.borrow().iter().cloned().collect();
            if dice.chance(0.08) {
                if let Some(busy) = dice.pick(&busy_now).cloned() {
                    self.began(&id, "inbound", &customer);
                    let caller = Side::Inbound {
                        from: customer,
                        to: "8035739222".into(),
                    };
                    let members = vec![
                        caller.member("ANSWERED"),
                        Side::Extension(busy.clone()).member("RING"),
                    ];
                    self.mirror(&id, Some(&members));
                    self.send(30011, json!({"call_id": id, "members": members}))
                        .await;
                    self.mirror(&id, None);
                    if let Some(api) = &self.sim.api {
                        let now = chrono::Utc::now();
                        api.pbx_cdr(json!({
                            "uid": id, "time": now.format("%Y-%m-%d %H:%M:%S").to_string(),
                            "timestamp": now.timestamp(), "call_from": caller.number(),
                            "call_to": busy, "duration": 0, "ring_duration": 0,
                            "talk_duration": 0, "disposition": "BUSY", "call_type": "Inbound",
                        }));
                    }
                    self.send(
                        30015,
                        json!({"call_id": id, "reason": "486 User Busy",
                        "members": [Side::Extension(busy).member("BYE")]}),
                    )
                    .await;
                    self.ended(&id, false, Duration::ZERO);
                    return;
                }
            }
            let Some(ext) = self.free(&online, &mut dice) else {
                return;
            };
            (
                Side::Inbound {
                    from: customer,
                    to: "8035739222".into(),
                },
                Side::Extension(ext),
                "Inbound",
            )
        } else if roll < 0.85 {
            let Some(ext) = self.free(&online, &mut dice) else {
                return;
            };
            let to = customer.trim_start_matches('0').to_owned();
            (
                Side::Extension(ext.clone()),
                Side::Outbound {
                    from: ext,
                    to: format!("91{to}"),
                },
                "Outbound",
            )
        } else {
            let Some(a) = self.free(&online, &mut dice) else {
                return;
            };
            self.busy.borrow_mut().insert(a.clone());
            let b = self.free(&online, &mut dice);
            self.busy.borrow_mut().remove(&a);
            let Some(b) = b else { return };
            (Side::Extension(a), Side::Extension(b), "Internal")
        };
        let exts: Vec<String> = [&caller, &callee]
            .iter()
            .filter_map(|s| match s {
                Side::Extension(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        self.busy.borrow_mut().extend(exts.iter().cloned());
        let (direction, priced_by) = match kind {
            "Inbound" => ("inbound", caller.number()),
            "Outbound" => ("outbound", callee.number()),
            _ => ("internal", callee.number()),
        };
        self.began(&id, direction, &priced_by);
        let started = chrono::Utc::now();
        let members = |a: &str, b: &str| vec![caller.member(a), callee.member(b)];
        let snapshot = |a: &str, b: &str| json!({"call_id": id, "members": members(a, b)});
        self.mirror(&id, Some(&members("ALERT", "RING")));
        self.send(30011, snapshot("ALERT", "RING")).await;
        let ring = dice.seconds(3, 15, speed);
        actix_web::rt::time::sleep(ring).await;
        let answered = dice.chance(0.8);
        let talk = if answered {
            self.mirror(&id, Some(&members("ANSWERED", "ANSWER")));
            self.send(30011, snapshot("ANSWERED", "ANSWER")).await;
            // At least a second and a bit however fast the day runs: a PBX counts talk in
            // whole seconds, and an answered call it counts as 0 s is one no engine can tell
            // from an unanswered one.
            let talk = dice.seconds(8, 60, speed).max(MIN_TALK);
            actix_web::rt::time::sleep(talk).await;
            talk
        } else {
            Duration::ZERO
        };
        let lost_bye = dice.chance(self.sim.lost_bye);
        let lost_cdr = dice.chance(self.sim.lost_cdr);
        for ext in &exts {
            self.busy.borrow_mut().remove(ext);
        }
        // The PBX knows the call ended, and keeps its record of it, whether or not its webhooks
        // say so (or reach the engine, or are answered in time).
        self.mirror(&id, None);
        // Durations as the engine's clock saw them pass (times are compressed by `speed`).
        let talk_s = talk.as_secs_f64().round() as i64;
        let ring_s = ring.as_secs_f64().round() as i64;
        let status = if answered { "ANSWERED" } else { "NO ANSWER" };
        if let Some(api) = &self.sim.api {
            api.pbx_cdr(json!({
                "uid": id, "time": started.format("%Y-%m-%d %H:%M:%S").to_string(),
                "timestamp": started.timestamp(),
                "call_from": caller.number(), "call_to": callee.number(),
                "duration": ring_s + talk_s, "ring_duration": ring_s, "talk_duration": talk_s,
                "disposition": status, "call_type": kind,
            }));
        }
        if !lost_bye {
            self.send(30011, snapshot("BYE", "BYE")).await;
        }
        if lost_cdr {
            self.ended(&id, answered, talk);
            return;
        }
        self.send(
            30012,
            json!({
                "call_id": id,
                "time_start": started.format("%Y-%m-%d %H:%M:%S").to_string(),
                "call_from": caller.number(), "call_to": callee.number(),
                "call_duration": ring_s + talk_s, "talk_duration": talk_s,
                "status": status,
                "type": kind,
            }),
        )
        .await;
        self.ended(&id, answered, talk);
    }

    /// Keeps the state API's view of a call: its members while it lasts, gone once it ended.
    fn mirror(&self, id: &str, members: Option<&[Value]>) {
        let Some(api) = &self.sim.api else { return };
        api.script(|script| {
            script.pbx_calls.retain(|call| call["call_id"] != id);
            if let Some(members) = members {
                script
                    .pbx_calls
                    .push(json!({"call_id": id, "members": members}));
            }
        });
    }

    /// Keeps the state API's view of an extension's registration, and the truth's.
    fn registered(&self, number: &str, online: bool) {
        if let Some(truth) = &self.sim.truth {
            truth.registered(number, online);
        }
        let Some(api) = &self.sim.api else { return };
        api.script(|script| {
            script.pbx_extensions.retain(|e| e["number"] != number);
            script.pbx_extensions.push(json!({
                "number": number, "presence_status": "available",
                "online_status": {"sip_phone": {"status": i32::from(online)}},
            }));
        });
    }

    fn began(&self, id: &str, direction: &'static str, priced_by: &str) {
        if let Some(truth) = &self.sim.truth {
            truth.began(id, Line::Pbx, direction, priced_by);
        }
    }

    fn ended(&self, id: &str, answered: bool, talk: Duration) {
        if let Some(truth) = &self.sim.truth {
            truth.ended(id, answered, talk, None);
        }
    }
}
