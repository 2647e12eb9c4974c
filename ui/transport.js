/**
 * transport.js — the seam between the chat UI and whatever carries it.
 *
 * Owns: choosing the transport. The UI (app.js and friends) talks to a
 * Hearth server only through the object `createTransport()` returns; no
 * other UI file may call fetch or know which transport runs. In a browser
 * that is the web transport (transport-web.js: same-origin fetch, cookie
 * session, a fetch-based SSE reader). In the Tauri desktop app
 * (`window.__TAURI__` exists) it will be a transport that relays the same
 * calls and events over Tauri IPC: see the TAURI HOOK below.
 *
 * The interface every transport implements (all methods return Promises
 * that reject with a TransportError from transport-error.js, unless noted):
 *
 *   info()                          -> {name, version, auth: "none"|"password",
 *                                       rooms, default_room, max_text_chars}
 *   whoAmI()                        -> {nick, expires_at} when signed in, null when not
 *   signIn(nick, password)          -> {nick, expires_at}   (password may be '')
 *   signOut()                       -> undefined
 *   rooms()                         -> [{room, online, last_id}], sorted by name
 *   history(room, beforeId, limit)  -> [message], oldest first (beforeId may be null)
 *   post(room, text, clientId)      -> {message, repeated}  (repeated: the server
 *                                       already had this clientId: 200, not 201)
 *   follow(rooms, lastCursor, handlers, present)
 *        Synchronous. Follows `rooms` (1..50 names) on ONE event stream,
 *        counting the user as online only in `present` (a subset of rooms;
 *        null = all of them): the others are followed for unread counts,
 *        resuming from `lastCursor` (an opaque stream cursor, or null),
 *        replacing any stream this transport had. The transport reconnects
 *        by itself (jittered backoff, dead-connection detection) and resumes
 *        from the last cursor it saw. `handlers`:
 *          onEvent({event, data, id})  one stream event; `data` is the parsed
 *                                      JSON; `id` is the cursor after it
 *                                      (message events only, else '')
 *          onState(state, detail)      'connecting' | 'open' | 'down';
 *                                      for 'down', detail = {retryInMs, message}
 *          onAuthError(message)        the session is not valid (401): the
 *                                      transport has stopped following
 *   reconnect()                     Synchronous. If waiting to retry the stream,
 *                                   retry now.
 *   close()                         Synchronous. Stops following (no more handler calls).
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
    // TAURI HOOK: the desktop app's transport (ui/transport-tauri.js)
    // implements the interface above over Tauri IPC, its Rust side reading
    // the event streams (Tauri has no SSE in the web view). It is bound to
    // one server at a time (`bind`), and adds capabilities app.js checks:
    // `desktop` (the home screen, desktop.js), `durableOutbox`,
    // `unreadCounts` and `prepareRoom` (see transport-tauri.js).
    if (!window.__TAURI__.core?.invoke || !window.__TAURI__.core?.Channel) {
      throw new Error('This desktop build does not expose the Tauri API (app.withGlobalTauri).');
    }
    return createTauriTransport(window.__TAURI__);
  }
  return createWebTransport();
}
