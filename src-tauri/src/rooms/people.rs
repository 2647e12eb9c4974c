//! People (protocol v1.1 "nicks", "dm", bans), relayed for the UI with a
//! saved room's session: who the session is (`who_am_i`: protected,
//! admin), the nick password the app keeps (`nick_password`, shown so a
//! person can sign in elsewhere), direct messages (`open_dm`: the pair's
//! room, saved on the same connection and marked as a DM) and, for
//! admins, bans (`ban_nick`, `unban_nick`, `list_bans`). Inputs are checked
//! here first, with the sentences the UI shows.

use hearth_proto::{AuthMode, Ban, Nick, RoomName};
use serde::Serialize;
use tauri::State;

use super::session::SignedIn;
use super::{ConnKey, Rooms};
use crate::desktop::Desktop;
use crate::error::CommandError;

/// The longest ban the UI may ask for: a year, in minutes.
pub const MAX_BAN_MINUTES: u64 = 366 * 24 * 60;
/// The longest ban reason, in characters.
pub const MAX_BAN_REASON_CHARS: usize = 500;

/// What `open_dm` answers: the pair's room and the other person's nick
/// (as they protected it), and the saved room's id.
#[derive(Debug, Clone, Serialize)]
pub struct DmOpened {
    pub room: RoomName,
    pub nick: String,
    pub room_id: String,
}

/// A nick the UI sent (trimmed, checked as the server checks it).
fn nick_of(raw: &str) -> Result<Nick, CommandError> {
    Ok(Nick::parse(raw.trim())?)
}

/// A ban's length and reason, checked.
fn ban_terms(minutes: u64, reason: Option<&str>) -> Result<Option<&str>, CommandError> {
    if !(1..=MAX_BAN_MINUTES).contains(&minutes) {
        return Err(CommandError::BadInput(format!(
            "A ban lasts 1 minute to {} days.",
            MAX_BAN_MINUTES / (24 * 60)
        )));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if let Some(reason) = reason
        && reason.chars().count() > MAX_BAN_REASON_CHARS
    {
        return Err(CommandError::BadInput(format!(
            "A ban's reason can be at most {MAX_BAN_REASON_CHARS} characters long."
        )));
    }
    Ok(reason)
}

impl Rooms {
    /// `POST /api/dm` on the server of `room_id`: the room of this
    /// connection's nick and `nick`, saved on the same connection (sharing
    /// its session) and marked as a DM with `nick`.
    pub async fn open_dm(&self, room_id: &str, nick: &str) -> Result<DmOpened, CommandError> {
        let nick = nick_of(nick)?;
        let dm = self
            .with_session(room_id, |client, _| {
                let nick = nick.clone();
                async move { client.open_dm(nick.as_str()).await }
            })
            .await?;
        let key = ConnKey::of(&self.saved_room(room_id)?);
        let existing = self
            .shared
            .rooms_of(&key)
            .into_iter()
            .find(|r| r.room == dm.room);
        let id = match existing {
            Some(saved) => saved.id,
            None => {
                let base = self.shared.base_of(&key).ok_or(CommandError::NotHosting)?;
                let pin = self.shared.pin_of(&key);
                // The connection is signed in: the room shares its session.
                self.join_at(
                    key.clone(),
                    base,
                    dm.room.clone(),
                    None,
                    AuthMode::None,
                    pin,
                    None,
                )
                .await?
                .room
                .id
            }
        };
        self.mark_dm(&id, &dm.nick)?;
        Ok(DmOpened {
            room: dm.room,
            nick: dm.nick,
            room_id: id,
        })
    }

    /// Marks a saved room as the DM with `nick` (its messages count as
    /// mentions from now on).
    fn mark_dm(&self, room_id: &str, nick: &str) -> Result<(), CommandError> {
        self.shared.settings.update(|s| {
            if let Some(saved) = s.rooms.iter_mut().find(|r| r.id == room_id) {
                saved.dm = Some(nick.to_owned());
            }
        })?;
        self.shared.hub.set_dm(room_id, true);
        Ok(())
    }

    /// `POST /api/bans` (admins only): bans `nick` for `minutes`.
    pub async fn ban(
        &self,
        room_id: &str,
        nick: &str,
        minutes: u64,
        reason: Option<&str>,
    ) -> Result<Ban, CommandError> {
        let nick = nick_of(nick)?;
        let reason = ban_terms(minutes, reason)?.map(str::to_owned);
        self.with_session(room_id, |client, _| {
            let (nick, reason) = (nick.clone(), reason.clone());
            async move { client.ban(nick.as_str(), minutes, reason.as_deref()).await }
        })
        .await
    }

    /// `DELETE /api/bans/{nick}` (admins only).
    pub async fn unban(&self, room_id: &str, nick: &str) -> Result<(), CommandError> {
        let nick = nick_of(nick)?;
        self.with_session(room_id, |client, _| {
            let nick = nick.clone();
            async move { client.unban(nick.as_str()).await }
        })
        .await
    }

    /// `GET /api/bans` (admins only).
    pub async fn bans(&self, room_id: &str) -> Result<Vec<Ban>, CommandError> {
        self.with_session(room_id, |client, _| async move { client.bans().await })
            .await
    }
}

/// Who the session of `roomId`'s connection is: `{nick, expires_at,
/// protected, admin}` (`GET /api/session`).
#[tauri::command]
pub async fn who_am_i(
    desktop: State<'_, Desktop>,
    room_id: String,
) -> Result<SignedIn, CommandError> {
    desktop.rooms().who_am_i(&room_id).await
}

/// The nick password the app keeps for the server and nick of `roomId`
/// (to sign in elsewhere), or `null` if it keeps none.
#[tauri::command]
pub async fn nick_password(
    desktop: State<'_, Desktop>,
    room_id: String,
) -> Result<Option<String>, CommandError> {
    desktop.rooms().nick_password(&room_id).await
}

/// The direct-message room with `nick` on the server of `roomId`, saved
/// on the same connection: `{room, nick, room_id}`.
#[tauri::command]
pub async fn open_dm(
    desktop: State<'_, Desktop>,
    room_id: String,
    nick: String,
) -> Result<DmOpened, CommandError> {
    desktop.rooms().open_dm(&room_id, &nick).await
}

/// Bans `nick` for `minutes` (admins only): `{nick, until, by, reason?}`.
#[tauri::command]
pub async fn ban_nick(
    desktop: State<'_, Desktop>,
    room_id: String,
    nick: String,
    minutes: u64,
    reason: Option<String>,
) -> Result<Ban, CommandError> {
    desktop
        .rooms()
        .ban(&room_id, &nick, minutes, reason.as_deref())
        .await
}

/// Lifts the ban of `nick` (admins only).
#[tauri::command]
pub async fn unban_nick(
    desktop: State<'_, Desktop>,
    room_id: String,
    nick: String,
) -> Result<(), CommandError> {
    desktop.rooms().unban(&room_id, &nick).await
}

/// The bans in force (admins only).
#[tauri::command]
pub async fn list_bans(
    desktop: State<'_, Desktop>,
    room_id: String,
) -> Result<Vec<Ban>, CommandError> {
    desktop.rooms().bans(&room_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bans_are_checked_before_asking() {
        assert!(ban_terms(0, None).is_err());
        assert!(ban_terms(MAX_BAN_MINUTES + 1, None).is_err());
        assert_eq!(ban_terms(60, Some("  ")).unwrap(), None);
        assert_eq!(ban_terms(60, Some(" spam ")).unwrap(), Some("spam"));
        let long = "x".repeat(MAX_BAN_REASON_CHARS + 1);
        assert!(ban_terms(60, Some(&long)).is_err());
        assert!(nick_of("  ").is_err());
        assert_eq!(nick_of(" bo ").unwrap().as_str(), "bo");
    }
}
