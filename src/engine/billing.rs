//! Every org's money settings — currency and rates — held in memory so a call's actor prices a
//! call the moment it ends, without a read. Read whole at start; each change through the API is
//! committed first and then put here.

use crate::db::models::{CreditAccountRow, RateRow};
use crate::db::writes::WriteOp;
use crate::db::{queries, DbConnection};
use crate::domain::billing::{OrgBilling, Rate};
use crate::domain::call::Direction;
use crate::domain::ids::OrgId;
use crate::domain::money::Money;
use crate::engine::Engine;
use crate::error::{AppError, Code};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The billing of every org that set any (the others bill in USD with no rates).
#[derive(Default)]
pub struct BillingBook {
    orgs: RwLock<HashMap<OrgId, Arc<OrgBilling>>>,
}

impl BillingBook {
    /// Reads every org's currency and rates.
    pub fn load(conn: &mut DbConnection) -> diesel::QueryResult<Self> {
        let mut orgs: HashMap<OrgId, OrgBilling> = HashMap::new();
        for account in queries::all_credit_accounts(conn)? {
            let billing = orgs.entry(OrgId::from_stored(account.org_id)).or_default();
            billing.currency = account.currency;
            billing.credits = account.enabled;
        }
        for row in queries::all_rates(conn)? {
            let org_id = OrgId::from_stored(row.org_id.clone());
            if let Some(rate) = rate_of(row) {
                orgs.entry(org_id).or_default().rates.push(rate);
            }
        }
        let orgs = orgs.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        Ok(BillingBook {
            orgs: RwLock::new(orgs),
        })
    }

    /// An org's billing.
    pub fn of(&self, org_id: &OrgId) -> Arc<OrgBilling> {
        self.orgs
            .read()
            .unwrap()
            .get(org_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Changes an org's billing (after the change is committed).
    fn change(&self, org_id: &OrgId, change: impl FnOnce(&mut OrgBilling)) {
        let mut orgs = self.orgs.write().unwrap();
        let mut billing = orgs.get(org_id).map(|b| (**b).clone()).unwrap_or_default();
        change(&mut billing);
        orgs.insert(org_id.clone(), Arc::new(billing));
    }

    pub fn set_rates(&self, org_id: &OrgId, rates: Vec<Rate>) {
        self.change(org_id, |billing| billing.rates = rates);
    }

    pub fn set_currency(&self, org_id: &OrgId, currency: &str) {
        self.change(org_id, |billing| billing.currency = currency.to_owned());
    }

    /// The org was topped up: its calls are debited from now on.
    pub fn enable_credits(&self, org_id: &OrgId) {
        self.change(org_id, |billing| billing.credits = true);
    }
}

/// A stored rate; None for a row no rate can be (a direction not known).
pub fn rate_of(row: RateRow) -> Option<Rate> {
    Some(Rate {
        direction: Direction::parse(&row.direction)?,
        provider: row.provider,
        prefix: row.prefix,
        per_minute: Money::from_micros(row.per_minute_micros),
        increment_s: row.increment_s,
        minimum_s: row.minimum_s,
    })
}

/// The row of a rate of `org_id`.
pub fn rate_row(org_id: &OrgId, rate: &Rate) -> RateRow {
    RateRow {
        org_id: org_id.to_string(),
        provider: rate.provider.clone(),
        direction: rate.direction.as_str().to_owned(),
        prefix: rate.prefix.clone(),
        per_minute_micros: rate.per_minute.micros(),
        increment_s: rate.increment_s,
        minimum_s: rate.minimum_s,
    }
}

/// An org's credit account as it stands before any was set: USD, not enabled, nothing in it.
pub fn blank_account(org_id: &OrgId, now: &str) -> CreditAccountRow {
    CreditAccountRow {
        org_id: org_id.to_string(),
        currency: OrgBilling::default().currency,
        enabled: false,
        balance_micros: 0,
        low_threshold_micros: None,
        updated_at: now.to_owned(),
    }
}

/// Adds `amount` to an org's balance (credits are on from then): committed with its ledger line
/// and `credits:updated`, then known to the billing book.
pub async fn top_up(engine: &Engine, org_id: &OrgId, amount: Money) -> Result<(), AppError> {
    engine
        .writer
        .commit(crate::db::writes::WriteRequest {
            org_id: org_id.clone(),
            ops: vec![crate::db::writes::WriteOp::TopUp {
                org_id: org_id.to_string(),
                amount_micros: amount.micros(),
                ledger_id: uuid::Uuid::now_v7().to_string(),
                at: crate::domain::time::to_text(chrono::Utc::now()),
            }],
            events: Vec::new(),
        })
        .await?;
    engine.billing.enable_credits(org_id);
    Ok(())
}

/// A new call may be placed unless the org's credits are on and used up: 402
/// `insufficient_credits` then (inbound calls are tracked whatever the balance).
pub async fn check_credits(engine: &Engine, org_id: &OrgId) -> Result<(), AppError> {
    if !engine.billing.of(org_id).credits {
        return Ok(());
    }
    let org = org_id.to_string();
    let account = engine
        .read(move |conn| Ok(queries::credit_account(conn, &org)?))
        .await?;
    match account {
        Some(account) if account.enabled && account.balance_micros <= 0 => Err(AppError::new(
            Code::InsufficientCredits,
            format!(
                "the org's credits are used up (balance {} {}): top up to place calls",
                Money::from_micros(account.balance_micros),
                account.currency
            ),
        )),
        _ => Ok(()),
    }
}

/// Replaces the org's rates: committed, then priced with.
pub async fn put_rates(engine: &Engine, org_id: &OrgId, rates: Vec<Rate>) -> Result<(), AppError> {
    let op = WriteOp::PutRates {
        org_id: org_id.to_string(),
        rates: rates.iter().map(|r| rate_row(org_id, r)).collect(),
    };
    engine.writer.commit_op(org_id, op).await?;
    engine.billing.set_rates(org_id, rates);
    Ok(())
}

/// Stores the org's credit account settings (currency, low threshold): committed, then priced in.
pub async fn put_credit_account(
    engine: &Engine,
    account: CreditAccountRow,
) -> Result<(), AppError> {
    let org_id = OrgId::from_stored(account.org_id.clone());
    let op = WriteOp::PutCreditAccount(account.clone());
    engine.writer.commit_op(&org_id, op).await?;
    engine.billing.set_currency(&org_id, &account.currency);
    Ok(())
}
