//! A PBX extension's presence, derived from the calls it is still a member of (CONTRACT.md,
//! Extensions). Plain data and plain functions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// What a supervisor sees on the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Offline,
    Online,
    Ringing,
    Incall,
    Dnd,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Online => "online",
            Self::Ringing => "ringing",
            Self::Incall => "incall",
            Self::Dnd => "dnd",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        [
            Self::Offline,
            Self::Online,
            Self::Ringing,
            Self::Incall,
            Self::Dnd,
        ]
        .into_iter()
        .find(|p| p.as_str() == word)
    }
}

/// The extension's part in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Membership {
    /// Its phone rings (RING, EARLYMEDIA).
    Ringing,
    /// It is on the line: dialing out (ALERT), talking (ANSWER, ANSWERED) or holding (HOLD).
    Busy,
}

/// How many calls an extension remembers having left, so a late event cannot pull it back in.
const REMEMBERED_LEFT_CALLS: usize = 64;

/// One PBX extension.
#[derive(Debug, Clone, PartialEq)]
pub struct Extension {
    pub number: String,
    pub name: Option<String>,
    pub registered: bool,
    pub dnd: bool,
    /// The calls (our call ids) it is still a member of, and its part in each.
    pub calls: BTreeMap<String, Membership>,
    /// Calls it has left, newest last.
    pub left: VecDeque<String>,
    pub presence: Presence,
    /// When the presence last changed.
    pub since: DateTime<Utc>,
    /// When the PBX last confirmed its state: a webhook about it, or a resync (None: never).
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// A confirmation this much newer than the last one stored is written and announced (a nearer
/// one is not kept at all): the board's age of a state is never off by more.
pub const CONFIRMED_EVERY: chrono::Duration = chrono::Duration::seconds(10);

/// A fact about an extension.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtensionChange {
    /// Its part in a call (a 30011 member).
    Member {
        call_id: String,
        membership: Membership,
    },
    /// It left a call: its BYE, or the call ended (disconnected, final, reconciled, reset).
    Left {
        call_id: String,
    },
    /// 30007: registered or not.
    Registration(bool),
    /// 30009: do not disturb on or off.
    DoNotDisturb(bool),
    /// Evidence it is online (30008 extension call status).
    Seen,
    /// The PBX's API listed it so at `as_of` (a resync): registration and do-not-disturb follow,
    /// unless a newer word of the PBX's came since.
    Resynced {
        registered: bool,
        dnd: bool,
        as_of: DateTime<Utc>,
    },
    Rename(Option<String>),
}

impl Extension {
    /// An extension the engine has just heard of: offline until something says otherwise.
    pub fn new(number: &str, now: DateTime<Utc>) -> Self {
        Extension {
            number: number.to_owned(),
            name: None,
            registered: false,
            dnd: false,
            calls: BTreeMap::new(),
            left: VecDeque::new(),
            presence: Presence::Offline,
            since: now,
            confirmed_at: None,
        }
    }

    /// Calls first (in a call → incall, ringing → ringing), then do-not-disturb, then registration.
    pub fn derived_presence(&self) -> Presence {
        if self.calls.values().any(|m| *m == Membership::Busy) {
            Presence::Incall
        } else if !self.calls.is_empty() {
            Presence::Ringing
        } else if self.dnd {
            Presence::Dnd
        } else if self.registered {
            Presence::Online
        } else {
            Presence::Offline
        }
    }

    /// Ringing or in a call: dialing it now would disturb a call.
    pub fn is_busy(&self) -> bool {
        matches!(self.presence, Presence::Ringing | Presence::Incall)
    }

    /// The contract's extension object.
    /// The contract's object, with how old its state is at `now` (`state_age_s`: since the PBX
    /// last confirmed it; null when it never has).
    pub fn to_json(&self, now: DateTime<Utc>) -> serde_json::Value {
        serde_json::json!({
            "number": self.number,
            "name": self.name,
            "presence": self.presence,
            "active_calls": self.calls.keys().collect::<Vec<_>>(),
            "registered": self.registered,
            "dnd": self.dnd,
            "since": self.since,
            "confirmed_at": self.confirmed_at,
            "state_age_s": self.confirmed_at.map(|at| (now - at).num_seconds().max(0)),
        })
    }
}

/// Applies a change; answers the new extension and whether anything a reader sees changed.
pub fn apply(ext: &Extension, change: &ExtensionChange, now: DateTime<Utc>) -> (Extension, bool) {
    let mut next = ext.clone();
    match change {
        ExtensionChange::Member {
            call_id,
            membership,
        } => {
            if !next.left.contains(call_id) {
                next.calls.insert(call_id.clone(), *membership);
                // Someone on a call is evidently registered.
                next.registered = true;
            }
        }
        ExtensionChange::Left { call_id } => {
            next.calls.remove(call_id);
            if !next.left.contains(call_id) {
                next.left.push_back(call_id.clone());
                if next.left.len() > REMEMBERED_LEFT_CALLS {
                    next.left.pop_front();
                }
            }
        }
        ExtensionChange::Registration(registered) => next.registered = *registered,
        ExtensionChange::DoNotDisturb(dnd) => next.dnd = *dnd,
        ExtensionChange::Seen => next.registered = true,
        ExtensionChange::Resynced {
            registered,
            dnd,
            as_of,
        } => {
            if ext.confirmed_at.is_some_and(|at| at > *as_of) {
                return (next, false);
            }
            next.registered = *registered;
            next.dnd = *dnd;
        }
        ExtensionChange::Rename(name) => next.name.clone_from(name),
    }
    // What the PBX says about the extension confirms it; the engine's own closes and a
    // supervisor's rename do not.
    if !matches!(
        change,
        ExtensionChange::Left { .. } | ExtensionChange::Rename(_)
    ) {
        next.confirmed_at = Some(now);
    }
    next.presence = next.derived_presence();
    if next.presence != ext.presence {
        next.since = now;
    }
    let reconfirmed = match (ext.confirmed_at, next.confirmed_at) {
        (None, Some(_)) => true,
        (Some(before), Some(after)) => after - before >= CONFIRMED_EVERY,
        _ => false,
    };
    let visible = next.presence != ext.presence
        || next.calls != ext.calls
        || next.name != ext.name
        || next.registered != ext.registered
        || next.dnd != ext.dnd
        || reconfirmed;
    if !visible {
        // Kept as it was stored: what the board shows and what a restart reads agree.
        next.confirmed_at = ext.confirmed_at;
    }
    (next, visible)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 4, 10, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    fn run(changes: &[ExtensionChange]) -> Extension {
        changes
            .iter()
            .enumerate()
            .fold(Extension::new("40", t(0)), |e, (i, c)| {
                apply(&e, c, t(i as i64 + 1)).0
            })
    }

    fn member(call: &str, membership: Membership) -> ExtensionChange {
        ExtensionChange::Member {
            call_id: call.into(),
            membership,
        }
    }

    fn left(call: &str) -> ExtensionChange {
        ExtensionChange::Left {
            call_id: call.into(),
        }
    }

    #[test]
    fn presence_table() {
        use ExtensionChange::*;
        use Membership::*;
        let table: Vec<(Vec<ExtensionChange>, Presence)> = vec![
            (vec![], Presence::Offline),
            (vec![Registration(true)], Presence::Online),
            (
                vec![Registration(true), Registration(false)],
                Presence::Offline,
            ),
            (vec![Registration(true), DoNotDisturb(true)], Presence::Dnd),
            (vec![member("c1", Ringing)], Presence::Ringing),
            (
                vec![member("c1", Ringing), member("c1", Busy)],
                Presence::Incall,
            ),
            (vec![member("c1", Busy), left("c1")], Presence::Online),
            (
                vec![DoNotDisturb(true), member("c1", Busy)],
                Presence::Incall,
            ),
            (
                vec![member("c1", Busy), member("c2", Ringing)],
                Presence::Incall,
            ),
            (
                vec![member("c1", Busy), member("c2", Ringing), left("c1")],
                Presence::Ringing,
            ),
            (vec![Seen], Presence::Online),
        ];
        for (changes, expected) in table {
            assert_eq!(run(&changes).presence, expected, "{changes:?}");
        }
    }

    #[test]
    fn call_waiting_stays_incall_until_both_calls_end() {
        let ext = run(&[
            member("c1", Membership::Busy),
            member("c2", Membership::Busy),
            left("c1"),
        ]);
        assert_eq!(ext.presence, Presence::Incall);
        let (ext, _) = apply(&ext, &left("c2"), t(10));
        assert_eq!(ext.presence, Presence::Online);
    }

    #[test]
    fn a_late_event_for_a_call_it_left_does_not_pull_it_back() {
        let ext = run(&[left("c1"), member("c1", Membership::Busy)]);
        assert_eq!(ext.presence, Presence::Offline);
        assert!(ext.calls.is_empty());
    }

    #[test]
    fn since_moves_only_with_presence() {
        let ext = run(&[Presence::Online].map(|_| ExtensionChange::Registration(true)));
        assert_eq!(ext.since, t(1));
        let (same, visible) = apply(&ext, &ExtensionChange::Seen, t(5));
        assert_eq!((same.since, visible), (t(1), false));
        assert_eq!(
            same.confirmed_at,
            Some(t(1)),
            "a confirmation within 10 s is not stored"
        );
        let resynced = |as_of| ExtensionChange::Resynced {
            registered: true,
            dnd: false,
            as_of,
        };
        let (same, visible) = apply(&ext, &resynced(t(49)), t(50));
        assert_eq!(
            (same.since, visible),
            (t(1), true),
            "a newer confirmation is announced"
        );
        assert_eq!(same.confirmed_at, Some(t(50)));
        let older = ExtensionChange::Resynced {
            registered: false,
            dnd: true,
            as_of: t(20),
        };
        let unchanged = apply(&same, &older, t(60));
        assert_eq!(unchanged, (same.clone(), false), "older than what it knows");
        let (left, _) = apply(&same, &left("c9"), t(90));
        assert_eq!(
            left.confirmed_at,
            Some(t(50)),
            "the engine's own close confirms nothing"
        );
    }
}
