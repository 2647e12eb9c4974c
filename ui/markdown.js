/**
 * markdown.js — the small Markdown subset of messages, parsed to a tree.
 *
 * Owns: what message text means as formatting. Pure: no DOM; it returns
 * plain objects, and markdown-dom.js turns them into elements (with
 * createElement/textContent only). There is no HTML in this subset: `<b>`
 * or `<script>` are text like any other.
 *
 * The subset, line by line:
 * - a line of three or more backticks opens a code block (the rest of the
 *   line: a language word, else the first line of code); a line with at
 *   least as many backticks, or a code line ending with exactly that many,
 *   closes it. Unterminated, it runs to the end of the message (as
 *   CommonMark does). Nothing inside is formatted or linked.
 * - lines starting with `>` (an optional space after it) form a quote;
 * - other lines are text. Within ONE line (formatting never spans lines):
 *   `code` (a run of n backticks up to the next run of exactly n), http(s)
 *   URLs as links (trailing punctuation and an unmatched closing bracket
 *   are left out), `**strong**`, `*em*`, and `\*` for a literal star.
 *   Stars follow CommonMark's rules for `_`: they open and close only at
 *   word edges, so `5*3*2` stays as typed. Underscores mean nothing.
 *   Unmatched stars are text; nesting deeper than MAX_NEST is text.
 *
 * Every step is linear in the input (no backtracking regexes on the text,
 * no rescans), so a hostile 100k-character message is cheap.
 *
 * Tree: an array of nodes, text-level ones and blocks mixed in order:
 *   {type: 'text', text}            newlines are kept (CSS pre-wrap)
 *   {type: 'strong' | 'em', children}
 *   {type: 'code', text}            inline code
 *   {type: 'link', href, text}      href is http: or https:, text === href
 *   {type: 'quote', children}       text-level children
 *   {type: 'codeblock', lang, text} lang '' when none was given
 */

/** Stars opened but not yet closed, at most (deeper ones stay text). */
export const MAX_NEST = 8;

const FENCE_RE = /^ {0,3}(`{3,})([^`]*)$/;
const LANG_RE = /^[\w+#.-]*$/;
const QUOTE_RE = /^ {0,3}> ?/;
const URL_RE = /\bhttps?:\/\/[^\s<>"`]+/gi;
const TRAILING = new Set('.,;:!?\'"\u2019\u201d*_'.split(''));
const BRACKETS = { ')': '(', ']': '[', '}': '{' };
const PUNCT_RE = /[\p{P}\p{S}]/u;
const SPACE_RE = /\s/u;

/* ---------------------------------------------------------------- links */

/**
 * The URL without what ends the sentence around it: trailing punctuation,
 * and closing brackets with no opener inside the URL. Linear: brackets are
 * counted once, then characters come off the end.
 */
export function trimUrl(raw) {
  const open = { '(': 0, '[': 0, '{': 0 };
  const close = { ')': 0, ']': 0, '}': 0 };
  for (const ch of raw) {
    if (ch in open) open[ch] += 1;
    else if (ch in close) close[ch] += 1;
  }
  let end = raw.length;
  while (end > 0) {
    const ch = raw[end - 1];
    if (TRAILING.has(ch)) {
      end -= 1;
    } else if (ch in close && close[ch] > open[BRACKETS[ch]]) {
      close[ch] -= 1;
      end -= 1;
    } else {
      break;
    }
  }
  return raw.slice(0, end);
}

/** True for an absolute http(s) URL with a host: the only links there are. */
export function isSafeHref(text) {
  if (!/^https?:\/\//i.test(text)) return false;
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && Boolean(u.host);
  } catch {
    return false;
  }
}

/* --------------------------------------------------------------- inline */

const isSpace = (ch) => ch === undefined || SPACE_RE.test(ch);
const isPunct = (ch) => ch !== undefined && PUNCT_RE.test(ch);

/** A run of stars at line[start, end): can it open, close (CommonMark's `_` rules)? */
function delimiter(line, start, end) {
  const before = start > 0 ? line[start - 1] : undefined;
  const after = end < line.length ? line[end] : undefined;
  const left = !isSpace(after) && (!isPunct(after) || isSpace(before) || isPunct(before));
  const right = !isSpace(before) && (!isPunct(before) || isSpace(after) || isPunct(after));
  return {
    t: 'delim',
    n: end - start,
    canOpen: left && (!right || isPunct(before)),
    canClose: right && (!left || isPunct(after)),
    opens: [], // lengths used as an opener, innermost first
    closes: [], // lengths used as a closer, innermost first
    avail: 0,
  };
}

/** Text between code spans: links, star runs, `\*`, plain text. */
function lexText(line, from, to, tokens) {
  const push = (s) => {
    if (!s) return;
    const last = tokens[tokens.length - 1];
    if (last && last.t === 'text') last.s += s;
    else tokens.push({ t: 'text', s });
  };
  const plain = (a, b) => {
    let start = a;
    for (let i = a; i < b; i++) {
      if (line[i] === '\\' && line[i + 1] === '*' && i + 1 < b) {
        push(line.slice(start, i));
        push('*');
        i += 1;
        start = i + 1;
      } else if (line[i] === '*') {
        push(line.slice(start, i));
        let j = i;
        while (j < b && line[j] === '*') j += 1;
        tokens.push(delimiter(line, i, j));
        i = j - 1;
        start = j;
      }
    }
    push(line.slice(start, b));
  };
  const segment = line.slice(from, to);
  let last = 0;
  URL_RE.lastIndex = 0;
  for (let m = URL_RE.exec(segment); m; m = URL_RE.exec(segment)) {
    const url = trimUrl(m[0]);
    if (!isSafeHref(url)) continue;
    plain(from + last, from + m.index);
    tokens.push({ t: 'link', s: url });
    last = m.index + url.length;
    URL_RE.lastIndex = last;
  }
  plain(from + last, to);
}

/** One line into tokens: code spans first, then the text between them. */
function lex(line) {
  const runs = []; // [start, length] of every backtick run
  const byLength = new Map(); // length -> indices into runs
  const place = []; // index of each run within its length's list
  for (let i = 0; i < line.length; i++) {
    if (line[i] !== '`') continue;
    let j = i;
    while (j < line.length && line[j] === '`') j += 1;
    const n = j - i;
    if (!byLength.has(n)) byLength.set(n, []);
    place.push(byLength.get(n).length);
    byLength.get(n).push(runs.length);
    runs.push([i, n]);
    i = j - 1;
  }
  const tokens = [];
  let pos = 0;
  for (let k = 0; k < runs.length;) {
    const [start, n] = runs[k];
    const closer = byLength.get(n)[place[k] + 1];
    if (closer === undefined) {
      k += 1; // no closer: the backticks stay text
      continue;
    }
    lexText(line, pos, start, tokens);
    const end = runs[closer][0];
    let code = line.slice(start + n, end);
    if (code.length > 1 && code.startsWith(' ') && code.endsWith(' ') && code.trim()) code = code.slice(1, -1);
    tokens.push({ t: 'code', s: code });
    pos = end + n;
    k = closer + 1;
  }
  lexText(line, pos, line.length, tokens);
  return tokens;
}

/** Pairs star runs: each closer takes the innermost open run (a stack). */
function pairStars(tokens) {
  const stack = [];
  for (const tok of tokens) {
    if (tok.t !== 'delim') continue;
    let rem = tok.n;
    if (tok.canClose) {
      while (rem > 0 && stack.length) {
        const opener = stack[stack.length - 1];
        const use = opener.avail >= 2 && rem >= 2 ? 2 : 1;
        opener.opens.push(use);
        opener.avail -= use;
        tok.closes.push(use);
        rem -= use;
        if (opener.avail === 0) stack.pop();
      }
    }
    if (rem > 0 && tok.canOpen && stack.length < MAX_NEST) {
      tok.avail = rem;
      stack.push(tok);
    }
  }
}

/** Tokens (paired) into nodes, appended to `out`. */
function build(tokens, out) {
  const stack = [out];
  const append = (node) => {
    const kids = stack[stack.length - 1];
    const last = kids[kids.length - 1];
    if (node.type === 'text' && last?.type === 'text') last.text += node.text;
    else if (node.type !== 'text' || node.text) kids.push(node);
  };
  for (const tok of tokens) {
    if (tok.t === 'text') append({ type: 'text', text: tok.s });
    else if (tok.t === 'code') append({ type: 'code', text: tok.s });
    else if (tok.t === 'link') append({ type: 'link', href: tok.s, text: tok.s });
    else {
      for (let i = 0; i < tok.closes.length; i++) stack.pop();
      const used = tok.closes.reduce((a, b) => a + b, 0) + tok.opens.reduce((a, b) => a + b, 0);
      append({ type: 'text', text: '*'.repeat(tok.n - used) });
      for (let i = tok.opens.length - 1; i >= 0; i--) {
        const node = { type: tok.opens[i] === 2 ? 'strong' : 'em', children: [] };
        append(node);
        stack.push(node.children);
      }
    }
  }
  return out;
}

/** Text-level nodes of `lines`, joined by newlines, appended to `out`. */
function inlineLines(lines, out) {
  lines.forEach((line, i) => {
    if (i > 0) build([{ t: 'text', s: '\n' }], out);
    const tokens = lex(line);
    pairStars(tokens);
    build(tokens, out);
  });
  return out;
}

/* --------------------------------------------------------------- blocks */

/** A fence opener: {n, lang, first (a first code line or null)} or null. */
function openFence(line) {
  const m = FENCE_RE.exec(line);
  if (!m) return null;
  const rest = m[2].trim();
  if (LANG_RE.test(rest)) return { n: m[1].length, lang: rest, first: null };
  return { n: m[1].length, lang: '', first: m[2].replace(/^ /, '') };
}

/** The code line that closes a fence of `n`: {code (text before the fence, or null)} or null. */
function closeFence(line, n) {
  const only = /^ {0,3}(`+)\s*$/.exec(line);
  if (only && only[1].length >= n) return { code: null };
  const trimmed = line.trimEnd();
  const tail = trimmed.length - n;
  if (tail > 0 && trimmed.endsWith('`'.repeat(n)) && trimmed[tail - 1] !== '`') {
    return { code: trimmed.slice(0, tail) };
  }
  return null;
}

/** Message text into the tree described at the top of this file. */
export function parse(text) {
  const lines = String(text ?? '').split(/\r?\n/);
  const out = [];
  let para = [];
  const flush = () => {
    if (para.length) inlineLines(para, out);
    para = [];
  };
  for (let i = 0; i < lines.length;) {
    const fence = openFence(lines[i]);
    if (fence) {
      flush();
      const code = fence.first === null ? [] : [fence.first];
      for (i += 1; i < lines.length; i++) {
        const end = closeFence(lines[i], fence.n);
        if (end) {
          if (end.code !== null) code.push(end.code);
          i += 1;
          break;
        }
        code.push(lines[i]);
      }
      out.push({ type: 'codeblock', lang: fence.lang, text: code.join('\n') });
      continue;
    }
    if (QUOTE_RE.test(lines[i])) {
      flush();
      const quoted = [];
      for (; i < lines.length && QUOTE_RE.test(lines[i]); i++) {
        quoted.push(lines[i].replace(QUOTE_RE, ''));
      }
      out.push({ type: 'quote', children: inlineLines(quoted, []) });
      continue;
    }
    para.push(lines[i]);
    i += 1;
  }
  flush();
  return out;
}

/** The text a tree shows (what a reader copies), for tests and plain views. */
export function plainText(nodes) {
  let s = '';
  for (const node of nodes) {
    if (node.children) s += plainText(node.children);
    else s += node.text;
  }
  return s;
}
