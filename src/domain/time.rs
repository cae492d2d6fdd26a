//! How times are written down: one fixed RFC 3339 UTC form that also sorts as text.

use chrono::{DateTime, SecondsFormat, Utc};

/// Writes a time as `2025-03-04T10:00:00.000Z` (fixed width, so text order is time order).
pub fn to_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a time written by [`to_text`] (or any RFC 3339 time).
pub fn from_text(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trips_and_sorts_as_text() {
        let a = Utc.with_ymd_and_hms(2025, 3, 4, 9, 59, 59).unwrap();
        let b = a + chrono::Duration::milliseconds(1500);
        assert_eq!(from_text(&to_text(a)), Some(a));
        assert_eq!(to_text(a), "2025-03-04T09:59:59.000Z");
        assert!(to_text(a) < to_text(b));
    }
}
