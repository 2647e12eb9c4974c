/**
 * chat-log.js — the chat view's side of the room log (protocol v1.1).
 *
 * Owns: what the log's events change on screen. `edit`, `delete` and
 * `reaction` entries go into the ChatState (rules in room-log.js); the
 * room on screen then redraws the message in place, drops a deleted one
 * (and any reply quoting it shows it deleted), or drops a pending entry
 * whose message was deleted before the stream showed it; a reply to or
 * an edit of a deleted message in the composer stops being one. Kept messages a
 * fresh replay skipped (deleted meanwhile) go too. `typing` events feed
 * the typing line under the list (typing-rules.js), which the chat's
 * once-a-second tick expires.
 *
 * A server without the log never sends these events: nothing changes then.
 * Part of the controller (chat.js): it works on the Chat it is given.
 */

export class RoomLogEvents {
  /** @param {import('./chat.js').Chat} chat */
  constructor(chat) {
    this.chat = chat;
  }

  /** A stream event chat.js does not handle itself: the log's are taken, the others ignored. */
  onEvent(event, data) {
    if (event === 'edit' || event === 'delete' || event === 'reaction') this.onEntry(event, data);
    else if (event === 'typing') this.onTyping(data);
  }

  /** An `edit`, `delete` or `reaction` entry. */
  onEntry(event, data) {
    const { chat } = this;
    if (event === 'delete' && typeof data?.id === 'string') chat.actions.deleted(data.room, data.id);
    const result = chat.state.applyEntry(event, data);
    if (!result || result.room.name !== chat.state.current) return;
    const view = chat.messages;
    if (result.changed) view.replace(result.changed);
    if (result.removed) view.remove(result.removed.id);
    for (const reply of result.replies) view.replace(reply);
    if (result.pending) view.removePending(result.pending.clientId);
  }

  /** Kept messages of `room` that a fresh replay showed were deleted. */
  onPruned(room, removed) {
    const { chat } = this;
    if (room.name !== chat.state.current) return;
    for (const m of removed) chat.messages.remove(m.id);
  }

  /** A `typing` event {room, nick}. */
  onTyping(data) {
    const room = this.chat.state.typed(data, Date.now());
    if (room && room.name === this.chat.state.current) this.renderTyping();
  }

  /** The typing line of the room on screen, as of now. */
  renderTyping() {
    this.chat.messages.renderTyping(this.chat.state.typingText(Date.now()));
  }
}
