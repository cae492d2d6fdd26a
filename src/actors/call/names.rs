//! The registry's book of names: each live call actor by the provider's key and by our id, and
//! which actor owns each call. A call can get two actors — one started by the provider's key
//! (a webhook), one by our id (the desk, a supervisor) — before either has read the call and said
//! who it is. The first of them to load the call owns it and both its names; the other retires
//! before it handles anything, and what was sent to it is routed again, to the owner. Two actors
//! of one call would each store what they hold over what the other stored.

use super::actor::CallKey;
use crate::domain::ids::CallId;
use std::collections::HashMap;

/// An actor's address, which may have stopped.
pub trait Running: Clone + PartialEq {
    fn running(&self) -> bool;
}

/// What [`Names::claim`] answers an actor that loaded its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The call is this actor's: both names lead to it.
    Owner,
    /// Another running actor loaded the call first: this one retires.
    Duplicate,
}

/// The names of the live call actors (see the module's doc).
pub struct Names<A> {
    by_key: HashMap<CallKey, A>,
    by_id: HashMap<CallId, A>,
    /// The actor that loaded each call first, by our id.
    owners: HashMap<CallId, A>,
}

impl<A> Default for Names<A> {
    fn default() -> Self {
        Names {
            by_key: HashMap::new(),
            by_id: HashMap::new(),
            owners: HashMap::new(),
        }
    }
}

fn running<A: Running>(actor: Option<&A>) -> Option<A> {
    actor.filter(|a| a.running()).cloned()
}

impl<A: Running> Names<A> {
    /// The running actor known by the provider's key.
    pub fn by_key(&self, key: &CallKey) -> Option<A> {
        running(self.by_key.get(key))
    }

    /// The running actor known by our id.
    pub fn by_id(&self, id: &CallId) -> Option<A> {
        running(self.by_id.get(id))
    }

    /// An actor just started for a call named by the provider's key; it has not read it yet.
    pub fn started_by_key(&mut self, key: CallKey, actor: A) {
        self.by_key.insert(key, actor);
    }

    /// An actor just started for a call named by our id; it has not read it yet.
    pub fn started_by_id(&mut self, id: CallId, actor: A) {
        self.by_id.insert(id, actor);
    }

    /// An actor that read call `id` (known to its provider as `key`, once named) claims it:
    /// the owner gets both names; an actor that finds another running owner is a duplicate,
    /// and both names lead to that owner.
    pub fn claim(&mut self, id: CallId, key: Option<CallKey>, actor: A) -> Claim {
        let (owner, claim) = match running(self.owners.get(&id)) {
            Some(owner) if owner != actor => (owner, Claim::Duplicate),
            _ => {
                self.owners.insert(id.clone(), actor.clone());
                (actor, Claim::Owner)
            }
        };
        if let Some(key) = key {
            self.by_key.insert(key, owner.clone());
        }
        self.by_id.insert(id, owner);
        claim
    }

    /// An actor retires: its names are forgotten, unless newer actors already took them.
    pub fn forget(&mut self, id: &CallId, keys: &[CallKey], actor: &A) {
        for names in [&mut self.by_id, &mut self.owners] {
            if names.get(id) == Some(actor) {
                names.remove(id);
            }
        }
        for key in keys {
            if self.by_key.get(key) == Some(actor) {
                self.by_key.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::OrgId;
    use std::cell::Cell;
    use std::rc::Rc;

    /// An actor of the test: a number, and whether it still runs.
    #[derive(Clone)]
    struct Actor(u8, Rc<Cell<bool>>);

    impl PartialEq for Actor {
        fn eq(&self, other: &Self) -> bool {
            self.0 == other.0
        }
    }

    impl Running for Actor {
        fn running(&self) -> bool {
            self.1.get()
        }
    }

    fn actor(n: u8) -> Actor {
        Actor(n, Rc::new(Cell::new(true)))
    }

    fn key() -> CallKey {
        CallKey {
            org_id: OrgId::from_stored("org".into()),
            provider: "twilio".into(),
            provider_call_id: "CA1".into(),
        }
    }

    fn number(actor: Option<Actor>) -> Option<u8> {
        actor.map(|a| a.0)
    }

    #[test]
    fn the_first_actor_to_load_a_call_owns_both_its_names_whichever_name_started_the_other() {
        let id = CallId::generate();
        // (the actor that loads first was started by the key?, then the other name's actor)
        for by_key_first in [true, false] {
            let mut names = Names::default();
            let (first, second) = (actor(1), actor(2));
            match by_key_first {
                true => {
                    names.started_by_key(key(), first.clone());
                    names.started_by_id(id.clone(), second.clone());
                }
                false => {
                    names.started_by_id(id.clone(), first.clone());
                    names.started_by_key(key(), second.clone());
                }
            }
            assert_eq!(
                names.claim(id.clone(), Some(key()), first.clone()),
                Claim::Owner
            );
            assert_eq!(
                (number(names.by_id(&id)), number(names.by_key(&key()))),
                (Some(1), Some(1))
            );
            assert_eq!(
                names.claim(id.clone(), Some(key()), second),
                Claim::Duplicate
            );
            assert_eq!(
                (number(names.by_id(&id)), number(names.by_key(&key()))),
                (Some(1), Some(1)),
                "the duplicate's names lead to the owner"
            );
            // The owner claims again (a reload, its provider's id learned): still its own.
            assert_eq!(names.claim(id.clone(), Some(key()), first), Claim::Owner);
        }
    }

    #[test]
    fn a_call_whose_owner_stopped_or_retired_is_owned_by_its_next_actor() {
        let id = CallId::generate();
        let mut names = Names::default();
        let (first, second, third) = (actor(1), actor(2), actor(3));
        assert_eq!(names.claim(id.clone(), None, first.clone()), Claim::Owner);
        first.1.set(false);
        assert_eq!(
            names.claim(id.clone(), Some(key()), second.clone()),
            Claim::Owner
        );
        names.forget(&id, &[key()], &first);
        assert_eq!(
            number(names.by_id(&id)),
            Some(2),
            "an old actor forgets nothing of a new one"
        );
        names.forget(&id, &[key()], &second);
        assert_eq!(
            (number(names.by_id(&id)), number(names.by_key(&key()))),
            (None, None)
        );
        assert_eq!(names.claim(id.clone(), Some(key()), third), Claim::Owner);
    }
}
