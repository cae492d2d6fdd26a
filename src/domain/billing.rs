//! What a call costs (CONTRACT.md, "Billing and credits"): the provider's own price where it
//! gives one in the org's currency, else the org's rate for the call's provider, direction and
//! number (longest prefix wins). Billed seconds are `talk_s` rounded up to the rate's increment,
//! at least its minimum — 0 for a call never answered. Pure functions, table-tested.

use super::call::{Call, Direction};
use super::money::Money;

/// A per-minute rate of an org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub provider: String,
    pub direction: Direction,
    /// The numbers it prices (E.164 prefix such as `+91`); empty for every number.
    pub prefix: String,
    pub per_minute: Money,
    /// Billing increment: 60 bills whole minutes, 6 tenths, 1 seconds.
    pub increment_s: i64,
    /// The least an answered call is billed.
    pub minimum_s: i64,
}

/// An org's money settings: its currency and its rates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgBilling {
    pub currency: String,
    pub rates: Vec<Rate>,
    /// Credits are on (the org was topped up once): each call's cost is debited.
    pub credits: bool,
}

impl Default for OrgBilling {
    fn default() -> Self {
        OrgBilling {
            currency: "USD".into(),
            rates: Vec::new(),
            credits: false,
        }
    }
}

/// Where a call's cost came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostSource {
    Provider,
    Rate,
}

/// What a finished call is billed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub billed_s: i64,
    /// None when neither the provider priced the call in the org's currency nor a rate applies.
    pub cost: Option<Money>,
    pub source: Option<CostSource>,
}

impl OrgBilling {
    /// Prices the call by this billing once it is final; answers whether its bill changed.
    pub fn settle(&self, call: &mut Call) -> bool {
        let Some(bill) = self.bill(call) else {
            return false;
        };
        let currency = bill.cost.map(|_| self.currency.clone());
        let before = (call.billed_s, call.cost, call.currency.take());
        call.billed_s = Some(bill.billed_s);
        call.cost = bill.cost;
        call.currency = currency;
        before != (call.billed_s, call.cost, call.currency.clone())
    }

    /// The rate for a call: its provider and direction, the longest prefix of the number it is
    /// priced by (the callee of an outbound or internal call, the caller of an inbound one).
    pub fn rate_for(&self, call: &Call) -> Option<&Rate> {
        let number = match call.direction {
            Direction::Inbound => call.from.as_deref(),
            Direction::Outbound | Direction::Internal => call.to.as_deref(),
        }
        .unwrap_or("");
        self.rates
            .iter()
            .filter(|r| r.provider == call.provider && r.direction == call.direction)
            .filter(|r| number.starts_with(&r.prefix))
            .max_by_key(|r| r.prefix.len())
    }

    /// The call's bill once it is final (None before: a live call is not billed yet).
    pub fn bill(&self, call: &Call) -> Option<Bill> {
        if !call.status.is_final() {
            return None;
        }
        // The provider's billed time: a queued caller's hold included.
        let talk_s = call.billable_s().unwrap_or(0).max(0);
        let rate = self.rate_for(call);
        let billed_s = match rate {
            Some(_) if talk_s == 0 => 0,
            Some(rate) => {
                let increment = rate.increment_s.max(1);
                let rounded = (talk_s + increment - 1) / increment * increment;
                rounded.max(rate.minimum_s)
            }
            None => talk_s,
        };
        let provider_price = call
            .provider_price
            .as_ref()
            .filter(|price| price.currency == self.currency);
        let (cost, source) = match (provider_price, rate) {
            (Some(price), _) => (Some(price.amount), Some(CostSource::Provider)),
            (None, Some(rate)) => (
                Some(Money::per_minute_for(rate.per_minute, billed_s)),
                Some(CostSource::Rate),
            ),
            (None, None) => (None, None),
        };
        Some(Bill {
            billed_s,
            cost,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::CallStatus;
    use crate::domain::ids::{CallId, OrgId};
    use crate::domain::money::Price;
    use chrono::{Duration, TimeZone, Utc};

    fn rate(
        provider: &str,
        direction: Direction,
        prefix: &str,
        per_minute: &str,
        inc: i64,
    ) -> Rate {
        Rate {
            provider: provider.into(),
            direction,
            prefix: prefix.into(),
            per_minute: Money::parse(per_minute).unwrap(),
            increment_s: inc,
            minimum_s: 0,
        }
    }

    fn call(provider: &str, direction: Direction, to: &str, status: CallStatus, talk: i64) -> Call {
        let at = Utc.with_ymd_and_hms(2025, 3, 4, 10, 0, 0).unwrap();
        let mut call = Call::new(
            CallId::generate(),
            OrgId::generate(),
            provider,
            None,
            direction,
            at,
        );
        call.status = status;
        call.to = Some(to.into());
        call.from = Some("+15550001111".into());
        if talk > 0 {
            call.answered_at = Some(at);
            call.ended_at = Some(at + Duration::seconds(talk));
        } else {
            call.ended_at = Some(at);
        }
        call
    }

    fn org() -> OrgBilling {
        OrgBilling {
            currency: "USD".into(),
            rates: vec![
                rate("twilio", Direction::Outbound, "", "0.0130", 60),
                rate("twilio", Direction::Outbound, "+91", "0.0200", 6),
                rate("twilio", Direction::Outbound, "+9180", "0.0300", 1),
                rate("yeastar", Direction::Inbound, "", "0.0060", 60),
            ],
            credits: false,
        }
    }

    #[test]
    fn bills_by_increment_and_longest_prefix() {
        use CallStatus::*;
        use Direction::*;
        let cases = [
            // provider, direction, to, status, talk_s → billed_s, cost
            (
                "twilio",
                Outbound,
                "+15550002222",
                Completed,
                61,
                120,
                Some("0.026"),
            ),
            (
                "twilio",
                Outbound,
                "+15550002222",
                Completed,
                60,
                60,
                Some("0.013"),
            ),
            (
                "twilio",
                Outbound,
                "+919800000000",
                Completed,
                61,
                66,
                Some("0.022"),
            ),
            (
                "twilio",
                Outbound,
                "+918000000000",
                Completed,
                61,
                61,
                Some("0.0305"),
            ),
            (
                "twilio",
                Outbound,
                "+15550002222",
                NoAnswer,
                0,
                0,
                Some("0.00"),
            ),
            ("twilio", Outbound, "+15550002222", Busy, 0, 0, Some("0.00")),
            (
                "yeastar",
                Inbound,
                "1001",
                Completed,
                61,
                120,
                Some("0.012"),
            ),
            // No rate: billed seconds follow talk_s, no cost.
            ("plivo", Outbound, "+15550002222", Completed, 61, 61, None),
        ];
        for (provider, direction, to, status, talk, billed, cost) in cases {
            let bill = org()
                .bill(&call(provider, direction, to, status, talk))
                .unwrap();
            assert_eq!(bill.billed_s, billed, "{provider} {to} {talk}");
            assert_eq!(
                bill.cost.map(|c| c.to_string()).as_deref(),
                cost,
                "{provider} {to}"
            );
        }
    }

    #[test]
    fn a_minimum_applies_to_answered_calls_only() {
        let mut billing = org();
        billing.rates[0].minimum_s = 30;
        billing.rates[0].increment_s = 1;
        let short = call(
            "twilio",
            Direction::Outbound,
            "+1555",
            CallStatus::Completed,
            5,
        );
        assert_eq!(billing.bill(&short).unwrap().billed_s, 30);
        let missed = call(
            "twilio",
            Direction::Outbound,
            "+1555",
            CallStatus::NoAnswer,
            0,
        );
        assert_eq!(billing.bill(&missed).unwrap().billed_s, 0);
    }

    #[test]
    fn the_providers_price_wins_in_the_orgs_currency_only() {
        let mut priced = call(
            "twilio",
            Direction::Outbound,
            "+1555",
            CallStatus::Completed,
            61,
        );
        priced.provider_price = Some(Price {
            amount: Money::parse("0.0170").unwrap(),
            currency: "USD".into(),
        });
        let bill = org().bill(&priced).unwrap();
        assert_eq!(
            (bill.cost.unwrap().to_string(), bill.source),
            ("0.017".into(), Some(CostSource::Provider))
        );
        priced.provider_price.as_mut().unwrap().currency = "EUR".into();
        let bill = org().bill(&priced).unwrap();
        assert_eq!(
            (bill.cost.unwrap().to_string(), bill.source),
            ("0.026".into(), Some(CostSource::Rate))
        );
    }

    #[test]
    fn a_live_call_is_not_billed() {
        let live = call(
            "twilio",
            Direction::Outbound,
            "+1555",
            CallStatus::Answered,
            0,
        );
        assert_eq!(org().bill(&live), None);
    }
}
