//! Search (protocol v1.1 "search") and the history page after a message,
//! relayed for the UI with a saved room's session: `search_messages` asks
//! that room's server (`GET /api/search`), `room_history_after` reads the
//! messages after one (`GET /api/rooms/{room}/messages?after=`), so that a
//! search result opens in place. Inputs are checked here first, with the
//! sentences the server would answer.

use hearth_proto::{Message, RoomName};
use tauri::State;

use super::Rooms;
use super::relay::message_id;
use crate::desktop::Desktop;
use crate::error::CommandError;

/// The longest query the server takes, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most results one page may ask for.
pub const MAX_SEARCH_LIMIT: usize = 100;

/// A query the server would refuse, as the sentence the UI shows.
fn check_query(q: &str) -> Result<&str, CommandError> {
    let q = q.trim();
    if q.is_empty() {
        return Err(CommandError::BadInput("Type a word to search for.".into()));
    }
    let n = q.chars().count();
    if n > MAX_QUERY_CHARS {
        return Err(CommandError::BadInput(format!(
            "A search can be at most {MAX_QUERY_CHARS} characters long (this one has {n})."
        )));
    }
    Ok(q)
}

/// Room names the UI sent.
fn room_names(rooms: &[String]) -> Result<Vec<RoomName>, CommandError> {
    rooms
        .iter()
        .map(|r| {
            RoomName::parse(r)
                .map_err(|_| CommandError::BadInput(format!("{r:?} is not a room name.")))
        })
        .collect()
}

impl Rooms {
    /// `GET /api/search` on the server of `room_id`: newest first.
    pub async fn search(
        &self,
        room_id: &str,
        q: &str,
        rooms: &[String],
        before: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Message>, CommandError> {
        let q = check_query(q)?.to_owned();
        let rooms = room_names(rooms)?;
        let before = before.map(message_id).transpose()?;
        if let Some(limit) = limit
            && !(1..=MAX_SEARCH_LIMIT).contains(&limit)
        {
            return Err(CommandError::BadInput(format!(
                "Ask for 1 to {MAX_SEARCH_LIMIT} results at a time."
            )));
        }
        self.with_session(room_id, |client, _| {
            let (q, rooms) = (q.clone(), rooms.clone());
            async move { client.search(&q, &rooms, before, limit).await }
        })
        .await
    }

    /// `GET /api/rooms/{room}/messages?after=`: up to `limit` messages
    /// after `after`, oldest first.
    pub async fn history_after(
        &self,
        room_id: &str,
        after: &str,
        limit: Option<usize>,
    ) -> Result<Vec<Message>, CommandError> {
        let after = message_id(after)?;
        if let Some(limit) = limit
            && !(1..=hearth_proto::MAX_HISTORY_LIMIT).contains(&limit)
        {
            return Err(CommandError::BadInput(format!(
                "Ask for 1 to {} messages at a time.",
                hearth_proto::MAX_HISTORY_LIMIT
            )));
        }
        self.with_session(room_id, |client, room| async move {
            client.history_after(&room, after, limit).await
        })
        .await
    }
}

/// Messages of the server of `roomId` (any saved room of the bound
/// connection) holding every term of `q`, newest first; `rooms` (names)
/// limits the search, `before` (a message id) asks for the next page.
#[tauri::command]
pub async fn search_messages(
    desktop: State<'_, Desktop>,
    room_id: String,
    q: String,
    rooms: Option<Vec<String>>,
    before: Option<String>,
    limit: Option<usize>,
) -> Result<Vec<Message>, CommandError> {
    desktop
        .rooms()
        .search(
            &room_id,
            &q,
            rooms.as_deref().unwrap_or_default(),
            before.as_deref(),
            limit,
        )
        .await
}

/// Up to `limit` (1–500, default 50) messages after `after` (a message
/// id), oldest first.
#[tauri::command]
pub async fn room_history_after(
    desktop: State<'_, Desktop>,
    room_id: String,
    after: String,
    limit: Option<usize>,
) -> Result<Vec<Message>, CommandError> {
    desktop.rooms().history_after(&room_id, &after, limit).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_checked_as_the_server_checks_it() {
        assert!(check_query("  \t ").is_err());
        assert_eq!(check_query(" café ").unwrap(), "café");
        assert!(check_query(&"天".repeat(MAX_QUERY_CHARS)).is_ok());
        let too_long = check_query(&"a".repeat(MAX_QUERY_CHARS + 1)).unwrap_err();
        assert_eq!(
            too_long.to_string(),
            "A search can be at most 200 characters long (this one has 201)."
        );
    }

    #[test]
    fn room_names_are_checked() {
        assert_eq!(room_names(&["general".into()]).unwrap().len(), 1);
        assert!(room_names(&["Not A Room".into()]).is_err());
    }
}
