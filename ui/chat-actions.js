/**
 * chat-actions.js — the chat view's room log actions (protocol v1.1 "log").
 *
 * Owns: what the reader does to messages, through the transport interface
 * only (transport.js): reply (the composer quotes the message; the text
 * goes to the outbox with `replyTo`), edit one's own message (the Edit
 * action, or Up-arrow in an empty composer: the composer shows "Editing",
 * Enter saves with `editMessage`, Escape cancels), delete one's own (after
 * an inline confirmation; the stream's `delete` removes it everywhere),
 * reactions (the panel's picker, or a chip toggling the reader's own with
 * `setReaction`; an admin deletes anyone's message), "is typing" pings while the reader types (throttled by
 * typing-rules.js; failures ignored), and `@` completion (mention-complete.js).
 * The panel is message-actions.js, the composer's mode composer-modes.js.
 *
 * All of it only when the server has the log (info().features has "log").
 * A refused action (403, 404, too long…) shows the server's sentence as a
 * transient notice; nothing changes on screen then: changes come from the
 * stream's events. Part of the controller (chat.js): it works on the Chat
 * it is given.
 */

import { $ } from './dom.js';
import { canDelete, canEdit, lastOwn, logEnabled, replyTarget } from './action-rules.js';
import { ComposerModes } from './composer-modes.js';
import { knownNicks } from './mention-rules.js';
import { MentionComplete } from './mention-complete.js';
import { MessageActions } from './message-actions.js';
import { TypingPinger } from './typing-rules.js';

export class LogActions {
  /** @param {import('./chat.js').Chat} chat */
  constructor(chat) {
    this.chat = chat;
    this.pinger = new TypingPinger();
    this.modes = new ComposerModes({ onCancel: (mode) => this._cancelled(mode) });
    this.panel = new MessageActions({
      message: (id) => chat.state.currentRoom?.get(id) || null,
      canEdit: (msg) => canEdit(msg, chat.state.me),
      canDelete: (msg) => canDelete(msg, chat.state.me, chat.state.session.admin),
      onReply: (msg) => this.reply(msg),
      onEdit: (msg) => this.edit(msg),
      onDelete: (msg) => this.remove(msg),
      onReact: (msg, emoji) => this.react(msg.id, emoji, !msg.reactions?.[emoji]?.includes(chat.state.me)),
    });
    this.mention = new MentionComplete({
      box: $('#composer-text'),
      nicks: () => {
        const room = chat.state.currentRoom;
        return room ? knownNicks(room.online, room.messages) : [];
      },
      me: () => chat.state.me,
    });
  }

  get enabled() {
    return logEnabled(this.chat.state.info) && Boolean(this.chat.state.me);
  }

  /** Handlers for the composer (composer-view.js). */
  get composerActions() {
    return { onSend: (text) => this.send(text), onKey: (event) => this.key(event), onInput: (text) => this.input(text) };
  }

  /** Handlers for the message list (messages-view.js). */
  get listActions() {
    return {
      onMenu: (id, el) => this.panel.toggle(id, el),
      onReact: (id, emoji, on) => this.react(id, emoji, on),
    };
  }

  /** Forgets the mode and closes what is open (room switch, sign-out). */
  reset() {
    this.panel.close(false);
    this.mention.close();
    this.modes.set(null);
    this.pinger.reset();
  }

  /* ------------------------------------------------------ composer */

  /** The composer's first look at a key: true when taken. */
  key(event) {
    if (this.mention.key(event)) return true;
    const plain = !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey;
    if (event.key === 'Escape' && this.modes.mode) {
      const mode = this.modes.mode;
      this.modes.set(null);
      this._cancelled(mode);
      return true;
    }
    if (event.key === 'ArrowUp' && plain && !event.target.value && this.enabled) {
      const mine = lastOwn(this.chat.state.currentRoom?.messages, this.chat.state.me);
      if (mine) {
        this.edit(mine);
        return true;
      }
    }
    return false;
  }

  /** The composer's text changed: `@` completion, and "is typing" now and then. */
  input(text) {
    if (!this.enabled) return;
    this.mention.update();
    const room = this.chat.state.current;
    if (room && !this.modes.editing && this.pinger.input(text, Date.now())) {
      this.chat.transport.typing(room).catch(() => {});
    }
  }

  /** Enter in the composer: saves an edit, or sends (as a reply when replying). */
  send(text) {
    this.pinger.reset();
    const editing = this.modes.editing;
    if (editing) {
      this._save(editing, text);
      return;
    }
    const replyTo = this.modes.replyTo;
    this.modes.set(null);
    this.chat.pending.send(text, replyTo);
  }

  _cancelled(mode) {
    const { composer } = this.chat;
    if (mode.kind === 'edit') {
      composer.clear();
      if (mode.before) composer.giveBack(mode.before);
    }
    composer.focus();
  }

  /** Message `id` was deleted: a reply to it or an edit of it is over (the text stays). */
  deleted(room, id) {
    const mode = this.modes.mode;
    if (!mode || mode.id !== id || mode.room !== room) return;
    this.modes.set(null);
    this.chat.showTransient(mode.kind === 'edit'
      ? 'The message you were editing was deleted.'
      : 'The message you were replying to was deleted: this is a new message now.');
  }

  /* ------------------------------------------------------- actions */

  reply(msg) {
    if (this.modes.editing) this._cancelled(this.modes.editing);
    this.modes.set({ kind: 'reply', room: msg.room, ...replyTarget(msg) });
    this.chat.composer.focus();
  }

  edit(msg) {
    const { composer } = this.chat;
    const before = this.modes.editing ? this.modes.editing.before : composer.box.value;
    this.modes.set({ kind: 'edit', id: msg.id, room: msg.room, before });
    composer.edit(msg.text);
  }

  async _save(mode, text) {
    const { chat } = this;
    const epoch = chat.epoch;
    const original = chat.state.ensureRoom(mode.room).get(mode.id);
    if (original && original.text === text) { // nothing changed: nothing to send
      this.modes.set(null);
      this._cancelled(mode);
      return;
    }
    try {
      const edited = await chat.transport.editMessage(mode.room, mode.id, text);
      if (epoch !== chat.epoch) return;
      if (this.modes.editing?.id === mode.id) {
        this.modes.set(null);
        chat.composer.clear();
        if (mode.before) chat.composer.giveBack(mode.before);
      }
      if (edited && typeof edited === 'object') chat.log.onEntry('edit', { ...edited, room: mode.room });
    } catch (err) {
      if (epoch === chat.epoch) chat.showTransient(`Not edited: ${err.message}`);
    }
  }

  async remove(msg) {
    const { chat } = this;
    const epoch = chat.epoch;
    try {
      await chat.transport.deleteMessage(msg.room, msg.id);
      if (epoch === chat.epoch) chat.log.onEntry('delete', { room: msg.room, id: msg.id });
    } catch (err) {
      if (epoch === chat.epoch) chat.showTransient(`Not deleted: ${err.message}`);
    }
  }

  async react(id, emoji, on) {
    const { chat } = this;
    const epoch = chat.epoch;
    const room = chat.state.current;
    if (!room || !this.enabled) return;
    try {
      await chat.transport.setReaction(room, id, emoji, on);
    } catch (err) {
      if (epoch === chat.epoch) chat.showTransient(`Reaction not ${on ? 'added' : 'removed'}: ${err.message}`);
    }
  }
}
