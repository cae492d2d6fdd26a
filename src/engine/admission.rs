//! Load shedding. Webhooks are admitted while fewer than `max_in_flight` are being handled in
//! all and fewer than `max_in_flight_per_org` for their org; past either bound the engine answers
//! 503 `overloaded` with `Retry-After` at once (providers retry) instead of queueing without
//! bound, and one org's flood takes its own share only, never the others'.

use crate::domain::ids::OrgId;
use crate::error::{AppError, Code};
use std::collections::HashMap;
use std::sync::Mutex;

/// The webhooks in flight, in all and per org.
pub struct Admission {
    max_in_flight: usize,
    max_per_org: usize,
    in_flight: Mutex<InFlight>,
}

#[derive(Default)]
struct InFlight {
    total: usize,
    per_org: HashMap<OrgId, usize>,
}

/// One admitted webhook: its place is given back when the permit is dropped.
pub struct Permit<'a> {
    admission: &'a Admission,
    org_id: OrgId,
}

impl Admission {
    pub fn new(max_in_flight: usize, max_per_org: usize) -> Self {
        Admission {
            max_in_flight: max_in_flight.max(1),
            max_per_org: max_per_org.max(1),
            in_flight: Mutex::default(),
        }
    }

    /// A permit for one more webhook of `org_id`, or 503 `overloaded`.
    pub fn admit(&self, org_id: &OrgId) -> Result<Permit<'_>, AppError> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let org = in_flight.per_org.get(org_id).copied().unwrap_or(0);
        if in_flight.total >= self.max_in_flight || org >= self.max_per_org {
            return Err(AppError::new(
                Code::Overloaded,
                "too many webhooks in flight: retry shortly",
            ));
        }
        in_flight.total += 1;
        in_flight.per_org.insert(org_id.clone(), org + 1);
        Ok(Permit {
            admission: self,
            org_id: org_id.clone(),
        })
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut in_flight = self
            .admission
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        in_flight.total -= 1;
        if let Some(count) = in_flight.per_org.get_mut(&self.org_id) {
            *count -= 1;
            if *count == 0 {
                in_flight.per_org.remove(&self.org_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_org_gets_its_share_and_no_more_and_places_come_back() {
        let admission = Admission::new(3, 2);
        let (flood, other) = (OrgId::generate(), OrgId::generate());
        let first = admission.admit(&flood).unwrap();
        let _second = admission.admit(&flood).unwrap();
        let refused = admission.admit(&flood).err().unwrap();
        assert_eq!(
            (refused.code, refused.code.status().as_u16()),
            (Code::Overloaded, 503)
        );
        let _other = admission.admit(&other).expect("another org is not starved");
        assert!(
            admission.admit(&OrgId::generate()).is_err(),
            "the total bound holds"
        );
        drop(first);
        assert!(
            admission.admit(&flood).is_ok(),
            "a place freed is taken again"
        );
    }
}
