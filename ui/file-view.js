/**
 * file-view.js — the elements of the files a message carries.
 *
 * Owns the DOM of:
 * - a stored message's files (`filesEl`): `div.files`; an image (it has a
 *   thumbnail) as `button.file-thumb > img` in a box sized from its width
 *   and height (file-rules.js), so the list does not jump when it loads;
 *   a click asks `onOpen(file, button)` (the viewer); a thumbnail that
 *   cannot be loaded turns into the file's card. Any other file as
 *   `div.file-card`: `.file-icon` (its extension), `.file-name`,
 *   `.file-size` and `button.file-download`; when the download was saved
 *   to a path (the desktop app), the card says where, with "Show in folder".
 * - a pending message's files (`pendingFilesEl`): `ul.pending-files >
 *   li.pending-file` with name, size and, while uploading, a `progress`
 *   and its percent (`.file-percent`); `updateProgress` moves them in place
 *   (no redraw, so a Cancel button under the pointer keeps its click).
 * URLs come from the transport (`url(file, {thumb})`); text is set with
 * textContent only.
 */

import { h } from './dom.js';
import { humanSize, iconLabel, percent, showsAsImage, thumbBox } from './file-rules.js';

function thumbEl(file, actions) {
  const { url, onOpen } = actions;
  const box = thumbBox(file.width, file.height);
  const img = h('img', {
    src: url(file, { thumb: true }),
    alt: file.name,
    width: box?.width ?? null,
    height: box?.height ?? null,
    loading: 'lazy',
    decoding: 'async',
  });
  const button = h('button', {
    type: 'button',
    class: `file-thumb${box ? '' : ' unsized'}`,
    title: `${file.name} (${humanSize(file.size)})`,
    'aria-label': `Open the image ${file.name}, ${humanSize(file.size)}`,
    dataset: { fileId: String(file.id ?? '') },
  }, img);
  button.addEventListener('click', () => onOpen(file, button));
  img.addEventListener('error', () => { // no thumbnail to show (gone, or refused): the file as a card
    if (button.isConnected) button.replaceWith(cardEl(file, actions));
  }, { once: true });
  return button;
}

function cardEl(file, { onDownload, onShowInFolder }) {
  const saved = h('span', { class: 'file-saved', role: 'status' });
  const download = h('button', {
    type: 'button', class: 'file-download', 'aria-label': `Download ${file.name}`,
  }, 'Download');
  download.addEventListener('click', async () => {
    download.disabled = true;
    saved.textContent = '';
    try {
      const result = await onDownload(file);
      if (result?.path) {
        saved.replaceChildren(`Saved to ${result.path} `, h('button', {
          type: 'button', class: 'link-btn file-show', onclick: () => onShowInFolder(result.path),
        }, 'Show in folder'));
      }
    } catch (err) {
      saved.textContent = `Could not download ${file.name}: ${err.message}`;
      saved.classList.add('error');
    } finally {
      download.disabled = false;
    }
  });
  return h('div', { class: 'file-card', dataset: { fileId: String(file.id ?? '') } },
    h('span', { class: 'file-icon', 'aria-hidden': 'true' }, iconLabel(file.name)),
    h('span', { class: 'file-about' },
      h('span', { class: 'file-name', title: file.name }, file.name),
      h('span', { class: 'file-size' }, humanSize(file.size)),
      saved),
    download);
}

/**
 * A stored message's files. actions: {url(file, {thumb}), onOpen(file,
 * button), onDownload(file) -> {path} | null, onShowInFolder(path)}.
 */
export function filesEl(files, actions) {
  const el = h('div', { class: 'files' });
  for (const file of files) {
    if (!file || typeof file.name !== 'string') continue;
    el.append(showsAsImage(file) ? thumbEl(file, actions) : cardEl(file, actions));
  }
  return el;
}

function progressParts(file, uploading) {
  const p = percent(file.sent, file.size);
  if (!uploading && !file.fileId) return [];
  return [
    h('progress', { max: '100', value: String(p), 'aria-label': `${file.name} uploaded` }),
    h('span', { class: 'file-percent' }, `${p}%`),
  ];
}

/** A pending message's files; `uploading` while the entry is being sent. */
export function pendingFilesEl(files, uploading) {
  const list = h('ul', { class: 'pending-files', 'aria-label': 'Files' });
  for (const file of files) {
    list.append(h('li', { class: 'pending-file' },
      h('span', { class: 'file-icon', 'aria-hidden': 'true' }, iconLabel(file.name)),
      h('span', { class: 'file-name', title: file.name }, file.name),
      h('span', { class: 'file-size' }, humanSize(file.size)),
      ...progressParts(file, uploading)));
  }
  return list;
}

/** Moves the progress bars of a pending message in place; false when its shape changed (redraw it). */
export function updateProgress(el, files) {
  const items = el.querySelectorAll('.pending-files > li');
  if (items.length !== files.length) return false;
  for (const [i, file] of files.entries()) {
    const bar = items[i].querySelector('progress');
    const label = items[i].querySelector('.file-percent');
    if (!bar || !label) return false;
    const p = percent(file.sent, file.size);
    bar.value = p;
    label.textContent = `${p}%`;
  }
  return true;
}
