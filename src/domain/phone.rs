//! Phone numbers: parsed once at the edge into E.164, with the raw text kept beside it.
//! Numbering plans come from libphonenumber's metadata (the `phonenumber` crate).

use phonenumber::country;
use phonenumber::Mode;
use serde::Serialize;

/// A phone number in E.164 (`+919876543210`), and the text it was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneNumber {
    e164: String,
    raw: String,
}

/// Why a text is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid phone number")]
pub struct NotAPhoneNumber(pub String);

impl PhoneNumber {
    /// Reads E.164 (`+91…`), international `00…`, national forms of `default_country` (`IN`:
    /// `9876543210`, `09876543210`) and provider forms without `+` (`919876543210`).
    pub fn parse(raw: &str, default_country: &str) -> Result<Self, NotAPhoneNumber> {
        let cleaned: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '\u{a0}'))
            .collect();
        let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(NotAPhoneNumber(raw.to_owned()));
        }
        let key = (cleaned.clone(), default_country.to_ascii_uppercase());
        let e164 = match known(&key) {
            Some(known) => known,
            None => {
                let e164 = e164_of(&cleaned, &key.1);
                remember(key, e164.clone());
                e164
            }
        };
        e164.map(|e164| PhoneNumber {
            e164,
            raw: raw.to_owned(),
        })
        .ok_or_else(|| NotAPhoneNumber(raw.to_owned()))
    }

    pub fn e164(&self) -> &str {
        &self.e164
    }

    pub fn raw(&self) -> &str {
        &self.raw
    }
}

/// Numbers already read, by cleaned text and default country: a call's events carry the same
/// numbers again and again, and libphonenumber's parse (regexes over its metadata) is the costly
/// part of reading a webhook. Bounded: emptied when it reaches [`KNOWN_MAX`] entries.
static KNOWN: std::sync::LazyLock<std::sync::Mutex<Known>> =
    std::sync::LazyLock::new(Default::default);

/// E.164 (or not a number) by cleaned text and upper-case default country.
type Known = std::collections::HashMap<(String, String), Option<String>>;
const KNOWN_MAX: usize = 100_000;

fn known(key: &(String, String)) -> Option<Option<String>> {
    KNOWN.lock().ok()?.get(key).cloned()
}

fn remember(key: (String, String), e164: Option<String>) {
    if let Ok(mut known) = KNOWN.lock() {
        if known.len() >= KNOWN_MAX {
            known.clear();
        }
        known.insert(key, e164);
    }
}

/// The E.164 form of a cleaned number (digits, maybe a leading `+`), read as libphonenumber does.
fn e164_of(cleaned: &str, default_country: &str) -> Option<String> {
    let country = default_country.parse::<country::Id>().ok();
    let candidates: Vec<String> = if cleaned.starts_with('+') {
        vec![cleaned.to_owned()]
    } else if let Some(international) = cleaned.strip_prefix("00") {
        vec![format!("+{international}")]
    } else {
        // National first; then the same digits as an international number without its `+`.
        vec![cleaned.to_owned(), format!("+{cleaned}")]
    };
    let valid = candidates
        .iter()
        .filter_map(|text| {
            let region = if text.starts_with('+') { None } else { country };
            phonenumber::parse(region, text).ok()
        })
        .find(phonenumber::is_valid)
        .map(|number| number.format().mode(Mode::E164).to_string());
    // Numbering metadata lags real allocations (and leaves out fictional and test ranges): a
    // number written internationally stands as it is once its form is E.164's.
    let explicit = (cleaned.starts_with('+') || cleaned.starts_with("00")).then(|| &candidates[0]);
    valid.or_else(|| explicit.and_then(|text| well_formed_e164(text)))
}

/// `+`, a country calling code libphonenumber knows, and 8–15 digits in all: the E.164 form,
/// whether or not the metadata says the range is assigned.
fn well_formed_e164(text: &str) -> Option<String> {
    let digits = text.strip_prefix('+')?;
    let well_formed =
        (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    (well_formed && phonenumber::parse(None, text).is_ok()).then(|| text.to_owned())
}

/// The ISO 3166 alpha-2 code (upper case) of a country libphonenumber knows, read from `text` in
/// any case: an org's `default_country`, the country its national numbers are read in.
pub fn country(text: &str) -> Option<String> {
    let code = text.trim().to_ascii_uppercase();
    let known = code.len() == 2 && code.parse::<country::Id>().is_ok();
    known.then_some(code)
}

/// A call party as the call model shows it: E.164 when the text is a phone number, otherwise as
/// given (extension numbers, `client:alice`, SIP URIs).
pub fn party(raw: &str, default_country: &str) -> String {
    match PhoneNumber::parse(raw, default_country) {
        Ok(number) if raw.trim().len() > 6 => number.e164,
        _ => raw.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_written_form_of_the_same_number() {
        let forms = [
            "+919876543210",
            "919876543210",
            "09876543210",
            "9876543210",
            "+91 98765 43210",
            "0091-98765-43210",
            "(+91) 98765-43210",
        ];
        for form in forms {
            let number = PhoneNumber::parse(form, "IN").unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(number.e164(), "+919876543210", "{form}");
            assert_eq!(number.raw(), form);
        }
    }

    #[test]
    fn reads_other_countries_and_landlines() {
        assert_eq!(
            PhoneNumber::parse("+14155550123", "IN").unwrap().e164(),
            "+14155550123"
        );
        assert_eq!(
            PhoneNumber::parse("14155550123", "IN").unwrap().e164(),
            "+14155550123"
        );
        assert_eq!(
            PhoneNumber::parse("(415) 555-0123", "US").unwrap().e164(),
            "+14155550123"
        );
        assert_eq!(
            PhoneNumber::parse("08041234567", "IN").unwrap().e164(),
            "+918041234567"
        );
    }

    #[test]
    fn a_well_formed_e164_number_stands_where_the_metadata_calls_it_unassigned() {
        let table = [
            // (written, default country, E.164)
            ("+15551234567", "IN", "+15551234567"), // NANP fictional 555-01xx range
            ("+1 555 123 4567", "US", "+15551234567"),
            ("+447700900123", "IN", "+447700900123"), // Ofcom's drama range
            ("+44 7700 900123", "GB", "+447700900123"),
            ("0044 7700 900123", "IN", "+447700900123"),
            ("+91 12345 678", "US", "+9112345678"), // 10 digits with its code
        ];
        for (text, country, e164) in table {
            let number = PhoneNumber::parse(text, country).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(number.e164(), e164, "{text} in {country}");
        }
        // The metadata still decides how a national form is read: no fallback without `+`/`00`.
        assert!(PhoneNumber::parse("5551234567", "IN").is_err());
    }

    #[test]
    fn an_international_form_needs_a_known_code_and_eight_to_fifteen_digits() {
        for text in [
            "+9991234567",
            "+1555123",
            "+1555123456789012",
            "+80012",
            "+0123456789",
        ] {
            assert!(PhoneNumber::parse(text, "IN").is_err(), "{text}");
        }
    }

    #[test]
    fn countries_are_read_in_any_case_and_only_known_ones() {
        assert_eq!(country("us").as_deref(), Some("US"));
        assert_eq!(country(" GB ").as_deref(), Some("GB"));
        for text in ["", "U", "USA", "ZZ", "12", "xx"] {
            assert_eq!(country(text), None, "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        for text in ["", "abc", "12", "+", "98765x43210", "client:alice"] {
            assert!(PhoneNumber::parse(text, "IN").is_err(), "{text}");
        }
    }

    #[test]
    fn parties_keep_extensions_and_clients_as_they_are() {
        assert_eq!(party("09876543210", "IN"), "+919876543210");
        assert_eq!(party("2005", "IN"), "2005");
        assert_eq!(party("client:alice", "IN"), "client:alice");
        assert_eq!(party(" sip:100@pbx ", "IN"), "sip:100@pbx");
    }
}
