//! Presence that resyncs with the PBX (issue 28, part 1): after a gap in a PBX's webhooks, or on a
//! supervisor's demand, the engine asks the PBX's own API what is true — its extensions and its
//! live calls (providers.md §4.6) — and applies the difference as if the missed webhooks had come:
//! a call the engine still believes live that the PBX no longer has is ended (`reconciled`,
//! `pbx_resync`, its extensions released); an extension's registration and do-not-disturb follow
//! the PBX; an extension still in a call the PBX does not show it in leaves that call. A PBX whose
//! API fails leaves everything as it is, and says so.

use super::call::ForceEnd;
use super::extension::change_extension;
use super::registry::{CallRef, Route};
use super::Actors;
use crate::db::queries;
use crate::domain::extension::{Extension, ExtensionChange};
use crate::domain::ids::{CallId, OrgId};
use crate::engine::Engine;
use crate::error::{AppError, Code};
use crate::providers::yeastar::{PbxState, YeastarApi};
use crate::providers::Provider;
use serde::Serialize;
use std::collections::HashSet;

/// What a resync changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Resynced {
    /// Live calls the PBX no longer had, ended.
    pub calls_ended: usize,
    /// Extensions whose registration or do-not-disturb changed.
    pub extensions_changed: usize,
    /// Calls extensions were taken out of (the PBX did not show them in those calls).
    pub memberships_left: usize,
}

/// The hang-up cause of a call a resync ended.
pub const RESYNC_REASON: &str = "pbx_resync";

/// Asks the org's PBX what is true and brings the engine's view in line with it.
pub async fn resync(
    engine: &Engine,
    actors: &Actors,
    org_id: &OrgId,
) -> Result<Resynced, AppError> {
    let credentials = engine
        .orgs
        .required_credentials(org_id, Provider::Yeastar)
        .await?;
    let api = YeastarApi::from_credentials(&credentials)?;
    let pbx = api
        .state(&engine.http, &engine.pbx_sessions, org_id.as_str())
        .await
        .map_err(|error| AppError::new(Code::ProviderError, error.to_string()))?;
    let org = org_id.to_string();
    let (live, extensions) = engine
        .read(move |conn| {
            let live = queries::live_calls(conn, &org)?;
            let extensions = queries::extensions_page(conn, &org, None, i64::MAX)?;
            Ok((live, extensions))
        })
        .await?;
    let mut done = Resynced::default();
    let mut ended: HashSet<String> = HashSet::new();
    for call in live
        .iter()
        .filter(|call| call.provider == Provider::Yeastar.as_str())
    {
        let on_pbx = call
            .provider_call_id
            .as_deref()
            .is_some_and(|id| pbx.has_call(id));
        if on_pbx {
            continue;
        }
        let Some(id) = CallId::parse(&call.id) else {
            continue;
        };
        let actor = actors
            .calls
            .send(Route(CallRef::Ours(org_id.clone(), id)))
            .await?;
        let end = ForceEnd {
            reason: RESYNC_REASON,
            trigger: "pbx_resync",
        };
        actor.send(end).await??;
        ended.insert(call.id.clone());
        done.calls_ended += 1;
    }
    for row in extensions {
        let ext = match Extension::try_from(row) {
            Ok(ext) => ext,
            Err(error) => {
                tracing::error!(%error, "a stored extension cannot be read back");
                continue;
            }
        };
        for change in differences(&ext, &pbx, &live_ids(&live, &ended)) {
            if matches!(change, ExtensionChange::Left { .. }) {
                done.memberships_left += 1;
            } else {
                done.extensions_changed += 1;
            }
            change_extension(&actors.extensions, org_id, &ext.number, change, None).await?;
        }
    }
    tracing::info!(org_id = %org_id, ?done, "presence resynced with the PBX");
    Ok(done)
}

/// Our ids of the org's calls still live after the resync ended the ones the PBX no longer has.
fn live_ids(live: &[crate::db::models::CallRow], ended: &HashSet<String>) -> HashSet<String> {
    live.iter()
        .filter(|call| !ended.contains(&call.id))
        .map(|call| call.id.clone())
        .collect()
}

/// What must change for the extension to be as the PBX says: its registration, its
/// do-not-disturb, and the calls it is still a member of that are no longer live (ended by this
/// resync, or long over with the leave lost).
fn differences(ext: &Extension, pbx: &PbxState, live: &HashSet<String>) -> Vec<ExtensionChange> {
    let mut changes = Vec::new();
    if let Some(on_pbx) = pbx.extensions.iter().find(|e| e.number == ext.number) {
        if on_pbx.registered != ext.registered {
            changes.push(ExtensionChange::Registration(on_pbx.registered));
        }
        if on_pbx.dnd != ext.dnd {
            changes.push(ExtensionChange::DoNotDisturb(on_pbx.dnd));
        }
    }
    for call_id in ext.calls.keys() {
        if !live.contains(call_id) {
            changes.push(ExtensionChange::Left {
                call_id: call_id.clone(),
            });
        }
    }
    changes
}
