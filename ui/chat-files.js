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
 * message with files still shows them without it.
 *
 * Part of the controller (chat.js): it works on the Chat it is given.
 */

import { AttachTray } from './attach-tray.js';
import { filesEnabled, maxFileBytes } from './file-rules.js';
import { ImageViewer } from './image-viewer.js';

export class ChatFiles {
  /** @param {import('./chat.js').Chat} chat */
  constructor(chat) {
    this.chat = chat;
    const { transport } = chat;
    this.tray = new AttachTray(transport, { onChange: () => chat.composer?.filesChanged() });
    this.viewer = new ImageViewer({
      url: (file) => transport.fileUrl(file),
      onDownload: async (file) => { // the viewer has no room for the card's "Saved to": a notice says it
        try {
          const saved = await this.download(file);
          if (saved?.path) chat.showTransient(`Saved to ${saved.path}`);
        } catch (err) {
          chat.showTransient(`Could not download ${file.name}: ${err.message}`);
        }
      },
    });
  }

  /** For the message list (message-item.js). */
  get listActions() {
    const { transport } = this.chat;
    return {
      files: {
        url: (file, options) => transport.fileUrl(file, options),
        onOpen: (file, from) => this.viewer.open(file, from),
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
    this.viewer.close();
  }
}
