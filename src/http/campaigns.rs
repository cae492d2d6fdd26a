//! Campaigns: create (with contacts), add contacts (JSON or CSV), list, get, contacts, progress,
//! and start / pause / resume / cancel.

use super::{list_page, page, ApiOrg, AppState, PageQuery};
use crate::actors::campaign::{
    CampaignActor, ContactsAdded, Control, CurrentProgress, RouteCampaign, Steer, NO_CREDITS,
};
use crate::db::models::{CampaignContactRow, CampaignRow};
use crate::db::queries;
use crate::domain::campaign::{CallingWindow, CampaignStatus};
use crate::domain::dialer::{AmdRule, DialMode, RecycleRule};
use crate::domain::time::to_text;
use crate::engine::orgs::Org;
use crate::engine::{billing, campaigns};
use crate::error::{AppError, Code};
use crate::providers::Provider;
use actix::Addr;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewCampaign {
    name: String,
    provider: String,
    concurrency: Option<i32>,
    max_attempts: Option<i32>,
    retry_delay_s: Option<i32>,
    calls_per_second: Option<f64>,
    /// `{"start": "09:00", "end": "21:00", "tz": "Asia/Kolkata"}`
    #[schema(value_type = Option<Object>)]
    window: Option<CallingWindow>,
    /// Record the campaign's calls (the org's own flag records them too).
    #[serde(default)]
    record: bool,
    /// `fixed` (default: `concurrency` live calls), `progressive` (one call per idle agent of
    /// `queue_id`) or `predictive` (ahead of the agents, holding `max_abandon_rate`).
    mode: Option<String>,
    /// The agents' queue of a progressive or predictive campaign.
    queue_id: Option<String>,
    /// Predictive: the abandon rate held (default 0.03).
    max_abandon_rate: Option<f64>,
    /// Answering-machine detection: `off` (default), `hangup`, `continue`, `retry`.
    amd: Option<String>,
    /// Recycling by outcome: `[{"outcome": "busy", "after_s": 600, "max_attempts": 3}, …]`.
    #[schema(value_type = Option<Vec<Object>>)]
    recycle: Option<Vec<RecycleRule>>,
    /// What an answered call no agent took within 2 s hears before it is hung up.
    abandon_message: Option<String>,
    /// Attempts per number per day across the org's campaigns (default 3).
    daily_attempt_cap: Option<i32>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    contacts: Vec<Value>,
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::new(Code::InvalidCampaign, message)
}

/// A new campaign's dialer fields, read and checked.
struct DialerFields {
    mode: DialMode,
    amd: AmdRule,
    max_abandon_rate: f64,
    daily_attempt_cap: i32,
}

async fn dialer_fields(
    state: &AppState,
    org: &Org,
    body: &NewCampaign,
    provider: Provider,
) -> Result<DialerFields, AppError> {
    let mode = match body.mode.as_deref() {
        None => DialMode::Fixed,
        Some(word) => DialMode::parse(word).ok_or_else(|| {
            invalid(format!(
                "`{word}` is not a dial mode: use fixed, progressive or predictive"
            ))
        })?,
    };
    if mode != DialMode::Fixed {
        if provider == Provider::Bolna {
            return Err(invalid(
                "a voice-bot campaign has no agents: its mode is fixed",
            ));
        }
        let queue_id = body
            .queue_id
            .as_deref()
            .ok_or_else(|| invalid(format!("a {} campaign needs `queue_id`", mode.as_str())))?;
        let (org_id, id) = (org.id.to_string(), queue_id.to_owned());
        state
            .engine
            .read(move |conn| Ok(crate::db::desk::queue(conn, &org_id, &id)?))
            .await?
            .ok_or(AppError::not_found("queue"))?;
    }
    let amd = match body.amd.as_deref() {
        None => AmdRule::Off,
        Some(word) => AmdRule::parse(word).ok_or_else(|| {
            invalid(format!(
                "`{word}` is not an amd rule: use off, hangup, continue or retry"
            ))
        })?,
    };
    for rule in body.recycle.iter().flatten() {
        rule.validate().map_err(invalid)?;
    }
    let max_abandon_rate = body.max_abandon_rate.unwrap_or(0.03);
    if !(0.0..=1.0).contains(&max_abandon_rate) {
        return Err(invalid("max_abandon_rate must be 0 to 1"));
    }
    let daily_attempt_cap = body.daily_attempt_cap.unwrap_or(3);
    if !(1..=100).contains(&daily_attempt_cap) {
        return Err(invalid("daily_attempt_cap must be 1 to 100"));
    }
    Ok(DialerFields {
        mode,
        amd,
        max_abandon_rate,
        daily_attempt_cap,
    })
}

/// Creates a campaign with its contacts (the org's contacts: a known phone is linked). Answers 201
/// with the campaign, the number of contacts added, and the rows that could not be read.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = NewCampaign, responses((status = 201, description = "The campaign, with `contacts_added` and `invalid_contacts`")))]
pub async fn create_campaign(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    body: web::Json<NewCampaign>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let name = body.name.trim();
    if name.is_empty() {
        return Err(invalid("a campaign needs a name"));
    }
    let provider = Provider::parse(&body.provider)
        .filter(|p| *p != Provider::Yeastar)
        .ok_or_else(|| {
            invalid(format!(
                "`{}` cannot run campaigns: use twilio, plivo, exotel or bolna",
                body.provider
            ))
        })?;
    let concurrency = body.concurrency.unwrap_or(5);
    let max_attempts = body.max_attempts.unwrap_or(1);
    let retry_delay_s = body.retry_delay_s.unwrap_or(300);
    if !(1..=1000).contains(&concurrency) {
        return Err(invalid("concurrency must be 1 to 1000"));
    }
    if !(1..=20).contains(&max_attempts) {
        return Err(invalid("max_attempts must be 1 to 20"));
    }
    if retry_delay_s < 0 {
        return Err(invalid("retry_delay_s must be 0 or more"));
    }
    if body
        .calls_per_second
        .is_some_and(|r| !(r > 0.0 && r.is_finite()))
    {
        return Err(invalid("calls_per_second must be a positive number"));
    }
    if let Some(window) = &body.window {
        window.validate().map_err(invalid)?;
    }
    let dialer = dialer_fields(&state, &org, &body, provider).await?;
    let now = to_text(chrono::Utc::now());
    let campaign = CampaignRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org.id.to_string(),
        name: name.to_owned(),
        provider: provider.as_str().to_owned(),
        status: CampaignStatus::Pending.as_str().to_owned(),
        concurrency,
        max_attempts,
        retry_delay_s,
        calls_per_second: body.calls_per_second,
        calling_window: body.window.as_ref().map(|w| json!(w).to_string()),
        failure_reason: None,
        created_at: now.clone(),
        updated_at: now,
        record: body.record,
        mode: dialer.mode.as_str().to_owned(),
        queue_id: body.queue_id.clone(),
        max_abandon_rate: dialer.max_abandon_rate,
        amd: dialer.amd.as_str().to_owned(),
        recycle: body.recycle.as_ref().map(|r| json!(r).to_string()),
        abandon_message: body
            .abandon_message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned),
        daily_attempt_cap: dialer.daily_attempt_cap,
    };
    let report = campaigns::create(&state.engine, &org, &campaign, body.contacts).await?;
    let mut answer = campaign.to_json();
    answer["contacts_added"] = json!(report.added);
    answer["invalid_contacts"] = json!(report.invalid);
    Ok(HttpResponse::Created().json(answer))
}

/// The columns a contact reads itself (the others are kept as its fields, as named).
const OWN_COLUMNS: [&str; 5] = ["phone", "name", "company", "tz", "priority"];

/// Rows of a `text/csv` body (RFC 4180: quoted fields with commas, line breaks and doubled
/// quotes; `\r\n` or `\n`; an Excel byte-order mark) with a `phone` column. A contact's own
/// fields ([`OWN_COLUMNS`]) are named in any case; every other column is kept as a contact field
/// under its own name. Blank rows are skipped;
/// a row with fewer cells than the header keeps those it has.
pub fn csv_rows(body: &[u8]) -> Result<Vec<Value>, AppError> {
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(body);
    let mut records = reader.byte_records();
    let unreadable = |e: csv::Error| invalid(format!("the CSV cannot be read: {e}"));
    let cell = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim().to_owned();
    let header = loop {
        match records.next().transpose().map_err(unreadable)? {
            None => return Err(invalid("the CSV is empty")),
            Some(record) if record.iter().all(|c| cell(c).is_empty()) => continue,
            Some(record) => break record,
        }
    };
    let columns: Vec<String> = header
        .iter()
        .map(cell)
        .map(
            |c| match OWN_COLUMNS.iter().find(|own| own.eq_ignore_ascii_case(&c)) {
                Some(own) => (*own).to_owned(),
                None => c,
            },
        )
        .collect();
    if !columns.iter().any(|c| c == "phone") {
        return Err(invalid("the CSV needs a `phone` column"));
    }
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(unreadable)?;
        let fields: serde_json::Map<String, Value> = columns
            .iter()
            .zip(record.iter().map(cell))
            .filter(|(name, value)| !name.is_empty() && !value.is_empty())
            .map(|(name, value)| (name.clone(), Value::from(value)))
            .collect();
        if record.iter().any(|c| !cell(c).is_empty()) {
            rows.push(Value::Object(fields));
        }
    }
    Ok(rows)
}

/// `POST /api/v1/campaigns/{id}/contacts`: a JSON array of contacts, or `text/csv`.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/contacts", tag = "campaigns", params(("id" = String, Path, description = "the campaign's id")), request_body(content = Object, description = "A JSON array of contacts, or text/csv with a `phone` column"), responses((status = 200, description = "`{added, invalid}`")))]
pub async fn post_contacts(
    ApiOrg(org): ApiOrg,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let campaign = campaigns::find(&state.engine, &org, &path).await?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let rows = if content_type.starts_with("text/csv") {
        csv_rows(&body)?
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Array(rows)) => rows,
            Ok(_) => return Err(invalid("contacts are a JSON array (or text/csv)")),
            Err(e) => return Err(AppError::new(Code::InvalidJson, e.to_string())),
        }
    };
    let report = campaigns::add_contacts(&state.engine, &org, &campaign, rows).await?;
    // The campaign's actor, if it has one, dials them in their turn (also while it runs).
    if let Ok(Some(actor)) = state
        .actors
        .campaigns
        .send(RouteCampaign {
            org_id: org.id.clone(),
            campaign_id: campaign.id.clone(),
        })
        .await?
    {
        actor.send(ContactsAdded).await?;
    }
    Ok(HttpResponse::Ok().json(json!({"added": report.added, "invalid": report.invalid})))
}

/// The org's campaigns, newest first.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", params(PageQuery), responses((status = 200, description = "A page of campaigns, newest first")))]
pub async fn list_campaigns(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let fetch = queries::campaigns_page;
    list_page(
        &state,
        &org,
        query.into_inner(),
        fetch,
        |r| r.id.clone(),
        CampaignRow::to_json,
    )
    .await
}

/// One campaign of the org.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", params(("id" = String, Path, description = "the campaign's id")), responses((status = 200, description = "The campaign")))]
pub async fn get_campaign(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(campaigns::find(&state.engine, &org, &path).await?.to_json()))
}

/// The campaign's contacts in dialing order (cursor: the last `position`).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/contacts", tag = "campaigns", params(("id" = String, Path, description = "the campaign's id"), PageQuery), responses((status = 200, description = "A page of the campaign's contacts in dialing order")))]
pub async fn campaign_contacts(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let campaign = campaigns::find(&state.engine, &org, &path).await?;
    let limit = query.limit()?;
    let after = match query.cursor.as_deref() {
        None => None,
        Some(cursor) => Some(cursor.parse::<i64>().map_err(|_| {
            AppError::new(
                Code::InvalidQuery,
                format!("`{cursor}` is not a cursor of this list"),
            )
        })?),
    };
    let rows = state
        .engine
        .read(move |conn| {
            Ok(queries::campaign_contacts(
                conn,
                &campaign.id,
                after,
                limit + 1,
            )?)
        })
        .await?;
    Ok(page(
        rows,
        limit,
        |r| r.position.to_string(),
        CampaignContactRow::to_json,
    ))
}

/// The campaign's progress, as its actor has it (its contacts, calls and dispositions, each
/// committed before the actor hears of it), with the dialer's live figures.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/progress", tag = "campaigns", params(("id" = String, Path, description = "the campaign's id")), responses((status = 200, description = "The progress object (`callCounts`, `display`, outcomes, answer rate, the dialer's figures)")))]
pub async fn progress(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    // Read from memory, not from the database: a wall polling it does not load the database with
    // every contact and call of the campaign.
    let progress = actor(&state, &org, &path)
        .await?
        .send(CurrentProgress)
        .await?;
    Ok(HttpResponse::Ok().json(progress))
}

pub(super) async fn actor(
    state: &AppState,
    org: &Org,
    id: &str,
) -> Result<Addr<CampaignActor>, AppError> {
    let route = RouteCampaign {
        org_id: org.id.clone(),
        campaign_id: id.to_owned(),
    };
    state
        .actors
        .campaigns
        .send(route)
        .await??
        .ok_or(AppError::not_found("campaign"))
}

/// `POST /api/v1/campaigns/{id}/{action}`: start, pause, resume or cancel.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/{action}", tag = "campaigns", params(("id" = String, Path, description = "the campaign's id"), ("action" = String, Path, description = "start, pause, resume or cancel")), responses((status = 200, description = "The campaign after the change"), (status = 402, description = "`insufficient_credits`: a campaign paused for credits cannot start or resume while they stay used up")))]
pub async fn steer(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let control = match action.as_str() {
        "start" => Control::Start,
        "pause" => Control::Pause,
        "resume" => Control::Resume,
        "cancel" => Control::Cancel,
        _ => return Err(AppError::not_found("endpoint")),
    };
    let campaign = campaigns::find(&state.engine, &org, &id).await?;
    let paused_for_credits = campaign.status == CampaignStatus::Paused.as_str()
        && campaign.failure_reason.as_deref() == Some(NO_CREDITS);
    if paused_for_credits && matches!(control, Control::Start | Control::Resume) {
        // It cannot run on used-up credits: 402 and it stays paused (it would only be paused
        // again at its next dial).
        billing::check_credits(&state.engine, &org.id).await?;
    }
    if control == Control::Start {
        // Loads the account's credentials into memory (the actor checks them there).
        if let Some(provider) = Provider::parse(&campaign.provider) {
            state.engine.orgs.credentials(&org.id, provider).await?;
        }
    }
    let updated = actor(&state, &org, &id)
        .await?
        .send(Steer(control))
        .await??;
    Ok(HttpResponse::Ok().json(updated.to_json()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_as_rfc_4180_writes_it() {
        let rows =
            csv_rows(b"name,phone,city\n\"Rao, Asha\",09876543210,Pune\nRavi,+919000000001,\n\n")
                .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["name"], "Rao, Asha");
        assert_eq!(rows[0]["phone"], "09876543210");
        assert_eq!(rows[0]["city"], "Pune");
        assert!(rows[1].get("city").is_none());
        assert!(csv_rows(b"name,number\nA,1").is_err());
        let excel = csv_rows("\u{feff}Phone,name\r\n+919876543210,Asha\r\n".as_bytes()).unwrap();
        assert_eq!(excel[0]["phone"], "+919876543210");
        assert_eq!(excel[0]["name"], "Asha");
        assert!(csv_rows(b"").is_err());
        assert!(csv_rows(b"\n\n").is_err());
        // A quoted line break stays in its field; doubled quotes are one quote; nothing shifts.
        let rows = csv_rows(
            b"phone,note,city\r\n+919876543210,\"two\nlines\",Pune\r\n+919000000001,\"say \"\"hi\"\"\",Goa\r\n,,\r\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["note"], "two\nlines");
        assert_eq!(rows[0]["city"], "Pune");
        assert_eq!(rows[1]["phone"], "+919000000001");
        assert_eq!(rows[1]["note"], "say \"hi\"");
        assert_eq!(rows[1]["city"], "Goa");
    }
}
