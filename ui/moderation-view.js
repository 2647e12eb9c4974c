/**
 * moderation-view.js — the admins' list of current bans.
 *
 * Owns: `details#bans-box` in the online panel (shown to admins only): its
 * summary "Bans", `ul#ban-list > li.ban[data-nick]` (a line from
 * ban-rules.js's `banListLine` and `button.unban` "Lift") and
 * `#bans-status` (empty list, loading and refusals). The list is read when
 * the box opens and after each ban or lift (`refresh`). What it calls is
 * the caller's (chat-people.js): {bans() -> Promise<[ban]>, unban(nick) ->
 * Promise}.
 */

import { $, h } from './dom.js';
import { banListLine } from './ban-rules.js';

export class ModerationView {
  constructor({ bans, unban }) {
    this.bans = bans;
    this.unban = unban;
    this.box = $('#bans-box');
    this.gen = 0;
    this.box.addEventListener('toggle', () => {
      if (this.box.open) this.refresh();
    });
  }

  /** Shown to admins only; hidden and emptied otherwise. */
  setEnabled(on) {
    this.box.hidden = !on;
    if (!on) {
      this.box.open = false;
      this.gen += 1;
      $('#ban-list').replaceChildren();
      $('#bans-status').textContent = '';
    }
  }

  /** Reads the current bans again (when the box is open). */
  async refresh() {
    if (this.box.hidden || !this.box.open) return;
    const gen = ++this.gen;
    const status = $('#bans-status');
    if (!$('#ban-list').children.length) status.textContent = 'Loading…';
    let list;
    try {
      list = await this.bans();
    } catch (err) {
      if (gen === this.gen) status.textContent = `Could not read the bans: ${err.message}`;
      return;
    }
    if (gen !== this.gen) return;
    status.textContent = list.length ? '' : 'Nobody is banned.';
    $('#ban-list').replaceChildren(...list.map((ban) => {
      const li = h('li', { class: 'ban', dataset: { nick: ban.nick } }, h('span', { class: 'ban-line' }, banListLine(ban)));
      const lift = h('button', { type: 'button', class: 'unban', 'aria-label': `Lift the ban of ${ban.nick}` }, 'Lift');
      lift.addEventListener('click', async () => {
        lift.disabled = true;
        try {
          await this.unban(ban.nick);
        } catch (err) {
          status.textContent = `Could not lift the ban of ${ban.nick}: ${err.message}`;
          lift.disabled = false;
          return;
        }
        this.refresh();
      });
      li.append(lift);
      return li;
    }));
  }
}
