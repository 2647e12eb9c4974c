/**
 * chat-pending.js — the chat view's side of the outbox.
 *
 * Owns: what the reader typed until the server has stored it. The
 * composer's text goes to `transport.outbox`; its entries (read at the
 * start of a session, and each one queued) show as pending in the message
 * list, follow the outbox's progress updates, and give way to the stored
 * message (ChatState matches it by client id). A sent entry the stream does
 * not echo within a few seconds is shown from the server's answer, or
 * found in the history. Failed entries can be edited or discarded. Files
 * in the composer's tray (chat-files.js) go with the text; an entry still
 * uploading can be cancelled (discarded: the upload is aborted).
 *
 * Part of the controller (chat.js): it works on the Chat it is given.
 */

const SENT_GRACE_MS = 3_000; // wait this long for the stream to echo a sent message

export class PendingMessages {
  /** @param {import('./chat.js').Chat} chat */
  constructor(chat) {
    this.chat = chat;
  }

  /** The transport's outbox entries of this session, shown as pending. */
  async load() {
    const { chat } = this;
    const epoch = chat.epoch;
    let entries;
    try {
      entries = await chat.transport.outbox.pending();
    } catch (err) {
      if (epoch === chat.epoch) chat.showTransient(`Could not read the messages waiting to be sent: ${err.message}`);
      return;
    }
    if (epoch !== chat.epoch) return;
    for (const queued of entries) this.show(queued);
  }

  show(queued) {
    const { chat } = this;
    const entry = chat.state.addPending(queued);
    if (!entry) return;
    if (entry.room === chat.state.current) chat.messages.addPending(chat.state.withStatusText(entry, Date.now()));
    if (entry.state === 'sent') this.recoverSentLater(entry, null);
  }

  /** The composer's text (a reply to `replyTo`, a message id, if given), into the outbox; shown once the outbox has it. */
  async send(text, replyTo = null) {
    const { chat } = this;
    if (!chat.state.me || !chat.state.current) return;
    const epoch = chat.epoch;
    const room = chat.state.current;
    chat.composer.clear();
    const files = chat.files.tray.take();
    const options = { ...(replyTo ? { replyTo } : {}), ...(files.length ? { files } : {}) };
    let queued;
    try {
      queued = await (Object.keys(options).length ? chat.transport.outbox.enqueue(room, text, options) : chat.transport.outbox.enqueue(room, text));
    } catch (err) {
      if (epoch !== chat.epoch) return;
      chat.composer.giveBack(text); // nothing was queued
      chat.files.tray.giveBack(files);
      chat.showTransient(`Not sent: ${err.message}`);
      return;
    }
    if (epoch === chat.epoch) this.show(queued);
  }

  /** Progress of an outbox entry (see transport.js). */
  onOutbox(update) {
    const { chat } = this;
    const applied = chat.state.applyOutbox(update);
    if (!applied) return;
    const { entry, removed } = applied;
    if (removed) {
      if (entry.room === chat.state.current) chat.messages.removePending(entry.clientId);
      return;
    }
    this.render(entry);
    chat.renderNotice(); // "Slow down" follows the entries' waits
    if (entry.state === 'sent') this.recoverSentLater(entry, update.message || null);
  }

  /** An entry's status line, redrawn if its room is on screen. */
  render(entry) {
    const { chat } = this;
    if (entry.room === chat.state.current) chat.messages.updatePending(chat.state.withStatusText(entry, Date.now()));
  }

  /** Every entry's status line (the connection changed). */
  renderStatuses() {
    for (const entry of this.chat.state.pending) this.render(entry);
  }

  /**
   * Stored, but the stream has not shown it: after a grace period, show the
   * server's answer (`message`) or, without one, find it in the history.
   */
  recoverSentLater(entry, message) {
    const { chat } = this;
    const epoch = chat.epoch;
    const waiting = () => epoch === chat.epoch && chat.state.pending.includes(entry);
    setTimeout(async () => {
      if (!waiting()) return;
      if (message) {
        chat.onMessage(message);
        return;
      }
      try {
        const recent = await chat.transport.history(entry.room, null, chat.transport.pageSize);
        if (!waiting()) return;
        const found = recent.find((m) => m && m.client_id === entry.clientId && typeof m.id === 'string');
        if (found) chat.onMessage(found);
      } catch {
        // the stream will bring it
      }
    }, chat.state.stream.up ? SENT_GRACE_MS : 0);
  }

  discard(clientId) {
    const { chat } = this;
    const entry = chat.state.removePending(clientId);
    if (!entry) return null;
    if (entry.room === chat.state.current) chat.messages.removePending(clientId);
    chat.transport.outbox.discard(clientId)
      .catch((err) => chat.showTransient(`Could not discard the message: ${err.message}`));
    return entry;
  }

  /** A failed message back into the composer (as a reply again, if it was one). */
  edit(clientId) {
    const { chat } = this;
    const entry = this.discard(clientId);
    if (!entry) return;
    const original = chat.state.replyOf(entry); // also when the cap dropped it since
    if (original && entry.room === chat.state.current) chat.actions.reply(original); // still a reply
    chat.composer.edit(entry.text);
  }
}
