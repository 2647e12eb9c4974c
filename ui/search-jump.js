/**
 * search-jump.js — opening a search result in place: its room at that
 * message.
 *
 * Owns: bringing a message into the room on screen, however far back it
 * is, and showing it (scrolled to the middle, focused, highlighted for a
 * moment: MessageList.showOriginal). A room keeps its messages as one run
 * from some point up to the newest (room-log.js), so a message not loaded
 * yet is loaded together with everything between it and the oldest one
 * loaded: a few messages before it (`history`) and pages after it
 * (`historyAfter`) until a page meets a loaded message or the newest. A
 * message more than MAX_BRIDGE messages older than what is loaded is not
 * opened (a sentence says so): the room would hold too much. While it
 * loads, the room is not trimmed (`loadingOlder`, cap-rules.js).
 *
 * Part of the controller (chat.js): it works on the Chat it is given.
 */

import { KINDS } from './transport-error.js';

const CONTEXT = 10; // messages shown before the one opened
const BRIDGE_PAGE = 200; // messages per `historyAfter` page
// At most this many loaded to reach a result. More than the cap
// (cap-rules.js) for a while: the reader is not at the bottom, and the
// excess goes once they are back there.
const MAX_BRIDGE = 2_000;
const PRIMED_WAIT_MS = 10_000; // how long a room just opened may take to replay its newest messages
const POLL_MS = 50;

const sleep = (ms) => new Promise((resolve) => {
  setTimeout(resolve, ms);
});

export class SearchJump {
  /** @param {import('./chat.js').Chat} chat */
  constructor(chat) {
    this.chat = chat;
    this.seq = 0; // a later jump wins over one still loading
  }

  /** Opens `msg.room` and shows `msg` there. */
  async open(msg) {
    const { chat } = this;
    const seq = ++this.seq;
    const epoch = chat.epoch;
    const stale = () => seq !== this.seq || epoch !== chat.epoch || chat.state.current !== msg.room;
    if (chat.state.current !== msg.room) await chat.openRoom(msg.room);
    if (stale()) return;
    const room = chat.state.currentRoom;
    // Its newest messages first (the stream's replay), so what is loaded here joins them.
    for (let waited = 0; !room.primed && waited < PRIMED_WAIT_MS; waited += POLL_MS) {
      await sleep(POLL_MS);
      if (stale()) return;
    }
    if (!room.ids.has(msg.id)) {
      let loaded;
      try {
        room.loadingOlder = true; // no trimming meanwhile: what is loaded joins the oldest message kept
        chat.renderLoadOlder();
        loaded = await this.around(room, msg);
      } catch (err) {
        if (stale()) return;
        if (err.kind === KINDS.unauthorized) chat.sessionEnded();
        else chat.showTransient(`Could not open that message: ${err.message}`);
        return;
      } finally {
        room.loadingOlder = false;
        if (epoch === chat.epoch && room.name === chat.state.current) chat.renderLoadOlder();
      }
      if (stale()) return;
      if (!loaded) {
        chat.showTransient(`That message is more than ${MAX_BRIDGE} messages back in ${chat.state.tag(room.name)}: scroll up with "Load older messages" to reach it.`);
        return;
      }
      chat.renderMessages();
    }
    if (!room.ids.has(msg.id)) {
      chat.showTransient('That message was deleted.');
      return;
    }
    chat.messages.showOriginal(msg.id);
  }

  /**
   * Loads `msg` with a few messages before it and every message between it
   * and the ones loaded. Returns false (nothing changed) if that is more
   * than MAX_BRIDGE messages.
   */
  async around(room, msg) {
    const { transport } = this.chat;
    const before = await transport.history(room.name, msg.id, CONTEXT);
    const after = [];
    for (let last = msg.id; ;) {
      const page = await transport.historyAfter(room.name, last, BRIDGE_PAGE);
      const list = Array.isArray(page) ? page : [];
      const met = list.findIndex((m) => room.ids.has(m?.id));
      after.push(...(met < 0 ? list : list.slice(0, met)));
      if (met >= 0 || list.length < BRIDGE_PAGE) break;
      if (after.length >= MAX_BRIDGE) return false;
      last = list.at(-1).id;
    }
    const window = [...(Array.isArray(before) ? before : []), msg, ...after];
    room.prepend(window);
    if (!room.ids.has(msg.id)) return true; // deleted this session: nothing to show
    if ((before?.length ?? 0) < CONTEXT) room.hasOlder = false;
    else room.hasOlder = true;
    return true;
  }
}
