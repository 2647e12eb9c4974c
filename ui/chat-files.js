/**
 * chat-files.js — the chat view's files (protocol v1.1 "files").
 *
 * Owns: the composer's tray (attach-tray.js: attach, drop, paste, the
 * limit checked before sending), the image viewer (image-viewer.js) and
 * what the message list does with a message's files (file-view.js: open
 * an image, download a file, show a saved one in its folder), through the
 * transport interface only (fileUrl, download, showInFolder,
 * onDroppedFiles). The outbox uploads what Send takes from the tray
 * (chat-pending.js). Offered only when info().features has "files"; a
 * message with files still shows them without it. The viewer's module is
 * loaded when an image is first opened (most sessions never open one).
 *
 * Part of the controller (chat.js): it works on the Chat it is given.
 */

import { AttachTray } from './attach-tray.js';
import { filesEnabled, maxFileBytes } from './file-rules.js';

export class ChatFiles {
  /** @param {import('./chat.js').Chat} chat */
  constructor(chat) {
    this.chat = chat;
    const { transport } = chat;
    this.tray = new AttachTray(transport, { onChange: () => chat.composer?.filesChanged() });
    this.viewer = null; // image-viewer.js's ImageViewer, once an image was opened
  }

  /** Opens an image full size (`from`: what focus goes back to); loads the viewer the first time. */
  async openImage(file, from) {
    const { chat } = this;
    const epoch = chat.epoch;
    if (!this.viewer) {
      const { ImageViewer } = await import('./image-viewer.js');
      this.viewer ??= new ImageViewer({
        url: (f) => chat.transport.fileUrl(f),
        onDownload: async (f) => { // the viewer has no room for the card's "Saved to": a notice says it
          try {
            const saved = await this.download(f);
            if (saved?.path) chat.showTransient(`Saved to ${saved.path}`);
          } catch (err) {
            chat.showTransient(`Could not download ${f.name}: ${err.message}`);
          }
        },
      });
    }
    if (epoch === chat.epoch) this.viewer.open(file, from); // unless the session ended meanwhile
  }

  /** For the message list (message-item.js). */
  get listActions() {
    const { transport } = this.chat;
    return {
      files: {
        url: (file, options) => transport.fileUrl(file, options),
        onOpen: (file, from) => {
          this.openImage(file, from).catch((err) => this.chat.showTransient(`Could not open the image: ${err.message}`));
        },
        onDownload: (file) => this.download(file),
        onShowInFolder: (path) => Promise.resolve(transport.showInFolder(path))
          .catch((err) => this.chat.showTransient(`Could not show the file: ${err.message}`)),
      },
    };
  }

  /** For the composer (composer-view.js): how many files wait, and why Send must wait. */
  get composerFiles() {
    return { count: () => this.tray.count, refusal: () => this.tray.refusal() };
  }

  /** The server's files feature and limit, and whether a message can be written now. */
  render() {
    const { info, me, current } = this.chat.state;
    this.tray.render({ enabled: filesEnabled(info), maxBytes: maxFileBytes(info), usable: Boolean(me && current) });
  }

  /** Downloads a message's file: {path} when the transport saved it (the app), else null. */
  download(file) {
    return this.chat.transport.download(file);
  }

  /** The session ended: the tray empties, the viewer closes. */
  reset() {
    this.tray.clear();
    this.viewer?.close();
  }
}
