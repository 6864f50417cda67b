//! Money as integers: an amount is a count of the currency's minor units
//! (cents), never a float. [`Currency`] knows how many decimals it has;
//! [`Amount::parse`] reads what people type ("12.50", "12,50", "12").

use super::ParseError;

/// An ISO 4217 code with its number of decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    decimals: u8,
}

/// Currencies whose minor unit is not the hundredth (ISO 4217).
const DECIMALS: &[(&str, u8)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
];

impl Currency {
    /// Three ASCII letters, any case.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let upper = input.trim().to_ascii_uppercase();
        let bytes: [u8; 3] = upper.as_bytes().try_into().map_err(|_| ParseError::Currency)?;
        if !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(ParseError::Currency);
        }
        let decimals = DECIMALS.iter().find(|(c, _)| *c == upper).map_or(2, |(_, d)| *d);
        Ok(Self { code: bytes, decimals })
    }

    pub fn code(&self) -> &str {
        // Three ASCII letters by construction.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    pub fn decimals(&self) -> u8 {
        self.decimals
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_owned()
    }
}

/// A positive amount in minor units, at most [`Amount::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Amount(u64);

impl Amount {
    /// 10 000 000 000 minor units (100 million in a two-decimal currency):
    /// above any payment this product handles, far below overflow.
    pub const MAX: u64 = 10_000_000_000;

    pub fn from_minor(minor: u64) -> Result<Self, ParseError> {
        match minor {
            0 => Err(ParseError::AmountZero),
            n if n > Self::MAX => Err(ParseError::AmountTooLarge),
            n => Ok(Self(n)),
        }
    }

    /// What a person typed, in `currency`: digits with at most one decimal
    /// separator (`.` or `,`) and at most the currency's decimals. No signs,
    /// no exponents, no thousands separators: an ambiguous amount is
    /// refused, never guessed.
    pub fn parse(input: &str, currency: Currency) -> Result<Self, ParseError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ParseError::Required);
        }
        if s.starts_with('-') {
            return Err(ParseError::AmountNegative);
        }
        let (whole, fraction) = match s.find(['.', ',']) {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => (s, ""),
        };
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(fraction) || (whole.is_empty() && fraction.is_empty()) {
            return Err(ParseError::Amount);
        }
        let decimals = usize::from(currency.decimals());
        if fraction.len() > decimals {
            return Err(ParseError::AmountDecimals { decimals: currency.decimals() });
        }
        // More digits than any allowed amount has: too large, whatever they say.
        if whole.trim_start_matches('0').len() > 12 {
            return Err(ParseError::AmountTooLarge);
        }
        let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| ParseError::Amount)? };
        let mut minor =
            whole.checked_mul(10u64.pow(u32::from(currency.decimals()))).ok_or(ParseError::AmountTooLarge)?;
        if !fraction.is_empty() {
            let padded = format!("{fraction:0<decimals$}");
            minor =
                minor.checked_add(padded.parse().map_err(|_| ParseError::Amount)?).ok_or(ParseError::AmountTooLarge)?;
        }
        Self::from_minor(minor)
    }

    pub fn minor(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for Amount {
    type Error = ParseError;
    fn try_from(value: u64) -> Result<Self, Self::Error> {
        Self::from_minor(value)
    }
}

impl From<Amount> for u64 {
    fn from(a: Amount) -> Self {
        a.0
    }
}

/// `minor` units of `currency` for people: `1,234.50 USD` → `1234.50 USD`
/// (no grouping, so what is shown can be typed back).
pub fn format_money(minor: u64, currency: Currency) -> String {
    let decimals = u32::from(currency.decimals());
    if decimals == 0 {
        return format!("{minor} {currency}");
    }
    let unit = 10u64.pow(decimals);
    format!("{}.{:0width$} {currency}", minor / unit, minor % unit, width = decimals as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("usd").unwrap()
    }

    #[test]
    fn amounts_people_type() {
        let jpy = Currency::parse("JPY").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        let table: &[(&str, Currency, Result<u64, ParseError>)] = &[
            ("12.50", usd(), Ok(1250)),
            ("12,50", usd(), Ok(1250)),
            ("12", usd(), Ok(1200)),
            (" 0.5 ", usd(), Ok(50)),
            (".75", usd(), Ok(75)),
            ("12.", usd(), Ok(1200)),
            ("0.01", usd(), Ok(1)),
            ("100000000", usd(), Ok(10_000_000_000)),
            ("100000000.01", usd(), Err(ParseError::AmountTooLarge)),
            ("12.345", usd(), Err(ParseError::AmountDecimals { decimals: 2 })),
            ("1.5", jpy, Err(ParseError::AmountDecimals { decimals: 0 })),
            ("1500", jpy, Ok(1500)),
            ("1.234", kwd, Ok(1234)),
            ("0", usd(), Err(ParseError::AmountZero)),
            ("0.00", usd(), Err(ParseError::AmountZero)),
            ("-5", usd(), Err(ParseError::AmountNegative)),
            ("+5", usd(), Err(ParseError::Amount)),
            ("1,234.50", usd(), Err(ParseError::Amount)),
            ("1e3", usd(), Err(ParseError::Amount)),
            ("NaN", usd(), Err(ParseError::Amount)),
            (".", usd(), Err(ParseError::Amount)),
            ("", usd(), Err(ParseError::Required)),
            ("99999999999999999999999", usd(), Err(ParseError::AmountTooLarge)),
            ("１２", usd(), Err(ParseError::Amount)),
        ];
        for (input, currency, want) in table {
            assert_eq!(Amount::parse(input, *currency).map(Amount::minor), *want, "{input:?} {currency}");
        }
    }

    #[test]
    fn currencies_know_their_decimals() {
        assert_eq!(usd().code(), "USD");
        assert_eq!(usd().decimals(), 2);
        assert_eq!(Currency::parse("jpy").unwrap().decimals(), 0);
        for bad in ["", "US", "USDT", "U$D", "12A"] {
            assert_eq!(Currency::parse(bad), Err(ParseError::Currency), "{bad}");
        }
    }

    #[test]
    fn formatting_can_be_typed_back() {
        assert_eq!(format_money(1250, usd()), "12.50 USD");
        assert_eq!(format_money(5, usd()), "0.05 USD");
        assert_eq!(format_money(1500, Currency::parse("JPY").unwrap()), "1500 JPY");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn currency() -> impl Strategy<Value = Currency> {
            prop_oneof![Just("USD"), Just("EUR"), Just("BRL"), Just("JPY"), Just("KWD")]
                .prop_map(|c| Currency::parse(c).unwrap())
        }

        proptest! {
            /// Every amount shown parses back to itself, with either separator.
            #[test]
            fn shown_amounts_parse_back(minor in 1..=Amount::MAX, currency in currency(), comma in any::<bool>()) {
                let shown = format_money(minor, currency);
                let number = shown.split(' ').next().unwrap();
                let typed = if comma { number.replace('.', ",") } else { number.to_owned() };
                prop_assert_eq!(Amount::parse(&typed, currency).map(Amount::minor), Ok(minor));
            }

            /// Whatever is typed, the parser answers (never panics), and a
            /// success is within the bounds.
            #[test]
            fn any_input_is_answered(input in "\\PC{0,30}", currency in currency()) {
                if let Ok(amount) = Amount::parse(&input, currency) {
                    prop_assert!(amount.minor() >= 1 && amount.minor() <= Amount::MAX);
                }
            }

            /// Digits with a separator: the value is exactly whole * 10^d + fraction.
            #[test]
            fn no_rounding(whole in 0u64..1_000_000, fraction in 0u64..100) {
                let typed = format!("{whole}.{fraction:02}");
                let minor = whole * 100 + fraction;
                let parsed = Amount::parse(&typed, usd()).map(Amount::minor);
                if minor == 0 {
                    prop_assert_eq!(parsed, Err(ParseError::AmountZero));
                } else {
                    prop_assert_eq!(parsed, Ok(minor));
                }
            }
        }
    }
}
