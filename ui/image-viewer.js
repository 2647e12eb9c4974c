/**
 * image-viewer.js — an image of a message, full size, over the chat.
 *
 * Owns: `#image-viewer` (a modal dialog: the image fitted to the window,
 * its name and size, Download, and Close). Escape, the Close button or a
 * click beside the image closes it; Tab stays inside it while it is open;
 * focus goes back to what opened it (the thumbnail).
 */

import { $, h } from './dom.js';
import { humanSize } from './file-rules.js';

export class ImageViewer {
  /** @param {object} actions {url(file, {thumb}), onDownload(file)} */
  constructor(actions) {
    this.actions = actions;
    this.file = null;
    this.returnTo = null;
    this.img = h('img', { class: 'viewer-image', alt: '' });
    this.caption = h('span', { class: 'viewer-caption' });
    this.closeBtn = h('button', { type: 'button', class: 'viewer-close', 'aria-label': 'Close the image (Escape)' }, '×');
    this.downloadBtn = h('button', { type: 'button', class: 'viewer-download' }, 'Download');
    this.el = h('div', {
      id: 'image-viewer', class: 'image-viewer', role: 'dialog', 'aria-modal': 'true', 'aria-label': 'Image', hidden: true,
    }, h('div', { class: 'viewer-bar' }, this.caption, this.downloadBtn, this.closeBtn), h('div', { class: 'viewer-stage' }, this.img));
    $('body').append(this.el);
    this.closeBtn.addEventListener('click', () => this.close());
    this.downloadBtn.addEventListener('click', () => {
      if (this.file) Promise.resolve(this.actions.onDownload(this.file)).catch(() => {});
    });
    this.el.querySelector('.viewer-stage').addEventListener('click', (event) => {
      if (event.target !== this.img) this.close(); // beside the image
    });
    document.addEventListener('keydown', (event) => { // first, wherever focus went (a click on the image)
      if (this.isOpen) this._key(event);
    }, true);
  }

  get isOpen() {
    return !this.el.hidden;
  }

  /** Shows `file` (a message's image); focus returns to `returnTo` on close. */
  open(file, returnTo = null) {
    this.file = file;
    this.returnTo = returnTo;
    this.img.alt = file.name;
    this.img.src = this.actions.url(file);
    this.caption.textContent = `${file.name} · ${humanSize(file.size)}`;
    this.el.setAttribute('aria-label', file.name);
    this.el.hidden = false;
    this.closeBtn.focus();
  }

  close() {
    if (!this.isOpen) return;
    this.el.hidden = true;
    this.img.removeAttribute('src');
    this.file = null;
    const back = this.returnTo;
    this.returnTo = null;
    if (back?.isConnected) back.focus();
  }

  _key(event) {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      this.close();
    } else if (event.key === 'Tab') { // two buttons: Tab goes round them
      event.preventDefault();
      (document.activeElement === this.closeBtn ? this.downloadBtn : this.closeBtn).focus();
    }
  }
}
