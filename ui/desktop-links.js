/**
 * desktop-links.js — the desktop app's webview stays on the app (Tauri only).
 *
 * Owns, for the whole page: a click or middle click on any link, a URL
 * dropped on the window, `window.open` and a form's native submit never
 * navigate the webview. An http(s) link goes to `open(href)` (the
 * `open_link` command: the system browser, through the opener plugin in
 * Rust), once; anything else goes nowhere. This page-wide listener covers
 * message links (markdown-dom.js) too. Rust also refuses any navigation away from the app
 * (src-tauri/src/rooms/links.rs), as a backstop.
 *
 * `guardWebview({open, win, doc})` installs it once.
 */

import { isWebLink } from './link-rules.js';

let installed = false;

export function guardWebview({ open, win = window, doc = document }) {
  if (installed) return;
  installed = true;
  const send = (href) => {
    if (isWebLink(href)) Promise.resolve(open(href)).catch((err) => console.error('hearth: opening a link failed', err));
  };
  const onLink = (event) => {
    const a = event.target?.closest?.('a[href]');
    if (!a) return;
    if (event.type === 'auxclick' && event.button !== 1) return;
    event.preventDefault();
    if (event.type === 'click' || event.type === 'auxclick') send(a.href);
  };
  doc.addEventListener('click', onLink, true);
  doc.addEventListener('auxclick', onLink, true);
  // A dragged link or text dropped on the page would load it; files are
  // Rust's (Tauri's drag-drop events), so nothing here is lost.
  const noDrop = (event) => {
    if (event.dataTransfer && !event.dataTransfer.types?.includes?.('Files')) event.preventDefault();
  };
  doc.addEventListener('dragover', noDrop, true);
  doc.addEventListener('drop', noDrop, true);
  // The app's forms all submit through script; never natively.
  doc.addEventListener('submit', (event) => event.preventDefault(), true);
  win.open = (href) => {
    send(href);
    return null;
  };
}
