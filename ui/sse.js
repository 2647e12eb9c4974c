/**
 * sse.js — a Server-Sent Events parser, nothing else.
 *
 * Owns: turning text chunks of a `text/event-stream` body into events, as the
 * HTML standard's "event stream interpretation" describes. It is fed decoded
 * text in arbitrary chunks (a line, a CR/LF pair or a UTF-8 sequence may be
 * split across chunks: decode with `TextDecoder(..., {stream: true})` before
 * feeding) and calls `onEvent({event, data, id})` for each complete event.
 *
 * - Line endings: `\r\n`, `\r` and `\n` (a `\r` at the end of one chunk and a
 *   `\n` at the start of the next count as one line ending).
 * - Fields: `event`, `data` (several `data:` lines are joined with `\n`),
 *   `id` (ignored if it contains NUL), `retry` (digits only); one space after
 *   the colon is dropped; unknown fields are ignored.
 * - Comments (lines starting with `:`, e.g. the server's `: ping`) are passed
 *   to the optional `onComment(text)`; they carry no event.
 * - An event with no `data` line is not dispatched (but its `id` still
 *   becomes the last event id), as in the standard.
 * - `lastEventId` persists across events (an event without `id:` keeps it);
 *   it can be seeded in the constructor so a reconnect carries it on.
 *
 * It knows nothing about networks, rooms or JSON.
 */

export class SseParser {
  /**
   * @param {object} handlers
   * @param {(ev: {event: string, data: string, id: string}) => void} handlers.onEvent
   * @param {(text: string) => void} [handlers.onComment]
   * @param {(ms: number) => void} [handlers.onRetry]
   * @param {string} [lastEventId] initial last event id (e.g. a saved cursor)
   */
  constructor({ onEvent, onComment, onRetry } = {}, lastEventId = '') {
    this.onEvent = onEvent || (() => {});
    this.onComment = onComment || (() => {});
    this.onRetry = onRetry || (() => {});
    /** The id of the last event that had an `id:` field (the resume cursor). */
    this.lastEventId = lastEventId || '';
    this._buffer = '';
    this._pendingCR = false; // the previous chunk ended in '\r'
    this._first = true; // a leading BOM is dropped
    this._resetEvent();
  }

  _resetEvent() {
    this._eventType = '';
    this._data = [];
    this._hasData = false;
  }

  /** Feeds a chunk of decoded text. */
  feed(chunk) {
    if (!chunk) return;
    let text = chunk;
    if (this._first) {
      this._first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this._pendingCR) {
      this._pendingCR = false;
      if (text[0] === '\n') text = text.slice(1); // second half of a CRLF
    }
    let buf = this._buffer + text;
    let start = 0;
    for (;;) {
      // Find the next line ending (\r, \n or \r\n) from `start`.
      let i = start;
      const n = buf.length;
      while (i < n) {
        const c = buf.charCodeAt(i);
        if (c === 10 || c === 13) break;
        i++;
      }
      if (i >= n) break; // no complete line left
      const line = buf.slice(start, i);
      if (buf.charCodeAt(i) === 13) {
        if (i + 1 < n) {
          start = buf.charCodeAt(i + 1) === 10 ? i + 2 : i + 1;
        } else {
          // '\r' is the last character: a '\n' may follow in the next chunk.
          this._pendingCR = true;
          start = i + 1;
        }
      } else {
        start = i + 1;
      }
      this._line(line);
    }
    this._buffer = buf.slice(start);
  }

  /**
   * The stream ended. An incomplete last event is discarded, as the standard
   * says; the buffer is cleared so the parser could be reused.
   */
  end() {
    this._buffer = '';
    this._pendingCR = false;
    this._resetEvent();
  }

  _line(line) {
    if (line === '') {
      this._dispatch();
      return;
    }
    if (line[0] === ':') {
      this.onComment(line.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = line.indexOf(':');
    let field;
    let value;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
    }
    switch (field) {
      case 'event':
        this._eventType = value;
        break;
      case 'data':
        this._data.push(value);
        this._hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.onRetry(Number(value));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  _dispatch() {
    if (!this._hasData) {
      this._resetEvent();
      return;
    }
    const ev = {
      event: this._eventType || 'message',
      data: this._data.join('\n'),
      id: this.lastEventId,
    };
    this._resetEvent();
    this.onEvent(ev);
  }
}
