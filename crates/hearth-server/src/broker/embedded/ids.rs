//! Message ids in the SQLite store: how the writer assigns them and how they
//! are packed into a rowid (`ms << 20 | seq`, so rowid order is id order).

use std::time::{SystemTime, UNIX_EPOCH};

use hearth_proto::MessageId;

const SEQ_BITS: u32 = 20;
/// The largest sequence number a rowid holds.
const SEQ_MAX: u64 = (1 << SEQ_BITS) - 1;

/// Packs an id into a SQLite rowid.
pub fn pack(id: MessageId) -> i64 {
    ((id.ms << SEQ_BITS) | id.seq.min(SEQ_MAX)) as i64
}

/// The id a rowid stands for.
pub fn unpack(rowid: i64) -> MessageId {
    let raw = rowid as u64;
    MessageId::new(raw >> SEQ_BITS, raw & SEQ_MAX)
}

/// The smallest storable id at or after `id`, as an exclusive upper bound:
/// `None` when `id` is after anything storable (then "before it" is
/// everything).
pub fn storable_bound(id: MessageId) -> Option<MessageId> {
    if storable(id) {
        return Some(id);
    }
    let next = MessageId::new(id.ms.checked_add(1)?, 0);
    storable(next).then_some(next)
}

/// Whether an id can be stored here (sequence within the packed range).
pub fn storable(id: MessageId) -> bool {
    id.seq <= SEQ_MAX && id.ms < (1 << (63 - SEQ_BITS))
}

/// Milliseconds since the Unix epoch by the system clock (0 before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Assigns ids: `ms` is the clock (never going back), `seq` orders ids within
/// one millisecond.
pub struct IdGenerator {
    last: MessageId,
}

impl IdGenerator {
    /// Gives ids after `last`, the newest id stored.
    pub fn after(last: MessageId) -> Self {
        Self { last }
    }

    pub fn next(&mut self) -> MessageId {
        let now = now_ms();
        let next = if now > self.last.ms {
            MessageId::new(now, 0)
        } else if self.last.seq < SEQ_MAX {
            MessageId::new(self.last.ms, self.last.seq + 1)
        } else {
            MessageId::new(self.last.ms + 1, 0)
        };
        self.last = next;
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_keeps_order_and_round_trips() {
        let a = MessageId::new(1_732_500_000_000, 0);
        let b = MessageId::new(1_732_500_000_000, SEQ_MAX);
        let c = MessageId::new(1_732_500_000_001, 0);
        assert!(pack(a) < pack(b) && pack(b) < pack(c));
        for id in [a, b, c, MessageId::ZERO] {
            assert_eq!(unpack(pack(id)), id);
        }
    }

    #[test]
    fn ids_increase_even_when_the_clock_does_not() {
        // The last id is a minute ahead of the clock (the clock went back).
        let ahead = now_ms() + 60_000;
        let mut ids = IdGenerator {
            last: MessageId::new(ahead, SEQ_MAX - 1),
        };
        let first = ids.next();
        let second = ids.next();
        assert_eq!(first, MessageId::new(ahead, SEQ_MAX));
        assert_eq!(
            second,
            MessageId::new(ahead + 1, 0),
            "the sequence rolls over"
        );
    }
}
