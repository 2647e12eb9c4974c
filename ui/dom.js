/**
 * dom.js — tiny DOM helpers.
 *
 * Owns: `$` (querySelector that must succeed), `h` (create an element),
 * `remember`/`recall` (small non-secret values in localStorage) and the
 * keys they are used with.
 * `h` sets attributes with setAttribute and children with append(), so
 * strings always become text nodes: there is no path from data to markup
 * (this client never uses innerHTML).
 */

export function $(selector, root = document) {
  const el = root.querySelector(selector);
  if (!el) throw new Error(`missing element ${selector}`);
  return el;
}

/**
 * h('span', {class: 'nick', title: 'x'}, 'text', childNode)
 * Props: `class`, `text` (textContent), `dataset` (object), `on<event>`
 * (listener), anything else an attribute (true = empty attribute; null,
 * undefined and false are skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
  return el;
}

/** The last nick used (sign-in screen and the desktop home's join form). */
export const NICK_KEY = 'hearth.nick';

/** Keeps a small non-secret value across reloads (no-op without storage). */
export function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage unavailable: nothing to remember
  }
}

/** A value kept by `remember`, or '' when there is none. */
export function recall(key) {
  try {
    return localStorage.getItem(key) || '';
  } catch {
    return '';
  }
}
