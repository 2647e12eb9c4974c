/**
 * transport.js — the seam between the chat UI and whatever carries it.
 *
 * Owns: the ONE description of the transport interface (below; issue 12's
 * contract) and choosing the transport. The chat core (chat.js and its
 * modules) talks to a Hearth server only through the object
 * `createTransport()` resolves to; it never calls fetch and never asks which
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
 *                               default_room, max_text_chars, features (a
 *                               list: "log", "files", …; [] from a v1
 *                               server), max_file_bytes (with "files"), …}
 *   whoAmI()                -> {nick, expires_at, protected, admin} | null
 *                               (protected: the nick has a nick password;
 *                               admin: this session may moderate, i.e. a
 *                               configured admin nick signed in with its
 *                               nick password; both false from older
 *                               servers. A banned session rejects with
 *                               kind 'forbidden', reason "banned", `until`)
 *   signIn(nick, password, {nickPassword}?) -> {nick, expires_at, protected, admin}
 *                               (password may be ''; nickPassword, with the
 *                               "nicks" feature, signs in to a protected nick
 *                               or protects one nobody protects. A refusal's
 *                               TransportError has `reason`: "nick_protected"
 *                               or "server_password")
 *   signOut()               -> undefined
 *   rooms()                 -> [{room, online, last_id, dm?}], sorted by
 *                               name; `dm` (protocol v1.1 "dm"): the other
 *                               person's nick, on the session's own
 *                               direct-message rooms (`dm-…`) only
 *   openDm(nick)            -> {room, nick}: the direct-message room of the
 *                               reader and `nick` (the same whoever asks;
 *                               created if needed). Refused 409 (kind
 *                               'conflict', reason "not_protected", a
 *                               sentence saying who has not protected
 *                               their nick) unless both nicks are
 *                               protected; 400 (kind 'invalid') for
 *                               oneself. The caller then opens the room.
 *   Moderation (admins only, else 403 kind 'forbidden'):
 *   ban(nick, minutes, reason?) -> {nick, until (RFC 3339), by, reason?}:
 *                               bans `nick` for `minutes` (the UI offers
 *                               15, 60, 1440, 10080); its streams end
 *                               (`ended`), its requests and sign-ins get
 *                               403 "banned" until then.
 *   unban(nick)             -> undefined: lifts the ban.
 *   bans()                  -> [{nick, until, by, reason?}]: current bans.
 *               Admins may also deleteMessage any message.
 *   history(room, beforeId, limit) -> [message], oldest first (beforeId may be null)
 *   historyAfter(room, afterId, limit) -> [message], oldest first: up to
 *                               `limit` (1–500) messages after the message
 *                               `afterId` (protocol v1.1, with "search":
 *                               opening a search result in place)
 *   search(q, {rooms?, before?, limit?}) -> [message], newest first
 *                               (protocol v1.1 "search"; the core shows its
 *                               UI only with "search" in info().features):
 *                               messages whose text holds every
 *                               whitespace-separated term of `q` (ignoring
 *                               case and diacritics; substrings). rooms:
 *                               names to search (default: every room the
 *                               session may read); before: a message id,
 *                               for the next page; limit: 1–100 (server
 *                               default 20). `q` empty or over 200
 *                               characters is refused (kind 'invalid');
 *                               search-rules.js says so before asking.
 *   post(room, text, clientId)     -> {message, repeated}: ONE attempt, no
 *                               outbox (the composer uses `outbox`)
 *   editMessage(room, id, text)  -> the edited message (protocol v1.1
 *                               "log"; the author only, else a 403)
 *   deleteMessage(room, id)      -> undefined (the author or an admin; the
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
 *     outbox.enqueue(room, text, {replyTo, files}?) -> entry, once it is
 *                               stored durably; replyTo (a message id,
 *                               optional) makes it a reply (`reply_to` when
 *                               posted). files (optional, 1 to 10, with
 *                               "files" in info().features): [attachment],
 *                               attachment = {kind: 'blob', blob, name, size,
 *                               type} (a File or Blob: web, and the app's
 *                               attach button and paste) | {kind: 'path',
 *                               path, name, size} (the app only: dropped
 *                               from the file manager, read by Rust). text
 *                               may then be ''. The caller checks sizes
 *                               against max_file_bytes first (file-rules.js).
 *                               The transport uploads each file (POST
 *                               /api/files?name=…, raw body, with progress),
 *                               then posts the message with `files: [ids]`
 *                               under the entry's clientId: retries never
 *                               post twice (an upload may be repeated after
 *                               it failed; its first copy is swept).
 *     outbox.pending()           -> [entry] of the session, oldest first
 *     outbox.discard(clientId)   -> bool; also aborts an upload in flight
 *     entry = {clientId, room, text, createdAt (ms), replyTo?, files?, state:
 *              'queued' | 'sending' | 'sent' | 'failed', error ('' unless
 *              failed: a sentence), messageId (when sent), waitReason?:
 *              'network' | 'slow', retryAt? (ms, while queued and waiting)}
 *       files = [{name, size, type, sent (bytes uploaded so far; = size
 *              once uploaded), fileId? (once uploaded)}], in the order given.
 *     Web: localStorage cannot hold a Blob, so the Blobs live in memory for
 *       the entry's life; the stored entry keeps the files' names, sizes
 *       and the ids of those already uploaded. After a reload, an entry
 *       whose files were all uploaded is posted as usual; any other is shown
 *       failed: "The files were not sent before the page was reloaded:
 *       attach them again." (its text can be edited back, then discarded).
 *       App: the entry and its files (paths, or blobs copied to disk by
 *       Rust) survive a restart and go out exactly once.
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
 *                                    counted by the transport; every
 *                                    message of the other person in a DM
 *                                    counts in `mentions` too) | ended
 *                                    ({reason: "banned" | "signed_out" |
 *                                    "superseded", error (a sentence),
 *                                    until? (RFC 3339, banned)}: the
 *                                    server ended the session, from the
 *                                    stream's last event or a request
 *                                    refused 403 "banned"; the transport
 *                                    has stopped following and does not
 *                                    reconnect); `id`: the
 *                                    cursor after a log entry (message, edit,
 *                                    delete, reaction), else ''
 *       onState(state, detail)       'connecting' | 'open' | 'down'; for 'down'
 *                                    detail = {retryInMs, message, final?}
 *                                    (final: not retrying by itself)
 *       onAuthError(message)         the session is no longer valid; the
 *                                    transport has stopped following
 *       onOutbox(update)             an entry's progress: {clientId, room,
 *                                    state, messageId?, error?, waitReason?,
 *                                    retryAt?, files?, message?} (`files`:
 *                                    the entry's files with `sent` growing
 *                                    while uploading, state 'sending';
 *                                    `message`, optional: the stored message,
 *                                    when the transport has it; shown if the
 *                                    stream does not echo it)
 *   Files (protocol v1.1 "files"; the core shows their UI only with "files"
 *   in info().features). `file` is a message's FileInfo {id, name, size,
 *   type, url, width?, height?, thumb_url?}:
 *   fileUrl(file, {thumb}?) -> string, sync: a URL the page may put in
 *               <img src> / href: the file, or with `thumb` its thumbnail
 *               (the file itself when it has none). Web: the server's
 *               `url` / `thumb_url` as given, authorized by the session
 *               cookie (the page never sees the token); app: a
 *               custom-protocol URL served by Rust (the webview fetches
 *               nothing remote).
 *   download(file) -> {path} | null: web: starts the browser's download of
 *               the file and resolves null; app: saves it in the Downloads
 *               folder and resolves {path} (the UI then offers "Show in
 *               folder").
 *   showInFolder(path) -> undefined (app; the web never has a path).
 *   onDroppedFiles(element, handler) -> unsubscribe, sync: files dropped
 *               on `element` go to `handler(attachments)` (attachments as
 *               for outbox.enqueue); while files are dragged over it the
 *               transport calls `handler.onDragState?.(true)`, and
 *               `(false)` when they leave or drop, so the UI can show its
 *               drop target; what a drop held that cannot be sent (app: a
 *               folder) goes to `handler.onError?.(sentence)`. Web: HTML5
 *               dragenter/dragover/dragleave/drop on `element`; app:
 *               Tauri's drag-drop event (paths).
 *   reconnect()  sync. Retry the stream now if waiting (may be a no-op).
 *   retryNow(room)  "Retry now" on a room: its stream reconnects at once
 *                (the app: Rust's retry_now; the web: reconnect()).
 *   close()      sync. Stop following: no more handler calls (web: the
 *               session's cursor, counts and outbox loop are dropped too).
 *
 * A message is {id, room, nick, text, ts, client_id, files? ([FileInfo],
 * protocol v1.1 "files")}; ids and cursors are opaque strings (compare
 * them only for equality).
 */

export { TransportError } from './transport-error.js';

/**
 * Resolves to the transport for this environment. Each is loaded only
 * where it runs: browsers never download the desktop transport (and the
 * desktop code it imports), the app never parses the web one (its stream,
 * outbox, uploads).
 */
export async function createTransport() {
  if (typeof window !== 'undefined' && window.__TAURI__) {
    if (!window.__TAURI__.core?.invoke || !window.__TAURI__.core?.Channel) {
      throw new Error('This desktop build does not expose the Tauri API (app.withGlobalTauri).');
    }
    const { createTauriTransport } = await import('./transport-tauri.js');
    return createTauriTransport(window.__TAURI__);
  }
  const { createWebTransport } = await import('./transport-web.js');
  return createWebTransport();
}
