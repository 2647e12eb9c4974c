//! The protocol's input rules, as newtypes that can only be built by parsing.
//!
//! A value of [`RoomName`], [`Nick`], [`MessageText`] or [`ClientId`] is
//! valid by construction, so code past the edge never re-checks. The error's
//! `Display` is written for the person who sent the input: the server returns
//! it as the text of a `400`, the app shows it as is.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{MAX_EMOJI_CHARS, MAX_FILE_NAME_CHARS, MAX_NICK_CHARS, MAX_TEXT_CHARS};

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error(
        "invalid room name: use 1 to 64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit"
    )]
    RoomName,
    #[error("nick must not be empty")]
    NickEmpty,
    #[error("nick is too long: at most {MAX_NICK_CHARS} characters")]
    NickTooLong,
    #[error("nick must not contain control characters")]
    NickControl,
    #[error(
        "nick must not contain invisible characters or text-direction controls (zero-width spaces and joiners, soft hyphens, variation selectors, right-to-left marks and overrides): they make a nick look like someone else's"
    )]
    NickInvisible,
    #[error("message text must not be empty")]
    TextEmpty,
    #[error("message text is too long: {0} characters, at most {MAX_TEXT_CHARS}")]
    TextTooLong(usize),
    #[error("message text must not contain control characters other than newline and tab")]
    TextControl,
    #[error("client_id must be 1 to 128 printable ASCII characters without spaces")]
    ClientId,
    #[error(
        "emoji must be 1 to {MAX_EMOJI_CHARS} characters without whitespace or control characters"
    )]
    Emoji,
    #[error(
        "invalid file name: use 1 to {MAX_FILE_NAME_CHARS} characters without '/', '\\' or control characters"
    )]
    FileName,
    #[error("invalid file id")]
    FileId,
}

/// Implements `Display`, `AsRef<str>`, `Serialize` and a validating
/// `Deserialize` for a `String` newtype with a `parse` constructor.
macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The validated value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $name::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A room name: `^[a-z0-9][a-z0-9_-]{0,63}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomName(String);

impl RoomName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let bytes = raw.as_bytes();
        let first_ok = bytes
            .first()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let rest_ok = bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-');
        if first_ok && rest_ok && bytes.len() <= 64 {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::RoomName)
        }
    }

    /// The default room, `general`.
    pub fn default_room() -> Self {
        Self(crate::DEFAULT_ROOM.to_owned())
    }
}
string_newtype!(RoomName);

/// A nick: trimmed at both ends, 1 to 32 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nick(String);

impl Nick {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::NickEmpty);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ValidationError::NickControl);
        }
        if trimmed.chars().any(is_invisible) {
            return Err(ValidationError::NickInvisible);
        }
        if trimmed.chars().count() > MAX_NICK_CHARS {
            return Err(ValidationError::NickTooLong);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The nick the original chat room's `/post` uses without a login.
    pub fn anonymous() -> Self {
        Self("anonymous".to_owned())
    }
}
string_newtype!(Nick);

/// Whether `c` draws nothing (or only changes how its neighbours are
/// drawn), so that a nick holding it looks like the nick without it: the
/// Unicode property `Default_Ignorable_Code_Point` (zero-width spaces and
/// joiners, the soft hyphen, word joiners and invisible operators, the
/// byte-order mark, variation selectors, Hangul fillers, tag characters…),
/// which includes every bidirectional control (U+061C, U+200E/F,
/// U+202A–202E, U+2066–2069), plus the line and paragraph separators.
///
/// The table is `DerivedCoreProperties.txt` of Unicode 16.0 (the property
/// has not changed since Unicode 9; the crates that expose Unicode
/// properties do not expose this one). Characters with no effect on their
/// own, such as combining marks, are not in it: they change how a nick looks.
pub fn is_invisible(c: char) -> bool {
    const DEFAULT_IGNORABLE: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x034F, 0x034F),
        (0x061C, 0x061C),
        (0x115F, 0x1160),
        (0x17B4, 0x17B5),
        (0x180B, 0x180F),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x206F),
        (0x3164, 0x3164),
        (0xFE00, 0xFE0F),
        (0xFEFF, 0xFEFF),
        (0xFFA0, 0xFFA0),
        (0xFFF0, 0xFFF8),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0000, 0xE0FFF),
    ];
    let c = u32::from(c);
    c == 0x2028
        || c == 0x2029
        || DEFAULT_IGNORABLE
            .iter()
            .any(|&(first, last)| (first..=last).contains(&c))
}

/// Message text, normalized: CRLF and lone CR become LF, trailing whitespace
/// is trimmed, 1 to 4000 characters, no control characters but LF and tab.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let normalized = raw.replace("\r\n", "\n").replace('\r', "\n");
        let trimmed = normalized.trim_end();
        if trimmed.is_empty() {
            return Err(ValidationError::TextEmpty);
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(ValidationError::TextControl);
        }
        let chars = trimmed.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(ValidationError::TextTooLong(chars));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// As [`MessageText::parse`], but an empty (or all-whitespace) text is
    /// the empty text: the caption of a message that shares files.
    pub fn parse_caption(raw: &str) -> Result<Self, ValidationError> {
        match Self::parse(raw) {
            Err(ValidationError::TextEmpty) => Ok(Self(String::new())),
            other => other,
        }
    }
}
string_newtype!(MessageText);

/// The idempotency key a client attaches to a post: 1 to 128 printable ASCII
/// characters without spaces (a UUID in every client of the project).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if (1..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::ClientId)
        }
    }
}
string_newtype!(ClientId);

/// A reaction's emoji (any short text, in practice an emoji): 1 to 16
/// characters, no whitespace, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Emoji(String);

impl Emoji {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let chars = raw.chars().count();
        if (1..=MAX_EMOJI_CHARS).contains(&chars)
            && !raw.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::Emoji)
        }
    }
}
string_newtype!(Emoji);

/// An uploaded file's name as it is shown and saved: 1 to 255 characters,
/// no `/`, `\\` or control characters (so it is never a path), not `.` or
/// `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileName(String);

impl FileName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let chars = raw.chars().count();
        if (1..=MAX_FILE_NAME_CHARS).contains(&chars)
            && !raw.chars().any(|c| c == '/' || c == '\\' || c.is_control())
            && raw != "."
            && raw != ".."
        {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::FileName)
        }
    }
}
string_newtype!(FileName);

/// An upload's id: 32 lowercase hex digits (128 random bits), so it is
/// safe in a path and an object key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(String);

impl FileId {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::FileId)
        }
    }

    /// The id spelling these bytes (the server draws them at random).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}
string_newtype!(FileId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_follow_the_pattern() {
        for ok in ["general", "a", "0", "dev-ops_2", &"a".repeat(64)] {
            assert_eq!(RoomName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "-a",
            "_a",
            "General",
            "a b",
            "a/b",
            "a\r\nb",
            "data:x",
            "é",
            &"a".repeat(65),
        ] {
            assert_eq!(
                RoomName::parse(bad),
                Err(ValidationError::RoomName),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn nicks_are_trimmed_and_bounded() {
        assert_eq!(Nick::parse("  ana \t").unwrap().as_str(), "ana");
        assert_eq!(Nick::parse("   "), Err(ValidationError::NickEmpty));
        assert_eq!(Nick::parse("a\nb"), Err(ValidationError::NickControl));
        assert_eq!(Nick::parse("a\tb"), Err(ValidationError::NickControl));
        assert_eq!(Nick::parse("a\u{7f}"), Err(ValidationError::NickControl));
        assert_eq!(Nick::parse("a\u{85}b"), Err(ValidationError::NickControl));
        // 32 characters of a multi-byte letter are fine, 33 are not.
        assert!(Nick::parse(&"ü".repeat(32)).is_ok());
        // Letters of any script, marks, spaces and emoji stay allowed.
        for fine in [
            "ana maria",
            "José",
            "Zoë",
            "наташа",
            "李雷",
            "ana 🙂",
            "a-b_c.d",
        ] {
            assert_eq!(Nick::parse(fine).unwrap().as_str(), fine);
        }
        assert_eq!(
            Nick::parse(&"ü".repeat(33)),
            Err(ValidationError::NickTooLong)
        );
    }

    #[test]
    fn nicks_that_hide_characters_are_refused() {
        for hidden in [
            "\u{202E}ana",  // right-to-left override
            "ana\u{202A}",  // left-to-right embedding
            "an\u{2066}a",  // left-to-right isolate
            "ana\u{2069}",  // pop directional isolate
            "\u{200F}ana",  // right-to-left mark
            "ana\u{200E}",  // left-to-right mark
            "an\u{061C}a",  // Arabic letter mark
            "an\u{200B}a",  // zero-width space
            "ana\u{200C}",  // zero-width non-joiner
            "a\u{200D}na",  // zero-width joiner
            "an\u{2060}a",  // word joiner
            "ana\u{2064}",  // invisible plus
            "\u{FEFF}ana",  // byte-order mark
            "an\u{00AD}a",  // soft hyphen
            "ana\u{FE0F}",  // variation selector 16
            "ana\u{E0100}", // variation selector 17
            "ana\u{E0041}", // tag latin capital A
            "\u{3164}",     // Hangul filler, alone
            "an\u{034F}a",  // combining grapheme joiner
            "an\u{2028}a",  // line separator
        ] {
            assert_eq!(
                Nick::parse(hidden),
                Err(ValidationError::NickInvisible),
                "{hidden:?}"
            );
        }
        assert!(
            ValidationError::NickInvisible
                .to_string()
                .contains("invisible characters")
        );
    }

    #[test]
    fn text_is_normalized_then_checked() {
        assert_eq!(
            MessageText::parse("  a\r\nb\rc \n\t ").unwrap().as_str(),
            "  a\nb\nc"
        );
        assert_eq!(MessageText::parse("x\ty").unwrap().as_str(), "x\ty");
        assert_eq!(MessageText::parse(" \n\t"), Err(ValidationError::TextEmpty));
        assert_eq!(
            MessageText::parse("a\u{0}b"),
            Err(ValidationError::TextControl)
        );
        assert_eq!(
            MessageText::parse("a\u{1b}[31m"),
            Err(ValidationError::TextControl)
        );
        assert_eq!(
            MessageText::parse("a\u{9f}"),
            Err(ValidationError::TextControl)
        );
        assert!(MessageText::parse(&"é".repeat(MAX_TEXT_CHARS)).is_ok());
        assert_eq!(
            MessageText::parse(&"é".repeat(MAX_TEXT_CHARS + 1)),
            Err(ValidationError::TextTooLong(MAX_TEXT_CHARS + 1))
        );
        // Trailing whitespace does not count towards the limit.
        let padded = format!("{}   \n", "x".repeat(MAX_TEXT_CHARS));
        assert!(MessageText::parse(&padded).is_ok());
    }

    #[test]
    fn client_ids_are_printable_ascii() {
        assert!(ClientId::parse("5f1d3c1e-8d7a-4c4e-9a51-0c7a1b2c3d4e").is_ok());
        assert_eq!(ClientId::parse(""), Err(ValidationError::ClientId));
        assert_eq!(ClientId::parse("a b"), Err(ValidationError::ClientId));
        assert_eq!(ClientId::parse("a\nb"), Err(ValidationError::ClientId));
        assert_eq!(
            ClientId::parse(&"x".repeat(129)),
            Err(ValidationError::ClientId)
        );
    }

    #[test]
    fn emoji_are_short_and_without_spaces() {
        for ok in ["👍", "🎉", "+1", "👨‍👩‍👧", "ok", &"x".repeat(MAX_EMOJI_CHARS)] {
            assert_eq!(Emoji::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            " ",
            "a b",
            "👍\n",
            "\t",
            "x\u{7f}",
            "\u{85}",
            "\u{a0}",
            &"x".repeat(MAX_EMOJI_CHARS + 1),
        ] {
            assert_eq!(Emoji::parse(bad), Err(ValidationError::Emoji), "{bad:?}");
        }
    }

    #[test]
    fn deserializing_validates() {
        let room: RoomName = serde_json::from_str("\"dev\"").unwrap();
        assert_eq!(room.as_str(), "dev");
        assert!(serde_json::from_str::<RoomName>("\"Dev\"").is_err());
    }

    #[test]
    fn file_names_are_never_paths() {
        for ok in [
            "a",
            "photo.png",
            "Résumé 2026.pdf",
            "天气.txt",
            &"x".repeat(255),
        ] {
            assert_eq!(FileName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a\nb",
            "a\u{7f}",
            &"x".repeat(256),
        ] {
            assert_eq!(
                FileName::parse(bad),
                Err(ValidationError::FileName),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn file_ids_are_32_hex_digits() {
        let id = FileId::from_bytes([0xab; 16]);
        assert_eq!(id.as_str(), "ab".repeat(16));
        assert_eq!(FileId::parse(id.as_str()).unwrap(), id);
        for bad in [
            "",
            "../etc/passwd",
            &"A".repeat(32),
            &"a".repeat(31),
            &"a".repeat(33),
        ] {
            assert!(FileId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
