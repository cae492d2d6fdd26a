//! `GET /api/v1/calls/export.csv?from=&to=&campaign_id=`: the org's calls with their billing, as
//! CSV for finance — streamed page by page off the org's index by creation time, so an export of
//! millions of calls holds one page in memory, never the file.

use super::{ApiOrg, AppState, PeriodQuery};
use crate::db::models::into_calls;
use crate::db::queries;
use crate::domain::call::Call;
use crate::domain::time::to_text;
use crate::error::AppError;
use actix_web::{web, HttpResponse};

/// Calls read (and written out) per page.
const PAGE: i64 = 1000;

/// The export's columns, in order.
const COLUMNS: [&str; 20] = [
    "call_id",
    "created_at",
    "provider",
    "provider_call_id",
    "direction",
    "status",
    "from",
    "to",
    "campaign_id",
    "answered_at",
    "ended_at",
    "duration_s",
    "talk_s",
    "billed_s",
    "cost",
    "currency",
    "provider_cost",
    "provider_currency",
    "hangup_cause",
    "final_by",
];

fn record(call: &Call) -> [String; 20] {
    let text = |v: Option<String>| v.unwrap_or_default();
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| text(t.map(to_text));
    let number = |n: Option<i64>| text(n.map(|n| n.to_string()));
    let price = call.provider_price.as_ref();
    [
        call.id.to_string(),
        to_text(call.created_at),
        call.provider.clone(),
        text(call.provider_call_id.clone()),
        call.direction.as_str().to_owned(),
        call.status.as_str().to_owned(),
        text(call.from.clone()),
        text(call.to.clone()),
        text(call.campaign_id.clone()),
        time(call.answered_at),
        time(call.ended_at),
        number(call.duration_s()),
        number(call.talk_s()),
        number(call.billed_s),
        text(call.cost.map(|c| c.to_string())),
        text(call.currency.clone()),
        text(price.map(|p| p.amount.to_string())),
        text(price.map(|p| p.currency.clone())),
        text(call.hangup_cause.clone()),
        text(call.final_by.map(|a| a.as_str().to_owned())),
    ]
}

/// CSV text of `rows` (with the header first when `header`).
fn csv_chunk(calls: &[Call], header: bool) -> Result<web::Bytes, AppError> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(calls.len() * 200));
    let failed = |e: csv::Error| AppError::internal(format!("csv: {e}"));
    if header {
        out.write_record(COLUMNS).map_err(failed)?;
    }
    for call in calls {
        out.write_record(record(call)).map_err(failed)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::internal(format!("csv: {e}")))?;
    Ok(web::Bytes::from(bytes))
}

/// Where the export stands between pages.
struct Cursor {
    after: Option<(String, String)>,
    header: bool,
    done: bool,
}

/// The org's calls created in `[from, to)` (each optional) of a campaign (optional), oldest first,
/// with their billing: `text/csv`, streamed. Bad bounds are a 400 before anything is sent.
#[utoipa::path(get, path = "/api/v1/calls/export.csv", tag = "billing", params(PeriodQuery), responses((status = 200, description = "The calls as CSV", content_type = "text/csv")))]
pub async fn calls_csv(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = query.into_inner().filter()?;
    let org_id = org.id.to_string();
    let start = Cursor {
        after: None,
        header: true,
        done: false,
    };
    let pages = futures_util::stream::unfold(start, move |cursor| {
        let (state, org_id, filter) = (state.clone(), org_id.clone(), filter.clone());
        async move {
            if cursor.done {
                return None;
            }
            let after = cursor.after.clone();
            let read = state.engine.read(move |conn| {
                let rows = queries::calls_by_time(conn, &org_id, &filter, after.as_ref(), PAGE)?;
                into_calls(rows)
            });
            let calls = match read.await {
                Ok(calls) => calls,
                // The status line is gone: the client sees the body end early.
                Err(error) => return Some((Err(error), done())),
            };
            let next = Cursor {
                after: calls
                    .last()
                    .map(|c| (to_text(c.created_at), c.id.to_string())),
                header: false,
                done: (calls.len() as i64) < PAGE,
            };
            Some((csv_chunk(&calls, cursor.header), next))
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"calls.csv\""))
        .streaming(pages))
}

fn done() -> Cursor {
    Cursor {
        after: None,
        header: false,
        done: true,
    }
}
