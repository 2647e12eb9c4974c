/**
 * chat-people.js — the chat view's people: direct messages, moderation and
 * what the session is.
 *
 * Owns: the online list's menu (people-menu.js: "Message", and "Ban for…"
 * for admins), opening a DM (`transport.openDm`, then the room; a refusal,
 * e.g. 409 "bo has not protected their nick…", shows as a notice), banning
 * and lifting bans (`transport.ban` / `unban`; the admins' list is
 * moderation-view.js, loaded only for an admin), and the session's standing in the top bar:
 * `#me-lock` (the signed-in nick is protected; its tooltip says what that
 * means) and `#me-admin` (the session may moderate). "Message" shows only
 * with "dm" in the server's features, moderation only when the session
 * says `admin: true`. Part of the controller (chat.js): it works on the
 * Chat it is given.
 */

import { $ } from './dom.js';
import { formatUntil } from './ban-rules.js';
import { dmRefusal, isDmName } from './dm-rules.js';
import { withLeft } from './left-rooms.js';
import { PeopleMenu } from './people-menu.js';

export class ChatPeople {
  /** @param {import('./chat.js').Chat} chat */
  constructor(chat) {
    this.chat = chat;
    this.menu = new PeopleMenu($('#online'), {
      canMessage: () => this.dmEnabled,
      canBan: () => this.admin,
      onMessage: (nick) => this.message(nick),
      onBan: (nick, minutes, reason, problem) => this.ban(nick, minutes, reason, problem),
    });
    this.moderation = null; // moderation-view.js's ModerationView: loaded for an admin only
    this.loadingModeration = null;
  }

  /** The bans box: shown to admins only, its module loaded the first time one signs in. */
  setModeration(on) {
    if (this.moderation) {
      this.moderation.setEnabled(on);
      return;
    }
    if (!on) return; // never shown yet: #bans-box is hidden as the page starts
    this.loadingModeration ??= import('./moderation-view.js').then(({ ModerationView }) => {
      this.moderation = new ModerationView({
        bans: () => this.chat.transport.bans(),
        unban: (nick) => this.unban(nick),
      });
    });
    this.loadingModeration.then(() => this.moderation.setEnabled(this.admin), () => {
      this.loadingModeration = null; // tried again at the next render
    });
  }

  get dmEnabled() {
    const features = this.chat.state.info?.features;
    return Array.isArray(features) && features.includes('dm') && Boolean(this.chat.state.me);
  }

  get admin() {
    return Boolean(this.chat.state.me && this.chat.state.session.admin);
  }

  /** What the session is: {protected, admin} (from whoAmI / signIn; missing = false). */
  setSession(session) {
    this.chat.state.session = { protected: Boolean(session?.protected), admin: Boolean(session?.admin) };
    this.render();
  }

  render() {
    const { me, session } = this.chat.state;
    const lock = $('#me-lock');
    lock.hidden = !me || !session.protected;
    const tip = `${me} is protected: only someone with its nick password can sign in as ${me}.`;
    lock.title = tip;
    lock.setAttribute('aria-label', tip);
    $('#me-admin').hidden = !this.admin;
    this.setModeration(this.admin);
  }

  reset() {
    this.menu.close(false);
    this.render();
  }

  /** "Message" on a person: their DM room opens (created if needed). */
  async message(nick) {
    const { chat } = this;
    const epoch = chat.epoch;
    let dm;
    try {
      dm = await chat.transport.openDm(nick);
    } catch (err) {
      if (epoch === chat.epoch) chat.showTransient(dmRefusal(err, nick));
      return;
    }
    if (epoch !== chat.epoch || !dm || typeof dm.room !== 'string') return;
    chat.state.addDm(dm.room, typeof dm.nick === 'string' ? dm.nick : nick);
    chat.rooms.render(chat.state);
    await chat.openRoom(dm.room);
  }

  /**
   * After a room list: if the room on screen is a DM room the list does not
   * have (someone else's, or none: the server answers 404 for both), shows
   * the default room instead and says so. Returns whether it did.
   */
  leaveForeignDm() {
    const { chat } = this;
    const name = chat.state.current;
    if (!isDmName(name) || chat.state.dms.has(name)) return false;
    chat.setLeft(withLeft(chat.state.left, name));
    const room = chat.state.info?.default_room || 'general';
    chat.showRoom(room, { push: false });
    chat.router?.show(room, { push: false }); // the address names a room of the reader's
    chat.showTransient('That conversation does not exist, or is not yours.');
    return true;
  }

  /** "Ban for…": true when done; `problem(sentence)` shows a refusal in the form. */
  async ban(nick, minutes, reason, problem) {
    const { chat } = this;
    const epoch = chat.epoch;
    try {
      const ban = await chat.transport.ban(nick, minutes, reason);
      if (epoch !== chat.epoch) return false;
      chat.showTransient(`${nick} is banned until ${formatUntil(ban?.until)}.`);
      this.moderation?.refresh();
      return true;
    } catch (err) {
      if (epoch === chat.epoch) problem(`Not banned: ${err.message}`);
      return false;
    }
  }

  async unban(nick) {
    await this.chat.transport.unban(nick);
    this.chat.showTransient(`${nick} may sign in again: the ban is lifted.`);
  }
}
