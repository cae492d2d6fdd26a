//! Every org's money settings — currency and rates — held in memory so a call's actor prices a
//! call the moment it ends, without a read. Read whole at start; each change through the API is
//! committed first and then put here.

use crate::db::models::{CreditAccountRow, RateRow};
use crate::db::{queries, DbConnection};
use crate::domain::billing::{OrgBilling, Rate};
use crate::domain::call::Direction;
use crate::domain::ids::OrgId;
use crate::domain::money::Money;
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
            orgs.entry(OrgId::from_stored(account.org_id))
                .or_default()
                .currency = account.currency;
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

    /// After a committed change of rates.
    pub fn set_rates(&self, org_id: &OrgId, rates: Vec<Rate>) {
        let mut orgs = self.orgs.write().unwrap();
        let current = orgs.get(org_id).map(|b| b.currency.clone());
        let billing = OrgBilling {
            currency: current.unwrap_or_else(|| OrgBilling::default().currency),
            rates,
        };
        orgs.insert(org_id.clone(), Arc::new(billing));
    }

    /// After a committed change of the org's currency.
    pub fn set_currency(&self, org_id: &OrgId, currency: &str) {
        let mut orgs = self.orgs.write().unwrap();
        let mut billing = orgs.get(org_id).map(|b| (**b).clone()).unwrap_or_default();
        billing.currency = currency.to_owned();
        orgs.insert(org_id.clone(), Arc::new(billing));
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
