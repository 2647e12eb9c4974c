/**
 * search-rules.js — the rules of searching history (protocol v1.1,
 * "People" → Search), apart from any DOM.
 *
 * Owns: what a query may be (`queryProblem`: the sentence shown instead of
 * asking the server), its terms, where they match in a message's text
 * (`highlightRanges`, folded exactly as the server folds: NFD, combining
 * marks stripped, lowercase; substrings, so `天气` matches inside
 * `今天天气很好`), the part of a long text a result shows (`snippet`), that
 * text cut into plain and matched pieces (`pieces`, for text nodes: a
 * message's text never becomes HTML), and the status sentences.
 *
 * Pure: e2e/unit/search-rules.test.mjs tests it.
 */

export const MAX_QUERY_CHARS = 200; // the server answers 400 above this
export const SEARCH_PAGE = 20; // results per page ("More results" asks for the next)
export const SNIPPET_CHARS = 240; // a longer text shows this much around its first match

const MARKS = /\p{M}/gu;

/** One code point folded as the server folds it (may be '' for a mark). */
function foldChar(ch) {
  return ch.normalize('NFD').replace(MARKS, '').toLowerCase().replace(MARKS, '');
}

/** The whole text folded: NFD, combining marks stripped, lowercase. */
export function fold(text) {
  return foldChar(String(text ?? ''));
}

/** The whitespace-separated terms of a query, as typed (empty ones dropped). */
export function terms(q) {
  return String(q ?? '').split(/\s+/u).filter(Boolean);
}

/** Why `q` cannot be searched for (a sentence), or null when it can. */
export function queryProblem(q) {
  const text = String(q ?? '').trim();
  if (!terms(text).length) return 'Type a word to search for.';
  const n = [...text].length;
  if (n > MAX_QUERY_CHARS) {
    return `A search can be at most ${MAX_QUERY_CHARS} characters long (this one has ${n}).`;
  }
  return null;
}

/**
 * The text folded, with, for each UTF-16 unit of the folded text, the
 * UTF-16 range [start, end) of the original code point it came from.
 */
function foldWithMap(text) {
  let folded = '';
  const from = [];
  const to = [];
  let i = 0;
  for (const ch of text) {
    const f = foldChar(ch);
    folded += f;
    for (let k = 0; k < f.length; k += 1) {
      from.push(i);
      to.push(i + ch.length);
    }
    i += ch.length;
  }
  return { folded, from, to };
}

/**
 * Where the terms of `q` occur in `text`: sorted, non-overlapping
 * [start, end) ranges of UTF-16 offsets into `text`, every occurrence of
 * every term, ignoring case and diacritics as the server does. A range
 * also covers the combining marks that follow its last character.
 */
export function highlightRanges(text, q) {
  const source = String(text ?? '');
  const needles = [...new Set(terms(q).map(fold).filter(Boolean))];
  if (!source || !needles.length) return [];
  const { folded, from, to } = foldWithMap(source);
  const raw = [];
  for (const needle of needles) {
    for (let at = folded.indexOf(needle); at >= 0; at = folded.indexOf(needle, at + 1)) {
      let end = to[at + needle.length - 1];
      // Marks after the match fold to nothing: they belong to its last letter.
      while (end < source.length) {
        const next = String.fromCodePoint(source.codePointAt(end));
        if (foldChar(next) !== '') break;
        end += next.length;
      }
      raw.push([from[at], end]);
    }
  }
  raw.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged = [];
  for (const [start, end] of raw) {
    const last = merged.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/** `index` moved back to a code point boundary of `text` (never inside a surrogate pair). */
function boundary(text, index) {
  const code = text.charCodeAt(index);
  return index > 0 && code >= 0xdc00 && code <= 0xdfff ? index - 1 : index;
}

/**
 * The part of a long text a result shows: up to `max` UTF-16 units around
 * the first match, with "…" where it was cut. Returns {text, ranges}
 * (ranges shifted to the shown text, cut at its ends).
 */
export function snippet(text, ranges, max = SNIPPET_CHARS) {
  const source = String(text ?? '');
  if (source.length <= max) return { text: source, ranges };
  const first = ranges[0]?.[0] ?? 0;
  let start = boundary(source, Math.max(0, Math.min(first - Math.floor(max / 3), source.length - max)));
  const end = boundary(source, Math.min(source.length, start + max));
  if (start > 0) {
    const space = source.lastIndexOf(' ', first);
    if (space >= start && space < first) start = space + 1; // start at a word when one is near
  }
  const lead = start > 0 ? '…' : '';
  const tail = end < source.length ? '…' : '';
  const shift = lead.length - start;
  const shown = [];
  for (const [a, b] of ranges) {
    if (b <= start || a >= end) continue;
    shown.push([Math.max(a, start) + shift, Math.min(b, end) + shift]);
  }
  return { text: lead + source.slice(start, end) + tail, ranges: shown };
}

/** `text` cut at `ranges`: [{text, hit}] in order, covering all of it. */
export function pieces(text, ranges) {
  const out = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) out.push({ text: text.slice(at, start), hit: false });
    if (end > start) out.push({ text: text.slice(start, end), hit: true });
    at = Math.max(at, end);
  }
  if (at < text.length) out.push({ text: text.slice(at), hit: false });
  return out;
}

/**
 * The status line of a search: `shown` results so far, `more` whether the
 * server may have more, `scope` the room searched (null: all rooms).
 */
export function resultsSentence(q, shown, more, scope = null) {
  const where = scope ? ` in ${/^[#@]/.test(scope) ? scope : `#${scope}`}` : ''; // a label ("@bo" for a DM) or a room name
  if (!shown) return `No messages${where} match “${String(q).trim()}”.`;
  const count = shown === 1 ? '1 message' : `${shown} messages`;
  return more ? `${count}${where} so far, newest first.` : `${count}${where}, newest first.`;
}

/** The sentence shown when a search failed (`err`: a TransportError or any Error). */
export function failureSentence(err) {
  const why = String(err?.message || '').trim();
  if (!why) return 'The search failed. Try again.';
  return `The search failed: ${why.replace(/[.\s]+$/u, '')}.`;
}
