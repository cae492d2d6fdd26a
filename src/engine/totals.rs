//! An org's totals (`GET /api/v1/metrics`, `metrics:updated`), aggregated in SQL.

use crate::db::{queries, DbConnection};
use crate::domain::call::CallStatus;
use crate::error::AppError;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The org's totals as `GET /api/v1/metrics` and `metrics:updated` show them.
pub fn totals(conn: &mut DbConnection, org_id: &str) -> Result<Value, AppError> {
    let mut by_status = Map::new();
    let (mut calls, mut live, mut answered, mut talk_s, mut talked) =
        (0i64, 0i64, 0i64, 0i64, 0i64);
    for row in queries::call_totals(conn, org_id)? {
        let Some(status) = CallStatus::parse(&row.status) else {
            continue;
        };
        by_status.insert(row.status.clone(), json!(row.calls));
        calls += row.calls;
        answered += row.answered;
        talk_s += row.talk_s;
        talked += row.talked;
        if status.is_live() {
            live += row.calls;
        }
    }
    let mut cost: BTreeMap<String, f64> = BTreeMap::new();
    for (amount, currency) in queries::call_costs(conn, org_id)? {
        if let Ok(amount) = amount.parse::<f64>() {
            *cost
                .entry(currency.unwrap_or_else(|| "unknown".into()))
                .or_default() += amount;
        }
    }
    let cost: Map<String, Value> = cost
        .into_iter()
        .map(|(currency, amount)| (currency, json!(decimal(amount))))
        .collect();
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
        "answer_rate": if calls > 0 { answered as f64 / calls as f64 } else { 0.0 },
        "talk_minutes": talk_s as f64 / 60.0,
        "average_talk_s": if talked > 0 { talk_s as f64 / talked as f64 } else { 0.0 },
        "cost": cost,
        "extensions": presence,
        "credits": null,
    }))
}

/// A sum of money as a decimal string without float noise (`0.098`, not `0.09800000000000001`).
fn decimal(amount: f64) -> String {
    let text = format!("{amount:.6}");
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').unwrap_or(text).to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_is_written_without_float_noise() {
        assert_eq!(super::decimal(0.098 + 0.0085), "0.1065");
        assert_eq!(super::decimal(2.0), "2");
    }
}
