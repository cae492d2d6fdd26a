//! Money, exactly: an amount is a whole number of millionths of its currency's unit (enough for
//! per-second rates such as `0.000166` and for the 5-decimal prices providers send), summed as
//! integers inside and written as a decimal string on the API. No floating point touches it.

use std::fmt;

/// Millionths of a currency unit per unit.
const SCALE: i64 = 1_000_000;

/// An amount of money in millionths of the unit (signed: ledger debits are negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn from_micros(micros: i64) -> Self {
        Money(micros)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    /// A decimal such as `25`, `0.0100`, `-0.01300`, `+3.5`: digits with at most one point and
    /// an optional sign. Digits past the sixth decimal are rounded half away from zero. No
    /// exponents, no `NaN`, nothing past ±9·10¹².
    pub fn parse(text: &str) -> Option<Money> {
        let text = text.trim();
        let (negative, digits) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction)
        {
            return None;
        }
        if whole.len() > 12 {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut micros = whole * SCALE;
        let mut place = SCALE / 10;
        for (i, digit) in fraction.bytes().map(|b| i64::from(b - b'0')).enumerate() {
            if i < 6 {
                micros += digit * place;
                place /= 10;
            } else {
                if digit >= 5 {
                    micros += 1;
                }
                break;
            }
        }
        Some(Money(if negative { -micros } else { micros }))
    }

    /// `per_minute` for `seconds`, rounded half up to the millionth.
    pub fn per_minute_for(per_minute: Money, seconds: i64) -> Money {
        let product = i128::from(per_minute.0) * i128::from(seconds);
        let rounded = (product + 30) / 60;
        Money(rounded.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }
}

impl std::ops::Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(self.0.saturating_neg())
    }
}

/// At least two decimals, more only where the amount has them: `2.00`, `0.013`, `-0.0085`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let (whole, fraction) = (magnitude / SCALE as u64, magnitude % SCALE as u64);
        let digits = format!("{fraction:06}");
        let kept = digits.trim_end_matches('0');
        let kept = if kept.len() < 2 { &digits[..2] } else { kept };
        write!(f, "{sign}{whole}.{kept}")
    }
}

/// On the API and in stored JSON: the decimal string.
impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Money::parse(&text).ok_or_else(|| serde::de::Error::custom("not a decimal amount"))
    }
}

/// A price as a provider reports it, in its currency.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Price {
    pub amount: Money,
    pub currency: String,
}

/// The currency code an org or a price is in: three ASCII letters, upper-cased (`usd` → `USD`).
pub fn currency_code(text: &str) -> Option<String> {
    let text = text.trim();
    (text.len() == 3 && text.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| text.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_exactly() {
        let cases = [
            ("25", Some(25_000_000)),
            ("25.00", Some(25_000_000)),
            ("0.0100", Some(10_000)),
            ("-0.01300", Some(-13_000)),
            ("+3.5", Some(3_500_000)),
            (".5", Some(500_000)),
            ("7.", Some(7_000_000)),
            ("0.0000005", Some(1)),
            ("0.0000004", Some(0)),
            ("0.00850", Some(8_500)),
            ("", None),
            (".", None),
            ("-", None),
            ("1e3", None),
            ("NaN", None),
            ("inf", None),
            ("1,5", None),
            ("1.2.3", None),
            ("9999999999999", None),
            (" 2.50 ", Some(2_500_000)),
        ];
        for (text, micros) in cases {
            assert_eq!(Money::parse(text).map(Money::micros), micros, "{text:?}");
        }
    }

    #[test]
    fn writes_at_least_two_decimals() {
        let cases = [
            (2_000_000, "2.00"),
            (13_000, "0.013"),
            (-8_500, "-0.0085"),
            (0, "0.00"),
            (1, "0.000001"),
            (123_450_000, "123.45"),
        ];
        for (micros, text) in cases {
            assert_eq!(Money::from_micros(micros).to_string(), text);
            assert_eq!(Money::parse(text), Some(Money::from_micros(micros)));
        }
    }

    #[test]
    fn a_rate_prices_seconds_rounded_half_up() {
        let cent = Money::parse("0.01").unwrap();
        assert_eq!(Money::per_minute_for(cent, 60), cent);
        assert_eq!(Money::per_minute_for(cent, 6).to_string(), "0.001");
        // 0.0085 a minute for 1 s is 141.67 millionths: 142.
        let rate = Money::parse("0.0085").unwrap();
        assert_eq!(Money::per_minute_for(rate, 1).micros(), 142);
        assert_eq!(Money::per_minute_for(rate, 0), Money::ZERO);
    }

    #[test]
    fn currency_codes_are_three_letters() {
        assert_eq!(currency_code("usd").as_deref(), Some("USD"));
        assert_eq!(currency_code(" INR ").as_deref(), Some("INR"));
        assert_eq!(currency_code("US"), None);
        assert_eq!(currency_code("U$D"), None);
    }
}
