//! What an upload is made of: the server's object key, the name and type the
//! client declared, and what the upload is for.

use super::ParseError;
use super::text::text_newtype;

/// The name of an object in the store: 32 lowercase hex digits (128 random
/// bits) made by the server, never derived from the file's name. URL-safe,
/// unguessable, and safe as part of a Redis key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectKey(String);

text_newtype!(ObjectKey);

impl ObjectKey {
    pub const LEN: usize = 32;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        if input.len() == Self::LEN && input.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(input.to_owned()))
        } else {
            Err(ParseError::ObjectKey)
        }
    }

    #[cfg(feature = "server")]
    pub fn generate() -> Self {
        let bytes: [u8; 16] = rand::random();
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A file's name as shown to its owner and offered on download: the last
/// path component of what the browser sent, one line, at most 255 characters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FileName(String);

text_newtype!(FileName);

impl FileName {
    pub const MAX: usize = 255;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        // Browsers on some systems send a whole path; only the name is kept.
        let name = input.rsplit(['/', '\\']).next().unwrap_or_default().trim();
        if name.is_empty() || name == "." || name == ".." {
            return Err(ParseError::Required);
        }
        // Bidirectional overrides would let a name show as another
        // (`photo\u{202E}gpj.exe` reads as `photoexe.jpg`).
        let bidi = |c: char| matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if super::has_control_chars(name) || name.chars().any(bidi) {
            return Err(ParseError::ControlCharacters);
        }
        if name.chars().count() > Self::MAX {
            return Err(ParseError::TooLong { max: Self::MAX });
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A media type (`type/subtype`, lowercase, parameters dropped). Missing or
/// unreadable types become `application/octet-stream`: the declared type is
/// only a label, shown and sent back with `nosniff` on download.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentType(String);

text_newtype!(ContentType);

impl ContentType {
    pub const OCTET_STREAM: &'static str = "application/octet-stream";

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let essence = input.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let token = |s: &str| {
            !s.is_empty() && s.len() <= 100 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        match essence.split_once('/') {
            Some((kind, sub)) if token(kind) && token(sub) => Ok(Self(essence)),
            _ if essence.is_empty() => Ok(Self(Self::OCTET_STREAM.to_owned())),
            _ => Err(ParseError::ContentType),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an upload is for: a file in the user's list, or the profile picture
/// (an image by content, with its own size limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadKind {
    File,
    Picture,
}

impl UploadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadKind::File => "file",
            UploadKind::Picture => "picture",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        match input {
            "file" => Some(UploadKind::File),
            "picture" => Some(UploadKind::Picture),
            _ => None,
        }
    }
}

/// The image types a profile picture may be, recognised by their first bytes.
pub const PICTURE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp"];

/// A size for people: `512 B`, `3.4 KB`, `12.0 MB` (powers of 1024), to
/// the nearest tenth. Integer arithmetic: the browser's wasm then carries no
/// float formatting.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 0;
    let mut divisor: u128 = 1024;
    while u128::from(bytes) >= divisor * 1024 && unit < UNITS.len() - 1 {
        divisor *= 1024;
        unit += 1;
    }
    // To the nearest tenth, a tie to the even one (as `{:.1}` rounds).
    let scaled = u128::from(bytes) * 10;
    let (mut tenths, rest) = (scaled / divisor, scaled % divisor);
    if rest * 2 > divisor || (rest * 2 == divisor && tenths % 2 == 1) {
        tenths += 1;
    }
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_are_32_hex_digits() {
        assert!(ObjectKey::parse("0123456789abcdef0123456789abcdef").is_ok());
        for bad in ["", "0123456789ABCDEF0123456789ABCDEF", "../etc/passwd", "0123456789abcdef0123456789abcde"] {
            assert_eq!(ObjectKey::parse(bad), Err(ParseError::ObjectKey), "{bad}");
        }
        #[cfg(feature = "server")]
        {
            let (a, b) = (ObjectKey::generate(), ObjectKey::generate());
            assert_ne!(a, b);
            assert!(ObjectKey::parse(a.as_str()).is_ok());
        }
    }

    #[test]
    fn file_names_keep_only_the_last_component() {
        assert_eq!(FileName::parse("C:\\Users\\ann\\report.pdf").unwrap().as_str(), "report.pdf");
        assert_eq!(FileName::parse("/tmp/../a b.txt").unwrap().as_str(), "a b.txt");
        assert_eq!(FileName::parse("dir/"), Err(ParseError::Required));
        assert_eq!(FileName::parse(".."), Err(ParseError::Required));
        assert_eq!(FileName::parse("a\nb"), Err(ParseError::ControlCharacters));
        assert_eq!(FileName::parse("photo\u{202E}gpj.exe"), Err(ParseError::ControlCharacters));
        assert_eq!(FileName::parse(&"x".repeat(256)), Err(ParseError::TooLong { max: 255 }));
        assert_eq!(FileName::parse("résumé.pdf").unwrap().as_str(), "résumé.pdf");
    }

    #[test]
    fn content_types_are_essences() {
        assert_eq!(ContentType::parse("Text/Plain; charset=utf-8").unwrap().as_str(), "text/plain");
        assert_eq!(ContentType::parse("").unwrap().as_str(), "application/octet-stream");
        assert_eq!(ContentType::parse("text/html\r\nX: y"), Err(ParseError::ContentType));
        assert_eq!(ContentType::parse("nonsense"), Err(ParseError::ContentType));
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(3_500), "3.4 KB");
        assert_eq!(human_size(10 << 20), "10.0 MB");
        assert_eq!(human_size(1024), "1.0 KB");
        assert_eq!(human_size(1_048_575), "1024.0 KB");
        assert_eq!(human_size(1_572_864), "1.5 MB");
        assert_eq!(human_size(1_280), "1.2 KB", "a tie goes to the even tenth");
        assert_eq!(human_size(1_792), "1.8 KB", "a tie goes up to the even tenth");
        assert_eq!(human_size(1_331), "1.3 KB");
        assert_eq!(human_size(u64::MAX), "16777216.0 TB");
    }
}
