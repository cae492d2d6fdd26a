//! An org's totals (`GET /api/v1/metrics`, `metrics:updated`), aggregated in SQL.

use crate::db::{queries, DbConnection};
use crate::domain::call::CallStatus;
use crate::domain::money::Money;
use crate::error::AppError;
use serde_json::{json, Map, Value};

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
    let (mut cost, mut billed_s) = (Map::new(), 0i64);
    for row in queries::call_costs(conn, org_id)? {
        let amount = Money::from_micros(row.cost_micros).to_string();
        cost.insert(row.currency, json!(amount));
        billed_s += row.billed_s;
    }
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
        "billed_minutes": billed_s as f64 / 60.0,
        "cost": cost,
        "extensions": presence,
        "credits": null,
    }))
}
