//! Presence as one node keeps it, for both backends: joining a subscriber to
//! its rooms ([`join`]), and the [`PresenceGuard`] that keeps its nick online
//! there until the subscription is dropped.
//!
//! A node counts the streams each nick has open in each room
//! ([`RoomState::add_presence`]). Only the first stream of a nick on the node
//! joins it and only the last one leaves; where that join or leave goes is
//! the backend's [`Reach`]:
//!
//! - [`Reach::Node`] (embedded): the node's streams are the room's whole
//!   presence, so the join or leave is sent to the room's subscribers at
//!   once, under the hub's lock;
//! - [`Reach::Cluster`] (Redis): presence is shared by every node, so the
//!   backend announces it to the cluster (which sends it back to each node's
//!   subscribers): [`Joined::first_here`] names the rooms to announce a join
//!   in, and [`ClusterPresence::left`] is told the rooms a nick left.

use std::sync::Arc;
use std::time::Instant;

use hearth_proto::{Nick, RoomName};

use super::room::{Plan, RoomHub, RoomReceiver, RoomState};
use super::{BrokerError, RoomRequest, SharedEvent, SubscribeRequest};

/// Where a node's presence changes go.
pub enum Reach {
    /// The node's subscribers are the whole audience (one node).
    Node,
    /// Every node shares presence; the backend announces changes.
    Cluster(Arc<dyn ClusterPresence>),
}

/// How a backend with shared presence announces that a nick left.
pub trait ClusterPresence: Send + Sync + 'static {
    /// The last stream of `nick` on this node left `rooms`. Runs in `Drop`,
    /// so it must not block (spawn the work).
    fn left(self: Arc<Self>, nick: &Nick, rooms: Vec<RoomName>);
}

/// One room of a subscription, as joined under the hub's lock.
pub struct JoinedRoom {
    pub room: RoomName,
    /// Where the subscriber's replay starts.
    pub plan: Plan,
    /// Distinct nicks with a stream open in the room on this node, sorted
    /// (the room's whole presence under [`Reach::Node`]).
    pub online_here: Vec<String>,
}

/// What [`join`] did.
pub struct Joined {
    /// The requested rooms, in order.
    pub rooms: Vec<JoinedRoom>,
    /// The subscriber's receivers, one per room, for
    /// [`super::room::live_stream`].
    pub receivers: Vec<RoomReceiver>,
    /// Rooms where this is the nick's first stream on this node (under
    /// [`Reach::Cluster`], the backend announces a join there).
    pub first_here: Vec<RoomName>,
    /// Keeps the nick online until dropped.
    pub guard: PresenceGuard,
}

/// Joins a subscriber to its rooms, all under one hold of the hub's lock:
/// marks each room used, counts its nick present where it asked to be,
/// takes its receiver and plans its replay. Every requested room must be
/// loaded (see [`RoomHub::load_all`]).
pub fn join(
    hub: &Arc<RoomHub>,
    request: &SubscribeRequest,
    reach: Reach,
) -> Result<Joined, BrokerError> {
    let mut guard = PresenceGuard {
        hub: hub.clone(),
        nick: request.nick.clone(),
        rooms: Vec::with_capacity(request.rooms.len()),
        reach,
    };
    let mut joined = Vec::with_capacity(request.rooms.len());
    let mut receivers = Vec::with_capacity(request.rooms.len());
    let mut first_here = Vec::new();
    let mut rooms = hub.lock();
    for RoomRequest {
        room,
        resume_from,
        present,
    } in &request.rooms
    {
        let state = rooms
            .get_mut(room)
            .ok_or_else(|| BrokerError::Internal(format!("room {room} not loaded")))?;
        state.last_used = Instant::now();
        let own_nick = request.nick.as_ref().filter(|_| *present);
        if let Some(nick) = own_nick {
            guard.rooms.push(room.clone());
            if state.add_presence(nick.as_str()) {
                match guard.reach {
                    Reach::Node => state.send(Arc::new(SharedEvent::presence_change(
                        room,
                        nick.as_str(),
                        true,
                    ))),
                    Reach::Cluster(_) => first_here.push(room.clone()),
                }
            }
        }
        receivers.push((
            state.tx.subscribe(),
            own_nick.map(|n| n.as_str().into()),
            request.nick.as_ref().map(|n| n.as_str().into()),
        ));
        joined.push(JoinedRoom {
            room: room.clone(),
            plan: state.plan(*resume_from, request.replay),
            online_here: online(state),
        });
    }
    drop(rooms);
    Ok(Joined {
        rooms: joined,
        receivers,
        first_here,
        guard,
    })
}

fn online(state: &RoomState) -> Vec<String> {
    let mut nicks: Vec<String> = state.presence.keys().cloned().collect();
    nicks.sort();
    nicks
}

/// Keeps a subscriber's nick online in its rooms until dropped.
pub struct PresenceGuard {
    hub: Arc<RoomHub>,
    /// `None` for an anonymous reader (counted nowhere).
    nick: Option<Nick>,
    /// The rooms where the nick was counted.
    rooms: Vec<RoomName>,
    reach: Reach,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        let Some(nick) = &self.nick else { return };
        let mut gone = Vec::new();
        {
            let mut rooms = self.hub.lock();
            for room in &self.rooms {
                let Some(state) = rooms.get_mut(room) else {
                    continue;
                };
                if !state.remove_presence(nick.as_str()) {
                    continue;
                }
                match self.reach {
                    Reach::Node => state.send(Arc::new(SharedEvent::presence_change(
                        room,
                        nick.as_str(),
                        false,
                    ))),
                    Reach::Cluster(_) => gone.push(room.clone()),
                }
            }
        }
        if let Reach::Cluster(cluster) = &self.reach
            && !gone.is_empty()
        {
            cluster.clone().left(nick, gone);
        }
    }
}
