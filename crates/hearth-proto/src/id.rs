//! Message ids and the multi-room stream cursor.
//!
//! A [`MessageId`] is written `<ms>-<seq>`: a millisecond timestamp and a
//! sequence number, ordered as the pair. That is the shape of a Redis Stream
//! entry id, so the embedded backend and a Redis-backed cluster hand out ids of
//! one form and every node can place an id it did not assign. Clients treat
//! ids as opaque strings and never compare them. A message's `ts` is the
//! time its id was given: [`MessageId::ts`].
//!
//! A [`Cursor`] is the `id` of a message event on a multi-room stream: the
//! last message id seen in every room of the stream, written
//! `general:1732500000000-0,dev:0-0` (`0-0`: nothing yet in that room).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::RoomName;

/// An id the server cannot parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed id")]
pub struct MalformedId;

/// A message id, `<ms>-<seq>`, strictly increasing per room in storage order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MessageId {
    /// Milliseconds since the Unix epoch when the id was assigned (at least
    /// the previous id's, so ids never go back when the clock does).
    pub ms: u64,
    /// Orders ids assigned within the same millisecond.
    pub seq: u64,
}

impl MessageId {
    /// The id before every message: "nothing seen yet".
    pub const ZERO: MessageId = MessageId { ms: 0, seq: 0 };

    pub const fn new(ms: u64, seq: u64) -> Self {
        Self { ms, seq }
    }

    /// The smallest id greater than `self`; `None` for the greatest id,
    /// `18446744073709551615-18446744073709551615`, which parses but has no
    /// successor (it used to overflow: a panic in debug builds, `0-0` in
    /// release; found by the `ids` fuzz target's seeds).
    pub fn successor(self) -> Option<Self> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(Self { ms: self.ms, seq }),
            None => Some(Self {
                ms: self.ms.checked_add(1)?,
                seq: 0,
            }),
        }
    }
}

/// The first and last years a timestamp is written for (those of `chrono`,
/// which wrote `ts` before [`MessageId::ts`] did): `-262143` (262144 BCE) to
/// `+262142`.
const MIN_YEAR: i64 = -262_143;
const MAX_YEAR: i64 = 262_142;
const MS_PER_DAY: i64 = 86_400_000;

impl MessageId {
    /// The `ts` of the message with this id: the time the id was given, as
    /// RFC 3339 in UTC with milliseconds (`2024-11-25T02:00:00.123Z`).
    ///
    /// `ms` is read as a signed count (ids past `i64::MAX` are before 1970);
    /// a year past 9999 or before 0 gets its sign (`+10000-01-01T…`), and a
    /// time outside the years `-262143..=262142` is written as the epoch.
    pub fn ts(self) -> String {
        let ms = self.ms as i64;
        let days = ms.div_euclid(MS_PER_DAY);
        let of_day = ms.rem_euclid(MS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return MessageId::ZERO.ts();
        }
        let (hour, minute) = (of_day / 3_600_000, of_day / 60_000 % 60);
        let (second, milli) = (of_day / 1000 % 60, of_day % 1000);
        let date = if (0..=9999).contains(&year) {
            format!("{year:04}-{month:02}-{day:02}")
        } else {
            format!("{year:+05}-{month:02}-{day:02}")
        };
        format!("{date}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
    }
}

/// The proleptic Gregorian (year, month, day) of a day counted from
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses a decimal `u64` with digits only (no sign, no spaces).
fn parse_decimal(s: &str) -> Result<u64, MalformedId> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MalformedId);
    }
    s.parse().map_err(|_| MalformedId)
}

impl FromStr for MessageId {
    type Err = MalformedId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ms, seq) = s.split_once('-').ok_or(MalformedId)?;
        Ok(Self {
            ms: parse_decimal(ms)?,
            seq: parse_decimal(seq)?,
        })
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl Serialize for MessageId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// The position of a multi-room stream: the last message id per room.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cursor(BTreeMap<RoomName, MessageId>);

impl Cursor {
    pub fn new() -> Self {
        Self::default()
    }

    /// The last id seen in `room`, if the cursor covers it.
    pub fn get(&self, room: &RoomName) -> Option<MessageId> {
        self.0.get(room).copied()
    }

    pub fn set(&mut self, room: RoomName, id: MessageId) {
        self.0.insert(room, id);
    }

    /// Moves `room` to `id` if that is newer than what the cursor has (or
    /// the cursor does not cover `room`); false if it is not newer.
    pub fn advance(&mut self, room: &RoomName, id: MessageId) -> bool {
        match self.0.get_mut(room) {
            Some(last) if id <= *last => false,
            Some(last) => {
                *last = id;
                true
            }
            None => {
                self.0.insert(room.clone(), id);
                true
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&RoomName, &MessageId)> {
        self.0.iter()
    }
}

impl FromStr for Cursor {
    type Err = MalformedId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut cursor = Cursor::new();
        for part in s.split(',') {
            let (room, id) = part.split_once(':').ok_or(MalformedId)?;
            let room = RoomName::parse(room).map_err(|_| MalformedId)?;
            if cursor.0.insert(room, id.parse()?).is_some() {
                return Err(MalformedId);
            }
        }
        Ok(cursor)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (room, id)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{room}:{id}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_order_as_pairs() {
        let a: MessageId = "1732500000000-0".parse().unwrap();
        let b: MessageId = "1732500000000-10".parse().unwrap();
        let c: MessageId = "1732500000001-0".parse().unwrap();
        assert!(a < b && b < c);
        assert_eq!(b.to_string(), "1732500000000-10");
        assert_eq!(a.successor(), Some(MessageId::new(1732500000000, 1)));
        assert_eq!(
            MessageId::new(1, u64::MAX).successor(),
            Some(MessageId::new(2, 0))
        );
        assert_eq!(MessageId::new(u64::MAX, u64::MAX).successor(), None);
    }

    #[test]
    fn an_id_gives_its_timestamp_as_chrono_wrote_it() {
        // Each `ts` below is what `chrono` 0.4 wrote for the id
        // (`DateTime::<Utc>::from_timestamp_millis(ms as i64)`, the epoch when
        // out of range, `to_rfc3339_opts(SecondsFormat::Millis, true)`).
        for (ms, ts) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (1, "1970-01-01T00:00:00.001Z"),
            (999, "1970-01-01T00:00:00.999Z"),
            (1000, "1970-01-01T00:00:01.000Z"),
            (1_732_500_000_000, "2024-11-25T02:00:00.000Z"),
            (1_732_500_000_123, "2024-11-25T02:00:00.123Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (253_402_300_800_000, "+10000-01-01T00:00:00.000Z"),
            (8_210_266_876_799_999, "+262142-12-31T23:59:59.999Z"),
            (8_210_266_876_800_000, "1970-01-01T00:00:00.000Z"),
            (18_438_409_472_480_751_616, "-262143-01-01T00:00:00.000Z"),
            (18_438_409_472_480_751_615, "1970-01-01T00:00:00.000Z"),
            (18_446_681_906_490_351_615, "-0001-12-31T23:59:59.999Z"),
            (18_446_681_906_490_351_616, "0000-01-01T00:00:00.000Z"),
            (u64::MAX, "1969-12-31T23:59:59.999Z"),
            (1 << 63, "1970-01-01T00:00:00.000Z"),
            ((1 << 63) - 1, "1970-01-01T00:00:00.000Z"),
        ] {
            assert_eq!(MessageId::new(ms, 7).ts(), ts, "{ms}");
        }
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "1",
            "1-",
            "-1",
            "a-1",
            "1-a",
            "+1-0",
            "1-0-0",
            " 1-0",
            "1 -0",
            "99999999999999999999999-0",
        ] {
            assert_eq!(bad.parse::<MessageId>(), Err(MalformedId), "{bad:?}");
        }
    }

    #[test]
    fn cursors_round_trip_sorted_by_room() {
        let cursor: Cursor = "general:5-1,dev:0-0".parse().unwrap();
        assert_eq!(cursor.to_string(), "dev:0-0,general:5-1");
        assert_eq!(
            cursor.get(&RoomName::parse("general").unwrap()),
            Some(MessageId::new(5, 1))
        );
        for bad in [
            "",
            "general",
            "general:",
            "General:1-0",
            "a:1-0,a:2-0",
            "a:1-0,",
        ] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_cursor_advances_only_forward() {
        let general = RoomName::parse("general").unwrap();
        let mut cursor = Cursor::new();
        assert!(cursor.advance(&general, MessageId::new(5, 0)));
        assert!(!cursor.advance(&general, MessageId::new(5, 0)));
        assert!(!cursor.advance(&general, MessageId::new(4, 9)));
        assert!(cursor.advance(&general, MessageId::new(5, 1)));
        assert_eq!(cursor.to_string(), "general:5-1");
    }
}
