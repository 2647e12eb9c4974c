//! Direct-message rooms (protocol v1.1 "dm"): a room of exactly two
//! protected nicks, and who may use it.
//!
//! - A DM room's name is derived from the pair's nick keys
//!   ([`crate::nicks::key`], so look-alikes are the same person here too):
//!   `dm-` and 24 hex digits of a SHA-256 of the two keys in order, the same
//!   whoever asks. Only DM rooms are named `dm-…`: any other use of such a
//!   name is refused as a room that does not exist.
//! - The pair is stored when the room is opened ([`DmStore`], one per
//!   backend, beside the nick claims), so a room's members are read back
//!   from its name.
//! - [`readable`] is the one check every route that names a room makes: a
//!   DM room is readable only by a protected session of one of its two
//!   nicks; for anyone else it is `404`, with the same body as a room name
//!   that cannot exist.

use async_trait::async_trait;
use hearth_proto::RoomName;
use sha2::{Digest, Sha256};

use crate::auth::Claims;
use crate::broker::BrokerError;
use crate::error::ApiError;
use crate::state::AppState;

/// The prefix only DM rooms have.
pub const PREFIX: &str = "dm-";

/// One of a DM room's two people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmMember {
    /// The nick's key ([`crate::nicks::key`]).
    pub key: String,
    /// The nick as its owner protected it.
    pub nick: String,
}

/// A DM room and its two people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmRoom {
    pub room: RoomName,
    pub members: [DmMember; 2],
}

impl DmRoom {
    /// The room of `a` and `b` (in either order).
    pub fn new(a: DmMember, b: DmMember) -> Self {
        let (first, second) = if a.key <= b.key { (a, b) } else { (b, a) };
        DmRoom {
            room: room_name(&first.key, &second.key),
            members: [first, second],
        }
    }

    /// Whether the nick with key `key` is one of the two.
    pub fn has(&self, key: &str) -> bool {
        self.members.iter().any(|m| m.key == key)
    }

    /// The other person, for the one with key `key`.
    pub fn other(&self, key: &str) -> &DmMember {
        if self.members[0].key == key {
            &self.members[1]
        } else {
            &self.members[0]
        }
    }
}

/// The name of the DM room of the nick keys `a` and `b`.
pub fn room_name(a: &str, b: &str) -> RoomName {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut hash = Sha256::new();
    hash.update(b"hearth dm v1\0");
    hash.update(first.as_bytes());
    hash.update(b"\0");
    hash.update(second.as_bytes());
    let digest = hash.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    RoomName::parse(&format!("{PREFIX}{hex}")).expect("dm- and hex digits make a room name")
}

/// Whether `room` is named as a DM room.
pub fn is_dm(room: &RoomName) -> bool {
    room.as_str().starts_with(PREFIX)
}

/// Where DM rooms' pairs are kept, one per backend.
#[async_trait]
pub trait DmStore: Send + Sync + 'static {
    /// Records `dm` (nothing changes if it is recorded already).
    async fn open_dm(&self, dm: &DmRoom) -> Result<(), BrokerError>;

    /// The DM room named `room`, if one was opened.
    async fn dm(&self, room: &RoomName) -> Result<Option<DmRoom>, BrokerError>;

    /// The DM rooms of the nick with key `key`.
    async fn dms_of(&self, key: &str) -> Result<Vec<DmRoom>, BrokerError>;
}

/// `room` if the session of `claims` may read and write it, else the `404`
/// of a room that does not exist.
pub async fn readable(
    state: &AppState,
    claims: &Claims,
    room: RoomName,
) -> Result<RoomName, ApiError> {
    if !is_dm(&room) {
        return Ok(room);
    }
    let dm = state.dms.dm(&room).await?;
    match dm {
        Some(dm) if claims.protected && dm.has(&crate::nicks::key(&claims.nick)) => Ok(room),
        _ => Err(ApiError::invalid_room()),
    }
}

/// A room named in a path, if the session may use it: `404` for a name
/// that cannot be a room and for a DM room of others.
pub async fn room_in_path(
    state: &AppState,
    claims: &Claims,
    raw: &str,
) -> Result<RoomName, ApiError> {
    readable(state, claims, crate::routes::room_from_path(raw)?).await
}

/// The DM rooms the session of `claims` may read (none for a session
/// opened without the nick password).
pub async fn own_dms(state: &AppState, claims: &Claims) -> Result<Vec<DmRoom>, ApiError> {
    if !claims.protected {
        return Ok(Vec::new());
    }
    Ok(state.dms.dms_of(&crate::nicks::key(&claims.nick)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(key: &str) -> DmMember {
        DmMember {
            key: key.into(),
            nick: key.into(),
        }
    }

    #[test]
    fn a_pair_has_one_room_whoever_asks() {
        let ab = DmRoom::new(member("ana"), member("bo"));
        let ba = DmRoom::new(member("bo"), member("ana"));
        assert_eq!(ab, ba);
        assert!(is_dm(&ab.room));
        assert_eq!(ab.room.as_str().len(), PREFIX.len() + 24);
        assert_ne!(ab.room, DmRoom::new(member("ana"), member("cy")).room);
        assert_eq!(ab.other("ana").key, "bo");
        assert_eq!(ab.other("bo").key, "ana");
        assert!(!ab.has("cy"));
    }

    #[test]
    fn keys_cannot_be_shifted_between_the_two() {
        assert_ne!(room_name("ab", "c"), room_name("a", "bc"));
    }
}
