//! An org's totals (`GET /api/v1/metrics`, `metrics:updated`), aggregated in SQL.

use crate::db::queries::{self, TotalsFilter};
use crate::db::DbConnection;
use crate::domain::call::CallStatus;
use crate::domain::money::Money;
use crate::domain::tally;
use crate::error::AppError;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The org's totals as `GET /api/v1/metrics` and `metrics:updated` show them, over the calls
/// `filter` takes; live calls, extensions and credits are as they are now.
pub fn totals(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &TotalsFilter,
) -> Result<Value, AppError> {
    let mut by_status = Map::new();
    let (mut calls, mut live, mut answered, mut talk_s, mut talked) =
        (0i64, 0i64, 0i64, 0i64, 0i64);
    // The answer rate's calls: those no longer live (a live call is in neither of its terms).
    let (mut finished, mut finished_answered) = (0i64, 0i64);
    let (mut cost, mut billed_s) = (BTreeMap::<String, i64>::new(), 0i64);
    // Whole days come from the totals kept per day; any other bound counts the calls themselves.
    let rows = if filter.whole_days() {
        queries::kept_totals(conn, org_id, filter)?
    } else {
        queries::call_totals(conn, org_id, filter)?
    };
    for row in rows {
        let Some(status) = CallStatus::parse(&row.status) else {
            continue;
        };
        let counted = by_status.entry(row.status.clone()).or_insert(json!(0));
        *counted = json!(counted.as_i64().unwrap_or(0) + row.calls);
        calls += row.calls;
        answered += row.answered;
        talk_s += row.talk_s;
        talked += row.talked;
        billed_s += row.billed_s;
        if status.is_live() {
            live += row.calls;
        } else {
            finished += row.calls;
            finished_answered += row.answered;
        }
        if let (Some(currency), Some(micros)) = (row.currency, row.cost_micros) {
            *cost.entry(currency).or_default() += micros;
        }
    }
    let cost: Map<String, Value> = cost
        .into_iter()
        .map(|(currency, micros)| (currency, json!(Money::from_micros(micros).to_string())))
        .collect();
    let credits = queries::credit_account(conn, org_id)?
        .filter(|account| account.enabled)
        .map(|account| {
            json!({
                "balance": Money::from_micros(account.balance_micros).to_string(),
                "currency": account.currency,
                "low": account.is_low(),
            })
        });
    let mut presence = Map::new();
    for word in ["offline", "online", "ringing", "incall", "dnd"] {
        presence.insert(word.to_owned(), json!(0));
    }
    for (word, n) in queries::extensions_by_presence(conn, org_id)? {
        presence.insert(word, json!(n));
    }
    Ok(json!({
        "calls": calls,
        "calls_by_status": by_status,
        "live_calls": live,
        "answered": answered,
        "answer_rate": tally::answer_rate(finished_answered as u64, finished as u64),
        "talk_minutes": talk_s as f64 / 60.0,
        "average_talk_s": if talked > 0 { talk_s as f64 / talked as f64 } else { 0.0 },
        "billed_minutes": billed_s as f64 / 60.0,
        "cost": cost,
        "extensions": presence,
        "credits": credits,
    }))
}
