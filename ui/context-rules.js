/**
 * context-rules.js — what the app's own right-click menu offers, decided
 * without a DOM (context-menu.js shows it).
 *
 * `contextItems({selection, href, message, log, canEdit, canDelete})`: Copy
 * when text is selected, Copy link on an http(s) link, and on a stored
 * message of a room with the log (PROTOCOL v1.1) the same actions as its
 * menu button (message-actions.js): Reply, React, Edit and Delete for the
 * author (Delete for an admin on any message). Nothing else: an empty list
 * means no menu at all (never the webview's Back/Forward/Reload).
 *
 * Pure. e2e/unit/context-rules.test.mjs tests it.
 */

import { isWebLink } from './link-rules.js';

export function contextItems({ selection = '', href = '', message = null, log = false, canEdit = false, canDelete = false } = {}) {
  const items = [];
  if (String(selection).trim()) items.push({ action: 'copy', label: 'Copy' });
  if (href && isWebLink(href)) items.push({ action: 'copy-link', label: 'Copy link' });
  if (message && typeof message.id === 'string' && log) {
    items.push({ action: 'reply', label: 'Reply' }, { action: 'react', label: 'React…' });
    if (canEdit) items.push({ action: 'edit', label: 'Edit' });
    if (canEdit || canDelete) items.push({ action: 'delete', label: 'Delete…' });
  }
  return items;
}
