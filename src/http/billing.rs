//! Money settings of the org (CONTRACT.md, "Billing and credits"): its rates
//! (`PUT|GET /api/v1/rates`), its currency and low-balance threshold (`GET|PUT /api/v1/credits`),
//! the admin's top-ups (`POST /api/v1/orgs/{org_id}/credits`) and the ledger
//! (`GET /api/v1/credits/ledger`). Each change is committed, then put in the engine's billing
//! book, which prices every call as it ends (and has it debited once, when credits are on).

use super::{ApiOrg, AppState};
use crate::actors::campaign::{Control, Steer, NO_CREDITS};
use crate::db::queries;
use crate::domain::billing::Rate;
use crate::domain::call::Direction;
use crate::domain::money::{currency_code, Money};
use crate::domain::time::to_text;
use crate::engine::billing::{self, blank_account};
use crate::error::{AppError, Code};
use crate::providers::Provider;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// One rate as the API takes it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateBody {
    provider: String,
    direction: String,
    /// A decimal string, e.g. `"0.0100"`.
    per_minute: String,
    increment_s: i64,
    minimum_s: Option<i64>,
    prefix: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatesBody {
    rates: Vec<RateBody>,
}

fn invalid(message: String) -> AppError {
    AppError::new(Code::InvalidMoney, message)
}

/// A rate as the API gives it, checked: a known provider and direction, a per-minute amount of
/// at least 0, an increment of 1 to 3600 s, a minimum of 0 to 3600 s, a prefix of `+` and digits.
fn rate(body: RateBody) -> Result<Rate, AppError> {
    let provider = Provider::parse(&body.provider)
        .ok_or_else(|| invalid(format!("`{}` is not a provider", body.provider)))?;
    let direction = Direction::parse(&body.direction)
        .ok_or_else(|| invalid(format!("`{}` is not a direction", body.direction)))?;
    let per_minute = Money::parse(&body.per_minute)
        .filter(|m| *m >= Money::ZERO)
        .ok_or_else(|| invalid(format!("per_minute `{}` is not an amount", body.per_minute)))?;
    if !(1..=3600).contains(&body.increment_s) {
        return Err(invalid("increment_s must be 1 to 3600".into()));
    }
    let minimum_s = body.minimum_s.unwrap_or(0);
    if !(0..=3600).contains(&minimum_s) {
        return Err(invalid("minimum_s must be 0 to 3600".into()));
    }
    let prefix = body.prefix.unwrap_or_default().trim().to_owned();
    let digits = prefix.strip_prefix('+').unwrap_or(&prefix);
    if digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!("prefix `{prefix}` is not a number prefix")));
    }
    Ok(Rate {
        provider: provider.as_str().to_owned(),
        direction,
        prefix,
        per_minute,
        increment_s: body.increment_s,
        minimum_s,
    })
}

fn rate_json(rate: &Rate) -> Value {
    json!({
        "provider": rate.provider,
        "direction": rate.direction.as_str(),
        "prefix": rate.prefix,
        "per_minute": rate.per_minute.to_string(),
        "increment_s": rate.increment_s,
        "minimum_s": rate.minimum_s,
    })
}

fn rates_json(rates: &[Rate], currency: &str) -> Value {
    json!({"currency": currency, "rates": rates.iter().map(rate_json).collect::<Vec<_>>()})
}

/// Replaces every rate of the org; 200 with them. Two rates for the same provider, direction and
/// prefix are a 400, as is any rate that is not one; nothing changes then.
#[utoipa::path(put, path = "/api/v1/rates", tag = "billing", request_body = RatesBody, responses((status = 200, description = "The org's rates")))]
pub async fn put_rates(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    body: web::Json<RatesBody>,
) -> Result<HttpResponse, AppError> {
    let rates: Vec<Rate> = body
        .into_inner()
        .rates
        .into_iter()
        .map(rate)
        .collect::<Result<_, _>>()?;
    let mut keys = std::collections::HashSet::new();
    for rate in &rates {
        if !keys.insert((&rate.provider, rate.direction, &rate.prefix)) {
            return Err(invalid(format!(
                "two rates for {} {} prefix `{}`",
                rate.provider,
                rate.direction.as_str(),
                rate.prefix
            )));
        }
    }
    billing::put_rates(&state.engine, &org.id, rates.clone()).await?;
    let currency = state.engine.billing.of(&org.id).currency.clone();
    Ok(HttpResponse::Ok().json(rates_json(&rates, &currency)))
}

/// The org's rates and currency.
#[utoipa::path(get, path = "/api/v1/rates", tag = "billing", responses((status = 200, description = "The org's rates")))]
pub async fn get_rates(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let billing = state.engine.billing.of(&org.id);
    Ok(HttpResponse::Ok().json(rates_json(&billing.rates, &billing.currency)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditsBody {
    /// Three letters, e.g. `"INR"`.
    currency: Option<String>,
    /// A decimal string, or null for no warning.
    #[serde(default, deserialize_with = "present")]
    low_threshold: Option<Option<String>>,
}

/// A field that is there, null or not: absent stays `None`, `null` is `Some(None)`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// The org's credit account as the API shows it.
fn credits_json(row: &crate::db::models::CreditAccountRow) -> Value {
    json!({
        "balance": Money::from_micros(row.balance_micros).to_string(),
        "currency": row.currency,
        "low_threshold": row.low_threshold_micros.map(|m| Money::from_micros(m).to_string()),
        "enabled": row.enabled,
    })
}

/// The org's balance, currency and low-balance threshold; `enabled` is false until credits are
/// first topped up (the org is not limited until then).
#[utoipa::path(get, path = "/api/v1/credits", tag = "billing", responses((status = 200, description = "The org's credits")))]
pub async fn get_credits(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let org_id = org.id.to_string();
    let row = state
        .engine
        .read(move |conn| Ok(queries::credit_account(conn, &org_id)?))
        .await?
        .unwrap_or_else(|| blank_account(&org.id, &to_text(chrono::Utc::now())));
    Ok(HttpResponse::Ok().json(credits_json(&row)))
}

/// Sets the org's currency and its low-balance threshold (the balance changes only by top-ups
/// and calls); 200 with the account.
#[utoipa::path(put, path = "/api/v1/credits", tag = "billing", request_body = CreditsBody, responses((status = 200, description = "The org's credits")))]
pub async fn put_credits(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    body: web::Json<CreditsBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let org_id = org.id.to_string();
    let now = to_text(chrono::Utc::now());
    let (row, ledger) = state
        .engine
        .read(move |conn| {
            let row = queries::credit_account(conn, &org_id)?;
            Ok((row, queries::has_ledger_entries(conn, &org_id)?))
        })
        .await?;
    let mut row = row.unwrap_or_else(|| blank_account(&org.id, &now));
    if let Some(currency) = &body.currency {
        let currency = currency_code(currency)
            .ok_or_else(|| invalid(format!("`{currency}` is not a currency code")))?;
        // Money is never relabelled: 1.00 USD does not become 1.00 INR.
        let rates = !state.engine.billing.of(&org.id).rates.is_empty();
        let held = [
            (row.balance_micros != 0, "a balance"),
            (ledger, "ledger entries"),
            (rates, "rates"),
        ];
        let held: Vec<&str> = held.iter().filter(|(h, _)| *h).map(|(_, w)| *w).collect();
        if currency != row.currency && !held.is_empty() {
            return Err(AppError::new(
                Code::CurrencyInUse,
                format!(
                    "the org holds {} in {}: its currency cannot change",
                    held.join(" and "),
                    row.currency
                ),
            ));
        }
        row.currency = currency;
    }
    if let Some(threshold) = body.low_threshold {
        row.low_threshold_micros = match threshold {
            None => None,
            Some(text) => Some(
                Money::parse(&text)
                    .ok_or_else(|| invalid(format!("low_threshold `{text}` is not an amount")))?
                    .micros(),
            ),
        };
    }
    row.updated_at = now;
    billing::put_credit_account(&state.engine, row.clone()).await?;
    Ok(HttpResponse::Ok().json(credits_json(&row)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpBody {
    /// A decimal string greater than 0, e.g. `"25.00"`.
    amount: String,
}

/// The admin adds to an org's balance (credits are on from the first top-up); 200 with the
/// account. Campaigns the org's empty balance paused resume.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/credits", tag = "billing", request_body = TopUpBody, params(("org_id" = String, Path, description = "the org's id")), responses((status = 200, description = "The org's credits after the top-up")))]
pub async fn top_up(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<TopUpBody>,
) -> Result<HttpResponse, AppError> {
    super::orgs::require_admin(&req, &state)?;
    let org = state
        .engine
        .orgs
        .by_id(&path)
        .await?
        .ok_or_else(|| AppError::not_found("org"))?;
    let amount = Money::parse(&body.amount)
        .filter(|m| m.is_positive())
        .ok_or_else(|| invalid(format!("amount `{}` is not an amount above 0", body.amount)))?;
    billing::top_up(&state.engine, &org.id, amount).await?;
    resume_paused_for_credits(&state, &org).await;
    let org_id = org.id.to_string();
    let row = state
        .engine
        .read(move |conn| Ok(queries::credit_account(conn, &org_id)?))
        .await?
        .ok_or_else(|| AppError::internal("a topped-up account is not stored"))?;
    Ok(HttpResponse::Ok().json(credits_json(&row)))
}

/// Resumes the org's campaigns paused because its credits ran out (each pauses again at its next
/// dial if they still are).
async fn resume_paused_for_credits(state: &AppState, org: &crate::engine::orgs::Org) {
    let org_id = org.id.to_string();
    let paused = state
        .engine
        .read(move |conn| Ok(queries::campaigns_paused_for(conn, &org_id, NO_CREDITS)?))
        .await;
    for id in paused.unwrap_or_default() {
        let resumed = match super::campaigns::actor(state, org, &id).await {
            Ok(actor) => actor
                .send(Steer(Control::Resume))
                .await
                .map_err(AppError::from),
            Err(error) => Err(error),
        };
        if let Err(error) = resumed.and_then(|r| r) {
            tracing::warn!(%error, campaign = %id, "campaign paused for credits not resumed");
        }
    }
}

/// The org's ledger, newest first: every top-up (positive) and debit (negative) with the balance
/// after it; the balance is their sum.
#[utoipa::path(get, path = "/api/v1/credits/ledger", tag = "billing", params(super::PageQuery), responses((status = 200, description = "A page of ledger lines")))]
pub async fn ledger(
    ApiOrg(org): ApiOrg,
    state: web::Data<AppState>,
    query: web::Query<super::PageQuery>,
) -> Result<HttpResponse, AppError> {
    let fetch = queries::ledger_page;
    super::list_page(
        &state,
        &org,
        query.into_inner(),
        fetch,
        |r| r.id.clone(),
        |r| {
            json!({
                "id": r.id,
                "at": r.at,
                "amount": Money::from_micros(r.amount_micros).to_string(),
                "balance": Money::from_micros(r.balance_micros).to_string(),
                "call_id": r.call_id,
                "reason": r.reason,
            })
        },
    )
    .await
}
