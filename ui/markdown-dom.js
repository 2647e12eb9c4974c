/**
 * markdown-dom.js — the tree of markdown.js as DOM nodes.
 *
 * Owns: which elements formatted text may become (ALLOWED below, and
 * nothing else), the one place a link element is made (`linkElement`; the
 * desktop app can route link clicks through `setLinkOpener`), and the code
 * block's Copy button. Only createElement, setAttribute and textContent
 * are used: no input can become markup.
 */

import { isSafeHref, parse } from './markdown.js';

/** Every element a formatted message may contain (the browser test checks this). */
export const ALLOWED = ['strong', 'em', 'code', 'a', 'blockquote', 'div', 'pre', 'button'];

const COPIED_MS = 1_500;

let linkOpener = null;

/**
 * Routes link clicks through `open(href)` instead of the browser (the
 * desktop app's opener plugin). null restores plain links.
 */
export function setLinkOpener(open) {
  linkOpener = typeof open === 'function' ? open : null;
}

/** THE link element: http(s) only, new tab, no opener, no referrer. Else text. */
export function linkElement(href, text) {
  if (!isSafeHref(href)) return document.createTextNode(text);
  const a = document.createElement('a');
  a.setAttribute('href', href);
  a.setAttribute('target', '_blank');
  a.setAttribute('rel', 'noopener noreferrer');
  a.textContent = text;
  a.addEventListener('click', (event) => {
    if (!linkOpener) return;
    event.preventDefault();
    linkOpener(href);
  });
  return a;
}

/** Puts `text` on the clipboard; false if the page may not. */
async function copyText(text, codeEl) {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // not allowed here (a plain-http LAN page is no secure context): select instead
  }
  const range = document.createRange();
  range.selectNodeContents(codeEl);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

function codeBlock(node) {
  const code = document.createElement('code');
  code.textContent = node.text;
  const pre = document.createElement('pre');
  pre.setAttribute('tabindex', '0'); // scrollable by keyboard
  pre.append(code);
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'copy-code';
  copy.textContent = 'Copy';
  copy.setAttribute('aria-label', 'Copy code');
  copy.addEventListener('click', async () => {
    const ok = await copyText(node.text, code);
    copy.textContent = ok ? 'Copied' : 'Press Ctrl+C';
    setTimeout(() => {
      copy.textContent = 'Copy';
    }, COPIED_MS);
  });
  const box = document.createElement('div');
  box.className = 'codeblock';
  box.append(copy, pre);
  return box;
}

function element(tag, children) {
  const el = document.createElement(tag);
  appendNodes(el, children);
  return el;
}

/** Appends the nodes of a markdown.js tree to `parent`. */
export function appendNodes(parent, nodes) {
  for (const node of nodes) {
    switch (node.type) {
      case 'text':
        parent.append(document.createTextNode(node.text));
        break;
      case 'strong':
      case 'em':
        parent.append(element(node.type, node.children));
        break;
      case 'code': {
        const code = document.createElement('code');
        code.textContent = node.text;
        parent.append(code);
        break;
      }
      case 'link':
        parent.append(linkElement(node.href, node.text));
        break;
      case 'quote':
        parent.append(element('blockquote', node.children));
        break;
      case 'codeblock':
        parent.append(codeBlock(node));
        break;
      default:
        break; // nothing else exists
    }
  }
}

/** Message text, formatted, into `parent`. */
export function appendFormatted(parent, text) {
  appendNodes(parent, parse(text));
}
