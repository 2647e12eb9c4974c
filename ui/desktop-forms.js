/**
 * desktop-forms.js — small helpers the home screen's forms share (Tauri
 * only): the nick check before a round trip, and copying text to the
 * clipboard with a button that says it did.
 */

import { h } from './dom.js';

const COPIED_MS = 2000;
const copyTimers = new WeakMap();

/**
 * The trimmed nick in `input`, or '' after showing why it will not do (the
 * server checks again; this only saves a round trip for the obvious cases).
 */
export function checkedNick(input, error, emptyMessage) {
  const nick = input.value.trim();
  let problem = '';
  if (!nick) problem = emptyMessage;
  else if ([...nick].length > 32) problem = 'A nickname has at most 32 characters.';
  if (!problem) return nick;
  error.textContent = problem;
  input.focus();
  return '';
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // no clipboard API here: the old way
  }
  const area = h('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
  area.value = text;
  document.body.append(area);
  area.select();
  let done = false;
  try {
    done = document.execCommand('copy');
  } catch {
    done = false;
  }
  area.remove();
  return done;
}

/** Copies `text`; `button` says whether it worked for a moment. */
export async function copyWithButton(text, button) {
  const done = await copyText(text);
  button.textContent = done ? 'Copied' : 'Copy failed: select the link';
  button.classList.toggle('copied', done);
  clearTimeout(copyTimers.get(button));
  copyTimers.set(button, setTimeout(() => {
    button.textContent = 'Copy';
    button.classList.remove('copied');
  }, COPIED_MS));
}
