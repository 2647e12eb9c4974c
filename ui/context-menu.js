/**
 * context-menu.js — the app's own right-click menu (desktop app).
 *
 * Owns: `#context-menu` (ul[role=menu] > li > button.ctx-item[data-action]),
 * shown at the pointer instead of the webview's own menu (Back, Forward,
 * Reload…), with what context-rules.js offers: Copy (the selection), Copy
 * link, and on a stored message its actions, run by the chat's
 * MessageActions panel (message-actions.js: React opens its picker,
 * Delete its inline confirmation). Where nothing applies there is no menu.
 * Escape, a click elsewhere, scrolling or resizing closes it.
 *
 * `installContextMenu({doc})` once (desktop-core.js); the chat view tells
 * it how to reach its messages with `setMessageActions(provider)`:
 * provider() -> null (no room log) or {panel (MessageActions), canEdit(msg),
 * canDelete(msg), message(id)}.
 */

import { h } from './dom.js';
import { contextItems } from './context-rules.js';

let provider = () => null;
let installed = false;

/** How the menu reaches the chat's message actions (chat.js). */
export function setMessageActions(fn) {
  provider = typeof fn === 'function' ? fn : () => null;
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h('textarea', { class: 'ctx-copy' });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
}

export function installContextMenu({ doc = document } = {}) {
  if (installed) return;
  installed = true;
  let menu = null;
  const close = () => {
    menu?.remove();
    menu = null;
  };
  doc.addEventListener('contextmenu', (event) => {
    event.preventDefault();
    close();
    const target = event.target instanceof Element ? event.target : event.target?.parentElement;
    // A text field keeps nothing but Copy of its selection.
    const selection = String(doc.getSelection?.() ?? '');
    const link = target?.closest('a[href]');
    const el = target?.closest('.message[data-id]');
    const actions = el ? provider() : null;
    const message = actions?.message(el.dataset.id) || null;
    const items = contextItems({
      selection,
      href: link?.href || '',
      message,
      log: Boolean(actions && message),
      canEdit: Boolean(message && actions.canEdit(message)),
      canDelete: Boolean(message && actions.canDelete(message)),
    });
    if (!items.length) return;
    const run = (action) => {
      close();
      if (action === 'copy') copy(selection);
      else if (action === 'copy-link') copy(link.href);
      else actions.panel.run(message.id, el, action);
    };
    menu = h('ul', { id: 'context-menu', role: 'menu' },
      ...items.map((item) => h('li', { role: 'none' },
        h('button', { type: 'button', role: 'menuitem', class: 'ctx-item', dataset: { action: item.action }, onclick: () => run(item.action) }, item.label))));
    menu.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') close();
    });
    doc.body.append(menu);
    const { innerWidth: w, innerHeight: ht } = window;
    const box = menu.getBoundingClientRect();
    menu.style.left = `${Math.max(0, Math.min(event.clientX, w - box.width))}px`;
    menu.style.top = `${Math.max(0, Math.min(event.clientY, ht - box.height))}px`;
    menu.querySelector('button')?.focus();
  });
  doc.addEventListener('mousedown', (event) => {
    if (menu && !menu.contains(event.target)) close();
  }, true);
  window.addEventListener('blur', close);
  window.addEventListener('resize', close);
  doc.addEventListener('scroll', close, true);
}
