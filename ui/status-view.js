/**
 * status-view.js — the connection indicator and the notice bar.
 *
 * Owns: `#connection[data-state]` ('connected' | 'reconnecting' |
 * 'offline') with its "Retry now" button (`#reconnect-now`, when the shell
 * has one), the dimming of stale presence (`#app.stale`), and
 * `#notice-bar` (`#notice` lines, `#notice-dismiss`); `#connection-why`
 * (made here, after `#connection`): why the room is offline, in words. The texts come from
 * ChatState (chat-state.js); this view only shows them, redrawing nothing
 * that did not change.
 */

import { $, h } from './dom.js';

export class StatusView {
  /**
   * @param {object} options {retryButton (show "Retry now" while offline),
   *   onDismiss(), onReconnect()}
   */
  constructor({ retryButton, onDismiss, onReconnect }) {
    this.retryButton = retryButton;
    this.lastConn = '';
    this.lastNotice = null;
    $('#notice-dismiss').addEventListener('click', onDismiss);
    $('#reconnect-now').addEventListener('click', onReconnect);
  }

  /**
   * Shows [data-state, text] and the stream's error as a tooltip. Returns
   * whether the data-state changed (pending entries' texts depend on it).
   */
  renderConnection([st, text], error) {
    const key = `${st}|${text}|${error}`;
    if (key === this.lastConn) return false;
    const changed = !this.lastConn.startsWith(`${st}|`);
    this.lastConn = key;
    const el = $('#connection');
    el.dataset.state = st;
    el.textContent = text;
    el.title = st === 'connected' ? '' : error;
    // Why it is offline, in words (a final 'Offline' has it in the notice bar).
    let why = document.querySelector('#connection-why');
    if (!why) {
      why = h('span', { id: 'connection-why', class: 'connection-why', role: 'status' });
      el.after(why);
    }
    why.textContent = st === 'offline' && text !== 'Offline' && error ? error : '';
    why.hidden = !why.textContent;
    // Presence shown while the stream is down may be out of date: dim it.
    $('#app').classList.toggle('stale', st !== 'connected');
    $('#reconnect-now').hidden = st !== 'offline' || !navigator.onLine || !this.retryButton;
    return changed;
  }

  renderNotice(lines) {
    const key = lines.join('\n');
    if (key === this.lastNotice) return;
    this.lastNotice = key;
    const notice = $('#notice');
    notice.replaceChildren(...lines.map((line) => h('span', { class: 'notice-line' }, line)));
    notice.hidden = lines.length === 0;
    $('#notice-bar').hidden = lines.length === 0;
  }
}
