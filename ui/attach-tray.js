/**
 * attach-tray.js — files on their way into a message: the composer's tray.
 *
 * Owns: the attach button `#attach` with its `#attach-input` (type=file,
 * multiple), paste of files (a screenshot) into `#composer-text`, the drop
 * target `#drop-target` over the chat while files are dragged onto it
 * (the transport's `onDroppedFiles`; what it could not take, such as a
 * folder, is said in `#tray-notice`), and the tray `#attach-tray` above
 * the text: `ul#tray-list > li.tray-item` (an image's preview through an
 * object URL, else its extension; name, size, a remove button
 * `.tray-remove`), `.refused` with the sentence when the server would not
 * take the file (file-rules.js: checked against `max_file_bytes` before
 * any byte is sent), and `#tray-notice` (more than 10 files). The person
 * can type while files wait here; Send takes them (`take`).
 *
 * Shown only when the server has files (info().features has "files").
 */

import { $, h } from './dom.js';
import { addToTray, humanSize, iconLabel, previewable, safeName, trayRefusal } from './file-rules.js';

export class AttachTray {
  /**
   * @param {object} transport the transport (onDroppedFiles)
   * @param {object} options {onChange() (the tray's files changed)}
   */
  constructor(transport, { onChange = () => {} } = {}) {
    this.onChange = onChange;
    this.items = []; // [{attachment, refusal, preview (object URL or '')}]
    this.enabled = false;
    this.usable = false; // a room is open and the reader signed in
    this.maxBytes = null;
    this.button = $('#attach');
    this.input = $('#attach-input');
    this.tray = $('#attach-tray');
    this.list = $('#tray-list');
    this.notice = $('#tray-notice');
    this.dropTarget = $('#drop-target');
    this.button.addEventListener('click', () => this.input.click());
    this.input.addEventListener('change', () => {
      this.add([...this.input.files].map((blob) => fromBlob(blob)));
      this.input.value = ''; // the same file can be picked again
    });
    $('#composer-text').addEventListener('paste', (event) => this._paste(event));
    const dropped = (attachments) => {
      if (this.accepting) this.add(attachments);
    };
    dropped.onDragState = (on) => {
      this.dropTarget.hidden = !(on && this.accepting);
    };
    dropped.onError = (sentence) => { // the app: a dropped folder, say
      if (!this.accepting) return;
      this.notice.textContent = sentence;
      this._render();
    };
    transport.onDroppedFiles?.($('main.chat'), dropped);
  }

  get accepting() {
    return this.enabled && this.usable;
  }

  /** Files on or off (the server's features), its limit, and whether the composer is usable. */
  render({ enabled, maxBytes, usable }) {
    this.enabled = Boolean(enabled);
    this.maxBytes = maxBytes;
    this.usable = Boolean(usable);
    this.button.hidden = !this.enabled;
    this.button.disabled = !this.usable;
    $('#composer').classList.toggle('has-files', this.enabled);
    if (!this.enabled) this.clear();
  }

  /** Adds attachments ({kind, blob?, path?, name, size, type?}) to the tray, by its rules. */
  add(attachments) {
    if (!this.accepting || !attachments.length) return;
    const named = attachments.map((a) => ({ ...a, name: safeName(a.name, a.type) }));
    const { items, notice } = addToTray(this.items, named, this.maxBytes);
    for (const item of items.slice(this.items.length)) {
      const blob = item.attachment.blob;
      item.preview = !item.refusal && blob && previewable(item.attachment.type) ? URL.createObjectURL(blob) : '';
    }
    this.items = items;
    this.notice.textContent = notice;
    this._render();
  }

  /** Why Send must wait ('' when it need not). */
  refusal() {
    return trayRefusal(this.items);
  }

  get count() {
    return this.items.length;
  }

  /** The attachments to send; the tray empties. */
  take() {
    const taken = this.items.map((i) => i.attachment);
    this.clear();
    return taken;
  }

  /** Attachments that were not queued come back (unless new ones came meanwhile). */
  giveBack(attachments) {
    if (this.items.length || !attachments.length) return;
    this.add(attachments);
  }

  clear() {
    for (const item of this.items) if (item.preview) URL.revokeObjectURL(item.preview);
    this.items = [];
    this.notice.textContent = '';
    this._render();
  }

  remove(item) {
    if (item.preview) URL.revokeObjectURL(item.preview);
    this.items = this.items.filter((i) => i !== item);
    this.notice.textContent = '';
    this._render();
    $('#composer-text').focus();
  }

  _render() {
    this.list.replaceChildren(...this.items.map((item) => this._itemEl(item)));
    this.tray.hidden = !this.items.length && !this.notice.textContent;
    this.onChange();
  }

  _itemEl(item) {
    const { name, size } = item.attachment;
    const icon = () => h('span', { class: 'file-icon', 'aria-hidden': 'true' }, iconLabel(name));
    const look = item.preview // a preview the page may not show (a policy without blob: images) falls back to the icon
      ? h('img', { class: 'tray-preview', src: item.preview, alt: '', onerror: (event) => event.target.replaceWith(icon()) })
      : icon();
    return h('li', { class: `tray-item${item.refusal ? ' refused' : ''}` },
      look,
      h('span', { class: 'tray-about' },
        h('span', { class: 'file-name', title: name }, name),
        h('span', { class: 'file-size' }, humanSize(size)),
        item.refusal ? h('span', { class: 'tray-refusal', role: 'alert' }, item.refusal) : null),
      h('button', {
        type: 'button', class: 'tray-remove', 'aria-label': `Remove ${name}`, title: 'Remove', onclick: () => this.remove(item),
      }, '×'));
  }

  /** A paste holding files (a screenshot) adds them; text pastes as usual. */
  _paste(event) {
    const data = event.clipboardData;
    if (!this.accepting || !data) return;
    const files = [...(data.files || [])];
    if (!files.length) return;
    if (![...data.types].includes('text/plain')) event.preventDefault();
    this.add(files.map((blob) => fromBlob(blob, { pasted: true })));
  }
}

/** An attachment from a File or Blob; a pasted image called "image.png" gets a screenshot name. */
function fromBlob(blob, { pasted = false } = {}) {
  const generic = pasted && /^image\.[a-z]+$/i.test(blob.name || '');
  return { kind: 'blob', blob, name: generic ? '' : (blob.name || ''), size: blob.size, type: blob.type || '' };
}
