//! One local server that speaks the providers' REST APIs — Twilio, Plivo, Exotel, Bolna and the
//! Yeastar P-Series OpenAPI — records every request, and answers (and calls back) as each provider
//! does, as its [`Script`] says. The engine reaches it through each account's `api_base`; tests,
//! benches and the demo all use this one stand-in.

use super::dice::Dice;
use super::truth::{Line, Truth, Wait};
use crate::providers::{form_pairs, twilio, yeastar};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// How a call placed through the stand-in Twilio plays out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TwilioPlay {
    /// A signed `initiated` callback is posted, and accepted, before the API answers (a callback
    /// that beats the API's answer); nothing follows.
    EarlyInitiated,
    /// A signed `no-answer` callback is posted, and accepted, before the API answers (a callee
    /// who did not answer within the API's round trip, as under load): the call is over before
    /// its dial returns.
    EarlyNoAnswer,
    /// Every status callback, `step` apart: `initiated`, `ringing`, then `busy` for numbers
    /// ending in 7, else `in-progress` and `completed`; with `MachineDetection=Enable`, the
    /// `in-progress` one says `AnsweredBy` (`machine_end_beep` for numbers ending in 5, else
    /// `human`).
    Full { step: Duration },
    /// Only the final `completed` callback, `talk` after the dial (the load generator's way).
    CompletedOnly { talk: Duration },
    /// A dialer's floor, time compressed: `ringing` at once, then after `ring` a share `answered`
    /// of the calls `in-progress` and `completed` `talk` later, the others `no-answer`.
    Dialer {
        answered: f64,
        ring: Duration,
        talk: Duration,
    },
    /// As calls go (the demo's way): `initiated`, `ringing` a few seconds, then answered 7 in 10
    /// times (`in-progress`, then `completed` with its duration after 15 s to 3 min), else
    /// `busy`, `no-answer` or `failed`; every time divided by `speed`.
    Realistic { speed: f64 },
}

/// What the stand-in does; change it while it runs with [`FakeProviders::script`].
#[derive(Debug, Clone)]
pub struct Script {
    /// The Twilio account: its REST API takes only this sid and auth token (Basic auth; anything
    /// else is Twilio's 401 `Authenticate`), and it signs its callbacks with the token.
    pub twilio_account_sid: String,
    pub twilio_auth_token: String,
    pub twilio_play: TwilioPlay,
    /// The status Twilio's call-details API reports for any call it did not play.
    pub twilio_poll_status: String,
    /// The `duration` it reports with that status (None: its record not written yet).
    pub twilio_poll_duration: Option<u32>,
    /// The price Twilio's call-details API reports for any call (`price`, in USD; None: not yet).
    pub twilio_price: Option<String>,
    /// Twilio's call-details API answers this error status instead (None: the call resource).
    pub twilio_poll_error: Option<u16>,
    /// Twilio's Calls API answers a new call only after this long (a slow provider).
    pub twilio_answer_after: Option<Duration>,
    /// Twilio's call update (moving a live call) answers this error status (None: it succeeds).
    pub twilio_update_status: Option<u16>,
    /// The PBX refuses every login (errcode 10004).
    pub pbx_refuse_logins: bool,
    /// After a call placed through Twilio completes, half the time a voice bot's analytics are
    /// pushed for it to this webhook URL with this webhook token.
    pub analytics: Option<(String, String)>,
    /// Before answering a dial, the PBX pushes its first call event (30011, the caller's
    /// extension alerted) to this webhook URL, signed with this secret.
    pub pbx_event_before_answer: Option<(String, String)>,
    /// Where [`TwilioPlay::Realistic`] records what really happened to each call it plays.
    pub truth: Option<Truth>,
    /// Callbacks of realistic calls delivered twice, or two of a call's swapped.
    pub callback_faults: CallbackFaults,
    /// Keep every request for [`FakeProviders::requests`] (a long simulation does not).
    pub record_requests: bool,
    /// What the PBX's state API answers (providers.md §4.6): its extension list's items and its
    /// live calls (each `{"call_id", "members"}` as a 30011 has them).
    pub pbx_extensions: Vec<Value>,
    pub pbx_calls: Vec<Value>,
    /// The PBX's state API answers this errcode instead (a PBX that fails).
    pub pbx_state_error: Option<i64>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            twilio_account_sid: "ACtest0000".into(),
            twilio_auth_token: String::new(),
            twilio_play: TwilioPlay::EarlyInitiated,
            twilio_poll_status: "no-answer".into(),
            twilio_poll_duration: None,
            twilio_answer_after: None,
            twilio_price: Some("-0.01700".into()),
            twilio_poll_error: None,
            twilio_update_status: None,
            pbx_refuse_logins: false,
            analytics: None,
            pbx_event_before_answer: None,
            truth: None,
            callback_faults: CallbackFaults::default(),
            record_requests: true,
            pbx_extensions: Vec::new(),
            pbx_calls: Vec::new(),
            pbx_state_error: None,
        }
    }
}

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `twilio`, `plivo`, `exotel`, `bolna` or `yeastar`.
    pub provider: &'static str,
    /// What was asked: `calls`, `call_details`, `call_update`, `transfer`, `get_token`,
    /// `refresh_token`, `dial`.
    pub operation: &'static str,
    pub authorization: String,
    pub user_agent: String,
    pub query: String,
    /// The body: a JSON body as it is, a form as an object of strings.
    pub body: Value,
}

/// Calls placed through the stand-in Twilio and not yet ended, and what it saw of them.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Calls placed per number.
    pub dials: HashMap<String, u32>,
    pub live: u32,
    /// The most calls live at once.
    pub max_live: u32,
    pub total: u32,
}

struct Shared {
    script: Mutex<Script>,
    requests: Mutex<Vec<Recorded>>,
    tally: Mutex<Tally>,
    /// This run's part of every call sid the stand-in makes.
    run: String,
    /// Who waits for the next call update of a call sid (a simulated caller on hold).
    update_waiters: Mutex<HashMap<String, oneshot::Sender<Moved>>>,
    /// One client for every callback (building one per request costs milliseconds).
    client: reqwest::Client,
    /// The PBX's call records (its `cdr/list`), oldest first.
    pbx_cdrs: Mutex<Vec<Value>>,
    /// Callers of the Twilio line who hung up on hold (their calls cannot be moved any more).
    hung_up: Mutex<std::collections::HashSet<String>>,
    /// Where each call it plays stands now, as its call-details API reports it: `status`, and
    /// once it is over `duration` and `end_time`.
    statuses: Mutex<HashMap<String, Value>>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct FakeProviders {
    base: String,
    shared: Arc<Shared>,
}

impl FakeProviders {
    /// Starts the stand-in on a free port of 127.0.0.1 (inside the running actix system).
    pub fn start(script: Script) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            script: Mutex::new(script),
            requests: Mutex::default(),
            tally: Mutex::default(),
            update_waiters: Mutex::default(),
            pbx_cdrs: Mutex::default(),
            hung_up: Mutex::default(),
            statuses: Mutex::default(),
            run: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .pool_idle_timeout(Duration::from_secs(3))
                .build()
                .map_err(std::io::Error::other)?,
        });
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(1 << 20))
                .route(
                    "/2010-04-01/Accounts/{sid}/Calls.json",
                    web::post().to(twilio_calls),
                )
                .route(
                    "/2010-04-01/Accounts/{sid}/Calls/{call}.json",
                    web::get().to(twilio_call_details),
                )
                .route(
                    "/2010-04-01/Accounts/{sid}/Calls/{call}.json",
                    web::post().to(twilio_call_update),
                )
                .route("/v1/Account/{id}/Call/", web::post().to(plivo_call))
                .route(
                    "/v1/Account/{id}/Call/{call}/",
                    web::post().to(plivo_transfer),
                )
                .route(
                    "/v1/Accounts/{sid}/Calls/connect.json",
                    web::post().to(exotel_connect),
                )
                .route("/call", web::post().to(bolna_call))
                .route("/openapi/v1.0/{operation}", web::post().to(pbx_api))
                .route("/openapi/v1.0/call/dial", web::post().to(pbx_dial))
                .route("/openapi/v1.0/call/transfer", web::post().to(pbx_transfer))
                .route("/openapi/v1.0/extension/list", web::get().to(pbx_state))
                .route("/openapi/v1.0/call/query", web::get().to(pbx_state))
                .route("/openapi/v1.0/cdr/list", web::get().to(pbx_cdr_list))
        })
        .workers(1)
        .bind("127.0.0.1:0")?;
        let base = format!("http://{}", server.addrs()[0]);
        actix_web::rt::spawn(server.run());
        Ok(FakeProviders { base, shared })
    }

    /// Where the stand-in listens: every account's `api_base`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Changes the script from now on.
    pub fn script(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.shared.script.lock().unwrap());
    }

    /// The PBX writes a call record (a `cdr/list` item, providers.md §4.6): it keeps it, whether
    /// or not its webhook reached the engine.
    pub fn pbx_cdr(&self, record: Value) {
        let mut cdrs = self.shared.pbx_cdrs.lock().unwrap();
        let id = cdrs.len() + 1;
        let mut record = record;
        record["id"] = json!(id);
        cdrs.push(record);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The bodies of one provider's requests, oldest first.
    pub fn bodies(&self, provider: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.provider == provider)
            .map(|r| r.body)
            .collect()
    }

    /// The TwiML of the next call update the stand-in Twilio accepts for `sid`: how a simulated
    /// caller on hold hears that it was connected to an agent (`<Dial>`) or given a goodbye
    /// (`<Hangup/>`). Dropped unanswered when the stand-in stops.
    pub fn next_call_update(&self, sid: &str) -> oneshot::Receiver<Moved> {
        let (tx, rx) = oneshot::channel();
        let mut waiters = self.shared.update_waiters.lock().unwrap();
        waiters.retain(|_, waiter| !waiter.is_closed()); // callers who hung up meanwhile
        waiters.insert(sid.to_owned(), tx);
        rx
    }

    /// A held caller hung up: a call update that comes later finds the call over (Twilio's
    /// 21220), one that came first has already moved it.
    pub fn caller_hung_up(&self, sid: &str) {
        // Under the waiters' lock, as the call update decides: one or the other comes first.
        let mut waiters = self.shared.update_waiters.lock().unwrap();
        waiters.remove(sid);
        self.shared.hung_up.lock().unwrap().insert(sid.to_owned());
    }

    /// A call of the stand-in Twilio's now stands as `params` (the callback about to be sent)
    /// say: its call-details API answers so from now on.
    fn stands(&self, params: &[(String, String)]) {
        if let Some((sid, resource)) = call_resource(params) {
            self.shared.statuses.lock().unwrap().insert(sid, resource);
        }
    }

    /// What the stand-in Twilio saw of the calls it placed.
    pub fn tally(&self) -> Tally {
        self.shared.tally.lock().unwrap().clone()
    }
}

fn header(req: &HttpRequest, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A form as a JSON object of strings; a repeated field becomes an array of its values.
fn form_object(pairs: &[(String, String)]) -> Value {
    let mut object = serde_json::Map::new();
    for (k, v) in pairs {
        match object.get_mut(k) {
            None => {
                object.insert(k.clone(), Value::from(v.clone()));
            }
            Some(Value::Array(values)) => values.push(Value::from(v.clone())),
            Some(first) => *first = json!([first.clone(), v]),
        }
    }
    Value::Object(object)
}

impl Shared {
    fn record(
        &self,
        provider: &'static str,
        operation: &'static str,
        req: &HttpRequest,
        body: Value,
    ) {
        if !self.script.lock().unwrap().record_requests {
            return;
        }
        self.requests.lock().unwrap().push(Recorded {
            provider,
            operation,
            authorization: header(req, "Authorization"),
            user_agent: header(req, "User-Agent"),
            query: req.query_string().to_owned(),
            body,
        });
    }

    /// A copy of the script without the PBX's state lists (a PBX of thousands of extensions
    /// would be copied on every request): [`pbx_state`] reads those in place.
    fn script(&self) -> Script {
        let mut script = self.script.lock().unwrap();
        let extensions = std::mem::take(&mut script.pbx_extensions);
        let calls = std::mem::take(&mut script.pbx_calls);
        let copy = script.clone();
        script.pbx_extensions = extensions;
        script.pbx_calls = calls;
        copy
    }
}

fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Posts a status callback signed as Twilio signs it (over the URL without its fragment); the
/// engine's acknowledgement is recorded in `truth` when there is one.
async fn twilio_callback(
    client: &reqwest::Client,
    url: &str,
    auth_token: &str,
    params: &[(String, String)],
    truth: Option<&Truth>,
) -> Option<u16> {
    let (url, fragment) = url.split_once('#').unwrap_or((url, ""));
    let again = Retries::of(fragment);
    let signature = twilio::signature(auth_token, url, params);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let sid = params.iter().find(|(k, _)| k == "CallSid").map(|(_, v)| v);
    if let (Some(truth), Some(sid)) = (truth, sid) {
        truth.sending(sid);
    }
    // A callback whose pooled connection the engine closed at that moment is sent again (up to
    // 3 times), as Twilio retries; one the engine refused with a 5xx, or that could not be
    // connected (an engine restarting), only as the URL's retry override (`#rc=…&rp=…`) asks,
    // a second later.
    let (mut broken, mut refused, mut unreachable) = (0, 0, 0);
    loop {
        let sent = client
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", &signature)
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_server_error() && refused < again.on_5xx => {
                refused += 1;
                actix_web::rt::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(response) => {
                let status = response.status();
                if let (Some(truth), true) = (truth, status.is_success()) {
                    let answer: Value = response.json().await.unwrap_or(Value::Null);
                    truth.acknowledged(&answer);
                }
                if let (Some(truth), true) = (truth, status.is_server_error()) {
                    truth.given_up();
                }
                return Some(status.as_u16());
            }
            Err(error) if error.is_connect() && unreachable < again.on_connect => {
                unreachable += 1;
                actix_web::rt::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) if error.is_connect() => return None,
            Err(error) if broken < 2 => {
                broken += 1;
                tracing::debug!(%error, "a Twilio callback could not be sent: again");
                actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) => return None,
        }
    }
}

/// How many times Twilio sends a callback again, as its URL's fragment says (`rc` retries, for
/// what `rp` names: `5xx`, `ct` a connection that could not be made, `all`); by default no
/// 5xx is sent again and a failed connection once.
#[derive(Debug, PartialEq, Eq)]
struct Retries {
    on_5xx: u32,
    on_connect: u32,
}

impl Retries {
    fn of(fragment: &str) -> Self {
        let fields: HashMap<_, _> = fragment
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .collect();
        let policy = fields.get("rp").copied().unwrap_or("ct,rt");
        let count = fields
            .get("rc")
            .map_or(1, |count| count.parse().unwrap_or(1).min(5));
        let names = |what: &str| policy.split(',').any(|p| p == what || p == "all");
        Retries {
            on_5xx: if names("5xx") { count } else { 0 },
            on_connect: if names("ct") { count } else { 0 },
        }
    }
}

/// Twilio `POST /2010-04-01/Accounts/{sid}/Calls.json` (providers.md §1.1).
async fn twilio_calls(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let pairs = form_pairs(&body);
    let fields = form_object(&pairs);
    shared.record("twilio", "calls", &req, fields.clone());
    let script = shared.script();
    if header(&req, "Authorization") != basic(&script.twilio_account_sid, &script.twilio_auth_token)
    {
        return HttpResponse::Unauthorized()
            .json(json!({"code": 20003, "message": "Authenticate", "status": 401}));
    }
    if let Some(after) = script.twilio_answer_after {
        actix_web::rt::time::sleep(after).await;
    }
    let to = fields["To"].as_str().unwrap_or_default().to_owned();
    let callback = fields["StatusCallback"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let sid = {
        let mut tally = shared.tally.lock().unwrap();
        *tally.dials.entry(to.clone()).or_default() += 1;
        tally.live += 1;
        tally.total += 1;
        tally.max_live = tally.max_live.max(tally.live);
        // Unique across runs too (a rerun of the demo on the same database must never reuse one).
        format!("CAfake{}{:04}", shared.run, tally.total)
    };
    let params = |status: &str, seq: usize| {
        vec![
            ("CallSid".to_owned(), sid.clone()),
            ("AccountSid".to_owned(), script.twilio_account_sid.clone()),
            (
                "From".to_owned(),
                fields["From"].as_str().unwrap_or_default().to_owned(),
            ),
            ("To".to_owned(), to.clone()),
            ("Direction".to_owned(), "outbound-api".to_owned()),
            ("CallStatus".to_owned(), status.to_owned()),
            ("SequenceNumber".to_owned(), seq.to_string()),
        ]
    };
    let token = script.twilio_auth_token.clone();
    match script.twilio_play {
        TwilioPlay::EarlyInitiated => {
            let early = params("initiated", 0);
            let status = twilio_callback(&shared.client, &callback, &token, &early, None).await;
            if status != Some(200) {
                tracing::warn!(?status, "the early callback was not accepted");
            }
        }
        TwilioPlay::EarlyNoAnswer => {
            shared.tally.lock().unwrap().live -= 1;
            let early = params("no-answer", 1);
            let status = twilio_callback(&shared.client, &callback, &token, &early, None).await;
            if status != Some(200) {
                tracing::warn!(?status, "the early callback was not accepted");
            }
        }
        TwilioPlay::Full { step } => {
            let busy = to.ends_with('7');
            // With answering-machine detection asked for, numbers ending in 5 reach a machine.
            let detection = (fields["MachineDetection"] == "Enable").then(|| {
                if to.ends_with('5') {
                    "machine_end_beep"
                } else {
                    "human"
                }
            });
            let mut words = vec!["initiated", "ringing"];
            words.extend(if busy {
                vec!["busy"]
            } else {
                vec!["in-progress", "completed"]
            });
            let steps = words
                .iter()
                .enumerate()
                .map(|(seq, status)| {
                    let mut p = params(status, seq);
                    if *status == "completed" {
                        p.push(("CallDuration".into(), "5".into()));
                    }
                    if let (true, Some(answered_by)) = (*status == "in-progress", detection) {
                        p.push(("AnsweredBy".into(), answered_by.into()));
                    }
                    (step, p)
                })
                .collect();
            play(shared.clone(), callback, token, steps, None, None);
        }
        TwilioPlay::Dialer {
            answered,
            ring,
            talk,
        } => {
            let mut steps = vec![(Duration::ZERO, params("ringing", 1))];
            if Dice::from_clock().chance(answered) {
                steps.push((ring, params("in-progress", 2)));
                let mut done = params("completed", 3);
                done.push(("CallDuration".into(), talk.as_secs().max(1).to_string()));
                steps.push((talk, done));
            } else {
                steps.push((ring, params("no-answer", 2)));
            }
            play(shared.clone(), callback, token, steps, None, None);
        }
        TwilioPlay::CompletedOnly { talk } => {
            let mut last = params("completed", 3);
            last.push(("CallDuration".into(), "5".into()));
            play(
                shared.clone(),
                callback,
                token,
                vec![(talk, last)],
                None,
                None,
            );
        }
        TwilioPlay::Realistic { speed } => {
            let (steps, answered, talk) = realistic(&mut Dice::from_clock(), speed, params);
            let bot = script
                .analytics
                .clone()
                .map(|(url, token)| (url, token, sid.clone()));
            let outcome = script.truth.clone().map(|truth| {
                truth.began(&sid, Line::Outbound, "outbound", &to);
                Outcome {
                    truth,
                    sid: sid.clone(),
                    answered,
                    talk,
                }
            });
            play(shared.clone(), callback, token, steps, bot, outcome);
        }
    }
    HttpResponse::Created().json(json!({"sid": sid, "status": "queued"}))
}

/// Where a call stands after one of its callbacks (`params`), as Twilio's call resource says
/// it: its sid, and its `status` — once it is over, with its `duration` and `end_time`.
fn call_resource(params: &[(String, String)]) -> Option<(String, Value)> {
    let field = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let (sid, status) = field("CallSid").zip(field("CallStatus"))?;
    let over = field("CallDuration").is_some();
    let resource = json!({"status": status, "duration": field("CallDuration"),
        "end_time": field("Timestamp").filter(|_| over)});
    Some((sid.clone(), resource))
}

/// How often a played call's callbacks go wrong on the way, as a provider's do.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallbackFaults {
    /// The share of callbacks sent twice.
    pub duplicate: f64,
    /// The share of calls two of whose callbacks arrive the other way round.
    pub reorder: f64,
}

/// A call's callbacks, each with the wait before it.
type Steps = Vec<(Duration, Vec<(String, String)>)>;

/// What a played call really was, for the [`Truth`]: recorded once its last callback went out.
struct Outcome {
    truth: Truth,
    sid: String,
    answered: bool,
    talk: Duration,
}

/// A realistic call's callbacks, each with the wait before it; whether the callee answered, and
/// how long they talked.
fn realistic(
    dice: &mut Dice,
    speed: f64,
    params: impl Fn(&str, usize) -> Vec<(String, String)>,
) -> (Steps, bool, Duration) {
    let mut steps = vec![
        (dice.seconds(0, 1, speed), params("initiated", 0)),
        (dice.seconds(1, 3, speed), params("ringing", 1)),
    ];
    let roll = dice.unit();
    if roll < 0.7 {
        steps.push((dice.seconds(3, 20, speed), params("in-progress", 2)));
        let talk = dice.seconds(15, 180, speed);
        let mut completed = params("completed", 3);
        completed.push(("CallDuration".into(), talk.as_secs().max(1).to_string()));
        steps.push((talk, completed));
        (steps, true, talk)
    } else {
        let (word, ring) = if roll < 0.8 {
            ("busy", dice.seconds(1, 3, speed))
        } else if roll < 0.95 {
            ("no-answer", dice.seconds(20, 30, speed))
        } else {
            ("failed", dice.seconds(0, 2, speed))
        };
        steps.push((ring, params(word, 2)));
        (steps, false, Duration::ZERO)
    }
}

/// A voice bot's analytics for a call, pushed with the org's webhook token.
async fn push_analytics(client: &reqwest::Client, url: &str, token: &str, sid: &str) {
    let sentiments = ["positive", "neutral", "negative"];
    let mut dice = Dice::from_clock();
    let body = json!({
        "provider_call_id": sid,
        "summary": "The customer asked about the plan and agreed to a follow-up call.",
        "sentiment": dice.pick(&sentiments).copied().unwrap_or("neutral"),
        "transcript": "Agent: Hello! … Customer: Yes, tell me more.",
        "extracted_data": {"interested": dice.chance(0.6)},
    });
    let pushed = client
        .post(url)
        .header("X-Switchboard-Token", token)
        .json(&body)
        .send()
        .await;
    if let Err(error) = pushed {
        tracing::debug!(%error, "the simulated bot could not push its analytics");
    }
}

/// How long a simulated caller of the org's number talks with the agent it reaches, in seconds
/// (before `speed`): what the demo sizes its queue's agents by.
pub const CALLER_TALK_S: (u64, u64) = (15, 75);
/// How long a caller waits on hold for an agent before hanging up (before `speed`); one caller in
/// twenty is impatient and gives up within [`IMPATIENT_S`].
pub const CALLER_PATIENCE_S: (u64, u64) = (30, 180);
/// How long an impatient caller waits on hold (before `speed`).
pub const IMPATIENT_S: (u64, u64) = (3, 10);
/// How long Twilio's "an application error has occurred" lasts before it hangs up.
const APPLICATION_ERROR_S: (u64, u64) = (4, 6);

/// The org's Twilio number, as callers reach it: each call posts the signed `voice` webhook (the
/// engine answers TwiML, e.g. `<Enqueue>`), then its status callbacks as Twilio sends them.
#[derive(Clone)]
pub struct TwilioLine {
    /// `…/webhooks/twilio/{org}/voice` and `…/status`, on the engine's public URL.
    pub voice_url: String,
    pub status_url: String,
    pub auth_token: String,
    /// The org's Twilio number callers dial.
    pub number: String,
    pub speed: f64,
    /// The stand-in Twilio whose call updates tell a held caller that it was connected.
    pub provider: FakeProviders,
    /// Where each caller's fate is recorded.
    pub truth: Option<Truth>,
}

/// A held call moved by a call update: its new TwiML, and when Twilio took it (a connected
/// caller talks from then on, however late its own side hears of it).
pub struct Moved {
    twiml: String,
    at: std::time::Instant,
}

/// What ended a caller's wait on hold.
enum Held {
    /// The desk connected it (`<Dial>`) at that moment: it talks, then hangs up.
    Connected(std::time::Instant),
    /// The queue sent it away (its goodbye message, then `<Hangup/>`).
    SentAway,
    /// Its patience ran out first: it hung up (abandoned).
    GaveUp,
}

impl TwilioLine {
    /// Places an incoming call from `from` as Twilio does: the signed `voice` webhook, then the
    /// call's status callbacks — `in-progress` once the engine's TwiML holds it, `completed`
    /// (with its duration) when the caller hangs up: after talking with the agent the desk
    /// connected it to, after the queue's goodbye, or when its patience ran out on hold.
    pub async fn incoming_call(&self, client: &reqwest::Client, from: &str, dice: &mut Dice) {
        let sid = format!("CAin{:016x}", dice.between(0, u64::MAX - 1));
        // Made when the event happens: `Timestamp` says when, however late it is delivered.
        let params = |status: &str, seq: usize| {
            vec![
                ("CallSid".to_owned(), sid.clone()),
                ("From".to_owned(), from.to_owned()),
                ("To".to_owned(), self.number.clone()),
                ("Direction".to_owned(), "inbound".to_owned()),
                ("CallStatus".to_owned(), status.to_owned()),
                ("SequenceNumber".to_owned(), seq.to_string()),
                ("Timestamp".to_owned(), chrono::Utc::now().to_rfc2822()),
            ]
        };
        let token = &self.auth_token;
        let mut update = self.provider.next_call_update(&sid);
        let started = std::time::Instant::now();
        if let Some(truth) = &self.truth {
            truth.began(&sid, Line::Queue, "inbound", from);
        }
        let truth = self.truth.as_ref();
        // The call stands as a status callback says from the moment it is made (Twilio's call
        // resource answers so), however late the callback gets through.
        let status = async |update: Vec<(String, String)>| {
            self.provider.stands(&update);
            twilio_callback(client, &self.status_url, token, &update, truth).await;
        };
        // The caller hangs up: the call's length so far, in Twilio's `completed`.
        let hang_up = async || {
            let mut completed = params("completed", 2);
            let length = started.elapsed();
            completed.push(("CallDuration".into(), length.as_secs().max(1).to_string()));
            status(completed).await;
            length
        };
        let ringing = params("ringing", 0);
        let voice = twilio_callback(client, &self.voice_url, token, &ringing, truth).await;
        if voice != Some(200) {
            // No TwiML: Twilio answers, says that an application error occurred, and hangs up
            // — an answered call of that length in its records, in no queue.
            status(params("in-progress", 1)).await;
            let (low, high) = APPLICATION_ERROR_S;
            actix_web::rt::time::sleep(dice.seconds(low, high, self.speed)).await;
            let length = hang_up().await;
            if let Some(truth) = truth {
                truth.ended(&sid, true, length, None);
            }
            return;
        }
        actix_web::rt::time::sleep(dice.seconds(0, 1, self.speed)).await;
        status(params("in-progress", 1)).await;
        let (low, high) = if dice.chance(0.05) {
            IMPATIENT_S
        } else {
            CALLER_PATIENCE_S
        };
        let patience = dice.seconds(low, high, self.speed);
        let moved = |moved: Result<Moved, _>| match moved {
            Ok(moved) if moved.twiml.contains("<Dial") => Held::Connected(moved.at),
            Ok(_) => Held::SentAway,
            Err(_) => Held::GaveUp,
        };
        let held = tokio::select! {
            update = &mut update => moved(update),
            () = actix_web::rt::time::sleep(patience) => {
                // Hung up, unless an update moved the call at that very moment.
                self.provider.caller_hung_up(&sid);
                match update.try_recv() {
                    Ok(update) => moved(Ok(update)),
                    Err(_) => Held::GaveUp,
                }
            }
        };
        let rest = match held {
            Held::Connected(_) => dice.seconds(CALLER_TALK_S.0, CALLER_TALK_S.1, self.speed),
            Held::SentAway => dice.seconds(3, 6, self.speed),
            Held::GaveUp => Duration::ZERO,
        };
        actix_web::rt::time::sleep(rest).await;
        // Hung up: talk is the time with the agent, from when Twilio connected the call; the
        // goodbye of a caller sent away is not.
        let (wait, talk) = match held {
            Held::Connected(at) => (Wait::Connected, at.elapsed()),
            Held::SentAway => (Wait::SentAway, rest),
            Held::GaveUp => (Wait::GaveUp, rest),
        };
        let length = hang_up().await;
        if let Some(truth) = truth {
            truth.ended(&sid, wait == Wait::Connected, talk, Some(wait));
            truth.billed_whole_call(&sid, length);
        }
    }
}

/// Plays a call's callbacks, each after its wait; the call ends on the provider's side before the
/// engine hears its last one. When `bot` names an analytics webhook (URL, webhook token, call
/// sid), half the answered calls get a voice bot's analytics pushed after they end.
fn play(
    shared: web::Data<Shared>,
    callback: String,
    token: String,
    steps: Steps,
    bot: Option<(String, String, String)>,
    outcome: Option<Outcome>,
) {
    let faults = shared.script().callback_faults;
    actix_web::rt::spawn(async move {
        let mut dice = Dice::from_clock();
        let mut steps = steps;
        // Each callback says when its event happened (Twilio's `Timestamp`), however late it
        // is delivered.
        let mut at = chrono::Utc::now();
        for (wait, params) in &mut steps {
            at += chrono::Duration::from_std(*wait).unwrap_or_default();
            params.push(("Timestamp".to_owned(), at.to_rfc2822()));
        }
        // The provider's side: the call stands as its schedule says — its call-details API
        // answers that — and ends when its last step is due, however late (or swapped) its
        // callbacks reach the engine.
        let mut when = actix_web::rt::time::Instant::now();
        let schedule: Vec<_> = steps
            .iter()
            .map(|(wait, params)| {
                when += *wait;
                (when, call_resource(params))
            })
            .collect();
        let provider = shared.clone();
        actix_web::rt::spawn(async move {
            for (when, stands) in schedule {
                actix_web::rt::time::sleep_until(when).await;
                if let Some((sid, resource)) = stands {
                    provider.statuses.lock().unwrap().insert(sid, resource);
                }
            }
            let mut tally = provider.tally.lock().unwrap();
            tally.live = tally.live.saturating_sub(1);
        });
        // Two callbacks that arrive the other way round (Twilio does not promise their order).
        if steps.len() >= 2 && dice.chance(faults.reorder) {
            let i = dice.between(0, steps.len() as u64 - 2) as usize;
            let later = std::mem::take(&mut steps[i + 1].1);
            steps[i + 1].1 = std::mem::replace(&mut steps[i].1, later);
        }
        let mut due = actix_web::rt::time::Instant::now();
        let mut answered = false;
        let truth = outcome.as_ref().map(|o| &o.truth);
        for (wait, params) in steps {
            due += wait;
            actix_web::rt::time::sleep_until(due).await;
            answered |= params
                .iter()
                .any(|(k, v)| k == "CallStatus" && v == "in-progress");
            twilio_callback(&shared.client, &callback, &token, &params, truth).await;
            // The same callback delivered twice (a retry after a lost answer).
            if dice.chance(faults.duplicate) {
                twilio_callback(&shared.client, &callback, &token, &params, truth).await;
            }
        }
        if let Some(o) = outcome {
            o.truth.ended(&o.sid, o.answered, o.talk, None);
        }
        if let (true, Some((url, webhook_token, sid))) = (answered, bot) {
            if Dice::from_clock().chance(0.5) {
                push_analytics(&shared.client, &url, &webhook_token, &sid).await;
            }
        }
    });
}

/// Twilio's call-details API.
async fn twilio_call_details(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    shared.record("twilio", "call_details", &req, json!({"sid": path.1}));
    let script = shared.script();
    if let Some(code) = script.twilio_poll_error {
        let status = actix_web::http::StatusCode::from_u16(code)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        return HttpResponse::build(status).json(
            json!({"code": 20500, "message": "An internal server error has occurred", "status": code}),
        );
    }
    let played = shared.statuses.lock().unwrap().get(&path.1).cloned();
    let mut resource = played.unwrap_or_else(|| {
        let end = script
            .twilio_poll_duration
            .map(|_| chrono::Utc::now().to_rfc2822());
        json!({"status": script.twilio_poll_status, "duration": script.twilio_poll_duration,
            "end_time": end})
    });
    resource["sid"] = json!(path.1);
    resource["price"] = json!(script.twilio_price);
    resource["price_unit"] = json!("USD");
    HttpResponse::Ok().json(resource)
}

/// Twilio's call update (`POST …/Calls/{CallSid}.json`, new TwiML for a live call): recorded, with
/// the call's sid, and answered as Twilio does (the call resource); `twilio_update_status` set in
/// the script refuses it.
async fn twilio_call_update(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let mut recorded = form_object(&pairs);
    recorded["CallSid"] = json!(path.1);
    shared.record("twilio", "call_update", &req, recorded);
    // Under the waiters' lock, as a caller hanging up decides: the call is moved (its waiter
    // taken) or it is over, never both.
    let mut waiters = shared.update_waiters.lock().unwrap();
    let over = shared.hung_up.lock().unwrap().contains(&path.1);
    let refused = shared.script().twilio_update_status.or(over.then_some(400));
    if refused.is_none() {
        if let Some(waiter) = waiters.remove(&path.1) {
            let twiml = pairs
                .iter()
                .find(|(k, _)| k == "Twiml")
                .map(|(_, v)| v.clone());
            let _ = waiter.send(Moved {
                twiml: twiml.unwrap_or_default(),
                at: std::time::Instant::now(),
            });
        }
    }
    drop(waiters);
    match refused {
        Some(status) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(status).unwrap_or_default(),
        )
        .json(json!({"code": 21220, "message": "Call is not in-progress. Cannot redirect.", "status": status})),
        None => HttpResponse::Ok().json(json!({"sid": path.1, "status": "in-progress"})),
    }
}

/// Plivo's Transfer API (`POST …/Call/{CallUUID}/`, `legs` and `aleg_url`).
async fn plivo_transfer(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let mut recorded = body.into_inner();
    recorded["CallUUID"] = json!(path.1);
    shared.record("plivo", "transfer", &req, recorded);
    HttpResponse::Accepted().json(json!({"api_id": "t1", "message": "call transferred"}))
}

/// Plivo `POST /v1/Account/{auth_id}/Call/` (providers.md §2.1).
async fn plivo_call(
    req: HttpRequest,
    body: web::Json<Value>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    shared.record("plivo", "calls", &req, body.into_inner());
    HttpResponse::Created()
        .json(json!({"api_id": "a1", "message": "call fired", "request_uuid": "req-1"}))
}

/// Exotel `POST /v1/Accounts/{sid}/Calls/connect.json` (providers.md §3.1).
async fn exotel_connect(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    shared.record("exotel", "calls", &req, form_object(&form_pairs(&body)));
    HttpResponse::Ok().json(json!({"Call": {"Sid": "exo-1", "Status": "in-progress"}}))
}

/// Bolna `POST /call` (providers.md §5.1).
async fn bolna_call(
    req: HttpRequest,
    body: web::Json<Value>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    shared.record("bolna", "calls", &req, body.into_inner());
    HttpResponse::Ok()
        .json(json!({"message": "done", "status": "queued", "execution_id": "exec-1"}))
}

/// The P-Series OpenAPI's `get_token` and `refresh_token` (providers.md §4.1).
async fn pbx_api(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<Value>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let operation = match path.as_str() {
        "get_token" => "get_token",
        "refresh_token" => "refresh_token",
        _ => return HttpResponse::NotFound().json(json!({"errcode": 404, "errmsg": "NOT FOUND"})),
    };
    shared.record("yeastar", operation, &req, body.into_inner());
    if shared.script().pbx_refuse_logins {
        return HttpResponse::Ok()
            .json(json!({"errcode": 10004, "errmsg": "USER OR PASSWORD ERROR"}));
    }
    HttpResponse::Ok().json(json!({
        "errcode": 0, "errmsg": "SUCCESS", "access_token": "tok-1",
        "access_token_expire_time": 1800, "refresh_token": "r-1",
    }))
}

/// The P-Series OpenAPI's state queries (providers.md §4.6): `extension/list` (paged by `page`
/// and `page_size`) and `call/query`, from the script's `pbx_extensions` and `pbx_calls`.
async fn pbx_state(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let operation = if req.path().ends_with("extension/list") {
        "extension_list"
    } else {
        "call_query"
    };
    shared.record("yeastar", operation, &req, json!(query));
    let script = shared.script.lock().unwrap();
    if query.get("access_token").map(String::as_str) != Some("tok-1") {
        return HttpResponse::Ok().json(json!({"errcode": 10003, "errmsg": "TOKEN INVALID"}));
    }
    if let Some(errcode) = script.pbx_state_error {
        return HttpResponse::Ok().json(json!({"errcode": errcode, "errmsg": "FAILED"}));
    }
    if operation == "call_query" {
        return HttpResponse::Ok()
            .json(json!({"errcode": 0, "errmsg": "SUCCESS", "data": script.pbx_calls}));
    }
    let (page, size) = page_asked(&query, 20);
    let items: Vec<&Value> = script
        .pbx_extensions
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    HttpResponse::Ok().json(json!({
        "errcode": 0, "errmsg": "SUCCESS",
        "total_number": script.pbx_extensions.len(), "data": items,
    }))
}

/// The page a PBX list request asks for (`page` from 1, `page_size`, by default `size`).
fn page_asked(query: &HashMap<String, String>, size: usize) -> (usize, usize) {
    let number = |name: &str, default: usize| {
        query
            .get(name)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    (number("page", 1).max(1), number("page_size", size).max(1))
}

/// The PBX's call records (`GET /openapi/v1.0/cdr/list`, `page`, `page_size`, newest first as
/// `sort_by=id&order_by=desc` asks), recorded as `cdr_list`.
async fn pbx_cdr_list(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    shared.record("yeastar", "cdr_list", &req, json!(query));
    if query.get("access_token").map(String::as_str) != Some("tok-1") {
        return HttpResponse::Ok().json(json!({"errcode": 10003, "errmsg": "TOKEN INVALID"}));
    }
    if let Some(errcode) = shared.script.lock().unwrap().pbx_state_error {
        return HttpResponse::Ok().json(json!({"errcode": errcode, "errmsg": "FAILED"}));
    }
    let (page, size) = page_asked(&query, 10_000);
    let cdrs = shared.pbx_cdrs.lock().unwrap();
    let items: Vec<&Value> = cdrs
        .iter()
        .rev()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    HttpResponse::Ok().json(json!({
        "errcode": 0, "errmsg": "SUCCESS", "total_number": cdrs.len(), "data": items,
    }))
}

/// The P-Series OpenAPI's `call/dial`: each dial gets a new PBX call id (`1800.N`).
/// The PBX's call transfer (`POST /openapi/v1.0/call/transfer`), recorded as `pbx_transfer`.
async fn pbx_transfer(
    req: HttpRequest,
    body: web::Json<Value>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    shared.record("yeastar", "pbx_transfer", &req, body.into_inner());
    if req.query_string() != "access_token=tok-1" {
        return HttpResponse::Ok().json(json!({"errcode": 10003, "errmsg": "TOKEN INVALID"}));
    }
    HttpResponse::Ok().json(json!({"errcode": 0, "errmsg": "SUCCESS", "call_id": "1800.t"}))
}

async fn pbx_dial(
    req: HttpRequest,
    body: web::Json<Value>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let body = body.into_inner();
    shared.record("yeastar", "dial", &req, body.clone());
    if req.query_string() != "access_token=tok-1" {
        return HttpResponse::Ok().json(json!({"errcode": 10003, "errmsg": "TOKEN INVALID"}));
    }
    let dials = shared
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.operation == "dial")
        .count();
    let call_id = format!("1800.{dials}");
    if let Some((url, secret)) = shared.script().pbx_event_before_answer {
        let caller = body["caller"].as_str().unwrap_or_default();
        let member = json!({"extension": {"number": caller, "channel_id": format!("PJSIP/{caller}-01"), "member_status": "ALERT"}});
        let msg = json!({"call_id": call_id, "members": [member]});
        let event =
            json!({"type": 30011, "sn": "SIM0000000001", "msg": msg.to_string()}).to_string();
        let signature = yeastar::signature(&secret, event.as_bytes());
        let pushed = shared
            .client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-Signature", signature)
            .body(event)
            .send()
            .await;
        if !pushed.is_ok_and(|r| r.status().is_success()) {
            tracing::warn!("the PBX's early call event was not accepted");
        }
    }
    HttpResponse::Ok().json(json!({"errcode": 0, "errmsg": "SUCCESS", "call_id": call_id}))
}

#[cfg(test)]
mod tests {
    use super::Retries;

    #[test]
    fn a_callback_is_sent_again_only_as_the_urls_override_says() {
        for (fragment, on_5xx, on_connect) in [
            ("", 0, 1),
            // What the engine appends to every Twilio callback URL it hands out.
            ("rc=3&rp=ct,rt,5xx", 3, 3),
            ("rc=3&rp=ct,rt", 0, 3),
            ("rp=all", 1, 1),
            ("rc=9&rp=5xx", 5, 0),
            ("rc=x&rp=5xx", 1, 0),
        ] {
            let retries = Retries::of(fragment);
            assert_eq!(
                (retries.on_5xx, retries.on_connect),
                (on_5xx, on_connect),
                "{fragment}"
            );
        }
    }
}
