/**
 * web-files.js — the web transport's file methods that need no outbox
 * (see transport.js, "Files").
 *
 * Owns: `fileUrl` (the server's own URLs: the page is on the same origin
 * and the session cookie authorizes `<img>` and downloads, so no token
 * goes into a URL), `download` (an `<a download>` click: the browser's own
 * download of the original bytes) and `onDroppedFiles` (HTML5 drag and
 * drop of files onto an element, with the drag state for the drop target;
 * files dropped anywhere else on the page are ignored, not opened by the
 * browser in place of the chat).
 */

/** A URL for `<img src>` / href: the file, or its thumbnail (the file when it has none). */
export function fileUrl(file, { thumb = false } = {}) {
  const url = thumb && file?.thumb_url ? file.thumb_url : file?.url;
  return typeof url === 'string' ? url : '';
}

/** Starts the browser's download of the file; resolves null (the browser says where it went). */
export async function download(file) {
  const a = document.createElement('a');
  a.href = fileUrl(file);
  a.download = file?.name || '';
  a.rel = 'noopener';
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  return null;
}

/** The attachments a DataTransfer holds (files only; text or links dragged are not files). */
export function attachmentsOf(dataTransfer) {
  return [...(dataTransfer?.files || [])].map((blob) => ({
    kind: 'blob', blob, name: blob.name, size: blob.size, type: blob.type,
  }));
}

const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes('Files');

let guarded = false;
/** Files dropped beside the drop zone must not make the browser leave the chat to show them. */
function guardWindow() {
  if (guarded) return;
  guarded = true;
  for (const name of ['dragover', 'drop']) {
    window.addEventListener(name, (event) => {
      if (!event.defaultPrevented && carriesFiles(event)) {
        event.preventDefault();
        if (name === 'dragover') event.dataTransfer.dropEffect = 'none';
      }
    });
  }
}

/**
 * Files dropped on `element` go to `handler(attachments)`; while files
 * are dragged over it, `handler.onDragState?.(true)`, and `(false)` when
 * they leave or are dropped. Returns a function that stops listening.
 */
export function onDroppedFiles(element, handler) {
  guardWindow();
  let depth = 0; // dragenter/dragleave also fire for the element's children
  const state = (on) => {
    try {
      handler.onDragState?.(on);
    } catch (err) {
      console.error('hearth: onDragState failed', err);
    }
  };
  const listeners = {
    dragenter: (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth += 1;
      if (depth === 1) state(true);
    },
    dragover: (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault(); // allows the drop
      event.dataTransfer.dropEffect = 'copy';
    },
    dragleave: (event) => {
      if (!carriesFiles(event) || depth === 0) return;
      depth -= 1;
      if (depth === 0) state(false);
    },
    drop: (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault(); // not the browser's "open the file"
      const had = depth > 0;
      depth = 0;
      if (had) state(false);
      const attachments = attachmentsOf(event.dataTransfer);
      if (attachments.length) handler(attachments);
    },
  };
  for (const [name, fn] of Object.entries(listeners)) element.addEventListener(name, fn);
  return () => {
    for (const [name, fn] of Object.entries(listeners)) element.removeEventListener(name, fn);
    if (depth > 0) state(false);
    depth = 0;
  };
}
