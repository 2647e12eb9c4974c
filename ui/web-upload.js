/**
 * web-upload.js — one file upload to the page's own server, for the web
 * transport, with progress and abort.
 *
 * Owns: `upload(blob, name, {type, onProgress})` -> {promise, abort}:
 * `POST /api/files?name=<name>` with the raw bytes as the body and the
 * file's type as its Content-Type (protocol v1.1 "files"), over
 * XMLHttpRequest because fetch reports no upload progress. The session
 * cookie authorizes it. The promise resolves with the server's FileInfo
 * and rejects with a TransportError (status 0: no answer; `aborted` set
 * when `abort()` ended it). A stalled upload (no progress for STALL_MS)
 * is given up as a network failure, so the outbox retries it.
 */

import { TransportError } from './transport-error.js';

const STALL_MS = 60_000;

function parseRetryAfter(xhr) {
  const value = xhr.getResponseHeader('Retry-After');
  return value && /^\s*\d+\s*$/.test(value) ? Math.max(1, Number(value)) : null;
}

/** The server's `error` sentence of a refused upload, else a sentence from the status. */
function errorOf(xhr) {
  let message = '';
  try {
    const body = JSON.parse(xhr.responseText);
    if (body && typeof body.error === 'string') message = body.error;
  } catch {
    message = String(xhr.responseText || '').slice(0, 300);
  }
  if (!message) message = `The server answered ${xhr.status} ${xhr.statusText}`.trim();
  return new TransportError(xhr.status, message, { retryAfter: parseRetryAfter(xhr) });
}

/**
 * Uploads `blob` as `name`. onProgress(sentBytes) is called as bytes go
 * out (not after the last one: the answer says the file is stored).
 */
export function upload(blob, name, { type = '', onProgress = () => {} } = {}) {
  const xhr = new XMLHttpRequest();
  let stallTimer = 0;
  let aborted = false;
  const promise = new Promise((resolve, reject) => {
    const stalled = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        xhr.abort();
        reject(new TransportError(0, 'The upload stalled: the server stopped taking the file.'));
      }, STALL_MS);
    };
    xhr.open('POST', `/api/files?name=${encodeURIComponent(name)}`);
    xhr.setRequestHeader('Content-Type', type || blob.type || 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.withCredentials = true;
    xhr.upload.onprogress = (event) => {
      stalled();
      if (event.lengthComputable) onProgress(Math.min(event.loaded, blob.size));
    };
    xhr.onload = () => {
      clearTimeout(stallTimer);
      if (xhr.status < 200 || xhr.status >= 300) {
        reject(errorOf(xhr));
        return;
      }
      try {
        const info = JSON.parse(xhr.responseText);
        if (!info || typeof info.id !== 'string') throw new Error('no id');
        resolve(info);
      } catch {
        reject(new TransportError(xhr.status >= 500 ? xhr.status : 502, 'The server sent an unreadable answer to an upload.', { kind: 'server' }));
      }
    };
    xhr.onerror = () => {
      clearTimeout(stallTimer);
      reject(new TransportError(0, 'Cannot reach the server.'));
    };
    xhr.onabort = () => {
      clearTimeout(stallTimer);
      const err = new TransportError(0, aborted ? 'The upload was cancelled.' : 'The upload stalled: the server stopped taking the file.');
      err.aborted = aborted;
      reject(err);
    };
    stalled();
    xhr.send(blob);
  });
  return {
    promise,
    abort() {
      aborted = true;
      xhr.abort();
    },
  };
}
