//! Which of a campaign's contacts is dialed next, found without a scan of the campaign: the
//! contacts that may still be dialed, kept by their place in the campaign's order (priority, then
//! when added), those due now grouped by the zone their calling window is read in, and those
//! waiting for a retry by its time. A campaign of 100,000 contacts with most of them waiting for a
//! retry (no answer → again in 2 h) or outside their window (the other side of the world asleep)
//! finds its next contact in O(zones · log n), where a scan cost O(n) per dial.

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A contact that may still be dialed: the zone its calling window is read in (None: the
/// campaign's own), and when its retry is due (None: now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialable {
    pub zone: Option<String>,
    pub due: Option<DateTime<Utc>>,
}

/// The dialable contacts of one campaign, by place (a place is the contact's index in the
/// campaign's order: lower is dialed first).
#[derive(Debug, Default)]
pub struct DialQueue {
    /// Every place in the queue, as it was put in.
    entries: HashMap<usize, Dialable>,
    /// Places due now, by zone.
    due: BTreeMap<Option<String>, BTreeSet<usize>>,
    /// Places waiting for their retry time, by that time.
    later: BTreeSet<(DateTime<Utc>, usize)>,
}

impl DialQueue {
    /// Puts the contact at `place` in the queue as `dialable`, or takes it out (None), wherever
    /// it was before.
    pub fn set(&mut self, place: usize, dialable: Option<Dialable>) {
        if let Some(old) = self.entries.remove(&place) {
            match old.due {
                Some(at) => {
                    self.later.remove(&(at, place));
                }
                None => self.take_due(&old.zone, place),
            }
        }
        let Some(dialable) = dialable else {
            return;
        };
        match dialable.due {
            Some(at) => {
                self.later.insert((at, place));
            }
            None => {
                self.due
                    .entry(dialable.zone.clone())
                    .or_default()
                    .insert(place);
            }
        }
        self.entries.insert(place, dialable);
    }

    /// The first place due by `now` whose zone's window is open (`open` is asked once per zone
    /// that has a contact due); the place stays in the queue until it is `set` again.
    pub fn next(
        &mut self,
        now: DateTime<Utc>,
        mut open: impl FnMut(Option<&str>) -> bool,
    ) -> Option<usize> {
        while self.later.first().is_some_and(|(at, _)| *at <= now) {
            let Some((_, place)) = self.later.pop_first() else {
                break;
            };
            if let Some(entry) = self.entries.get_mut(&place) {
                entry.due = None;
                self.due
                    .entry(entry.zone.clone())
                    .or_default()
                    .insert(place);
            }
        }
        self.due
            .iter()
            .filter(|(zone, _)| open(zone.as_deref()))
            .filter_map(|(_, places)| places.first().copied())
            .min()
    }

    /// The zones of the places due now (None: the campaign's own).
    pub fn due_zones(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        self.due
            .iter()
            .filter(|(_, places)| !places.is_empty())
            .map(|(zone, _)| zone.as_deref())
    }

    /// The earliest retry time of the places waiting for one.
    pub fn next_retry(&self) -> Option<DateTime<Utc>> {
        self.later.first().map(|(at, _)| *at)
    }

    /// Every place in the queue (due now or later), in no order.
    pub fn places(&self) -> impl Iterator<Item = usize> + '_ {
        self.entries.keys().copied()
    }

    /// How many contacts may still be dialed (now or later).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }

    fn take_due(&mut self, zone: &Option<String>, place: usize) {
        if let Some(places) = self.due.get_mut(zone) {
            places.remove(&place);
            if places.is_empty() {
                self.due.remove(zone);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-12-02T10:{minute:02}:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn entry(zone: Option<&str>, due: Option<u32>) -> Option<Dialable> {
        Some(Dialable {
            zone: zone.map(str::to_owned),
            due: due.map(at),
        })
    }

    #[test]
    fn the_first_place_due_in_an_open_zone_is_next() {
        let all_open = |_: Option<&str>| true;
        let mut queue = DialQueue::default();
        assert_eq!(queue.next(at(0), all_open), None);
        queue.set(5, entry(None, None));
        queue.set(2, entry(Some("America/New_York"), None));
        queue.set(1, entry(Some("Asia/Kolkata"), Some(30)));
        assert_eq!(queue.len(), 3);
        let mut places: Vec<usize> = queue.places().collect();
        places.sort();
        assert_eq!(places, [1, 2, 5]);
        // Place 1 waits for its retry; 2 comes before 5.
        assert_eq!(queue.next(at(0), all_open), Some(2));
        // New York asleep: the others are not held up by it.
        let new_york_closed = |zone: Option<&str>| zone != Some("America/New_York");
        assert_eq!(queue.next(at(0), new_york_closed), Some(5));
        // Its retry time came: place 1 is first.
        assert_eq!(queue.next(at(30), all_open), Some(1));
        assert_eq!(queue.next(at(31), new_york_closed), Some(1));
    }

    #[test]
    fn a_contact_set_again_leaves_where_it_was() {
        let all_open = |_: Option<&str>| true;
        let mut queue = DialQueue::default();
        queue.set(0, entry(None, None));
        queue.set(1, entry(None, None));
        // Dialed: out of the queue.
        queue.set(0, None);
        assert_eq!(queue.next(at(0), all_open), Some(1));
        // No answer: again in 10 minutes, and not before.
        queue.set(1, entry(None, Some(10)));
        assert_eq!(queue.next(at(9), all_open), None);
        assert_eq!(queue.next(at(10), all_open), Some(1));
        // Rescheduled after it came due (a daily cap): it waits again.
        queue.set(1, entry(None, Some(50)));
        assert_eq!(queue.next(at(20), all_open), None);
        queue.set(1, None);
        assert!(queue.is_empty());
        assert_eq!(queue.next(at(59), all_open), None);
        // Its zone's group went with its last place: the zone is not asked about.
        let mut asked = Vec::new();
        queue.next(at(59), |zone| {
            asked.push(zone.map(str::to_owned));
            true
        });
        assert!(asked.is_empty(), "{asked:?}");
    }

    #[test]
    fn each_zone_is_asked_once() {
        let mut queue = DialQueue::default();
        for place in 0..1000 {
            let zone = ["Asia/Kolkata", "Europe/London"][place % 2];
            queue.set(place, entry(Some(zone), None));
        }
        let mut asked = 0;
        let next = queue.next(at(0), |zone| {
            asked += 1;
            zone == Some("Europe/London")
        });
        assert_eq!((next, asked), (Some(1), 2));
    }
}
