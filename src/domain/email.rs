use super::ParseError;
use super::text::text_newtype;
use serde::{Deserialize, Serialize};

/// An email address, trimmed and lower-cased so that it can key the account
/// index (`account:email:{email}`): `Ann@Example.com` and `ann@example.com`
/// are the same person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

text_newtype!(Email);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ParseError::Required);
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(ParseError::TooLong { max: Self::MAX_LEN });
        }
        let (local, domain) = s.rsplit_once('@').ok_or(ParseError::Email)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2);
        if !(local_ok && domain_ok) {
            return Err(ParseError::Email);
        }
        Ok(Self(s.to_lowercase()))
    }

    /// The part before the `@`, used to suggest a username.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises_ordinary_addresses() {
        for (input, want) in [
            ("ann@example.com", "ann@example.com"),
            ("  Ann.Lee+tag@Example.COM ", "ann.lee+tag@example.com"),
            ("x@sub.domain.io", "x@sub.domain.io"),
        ] {
            assert_eq!(Email::parse(input).unwrap().as_str(), want);
        }
    }

    #[test]
    fn refuses_malformed_addresses() {
        for input in [
            "",
            "   ",
            "plain",
            "@example.com",
            "ann@",
            "ann@example",
            "ann@@example.com",
            "ann@exa mple.com",
            "a:b@example.com",
            "ann@-example.com",
            ".ann@example.com",
            "an..n@example.com",
            "ann@example.c",
            "ann\n@example.com",
        ] {
            assert!(Email::parse(input).is_err(), "{input:?} should be refused");
        }
    }

    #[test]
    fn refuses_overlong_addresses() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(ParseError::TooLong { max: 254 }));
    }

    #[test]
    fn local_part_is_before_the_at_sign() {
        assert_eq!(Email::parse("Ann@x.io").unwrap().local_part(), "ann");
    }
}
