//! The event streams: `GET /api/rooms/{room}/events` (one room) and
//! `GET /api/events?rooms=a,b` (several rooms on one connection).
//!
//! A stream is: `retry`, the replay, one `ready` and one `presence` per room,
//! then live events until the client goes, the subscriber lags (it resumes),
//! the server shuts down, or the session stops counting (signed out,
//! superseded by a protection, banned: the last event is then `ended`, see
//! [`EndWatch`]). A DM room of others is `404` ([`crate::dm`]). A resume replays every log entry after its id
//! (messages, edits, deletes, reactions, each with its log id); a fresh start
//! replays the newest messages in their current state, and its `ready`
//! names the newest log id that covers. Frames of live events are the broker's shared
//! bytes; only the `id:` line of a multi-room stream (its cursor) is written
//! per subscriber. A `: ping` goes out after `ping_interval` of silence.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use hearth_proto::{
    Cursor, DEFAULT_REPLAY, MAX_STREAM_ROOMS, MessageId, Presence, Ready, RoomName, StreamEvent,
    sse,
};
use serde::Deserialize;

use tokio::sync::broadcast;

use super::{ApiPath, ApiQuery};
use crate::auth::{Claims, Session};
use crate::broker::{Live, RoomRequest, SharedEvent, SharedKind, SubscribeRequest, Subscription};
use crate::dm;
use crate::error::ApiError;
use crate::limits::StreamSlot;
use crate::metrics::Metrics;
use crate::net::PeerAddr;
use crate::nicks::{Nicks, SessionEnd};
use crate::state::AppState;

/// How a stream writes its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    /// One room; event ids are log ids (a message's is its message id).
    Room,
    /// Several rooms; event ids are cursors.
    Rooms,
    /// The original chat room's `/stream`: live messages only, as
    /// `data: [HH:MM:SS] nick: text`.
    Legacy,
}

#[derive(Debug, Deserialize)]
pub struct RoomEventsQuery {
    last_event_id: Option<String>,
    replay: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct MultiEventsQuery {
    rooms: Option<String>,
    /// The rooms (of `rooms`) where the subscriber counts as online; all of
    /// them when absent. An extension of protocol v1.
    present: Option<String>,
    last_event_id: Option<String>,
    replay: Option<String>,
}

/// `Last-Event-ID` from the header, else from the query.
fn last_event_id(headers: &HeaderMap, query: Option<String>) -> Option<String> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query)
        .filter(|id| !id.is_empty())
}

fn parse_replay(raw: Option<String>) -> Result<usize, ApiError> {
    match raw {
        None => Ok(DEFAULT_REPLAY),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= DEFAULT_REPLAY)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "replay must be a whole number from 0 to {DEFAULT_REPLAY}"
                ))
            }),
    }
}

fn parse_rooms(raw: Option<&str>) -> Result<Vec<RoomName>, ApiError> {
    let raw =
        raw.ok_or_else(|| ApiError::BadRequest("name the rooms: ?rooms=general,dev".into()))?;
    let mut rooms: Vec<RoomName> = Vec::new();
    for item in raw.split(',') {
        let room = RoomName::parse(item)
            .map_err(|e| ApiError::BadRequest(format!("rooms: {item:?}: {e}")))?;
        if !rooms.contains(&room) {
            rooms.push(room);
        }
    }
    if rooms.len() > MAX_STREAM_ROOMS {
        return Err(ApiError::BadRequest(format!(
            "a stream follows at most {MAX_STREAM_ROOMS} rooms"
        )));
    }
    Ok(rooms)
}

pub async fn room_events(
    State(state): State<AppState>,
    peer: PeerAddr,
    ApiPath(room): ApiPath<String>,
    Session(claims): Session,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<RoomEventsQuery>,
) -> Result<Response, ApiError> {
    let room = dm::room_in_path(&state, &claims, &room).await?;
    let replay = parse_replay(query.replay)?;
    let resume_from =
        last_event_id(&headers, query.last_event_id).and_then(|id| id.parse::<MessageId>().ok());
    let request = SubscribeRequest {
        rooms: vec![RoomRequest {
            room,
            resume_from,
            present: true,
        }],
        replay,
        nick: Some(claims.nick.clone()),
    };
    open_stream(&state, peer.ip(), request, StreamMode::Room, Some(claims)).await
}

pub async fn multi_room_events(
    State(state): State<AppState>,
    peer: PeerAddr,
    Session(claims): Session,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<MultiEventsQuery>,
) -> Result<Response, ApiError> {
    let mut rooms = Vec::new();
    for room in parse_rooms(query.rooms.as_deref())? {
        rooms.push(dm::readable(&state, &claims, room).await?);
    }
    let present = match query.present.as_deref() {
        None => rooms.clone(),
        Some("") => Vec::new(),
        Some(raw) => parse_rooms(Some(raw))?,
    };
    if let Some(stray) = present.iter().find(|r| !rooms.contains(r)) {
        return Err(ApiError::BadRequest(format!(
            "present names {stray}, which is not in rooms"
        )));
    }
    let replay = parse_replay(query.replay)?;
    let cursor = last_event_id(&headers, query.last_event_id)
        .and_then(|raw| raw.parse::<Cursor>().ok())
        .unwrap_or_default();
    let request = SubscribeRequest {
        rooms: rooms
            .into_iter()
            .map(|room| RoomRequest {
                resume_from: cursor.get(&room),
                present: present.contains(&room),
                room,
            })
            .collect(),
        replay,
        nick: Some(claims.nick.clone()),
    };
    open_stream(&state, peer.ip(), request, StreamMode::Rooms, Some(claims)).await
}

/// Takes one of `peer`'s stream slots (`429` over the per-address cap),
/// subscribes and answers with the stream (headers go out at once). The
/// stream of a session ends when the session stops counting.
pub async fn open_stream(
    state: &AppState,
    peer: IpAddr,
    request: SubscribeRequest,
    mode: StreamMode,
    session: Option<Claims>,
) -> Result<Response, ApiError> {
    let slot = state.limits.open_stream(peer)?;
    // Watching starts before the subscription: an end announced while it
    // is made is not missed.
    let ends = session.map(|claims| EndWatch {
        ends: state.nicks.ends.subscribe(),
        nicks: state.nicks.clone(),
        claims,
    });
    let subscription = state.broker.subscribe(request).await?;
    let body = Body::from_stream(event_stream(subscription, mode, state.clone(), slot, ends));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// Counts an open stream while alive.
struct OpenStream(Arc<Metrics>);

impl OpenStream {
    fn new(metrics: &Arc<Metrics>) -> Self {
        metrics.streams_open.inc();
        Self(metrics.clone())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.streams_open.dec();
    }
}

fn frame(event: &StreamEvent) -> Bytes {
    Bytes::from(sse::encode_event(
        None,
        Some(event.name()),
        &event.data_json(),
    ))
}

/// The last log id each room of the stream has delivered: deduplicates
/// the live tail against the replay and makes the multi-room cursor.
struct Delivered {
    cursor: Cursor,
}

impl Delivered {
    /// Records `id` for `room`; false if the stream already delivered it.
    fn advance(&mut self, room: &RoomName, id: MessageId) -> bool {
        self.cursor.advance(room, id)
    }
}

/// What one wait of the live loop produced.
enum Wake {
    Event(Arc<SharedEvent>),
    Lagged,
    Ping,
    Stop,
    Ended(SessionEnd),
}

/// A stream's watch for the end of its session: the ends every node
/// announces ([`Nicks::announce`]), filtered for this session.
struct EndWatch {
    ends: broadcast::Receiver<SessionEnd>,
    nicks: Nicks,
    claims: Claims,
}

impl EndWatch {
    /// The end of this session, when it comes. A watch that fell behind
    /// the announcements asks the store whether the session still counts.
    async fn next(&mut self) -> SessionEnd {
        loop {
            match self.ends.recv().await {
                Ok(end) if end.ends(&self.claims) => return end,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if let Some(end) = self.ask_the_store().await {
                        return end;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    async fn ask_the_store(&self) -> Option<SessionEnd> {
        let key = crate::nicks::key(&self.claims.nick);
        let standing = self
            .nicks
            .store
            .standing(&key, &self.claims.sid)
            .await
            .ok()?;
        if let Some(ban) = standing.ban.filter(|b| b.in_force(self.nicks.now_ms())) {
            return Some(SessionEnd::Banned(ban));
        }
        if standing.revoked {
            return Some(SessionEnd::SignedOut {
                sid: self.claims.sid.clone(),
            });
        }
        (standing.generation != self.claims.generation).then_some(SessionEnd::Superseded {
            key,
            generation: standing.generation,
        })
    }
}

/// The end of `watch`'s session; never, without a session.
async fn session_end(watch: &mut Option<EndWatch>) -> SessionEnd {
    match watch {
        Some(watch) => watch.next().await,
        None => std::future::pending().await,
    }
}

/// Up to two chunks that make one frame (no allocation for the list).
type Frames = [Option<Bytes>; 2];

/// The bytes of one event in `mode`: the shared frame, plus the cursor's
/// `id:` line on a multi-room stream. Nothing for events `mode` omits.
fn event_frames(mode: StreamMode, event: &SharedEvent, delivered: &Delivered) -> Frames {
    let SharedKind::Entry { framed, legacy, .. } = &event.kind else {
        return match mode {
            StreamMode::Legacy => [None, None],
            _ => [Some(event.body.clone()), None],
        };
    };
    match mode {
        StreamMode::Room => [Some(framed.clone()), None],
        StreamMode::Rooms => {
            let mut id_line = String::with_capacity(64);
            sse::encode_id(&mut id_line, &delivered.cursor.to_string());
            [Some(Bytes::from(id_line)), Some(event.body.clone())]
        }
        StreamMode::Legacy => [legacy.clone(), None],
    }
}

fn event_stream(
    subscription: Subscription,
    mode: StreamMode,
    state: AppState,
    slot: StreamSlot,
    mut ends: Option<EndWatch>,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
    async_stream::stream! {
        let _slot = slot;
        let _open = OpenStream::new(&state.metrics);
        let Subscription { rooms, replay: replay_count, mut live, presence } = subscription;
        let _presence = presence;
        let metrics = state.metrics.clone();
        let shutdown = state.shutdown.clone();
        let ping_interval = state.config.ping_interval;
        let mut delivered = Delivered { cursor: Cursor::new() };

        if mode != StreamMode::Legacy {
            yield Ok(Bytes::from(sse::retry_frame()));
        }
        // Rooms that resume are in the cursor from the first event on, so a
        // client cut off during another room's replay still resumes them.
        for start in &rooms {
            if let Some(from) = start.resumed_from {
                delivered.cursor.set(start.room.clone(), from);
            }
        }
        let mut readies = Vec::with_capacity(rooms.len());
        let mut presences = Vec::with_capacity(rooms.len());
        for start in rooms {
            let mut replay = start.replay;
            let mut last_replayed = None;
            if start.resumed_from.is_none() {
                delivered.cursor.set(start.room.clone(), MessageId::ZERO);
            }
            while let Some(item) = replay.next().await {
                let event = match item {
                    Ok(event) => event,
                    Err(e) => {
                        tracing::warn!(cause = %e, room = %start.room, "replay failed; ending stream");
                        return;
                    }
                };
                let Some(id) = event.log_id() else { continue };
                if !delivered.advance(&start.room, id) {
                    continue;
                }
                last_replayed = Some(id);
                for bytes in event_frames(mode, &event, &delivered).into_iter().flatten() {
                    yield Ok(bytes);
                }
            }
            if !start.resumed && let Some(head) = start.head {
                // A fresh start stands at the newest log id its replay
                // covers, however much of the room it replayed: a later
                // resume must not replay the rest, nor changes it shows.
                delivered.advance(&start.room, head);
            }
            // `ready.last_id` is where this stream stands in the room's log.
            // On a resume: the newest entry it has sent (the last one
            // replayed, else the id it resumed from). On a fresh start: the
            // newest log id its replay covers (`head`; `null` when nothing
            // was asked for), which may be a change newer than the last
            // replayed message. Every backend takes a fresh replay and its
            // `head` from one read, after the live receiver was taken
            // (embedded: the room's cache, under the lock its writer feeds it
            // under, or one SQLite snapshot; Redis: one script reading the
            // room's messages and its stream's newest id). A live entry at or
            // below `last_id` is one the replay covered and is skipped
            // (`delivered` stands there), one above it is sent, and a client
            // resuming from `last_id` gets every later entry once. The replay
            // also holds every message acknowledged (`201`) before the stream
            // was asked for, on any node (tests/api/ready_race.rs).
            let last_id = if start.resumed {
                last_replayed.or(start.resumed_from.filter(|id| *id != MessageId::ZERO))
            } else {
                start.head.filter(|_| replay_count > 0)
            };
            readies.push(StreamEvent::Ready(Ready {
                room: start.room.clone(),
                resumed: start.resumed,
                last_id,
            }));
            presences.push(StreamEvent::Presence(Presence {
                room: start.room,
                online: start.online,
            }));
        }
        if mode != StreamMode::Legacy {
            for event in readies.iter().chain(presences.iter()) {
                yield Ok(frame(event));
            }
        }
        // Presence lists can be long: do not keep them for the stream's life.
        drop(readies);
        drop(presences);

        // The ping timer is re-armed only when it fires (from the last write),
        // not on every event: resetting a timer per delivery per subscriber
        // is a measurable share of fan-out's cost.
        let idle = tokio::time::sleep(ping_interval);
        tokio::pin!(idle);
        // Waits once for the whole stream (not a new waiter per event).
        let stopping = shutdown.cancelled();
        tokio::pin!(stopping);
        let mut last_write = tokio::time::Instant::now();
        loop {
            let wake = tokio::select! {
                biased;
                _ = &mut stopping => Wake::Stop,
                item = live.next() => match item {
                    Some(Live::Event(event)) => Wake::Event(event),
                    Some(Live::Lagged) => Wake::Lagged,
                    None => Wake::Stop,
                },
                _ = &mut idle => Wake::Ping,
                end = session_end(&mut ends) => Wake::Ended(end),
            };
            let frames = match wake {
                Wake::Stop => break,
                Wake::Ended(end) => {
                    if mode != StreamMode::Legacy {
                        let data = serde_json::to_string(&end.notice()).expect("a notice serializes");
                        yield Ok(Bytes::from(sse::encode_event(None, Some("ended"), &data)));
                    }
                    break;
                }
                Wake::Lagged => {
                    metrics.subscribers_lagged.inc();
                    break;
                }
                Wake::Ping => {
                    let quiet_until = last_write + ping_interval;
                    if tokio::time::Instant::now() < quiet_until {
                        idle.as_mut().reset(quiet_until);
                        continue;
                    }
                    idle.as_mut().reset(tokio::time::Instant::now() + ping_interval);
                    [Some(Bytes::from_static(sse::PING.as_bytes())), None]
                }
                Wake::Event(event) => {
                    if let Some(id) = event.log_id() {
                        if !delivered.advance(&event.room, id) {
                            continue;
                        }
                        metrics.deliveries.inc();
                    }
                    event_frames(mode, &event, &delivered)
                }
            };
            if frames[0].is_none() {
                continue;
            }
            last_write = tokio::time::Instant::now();
            for bytes in frames.into_iter().flatten() {
                yield Ok(bytes);
            }
        }
    }
}

/// Subscribes the original `/stream` to the default room.
pub async fn legacy_stream(
    state: &AppState,
    peer: IpAddr,
    session: Option<Claims>,
) -> Result<Response, ApiError> {
    let nick = session.as_ref().map(|claims| claims.nick.clone());
    let request = SubscribeRequest {
        rooms: vec![RoomRequest {
            room: RoomName::default_room(),
            resume_from: None,
            present: true,
        }],
        replay: 0,
        nick,
    };
    open_stream(state, peer, request, StreamMode::Legacy, session).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_lists_are_validated_and_deduplicated() {
        let rooms = parse_rooms(Some("general,dev,general")).unwrap();
        assert_eq!(rooms.len(), 2);
        assert!(parse_rooms(Some("a,,b")).is_err());
        assert!(parse_rooms(Some("")).is_err());
        assert!(parse_rooms(Some("Bad")).is_err());
        assert!(parse_rooms(None).is_err());
        let many: Vec<String> = (0..51).map(|i| format!("r{i}")).collect();
        assert!(parse_rooms(Some(&many.join(","))).is_err());
    }

    #[test]
    fn replay_is_zero_to_fifty() {
        assert_eq!(parse_replay(None).unwrap(), 50);
        assert_eq!(parse_replay(Some("0".into())).unwrap(), 0);
        assert!(parse_replay(Some("51".into())).is_err());
        assert!(parse_replay(Some("-1".into())).is_err());
        assert!(parse_replay(Some("x".into())).is_err());
    }
}
