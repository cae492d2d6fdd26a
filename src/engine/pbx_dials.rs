//! Extension dials placed through the PBX's API whose PBX call id is not known yet. The PBX's API
//! cannot carry our call id, and its first call event (30011) may arrive before the API's answer
//! does: that event adopts the call the engine already wrote instead of creating a second one.

use crate::domain::ids::{CallId, OrgId};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long after the dial a PBX call event may still adopt it.
pub const ADOPTION_WINDOW: Duration = Duration::from_secs(10);

/// A dial sent to the PBX, waiting for its PBX call id.
#[derive(Debug, Clone)]
struct PendingDial {
    org_id: OrgId,
    extension: String,
    /// The callee as the call stores it (E.164, or an extension number).
    callee: String,
    call_id: CallId,
    at: Instant,
}

/// The dials waiting for their PBX call id, oldest first.
#[derive(Debug, Default)]
pub struct PendingPbxDials(Mutex<Vec<PendingDial>>);

impl PendingPbxDials {
    /// A dial from `extension` to `callee` is about to be sent to the PBX as our call `call_id`.
    pub fn expect(&self, org_id: &OrgId, extension: &str, callee: &str, call_id: &CallId) {
        let mut pending = self.0.lock().unwrap();
        pending.retain(|d| d.at.elapsed() < ADOPTION_WINDOW);
        pending.push(PendingDial {
            org_id: org_id.clone(),
            extension: extension.to_owned(),
            callee: callee.to_owned(),
            call_id: call_id.clone(),
            at: Instant::now(),
        });
    }

    /// The first pending dial of the org from one of `extensions` to `callee` within the window,
    /// taken: the PBX call event that names them is that dial's call. A first event that names no
    /// callee yet (only the caller's extension is alerted) matches on the extension alone.
    pub fn adopt(
        &self,
        org_id: &OrgId,
        extensions: &[String],
        callee: Option<&str>,
    ) -> Option<CallId> {
        let mut pending = self.0.lock().unwrap();
        let i = pending.iter().position(|d| {
            d.at.elapsed() < ADOPTION_WINDOW
                && &d.org_id == org_id
                && callee.is_none_or(|c| d.callee == c)
                && extensions.contains(&d.extension)
        })?;
        Some(pending.remove(i).call_id)
    }

    /// The PBX answered the dial (with its call id, or a refusal): nothing is left to adopt.
    pub fn settle(&self, call_id: &CallId) {
        self.0.lock().unwrap().retain(|d| &d.call_id != call_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_dial_is_adopted_once() {
        let dials = PendingPbxDials::default();
        let org = OrgId::generate();
        let (first, second) = (CallId::generate(), CallId::generate());
        dials.expect(&org, "20", "+919876543210", &first);
        dials.expect(&org, "20", "+919876543210", &second);
        let members = vec!["20".to_owned(), "21".to_owned()];
        let callee = Some("+919876543210");
        assert_eq!(
            dials.adopt(&org, &members, Some("+910000000000")),
            None,
            "another callee"
        );
        assert_eq!(
            dials.adopt(&OrgId::generate(), &members, callee),
            None,
            "another org"
        );
        assert_eq!(
            dials.adopt(&org, &["30".into()], callee),
            None,
            "another extension"
        );
        assert_eq!(dials.adopt(&org, &members, callee), Some(first));
        assert_eq!(
            dials.adopt(&org, &members, None),
            Some(second),
            "no callee named yet"
        );
        assert_eq!(
            dials.adopt(&org, &members, callee),
            None,
            "each dial is adopted once"
        );
        let third = CallId::generate();
        dials.expect(&org, "20", "+919876543210", &third);
        dials.settle(&third);
        assert_eq!(dials.adopt(&org, &members, callee), None, "settled");
    }
}
