//! The dialer's rules as plain data: dial modes, recycling by outcome, answering-machine rules,
//! the per-number daily cap, each contact's local time zone, and the pacing of progressive and
//! predictive campaigns from measured figures.

use super::call::CallStatus;
use super::desk::Outlook;
use serde::{Deserialize, Serialize};

/// How a campaign decides how many calls to have out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DialMode {
    /// At most `concurrency` live calls (the default).
    Fixed,
    /// One call per idle agent of the campaign's queue.
    Progressive,
    /// Ahead of the agents, from the measured answer rate, holding the abandon rate under its cap.
    Predictive,
}

impl DialMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::Progressive => "progressive",
            Self::Predictive => "predictive",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        [Self::Fixed, Self::Progressive, Self::Predictive]
            .into_iter()
            .find(|m| m.as_str() == word)
    }
}

/// What a campaign does with a call answering-machine detection says a machine answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AmdRule {
    /// No detection asked of the provider.
    Off,
    /// Hang up on a machine (the contact is done: nobody to talk to).
    Hangup,
    /// Let the call's flow go on (it leaves its message).
    Continue,
    /// Hang up and dial the contact again later (by the `machine` recycling rule, else the
    /// campaign's retry delay).
    Retry,
}

impl AmdRule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Hangup => "hangup",
            Self::Continue => "continue",
            Self::Retry => "retry",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        [Self::Off, Self::Hangup, Self::Continue, Self::Retry]
            .into_iter()
            .find(|m| m.as_str() == word)
    }
}

/// What answering-machine detection found, in the provider's words read once: Twilio's
/// `AnsweredBy` (`human`, `machine_start`, `machine_end_beep`, `machine_end_silence`,
/// `machine_end_other`, `fax`, `unknown`), Plivo's `Machine` (`true`/`false`).
pub fn amd_result(word: &str) -> Option<&'static str> {
    match word.trim().to_ascii_lowercase().as_str() {
        "human" | "false" => Some("human"),
        w if w.starts_with("machine") || w == "fax" || w == "true" => Some("machine"),
        "unknown" => Some("unknown"),
        _ => None,
    }
}

/// A recycling rule: a call ending in `outcome` is dialed again `after_s` later, while the
/// contact has had fewer than `max_attempts` attempts in all (the campaign's when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecycleRule {
    /// `busy`, `no_answer`, `failed`, `machine` or `abandoned`.
    pub outcome: String,
    pub after_s: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
}

/// The outcomes a rule may name.
pub const RECYCLABLE: [&str; 5] = ["busy", "no_answer", "failed", "machine", "abandoned"];

impl RecycleRule {
    /// Checks the rule's words and numbers.
    pub fn validate(&self) -> Result<(), String> {
        if !RECYCLABLE.contains(&self.outcome.as_str()) {
            return Err(format!(
                "`{}` cannot be recycled: use busy, no_answer, failed, machine or abandoned",
                self.outcome
            ));
        }
        if !(0..=30 * 86_400).contains(&self.after_s) {
            return Err("`after_s` must be 0 to 2592000 (30 days)".into());
        }
        if self.max_attempts.is_some_and(|n| !(1..=100).contains(&n)) {
            return Err("a rule's `max_attempts` must be 1 to 100".into());
        }
        Ok(())
    }
}

/// The outcome a recycling rule names for a call's end: its status, unless detection found a
/// machine or no agent took the answered call (abandoned).
pub fn outcome_word(status: CallStatus, amd: Option<&str>, abandoned: bool) -> &'static str {
    if abandoned {
        "abandoned"
    } else if amd == Some("machine") {
        "machine"
    } else {
        status.as_str()
    }
}

/// The time zone of a number where its country has one zone, or its region says which (North
/// American area codes, Australian area digits): an IANA name, or None (the campaign's zone then).
pub fn zone_of(e164: &str) -> Option<&'static str> {
    let digits = e164.strip_prefix('+')?;
    if let Some(rest) = digits.strip_prefix('1') {
        return nanp_zone(rest.get(..3)?);
    }
    if let Some(rest) = digits.strip_prefix("61") {
        return match rest.chars().next()? {
            '2' => Some("Australia/Sydney"),
            '3' => Some("Australia/Melbourne"),
            '7' => Some("Australia/Brisbane"),
            '8' => Some("Australia/Perth"),
            _ => None,
        };
    }
    // One zone each (the countries a floor most often calls); longest code first.
    const SINGLE: [(&str, &str); 30] = [
        ("971", "Asia/Dubai"),
        ("966", "Asia/Riyadh"),
        ("974", "Asia/Qatar"),
        ("965", "Asia/Kuwait"),
        ("968", "Asia/Muscat"),
        ("973", "Asia/Bahrain"),
        ("977", "Asia/Kathmandu"),
        ("880", "Asia/Dhaka"),
        ("353", "Europe/Dublin"),
        ("234", "Africa/Lagos"),
        ("254", "Africa/Nairobi"),
        ("91", "Asia/Kolkata"),
        ("92", "Asia/Karachi"),
        ("94", "Asia/Colombo"),
        ("44", "Europe/London"),
        ("49", "Europe/Berlin"),
        ("33", "Europe/Paris"),
        ("34", "Europe/Madrid"),
        ("39", "Europe/Rome"),
        ("31", "Europe/Amsterdam"),
        ("41", "Europe/Zurich"),
        ("48", "Europe/Warsaw"),
        ("65", "Asia/Singapore"),
        ("60", "Asia/Kuala_Lumpur"),
        ("63", "Asia/Manila"),
        ("66", "Asia/Bangkok"),
        ("81", "Asia/Tokyo"),
        ("82", "Asia/Seoul"),
        ("27", "Africa/Johannesburg"),
        ("20", "Africa/Cairo"),
    ];
    SINGLE
        .iter()
        .find(|(code, _)| digits.starts_with(code))
        .map(|(_, zone)| *zone)
}

/// The zone of a North American area code, for the most populous ones; None for the rest.
fn nanp_zone(area: &str) -> Option<&'static str> {
    const EASTERN: &[&str] = &[
        "201", "202", "203", "212", "215", "216", "239", "240", "267", "301", "305", "313", "321",
        "347", "352", "404", "407", "410", "412", "416", "437", "443", "470", "484", "508", "513",
        "514", "516", "517", "518", "561", "585", "586", "607", "610", "614", "617", "631", "646",
        "647", "678", "703", "704", "716", "718", "727", "732", "754", "757", "770", "772", "781",
        "786", "804", "813", "828", "845", "856", "857", "862", "904", "905", "908", "914", "917",
        "919", "929", "941", "954", "973", "978", "980",
    ];
    const CENTRAL: &[&str] = &[
        "205", "210", "214", "217", "218", "224", "225", "251", "254", "262", "281", "309", "312",
        "314", "316", "318", "319", "320", "331", "334", "346", "361", "402", "405", "409", "414",
        "417", "430", "432", "469", "479", "501", "504", "507", "512", "515", "531", "563", "573",
        "601", "608", "612", "615", "618", "630", "636", "651", "682", "708", "713", "715", "731",
        "737", "763", "773", "779", "815", "816", "817", "830", "832", "847", "901", "903", "913",
        "918", "920", "936", "940", "952", "956", "972", "979",
    ];
    const MOUNTAIN: &[&str] = &[
        "303", "307", "385", "403", "406", "435", "480", "505", "520", "575", "587", "602", "623",
        "719", "720", "780", "801", "915", "928", "970",
    ];
    const PACIFIC: &[&str] = &[
        "206", "209", "213", "236", "253", "310", "323", "360", "408", "415", "424", "425", "442",
        "503", "509", "510", "530", "541", "559", "562", "604", "619", "626", "628", "650", "657",
        "661", "669", "702", "707", "714", "725", "747", "760", "775", "778", "805", "818", "831",
        "858", "909", "916", "925", "949", "951", "971",
    ];
    [
        (EASTERN, "America/New_York"),
        (CENTRAL, "America/Chicago"),
        (MOUNTAIN, "America/Denver"),
        (PACIFIC, "America/Los_Angeles"),
    ]
    .iter()
    .find(|(codes, _)| codes.contains(&area))
    .map(|(_, zone)| *zone)
}

/// A campaign's measured figures, over its recent calls: what pacing reads.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Measured {
    /// Answered calls over calls placed (recent).
    pub answer_rate: f64,
    /// Abandoned over answered, over the last [`ABANDON_WINDOW`] answered calls.
    pub abandon_rate: f64,
    /// How many answered calls that covers.
    pub answered: usize,
}

/// The answered calls the abandon rate is counted over (CONTRACT.md: the last 100).
pub const ABANDON_WINDOW: usize = 100;

/// How many calls a campaign may have out (ringing and being dialed) right now.
/// - fixed: its concurrency;
/// - progressive: one per idle agent of its queue (never above its concurrency);
/// - predictive: the agents idle now and those about to be free (by the time a call dialed now
///   would be answered) divided by the answer rate, so that about as many calls are answered as
///   agents are free — fewer as the abandon rate nears its cap (none beyond one per idle agent
///   once it is reached); until 20 answers are measured it dials as progressive.
pub fn calls_wanted(
    mode: DialMode,
    concurrency: usize,
    agents: Outlook,
    measured: Measured,
    max_abandon_rate: f64,
) -> usize {
    let one_per_idle = agents.idle.min(concurrency);
    match mode {
        DialMode::Fixed => concurrency,
        DialMode::Progressive => one_per_idle,
        DialMode::Predictive => {
            if measured.answered < 20 || measured.answer_rate <= 0.0 {
                return one_per_idle;
            }
            let cap = max_abandon_rate.max(0.0);
            // 1 at no abandons, 0 at the cap: the share of the look-ahead still allowed.
            let headroom = if cap <= 0.0 {
                0.0
            } else {
                (1.0 - measured.abandon_rate / cap).clamp(0.0, 1.0)
            };
            let idle = agents.idle as f64;
            let ahead = (idle + agents.freeing as f64) / measured.answer_rate.clamp(0.05, 1.0);
            let wanted = idle + (ahead - idle) * headroom;
            (wanted.floor() as usize).clamp(one_per_idle, concurrency)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_rules_read_their_words() {
        assert_eq!(DialMode::parse("predictive"), Some(DialMode::Predictive));
        assert_eq!(DialMode::parse("auto"), None);
        assert_eq!(AmdRule::parse("retry"), Some(AmdRule::Retry));
        for (word, read) in [
            ("human", Some("human")),
            ("machine_end_beep", Some("machine")),
            ("machine_start", Some("machine")),
            ("fax", Some("machine")),
            ("unknown", Some("unknown")),
            ("true", Some("machine")),
            ("false", Some("human")),
            ("maybe", None),
        ] {
            assert_eq!(amd_result(word), read, "{word}");
        }
        let rule = |outcome: &str, after_s| RecycleRule {
            outcome: outcome.into(),
            after_s,
            max_attempts: Some(3),
        };
        assert!(rule("busy", 600).validate().is_ok());
        assert!(rule("completed", 600).validate().is_err());
        assert!(rule("busy", -1).validate().is_err());
        assert_eq!(
            outcome_word(CallStatus::Completed, Some("machine"), false),
            "machine"
        );
        assert_eq!(
            outcome_word(CallStatus::Completed, Some("human"), true),
            "abandoned"
        );
        assert_eq!(outcome_word(CallStatus::NoAnswer, None, false), "no_answer");
    }

    #[test]
    fn numbers_say_their_zone_where_they_can() {
        for (number, zone) in [
            ("+919876543210", Some("Asia/Kolkata")),
            ("+12125550100", Some("America/New_York")),
            ("+14155550100", Some("America/Los_Angeles")),
            ("+13125550100", Some("America/Chicago")),
            ("+13035550100", Some("America/Denver")),
            ("+18075550100", None),
            ("+61298765432", Some("Australia/Sydney")),
            ("+61898765432", Some("Australia/Perth")),
            ("+447700900123", Some("Europe/London")),
            ("+97150123456", Some("Asia/Dubai")),
            ("+5511987654321", None),
        ] {
            assert_eq!(zone_of(number), zone, "{number}");
        }
        for zone in [
            "Asia/Kolkata",
            "America/New_York",
            "Australia/Perth",
            "Asia/Kathmandu",
        ] {
            assert!(zone.parse::<chrono_tz::Tz>().is_ok(), "{zone}");
        }
    }

    #[test]
    fn pacing_by_mode() {
        let measured = |answer_rate, abandon_rate| Measured {
            answer_rate,
            abandon_rate,
            answered: 100,
        };
        let agents = |idle, freeing| Outlook { idle, freeing };
        let none = Measured::default();
        // (mode, concurrency, agents, measured, expected calls out)
        let table = [
            (DialMode::Fixed, 5, agents(0, 0), none, 5),
            (DialMode::Progressive, 50, agents(4, 0), none, 4),
            (DialMode::Progressive, 3, agents(4, 0), none, 3),
            // Progressive never dials for an agent not yet free.
            (
                DialMode::Progressive,
                50,
                agents(0, 6),
                measured(0.4, 0.0),
                0,
            ),
            // Predictive: 10 idle agents, 40 % answered, no abandons → 25 calls out.
            (
                DialMode::Predictive,
                100,
                agents(10, 0),
                measured(0.4, 0.0),
                25,
            ),
            // Half-way to the cap → half the look-ahead; at the cap → one per idle agent.
            (
                DialMode::Predictive,
                100,
                agents(10, 0),
                measured(0.4, 0.015),
                17,
            ),
            (
                DialMode::Predictive,
                100,
                agents(10, 0),
                measured(0.4, 0.05),
                10,
            ),
            // Agents about to be free are dialed for too: 10 idle + 6 freeing at 40 % → 40.
            (
                DialMode::Predictive,
                100,
                agents(10, 6),
                measured(0.4, 0.0),
                40,
            ),
            // …even with none idle now (an agent's wrap-up ends as the call is answered)…
            (
                DialMode::Predictive,
                100,
                agents(0, 4),
                measured(0.4, 0.0),
                10,
            ),
            // …but not once the abandon rate reaches the cap.
            (
                DialMode::Predictive,
                100,
                agents(0, 4),
                measured(0.4, 0.03),
                0,
            ),
            // Nobody idle or freeing: nothing.
            (
                DialMode::Predictive,
                100,
                agents(0, 0),
                measured(0.4, 0.0),
                0,
            ),
            // Too few answers measured: progressive.
            (
                DialMode::Predictive,
                100,
                agents(10, 6),
                Measured {
                    answered: 5,
                    ..measured(0.4, 0.0)
                },
                10,
            ),
            // Never beyond the campaign's concurrency.
            (
                DialMode::Predictive,
                12,
                agents(10, 0),
                measured(0.2, 0.0),
                12,
            ),
        ];
        for (mode, concurrency, agents, measured, expected) in table {
            assert_eq!(
                calls_wanted(mode, concurrency, agents, measured, 0.03),
                expected,
                "{mode:?} {concurrency} {agents:?} {measured:?}"
            );
        }
    }
}
