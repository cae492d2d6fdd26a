//! `switchboard demo --check-after N`: after N seconds of traffic the floor closes (no new call,
//! the campaign paused), every call under way runs to its end, and what the board says — the
//! org's figures over this run's calls, the Support queue's card, the credit ledger — is compared
//! with what the simulators really did ([`Truth`]), read only through the public API as a
//! supervisor's screen reads it. One line per figure, then one JSON line; any mismatch fails.

use super::api;
use crate::sim::truth::{Line, TrueCall, TrueFigures, TrueRate, Truth, Wait};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Seconds a call's talk (and the board's average talk) may differ from the truth's: providers
/// report talk in whole seconds (Twilio's `CallDuration`, a Yeastar CDR) — within a second of the
/// simulators' clock.
const TALK_TOLERANCE_S: f64 = 1.0;
/// Seconds a queued caller's talk may differ: the engine times it from its own connect to the
/// end Twilio's callback says (`Timestamp`, in whole seconds), and shows it in whole seconds —
/// each within a second.
const QUEUE_TALK_TOLERANCE_S: f64 = 2.0;

/// What the check needs to know of the floor it was set up on.
pub struct Floor {
    pub truth: Truth,
    pub campaign_id: String,
    pub queue_id: String,
    /// The Support queue's counts of the day before this run's callers (a rerun on the same
    /// database, the same day, starts from the last run's).
    pub queue_before: QueueCounts,
    /// The run's calls are those created from this moment (RFC 3339).
    pub since: String,
    /// The org's rate card, as the truth prices calls with it.
    pub rates: &'static [TrueRate],
    /// Phones on the do-not-call list (never to be dialed), and how often a contact may be.
    pub do_not_call: HashSet<String>,
    pub max_attempts: u64,
    /// The Support queue's wrap-up: agents are idle again this long after their last call.
    pub wrap_up: Duration,
}

/// A queue card's counts of the day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounts {
    pub abandoned: u64,
    pub overflowed: u64,
}

/// One figure as the board shows it and as it really was.
#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    pub figure: &'static str,
    pub board: Value,
    pub truth: Value,
    pub ok: bool,
}

/// What differs, by kind (CONTRACT.md, "Simulation"): each a count that must be 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Mismatches {
    /// Calls missing, or whose answer or queue fate differs.
    pub call_status: u64,
    /// Calls whose talk differs by more than its tolerance.
    pub call_duration: u64,
    /// Calls whose cost is not what their provider's talk costs at the org's rates.
    pub call_cost: u64,
    /// Extensions whose presence is not the PBX's.
    pub presence: u64,
    /// Agents still offered a call or busy once every call ended and wrap-up passed.
    pub agents_stuck: u64,
    /// The campaign's calls, answered contacts or open contacts that differ.
    pub campaign_counts: u64,
    /// 1 when the ledger's call debits differ from the sum of call costs.
    pub ledger: u64,
    /// Deliveries the engine answered `accepted` that are not on their call's timeline.
    pub acked_missing: u64,
    /// Dials beyond a contact's attempts, or to a number on the do-not-call list.
    pub duplicate_dials: u64,
    /// The board's figures (totals, rates, queue cards, export) that differ.
    pub board_figures: u64,
}

impl Mismatches {
    pub fn total(&self) -> u64 {
        let Mismatches {
            call_status,
            call_duration,
            call_cost,
            presence,
            agents_stuck,
            campaign_counts,
            ledger,
            acked_missing,
            duplicate_dials,
            board_figures,
        } = *self;
        call_status
            + call_duration
            + call_cost
            + presence
            + agents_stuck
            + campaign_counts
            + ledger
            + acked_missing
            + duplicate_dials
            + board_figures
    }
}

/// The check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The run's calls, as the simulators placed them.
    pub calls: u64,
    pub figures: Vec<Compared>,
    pub mismatches: Mismatches,
    /// Calls that differ, as the truth and the board have them: up to 20, a few of each kind
    /// (line and what differs) before more of one.
    pub differing_calls: Vec<CallDiff>,
    /// The first extensions that differ.
    pub differing_extensions: Vec<String>,
    /// How the run went (filled in by its runner).
    #[serde(flatten)]
    pub run: Option<RunFigures>,
}

/// How the engine held up over the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunFigures {
    /// Webhooks the engine acknowledged, and per second of traffic.
    pub events: u64,
    pub events_per_s: f64,
    /// Webhook sent → its call shown on a dashboard's WebSocket: the 99th percentile and median,
    /// in milliseconds, over this many samples.
    pub latency_p99_ms: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_samples: usize,
    /// The process's resident memory when traffic began and once every call ended (kB).
    pub rss_start_kb: Option<u64>,
    pub rss_end_kb: Option<u64>,
    /// The database's size over the calls it holds.
    pub db_bytes: Option<i64>,
    pub db_bytes_per_call: Option<f64>,
    /// Callers whose voice webhook the engine could not take: they heard the provider's
    /// application error (counted as the provider records them: answered, in no queue).
    pub voice_refused: u64,
    /// Webhooks the engine refused (5xx: shed as overloaded, or the store down) past their
    /// sender's retries, which the PBX and Twilio do not send again: what the engine must find
    /// by asking them. Thousands mean the day ran faster than the machine holds.
    pub webhooks_given_up: u64,
    /// Seconds of traffic, and the faults played.
    pub traffic_s: f64,
    pub faults: Vec<String>,
}

impl Report {
    /// Prints the report; an error when anything differs (the command exits 1).
    pub fn print(&self) -> Result<(), String> {
        for line in self.lines() {
            println!("{line}");
        }
        match self.mismatches.total() {
            0 => Ok(()),
            n => Err(format!("{n} figures differ from what really happened")),
        }
    }

    /// The report as printed: a line per figure, then the whole as one JSON line.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .figures
            .iter()
            .map(|c| {
                let mark = if c.ok { "ok" } else { "MISMATCH" };
                format!(
                    "check {:<22} board {:<12} truth {:<12} {mark}",
                    c.figure, c.board, c.truth
                )
            })
            .collect();
        let m = serde_json::to_value(self.mismatches).unwrap_or_default();
        for (kind, count) in m.as_object().into_iter().flatten() {
            let mark = if count == 0 { "ok" } else { "MISMATCH" };
            lines.push(format!("mismatches {kind:<20} {count:<12} {mark}"));
        }
        if let Some(run) = &self.run {
            lines.push(format!(
                "run: {} events in {:.0} s ({:.0}/s), webhook → dashboard p50 {} ms p99 {} ms ({} samples), RSS {} → {} kB, {} bytes of database per call",
                run.events,
                run.traffic_s,
                run.events_per_s,
                run.latency_p50_ms.map_or("-".into(), |v| format!("{v:.1}")),
                run.latency_p99_ms.map_or("-".into(), |v| format!("{v:.1}")),
                run.latency_samples,
                run.rss_start_kb.map_or("-".into(), |v| v.to_string()),
                run.rss_end_kb.map_or("-".into(), |v| v.to_string()),
                run.db_bytes_per_call.map_or("-".into(), |v| format!("{v:.0}")),
            ));
            if run.voice_refused > 0 {
                lines.push(format!(
                    "run: {} callers heard the provider's application error (their voice webhook refused)",
                    run.voice_refused
                ));
            }
            if run.webhooks_given_up > 0 {
                lines.push(format!(
                    "run: {} webhooks refused past their sender's retries (shed as overloaded, or the store down)",
                    run.webhooks_given_up
                ));
            }
        }
        lines.push(serde_json::to_string(self).unwrap_or_default());
        lines
    }
}

/// The Support queue's counts now.
pub async fn queue_counts(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    queue_id: &str,
) -> Result<QueueCounts, String> {
    let path = format!("/api/v1/queues/{queue_id}");
    let queue = api(client, base, token, "GET", &path, Value::Null).await?;
    let count = |name: &str| queue[name].as_u64().unwrap_or(0);
    Ok(QueueCounts {
        abandoned: count("abandoned"),
        overflowed: count("overflowed"),
    })
}

/// Closes the floor, waits for every call to end, and compares.
pub async fn run(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    floor: &Floor,
    speed: f64,
) -> Result<Report, String> {
    floor.truth.close();
    let pause = format!("/api/v1/campaigns/{}/pause", floor.campaign_id);
    if let Err(error) = api(client, base, token, "POST", &pause, json!({})).await {
        // A campaign that already completed (or paused for credits) dials nothing more anyway.
        tracing::info!(%error, "the campaign was not paused");
    }
    let figures_path = format!("/api/v1/metrics?from={}", floor.since);
    // The longest simulated call: a caller's patience and the queue's maximum wait, then talk.
    let deadline = Instant::now() + Duration::from_secs_f64(500.0 / speed + 30.0);
    let mut board = api(client, base, token, "GET", &figures_path, Value::Null).await?;
    while floor.truth.live() > 0 || board["live_calls"].as_u64() != Some(0) {
        if Instant::now() > deadline {
            tracing::warn!(
                truth_live = floor.truth.live(),
                board_live = %board["live_calls"],
                "calls still live when the check gave up waiting"
            );
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        board = api(client, base, token, "GET", &figures_path, Value::Null).await?;
    }
    // The desk counts a queue's callers once their calls are committed, and agents are idle
    // again once their wrap-up passed: a moment later.
    actix_web::rt::time::sleep(floor.wrap_up + Duration::from_secs(1)).await;
    let board = api(client, base, token, "GET", &figures_path, Value::Null).await?;
    let queue_now = queue_counts(client, base, token, &floor.queue_id).await?;
    let truth = floor.truth.figures();
    let mut figures = compare_figures(&board, &truth);
    let queue = QueueCounts {
        abandoned: queue_now
            .abandoned
            .saturating_sub(floor.queue_before.abandoned),
        overflowed: queue_now
            .overflowed
            .saturating_sub(floor.queue_before.overflowed),
    };
    // A queue's counts start again at midnight (UTC): across it they hold only the new day's.
    let day_turned = chrono::DateTime::parse_from_rfc3339(&floor.since)
        .is_ok_and(|since| since.date_naive() != chrono::Utc::now().date_naive());
    let queue_figure = |figure, board: u64, truth: u64| match day_turned {
        true => Compared {
            figure,
            board: json!(format!("{board} since midnight UTC")),
            truth: json!(truth),
            ok: true,
        },
        false => exact(figure, board, truth),
    };
    figures.push(queue_figure(
        "abandoned in queue",
        queue.abandoned,
        truth.abandoned,
    ));
    figures.push(queue_figure(
        "sent away by queue",
        queue.overflowed,
        truth.sent_away,
    ));
    figures.extend(exported(client, base, token, floor, &truth).await?);
    let ledger = money(client, base, token).await?;
    let calls = differing_calls(client, base, token, floor).await?;
    let extensions = differing_extensions(client, base, token, &floor.truth).await?;
    let count = |kind: Differs| calls.iter().filter(|c| c.differs.contains(&kind)).count() as u64;
    let campaign = campaign_counts(client, base, token, floor).await?;
    let mismatches = Mismatches {
        call_status: count(Differs::Status),
        call_duration: count(Differs::Duration),
        call_cost: count(Differs::Cost),
        presence: extensions.len() as u64,
        agents_stuck: agents_stuck(client, base, token).await?,
        campaign_counts: campaign.iter().filter(|c| !c.ok).count() as u64,
        ledger: u64::from(!ledger.ok),
        acked_missing: acked_missing(client, base, token, &floor.truth).await?,
        duplicate_dials: duplicate_dials(floor),
        board_figures: figures.iter().filter(|c| !c.ok).count() as u64,
    };
    figures.push(ledger);
    figures.extend(campaign);
    Ok(Report {
        calls: truth.calls,
        figures,
        mismatches,
        differing_calls: a_few_of_each(calls, 20),
        differing_extensions: extensions.into_iter().take(20).collect(),
        run: None,
    })
}

/// Agents whose state is still `offered`, `busy` or `wrap_up` now that every call ended and
/// wrap-up passed.
async fn agents_stuck(client: &reqwest::Client, base: &str, token: &str) -> Result<u64, String> {
    let mut stuck = 0;
    each_item(client, base, token, "/api/v1/agents", |agent| {
        let state = agent["state"].as_str().unwrap_or_default();
        stuck += u64::from(matches!(state, "offered" | "busy" | "wrap_up"));
        true
    })
    .await?;
    Ok(stuck)
}

/// The campaign's progress against the truth of its calls: how many it placed, how many
/// contacts were reached (a call answered), and none left dialing or in a call.
async fn campaign_counts(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    floor: &Floor,
) -> Result<Vec<Compared>, String> {
    let path = format!("/api/v1/campaigns/{}/progress", floor.campaign_id);
    let progress = api(client, base, token, "GET", &path, Value::Null).await?;
    let outbound: Vec<TrueCall> = floor
        .truth
        .all()
        .into_values()
        .filter(|c| c.line == Line::Outbound)
        .collect();
    let reached: HashSet<&str> = outbound
        .iter()
        .filter(|c| c.answered)
        .map(|c| c.priced_by.as_str())
        .collect();
    let contacts = &progress["contacts"];
    let count = |v: &Value| v.as_u64().unwrap_or(u64::MAX);
    Ok(vec![
        exact(
            "campaign: calls",
            count(&progress["totalCalls"]),
            outbound.len() as u64,
        ),
        exact(
            "campaign: reached",
            count(&contacts["done"]),
            reached.len() as u64,
        ),
        exact(
            "campaign: still open",
            count(&contacts["dialing"]).saturating_add(count(&contacts["in_call"])),
            0,
        ),
    ])
}

/// Dials the truth saw beyond each number's allowed attempts, and dials to numbers on the
/// do-not-call list.
fn duplicate_dials(floor: &Floor) -> u64 {
    let mut dials: HashMap<String, u64> = HashMap::new();
    for call in floor.truth.all().into_values() {
        if call.line == Line::Outbound {
            *dials.entry(call.priced_by).or_default() += 1;
        }
    }
    dials
        .iter()
        .map(|(phone, &n)| match floor.do_not_call.contains(phone) {
            true => n,
            false => n.saturating_sub(floor.max_attempts),
        })
        .sum()
}

/// Deliveries the engine answered `accepted` for a call that its timeline does not hold: each
/// call's provider entries against its accepted deliveries.
async fn acked_missing(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    truth: &Truth,
) -> Result<u64, String> {
    use futures_util::StreamExt;
    let accepted = truth.accepted();
    let missing = futures_util::stream::iter(accepted)
        .map(|(call_id, accepted)| async move {
            let mut held = 0u32;
            let list = format!("/api/v1/calls/{call_id}/events");
            each_item(client, base, token, &list, |entry| {
                held += u32::from(entry["source"] == "provider");
                true
            })
            .await
            .map(|()| u64::from(accepted.saturating_sub(held)))
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    missing.into_iter().sum()
}

/// The PBX's extensions whose presence on the board is not the PBX's own, once every call ended:
/// online when registered, offline when not (as `number: board presence`).
async fn differing_extensions(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    truth: &Truth,
) -> Result<Vec<String>, String> {
    let mut board = std::collections::HashMap::new();
    each_item(client, base, token, "/api/v1/extensions", |ext| {
        if let (Some(number), Some(presence)) = (ext["number"].as_str(), ext["presence"].as_str()) {
            board.insert(number.to_owned(), presence.to_owned());
        }
        true
    })
    .await?;
    let mut differ: Vec<String> = truth
        .extensions()
        .into_iter()
        .filter_map(|(number, registered)| {
            let expected = if registered { "online" } else { "offline" };
            let shown = board.get(&number).map_or("missing", String::as_str);
            (shown != expected).then(|| format!("{number}: {shown}, the PBX says {expected}"))
        })
        .collect();
    differ.sort();
    Ok(differ)
}

/// What about a call differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Differs {
    /// Missing, answered or not, or its fate in the queue.
    Status,
    /// Its talk, beyond the tolerance.
    Duration,
    /// Its cost, outside what its provider's talk costs at the org's rates.
    Cost,
}

/// One call whose board answer differs from what really happened.
#[derive(Debug, Clone, Serialize)]
pub struct CallDiff {
    pub differs: Vec<Differs>,
    pub provider_call_id: String,
    pub line: crate::sim::truth::Line,
    pub truth_answered: bool,
    pub truth_talk_s: f64,
    /// The call as the API shows it (null: the engine has no such call).
    pub board: Value,
}

/// Up to `most` of `diffs`, taken in turn from each kind (line and what differs), so that a
/// rare kind of difference is not hidden behind hundreds of a common one.
fn a_few_of_each(diffs: Vec<CallDiff>, most: usize) -> Vec<CallDiff> {
    let mut kinds: Vec<std::collections::VecDeque<CallDiff>> = Vec::new();
    for diff in diffs {
        let same = |other: &CallDiff| other.line == diff.line && other.differs == diff.differs;
        match kinds.iter_mut().find(|kind| kind.front().is_some_and(same)) {
            Some(kind) => kind.push_back(diff),
            None => kinds.push(std::collections::VecDeque::from([diff])),
        }
    }
    let mut sample = Vec::new();
    while sample.len() < most && kinds.iter().any(|kind| !kind.is_empty()) {
        for kind in kinds.iter_mut().filter(|kind| !kind.is_empty()) {
            if sample.len() == most {
                break;
            }
            sample.extend(kind.pop_front());
        }
    }
    sample
}

/// The run's calls, one by one, whose answer, talk (beyond its tolerance) or fate in
/// the queue differs from the truth.
async fn differing_calls(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    floor: &Floor,
) -> Result<Vec<CallDiff>, String> {
    let mut board = std::collections::HashMap::new();
    // Newest first: the run's calls, then the earlier runs'.
    let since = chrono::DateTime::parse_from_rfc3339(&floor.since).map_err(|e| e.to_string())?;
    each_item(client, base, token, "/api/v1/calls", |call| {
        let created = call["created_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        if created.is_none_or(|created| created < since) {
            return false;
        }
        if let Some(id) = call["provider_call_id"].as_str() {
            board.insert(id.to_owned(), call.clone());
        }
        true
    })
    .await?;
    let mut diffs: Vec<CallDiff> = floor
        .truth
        .all()
        .into_iter()
        .filter_map(|(id, truth)| {
            let call = board.get(&id).cloned().unwrap_or(Value::Null);
            let answered = call["answered_at"].is_string();
            let talk = call["talk_s"].as_f64().unwrap_or(0.0);
            let outcome = truth.wait.map(|wait| match wait {
                Wait::Connected => "handled",
                Wait::SentAway => "overflowed",
                Wait::GaveUp => "abandoned",
            });
            let cost = match (truth.cost_micros(floor.rates), &call["cost"]) {
                (None, Value::Null) => true,
                (Some((low, high)), Value::String(cost)) => {
                    micros(cost).is_some_and(|cost| (low..=high).contains(&cost))
                }
                _ => false,
            };
            let differs: Vec<Differs> = [
                (
                    call.is_null()
                        || answered != truth.answered
                        || call["queue_outcome"].as_str() != outcome,
                    Differs::Status,
                ),
                (
                    (talk - truth.talk_s).abs()
                        > match truth.line {
                            Line::Queue => QUEUE_TALK_TOLERANCE_S,
                            _ => TALK_TOLERANCE_S,
                        },
                    Differs::Duration,
                ),
                (!cost, Differs::Cost),
            ]
            .into_iter()
            .filter_map(|(differs, kind)| differs.then_some(kind))
            .collect();
            (!differs.is_empty()).then_some(CallDiff {
                differs,
                provider_call_id: id,
                line: truth.line,
                truth_answered: truth.answered,
                truth_talk_s: (truth.talk_s * 1000.0).round() / 1000.0,
                board: call,
            })
        })
        .collect();
    diffs.sort_by(|a, b| a.provider_call_id.cmp(&b.provider_call_id));
    Ok(diffs)
}

/// The org's figures over the run's calls against the truth's.
fn compare_figures(board: &Value, truth: &TrueFigures) -> Vec<Compared> {
    let count = |name: &str| board[name].as_u64().unwrap_or(u64::MAX);
    let real = |name: &str| board[name].as_f64().unwrap_or(f64::NAN);
    vec![
        exact("calls", count("calls"), truth.calls),
        exact("live calls", count("live_calls"), truth.live),
        exact("answered", count("answered"), truth.answered),
        within("answer rate", real("answer_rate"), truth.answer_rate, 1e-9),
        within(
            "average talk (s)",
            real("average_talk_s"),
            truth.average_talk_s,
            TALK_TOLERANCE_S,
        ),
    ]
}

/// The billing export of the run's calls against the truth: its rows and its answered calls
/// (a row with `answered_at`), as an accountant's spreadsheet would count them.
async fn exported(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    floor: &Floor,
    truth: &TrueFigures,
) -> Result<Vec<Compared>, String> {
    let url = format!("{base}/api/v1/calls/export.csv?from={}", floor.since);
    let response = client.get(url).bearer_auth(token).send().await;
    let text = match response {
        Ok(r) if r.status().is_success() => r.text().await.map_err(|e| e.to_string())?,
        Ok(r) => return Err(format!("the export answered {}", r.status())),
        Err(e) => return Err(e.to_string()),
    };
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let answered_at = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .position(|h| h == "answered_at")
        .ok_or("the export has no answered_at column")?;
    let (mut rows, mut answered) = (0u64, 0u64);
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        rows += 1;
        answered += u64::from(record.get(answered_at).is_some_and(|t| !t.is_empty()));
    }
    Ok(vec![
        exact("export: calls", rows, truth.calls),
        exact("export: answered", answered, truth.answered),
    ])
}

/// Debits equal costs: the ledger's call entries (debits and adjustments) against the cost of
/// every call, all time, each summed here from the decimal text the API shows.
async fn money(client: &reqwest::Client, base: &str, token: &str) -> Result<Compared, String> {
    // The two are read one after the other: a call re-priced in between (a late record applied
    // after the floor closed moves its cost and its debit in one commit) would make them differ
    // for a moment. They are compared as they stand when the costs read before and after the
    // ledger agree.
    let read_costs = async || {
        let all = api(client, base, token, "GET", "/api/v1/metrics", Value::Null).await?;
        Ok::<_, String>(all["cost"]["USD"].as_str().map_or(Some(0), micros))
    };
    let mut tries = 0;
    let (costs, debited) = loop {
        let before = read_costs().await?;
        let debited = ledger_debits(client, base, token).await?;
        let after = read_costs().await?;
        tries += 1;
        if before == after || tries == SETTLE_TRIES {
            break (after, debited);
        }
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    };
    let costs = costs.unwrap_or(i64::MAX);
    Ok(Compared {
        figure: "debits = costs (USD)",
        board: json!(format_micros(-debited)),
        truth: json!(format_micros(costs)),
        ok: -debited == costs,
    })
}

/// How many times the money is read until the costs stand still around the ledger.
const SETTLE_TRIES: u32 = 10;

/// The sum of the ledger's call entries (debits negative), in millionths.
async fn ledger_debits(client: &reqwest::Client, base: &str, token: &str) -> Result<i64, String> {
    let mut debited = 0i64;
    each_item(client, base, token, "/api/v1/credits/ledger", |entry| {
        if entry["call_id"].is_string() {
            debited += entry["amount"]
                .as_str()
                .and_then(micros)
                .unwrap_or(i64::MIN / 2);
        }
        true
    })
    .await?;
    Ok(debited)
}

/// Reads a list page by page, handing each item to `take` until it answers false.
async fn each_item(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    list: &str,
    mut take: impl FnMut(&Value) -> bool,
) -> Result<(), String> {
    let mut path = format!("{list}?limit=1000");
    loop {
        let page = api(client, base, token, "GET", &path, Value::Null).await?;
        for item in page["items"].as_array().into_iter().flatten() {
            if !take(item) {
                return Ok(());
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => path = format!("{list}?limit=1000&cursor={next}"),
            None => return Ok(()),
        }
    }
}

/// `"-0.0123"` → -12300 millionths; None when it is not a decimal with at most 6 places.
fn micros(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if fraction.len() > 6 || whole.is_empty() {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<6}").parse().ok()?;
    let value = whole * 1_000_000 + fraction;
    Some(if negative { -value } else { value })
}

fn format_micros(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let value = value.unsigned_abs();
    format!("{sign}{}.{:06}", value / 1_000_000, value % 1_000_000)
}

fn exact(figure: &'static str, board: u64, truth: u64) -> Compared {
    Compared {
        figure,
        board: json!(board),
        truth: json!(truth),
        ok: board == truth,
    }
}

fn within(figure: &'static str, board: f64, truth: f64, tolerance: f64) -> Compared {
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    Compared {
        figure,
        board: json!(round(board)),
        truth: json!(round(truth)),
        ok: (board - truth).abs() <= tolerance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_text_is_read_to_the_millionth() {
        assert_eq!(micros("0.022"), Some(22_000));
        assert_eq!(micros("-1.5"), Some(-1_500_000));
        assert_eq!(micros("5"), Some(5_000_000));
        assert_eq!(micros("0.0000001"), None);
        assert_eq!(micros("abc"), None);
        assert_eq!(format_micros(-22_000), "-0.022000");
    }

    #[test]
    fn a_figure_off_by_one_is_a_mismatch() {
        let truth = TrueFigures {
            calls: 10,
            answered: 7,
            answer_rate: 0.7,
            average_talk_s: 40.0,
            ..TrueFigures::default()
        };
        let board = json!({"calls": 10, "live_calls": 0, "answered": 7, "answer_rate": 0.7,
            "average_talk_s": 40.6});
        assert!(compare_figures(&board, &truth).iter().all(|c| c.ok));
        let board = json!({"calls": 10, "live_calls": 0, "answered": 8, "answer_rate": 0.8,
            "average_talk_s": 41.5});
        let wrong: Vec<&str> = compare_figures(&board, &truth)
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.figure)
            .collect();
        assert_eq!(wrong, ["answered", "answer rate", "average talk (s)"]);
    }

    #[test]
    fn a_rare_kind_of_difference_is_shown_beside_a_common_one() {
        use crate::sim::truth::Line;
        let diff = |n: usize, line: Line, differs: Vec<Differs>| CallDiff {
            differs,
            provider_call_id: format!("c{n}"),
            line,
            truth_answered: true,
            truth_talk_s: 1.0,
            board: Value::Null,
        };
        let mut diffs: Vec<CallDiff> = (0..30)
            .map(|n| diff(n, Line::Outbound, vec![Differs::Duration]))
            .collect();
        diffs.push(diff(30, Line::Pbx, vec![Differs::Status]));
        diffs.push(diff(
            31,
            Line::Outbound,
            vec![Differs::Status, Differs::Cost],
        ));
        let shown: Vec<String> = a_few_of_each(diffs, 5)
            .into_iter()
            .map(|d| d.provider_call_id)
            .collect();
        assert_eq!(shown, ["c0", "c30", "c31", "c1", "c2"]);
    }
}
