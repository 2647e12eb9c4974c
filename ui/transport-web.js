/**
 * transport-web.js — the browser transport (see transport.js for the
 * interface).
 *
 * Owns: every network call of the web client, and what the interface asks
 * a transport to keep. Requests go to the page's own origin (web-http.js);
 * the session is the HttpOnly `hearth_session` cookie the server sets on
 * sign-in (this file never sees the token). Events come from ONE
 * multi-room stream (web-stream.js: fetch + sse.js, dead-connection
 * detection, jittered backoff, `Last-Event-ID` resume). The cursor is kept
 * here: it outlives a refollow (room switch) and `close()` forgets it.
 *
 * It also keeps the session's outbox (web-outbox.js: localStorage and the
 * send loop, rules in outbox-rules.js) and counts unread messages
 * (unread-rules.js), sending `unread` events {room, count, mentions}.
 * The room log's actions (edit, delete, react, typing) are one request
 * each; a reply goes through the outbox (`reply_to` in the POST body).
 * Search (protocol v1.1 "search") and history after a message are one
 * request each. Files (protocol v1.1 "files"): the outbox uploads them (web-upload.js)
 * and posts their ids; fileUrl, download and drag and drop are in
 * web-files.js.
 *
 * People (protocol v1.1 "dm", bans): `openDm`, `ban`, `unban` and `bans`
 * are one request each; the room list's `dm` marks DM rooms, whose
 * messages count like mentions (unread-rules.js). A session the server
 * ends (the stream's `ended` event, or any request refused 403 with
 * `reason: "banned"`, heard through web-http.js's `onBanned`) is passed on
 * as an `ended` event and the stream stops: no reconnect loop.
 */

import { PAGE_SIZE } from './limits.js';
import { UnreadCounter } from './unread-rules.js';
import { download, fileUrl, onDroppedFiles } from './web-files.js';
import { WebOutbox } from './web-outbox.js';
import { upload } from './web-upload.js';
import { onBanned, request } from './web-http.js';
import { banFromError } from './ban-rules.js';
import { EventStream } from './web-stream.js';

const roomPath = (room) => `/api/rooms/${encodeURIComponent(room)}/messages`;
const messagePath = (room, id) => `${roomPath(room)}/${encodeURIComponent(id)}`;

/** The browser transport. */
export function createWebTransport() {
  let stream = null;
  let handlers = null; // of the current follow()
  let cursor = null; // the last stream cursor seen this session
  let me = null; // the signed-in nick
  let signingOut = false; // this tab's signOut() is under way
  const unread = new UnreadCounter();

  const emit = (name, ...args) => {
    try {
      handlers?.[name]?.(...args);
    } catch (err) {
      console.error(`hearth: ${name} handler failed`, err);
    }
  };
  const emitUnread = (room) => emit('onEvent', {
    event: 'unread', data: { room, count: unread.count(room), mentions: unread.mentions(room) }, id: '',
  });
  const signedIn = (session) => {
    me = session && typeof session.nick === 'string' ? session.nick : null;
    outbox.setNick(me);
    return session;
  };

  const transport = {
    kind: 'web',
    pageSize: PAGE_SIZE,

    async info() {
      return (await request('GET', '/api/info')).data;
    },

    async whoAmI() {
      try {
        return signedIn((await request('GET', '/api/session')).data);
      } catch (err) {
        if (err.status === 401) return signedIn(null);
        throw err;
      }
    },

    async signIn(nick, password, { nickPassword = '' } = {}) {
      const body = { nick };
      if (password) body.password = password;
      if (nickPassword) body.nick_password = nickPassword;
      const session = (await request('POST', '/api/session', body)).data;
      return signedIn({ ...session, nick: session?.nick || nick });
    },

    async signOut() {
      signingOut = true; // the stream's own `ended` "signed_out" is no news to this tab
      try {
        await request('DELETE', '/api/session');
      } finally {
        signingOut = false;
      }
      signedIn(null);
    },

    async rooms() {
      const list = (await request('GET', '/api/rooms')).data;
      if (Array.isArray(list)) unread.listed(list);
      return list;
    },

    async history(room, beforeId, limit = PAGE_SIZE) {
      let path = `${roomPath(room)}?limit=${encodeURIComponent(limit)}`;
      if (beforeId) path += `&before=${encodeURIComponent(beforeId)}`;
      return (await request('GET', path)).data;
    },

    async historyAfter(room, afterId, limit = PAGE_SIZE) {
      const path = `${roomPath(room)}?after=${encodeURIComponent(afterId)}&limit=${encodeURIComponent(limit)}`;
      return (await request('GET', path)).data;
    },

    async search(q, { rooms = null, before = null, limit = null } = {}) {
      const query = new URLSearchParams({ q });
      if (rooms?.length) query.set('rooms', rooms.join(','));
      if (limit) query.set('limit', String(limit));
      if (before) query.set('before', before);
      return (await request('GET', `/api/search?${query}`)).data;
    },

    async post(room, text, clientId, replyTo = null, fileIds = null) {
      const body = { text, client_id: clientId };
      if (replyTo) body.reply_to = replyTo;
      if (fileIds?.length) body.files = fileIds;
      const { status, data } = await request('POST', roomPath(room), body);
      return { message: data, repeated: status === 200 };
    },

    async editMessage(room, id, text) {
      return (await request('PATCH', messagePath(room, id), { text })).data;
    },

    async deleteMessage(room, id) {
      await request('DELETE', messagePath(room, id));
    },

    async setReaction(room, id, emoji, on) {
      await request(on ? 'PUT' : 'DELETE', `${messagePath(room, id)}/reactions/${encodeURIComponent(emoji)}`);
    },

    async openDm(nick) {
      const data = (await request('POST', '/api/dm', { nick })).data;
      if (data && typeof data.room === 'string') unread.dms.set(data.room, typeof data.nick === 'string' ? data.nick : nick);
      return data;
    },

    async ban(nick, minutes, reason = '') {
      const body = { nick, minutes };
      if (reason) body.reason = reason;
      return (await request('POST', '/api/bans', body)).data;
    },

    async unban(nick) {
      await request('DELETE', `/api/bans/${encodeURIComponent(nick)}`);
    },

    async bans() {
      const list = (await request('GET', '/api/bans')).data;
      return Array.isArray(list) ? list : [];
    },

    async typing(room) {
      await request('POST', `/api/rooms/${encodeURIComponent(room)}/typing`);
    },

    /** A web room needs nothing before it is opened. */
    async openRoom() {
      return null;
    },

    setActive(room) {
      for (const change of unread.setActive(room)) emitUnread(change.room);
    },

    follow(rooms, followHandlers, present = null) {
      stream?.close();
      handlers = followHandlers;
      stream = new EventStream(rooms, cursor, {
        onEvent: (ev) => {
          if (ev.event === 'ended') {
            ended(ev.data);
            return;
          }
          if (ev.id) cursor = ev.id;
          if (ev.event === 'message') outbox.seen(ev.data);
          emit('onEvent', ev);
          if (ev.event === 'message') {
            if (unread.message(ev.data, me) !== null) emitUnread(ev.data.room);
          } else if (ev.event === 'ready') {
            unread.ready(ev.data);
          }
        },
        onState: (state, detail) => {
          emit('onState', state, detail);
          outbox.streamState(state);
        },
        onAuthError: (message) => emit('onAuthError', message),
      }, present);
    },

    fileUrl,
    download,

    /** The web never has a file's path. */
    showInFolder() {},

    onDroppedFiles,

    reconnect() {
      stream?.reconnect();
    },

    /** "Retry now" on a room: the one stream carries every room. */
    retryNow() {
      stream?.reconnect();
    },

    close() {
      stream?.close();
      stream = null;
      handlers = null;
      cursor = null;
      unread.reset();
      outbox.reset();
    },
  };

  /** The server ended the session: tell the follower once, then stop everything. */
  function ended(data) {
    const follower = handlers;
    if (!follower || (signingOut && data?.reason === 'signed_out')) return;
    transport.close();
    try {
      follower.onEvent?.({ event: 'ended', data: data && typeof data === 'object' ? data : { reason: '' }, id: '' });
    } catch (err) {
      console.error('hearth: onEvent handler failed', err);
    }
  }
  onBanned((err) => ended(banFromError(err)));

  const outbox = new WebOutbox({
    post: (room, text, clientId, replyTo, fileIds) => transport.post(room, text, clientId, replyTo, fileIds),
    upload,
    onUpdate: (update) => {
      // The server took a post: a stream waiting out its backoff retries now.
      if (update.state === 'sent') stream?.reconnect();
      emit('onOutbox', update);
    },
    onAuthError: (message) => {
      const ended = handlers;
      transport.close(); // the session is over: no more posts, no stream
      try {
        ended?.onAuthError?.(message);
      } catch (err) {
        console.error('hearth: onAuthError handler failed', err);
      }
    },
  });
  transport.outbox = outbox;
  return transport;
}
