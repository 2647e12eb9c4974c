/**
 * transport.js — the seam between the chat UI and whatever carries it.
 *
 * Owns: the ONE description of the transport interface (below; issue 12's
 * contract) and choosing the transport. The chat core (chat.js and its
 * modules) talks to a Hearth server only through the object
 * `createTransport()` returns; it never calls fetch and never asks which
 * transport runs (only the entry point, app.js, reads `kind`, to pick the
 * shell). In a browser that is transport-web.js; in the Tauri desktop app
 * (`window.__TAURI__` exists) transport-tauri.js, whose Rust side reads the
 * event streams (Tauri has no SSE in the web view).
 *
 * Every transport implements ALL of this (no capability flags). Methods
 * return Promises that reject with a TransportError (transport-error.js),
 * unless noted "sync"; callers branch on the error's `kind` / `retryable`,
 * never on its text.
 *
 *   kind        'web' | 'tauri'. Only the entry point looks at it.
 *   pageSize    number: messages replayed per room on a fresh start, and the
 *               history page size (web: limits.js; tauri: from Rust).
 *   info()                  -> {name, version, auth: "none"|"password", rooms,
 *                               default_room, max_text_chars, …}
 *   whoAmI()                -> {nick, expires_at} | null
 *   signIn(nick, password)  -> {nick, expires_at}   (password may be '')
 *   signOut()               -> undefined
 *   rooms()                 -> [{room, online, last_id}], sorted by name
 *   history(room, beforeId, limit) -> [message], oldest first (beforeId may be null)
 *   post(room, text, clientId)     -> {message, repeated}: ONE attempt, no
 *                               outbox (the composer uses `outbox`)
 *   editMessage(room, id, text)  -> the edited message (protocol v1.1
 *                               "log"; the author only, else a 403)
 *   deleteMessage(room, id)      -> undefined (the author only; the
 *                               stream's `delete` removes it everywhere)
 *   setReaction(room, id, emoji, on) -> undefined (adds the reader's
 *                               reaction when `on`, else removes it)
 *   typing(room)            -> undefined: "I am typing", never stored. The
 *                               core throttles it (typing-rules.js) and
 *                               ignores a failure.
 *               These four and replies exist when info().features has
 *               "log"; the core shows their UI only then.
 *   openRoom(name)          -> warning sentence | null: whatever must happen
 *                               before a room is opened (tauri: join a room of
 *                               the bound server not saved yet; web: nothing)
 *   setActive(room | null)  sync. The room on screen: its unread count is 0
 *                               and stays 0 while it is on screen.
 *   outbox      the ONE outbox (web: web-outbox.js, localStorage; tauri: Rust,
 *               on disk). It retries transient failures with backoff while
 *               the stream is up, marks permanent refusals 'failed' (kept
 *               until discarded), and a 401 while sending ends the session
 *               (handlers.onAuthError).
 *     outbox.enqueue(room, text, {replyTo}?) -> entry, once it is stored
 *                               durably; replyTo (a message id, optional)
 *                               makes it a reply (`reply_to` when posted)
 *     outbox.pending()           -> [entry] of the session, oldest first
 *     outbox.discard(clientId)   -> bool
 *     entry = {clientId, room, text, createdAt (ms), replyTo?, state: 'queued' |
 *              'sending' | 'sent' | 'failed', error ('' unless failed: a
 *              sentence), messageId (when sent), waitReason?: 'network' |
 *              'slow', retryAt? (ms, while queued and waiting)}
 *   follow(rooms, handlers, present)  sync. Follows `rooms` (up to 50 names),
 *               the user counted online only in `present` (names; null =
 *               all). Replaces any previous follow. The transport keeps the
 *               stream cursor itself (until close()) and reconnects by
 *               itself. Per room, a fresh start delivers the room's newest
 *               messages (up to pageSize), then its `ready` {room, resumed,
 *               last_id}; `resumed: false` after a drop means messages may
 *               have been missed. handlers:
 *       onEvent({event, data, id})   message | ready | presence | join | leave
 *                                    | the room log's edit | delete | reaction
 *                                    | typing (PROTOCOL v1.1, passed on as
 *                                    they come) | unread ({room, count,
 *                                    mentions}: unread messages and, of
 *                                    them, those mentioning the reader;
 *                                    counted by the transport); `id`: the
 *                                    cursor after a log entry (message, edit,
 *                                    delete, reaction), else ''
 *       onState(state, detail)       'connecting' | 'open' | 'down'; for 'down'
 *                                    detail = {retryInMs, message, final?}
 *                                    (final: not retrying by itself)
 *       onAuthError(message)         the session is no longer valid; the
 *                                    transport has stopped following
 *       onOutbox(update)             an entry's progress: {clientId, room,
 *                                    state, messageId?, error?, waitReason?,
 *                                    retryAt?, message?} (`message`, optional:
 *                                    the stored message, when the transport has
 *                                    it; shown if the stream does not echo it)
 *   reconnect()  sync. Retry the stream now if waiting (may be a no-op).
 *   close()      sync. Stop following: no more handler calls (web: the
 *               session's cursor, counts and outbox loop are dropped too).
 *
 * A message is {id, room, nick, text, ts, client_id}; ids and cursors are
 * opaque strings (compare them only for equality).
 */

import { createTauriTransport } from './transport-tauri.js';
import { createWebTransport } from './transport-web.js';

export { TransportError } from './transport-error.js';

/** Returns the transport for this environment. */
export function createTransport() {
  if (typeof window !== 'undefined' && window.__TAURI__) {
    if (!window.__TAURI__.core?.invoke || !window.__TAURI__.core?.Channel) {
      throw new Error('This desktop build does not expose the Tauri API (app.withGlobalTauri).');
    }
    return createTauriTransport(window.__TAURI__);
  }
  return createWebTransport();
}
