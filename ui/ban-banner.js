/**
 * ban-banner.js — the screen of a banned reader (web shell).
 *
 * Owns: `section#banned` (`#banned-text`: "You are banned from this server
 * until <local time>: <reason>", from ban-rules.js; `#banned-signin`, back
 * to the sign-in screen, for when the ban is over). Shown instead of the
 * chat view when the server ends the session with `ended` "banned" or
 * answers any request 403 "banned"; nothing reconnects meanwhile.
 */

import { $ } from './dom.js';
import { bannedSentence } from './ban-rules.js';

export class BanBanner {
  /** @param {{onSignIn()}} handlers onSignIn: the reader wants the sign-in screen */
  constructor({ onSignIn }) {
    $('#banned-signin').addEventListener('click', () => {
      this.hide();
      onSignIn();
    });
  }

  /** Shows `ended` {error, until} (the `ended` event's data, or ban-rules.js's banFromError). */
  show(ended) {
    $('#boot').hidden = true;
    $('#app').hidden = true;
    $('#signin').hidden = true;
    $('#banned-text').textContent = bannedSentence(ended);
    $('#banned').hidden = false;
    $('#banned-signin').focus();
    document.title = 'Banned · Hearth';
  }

  hide() {
    $('#banned').hidden = true;
  }
}
