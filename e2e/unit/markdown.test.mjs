// The message Markdown subset (ui/markdown.js), without a browser: what
// each marker means, and hostile input that must stay text.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { MAX_NEST, isSafeHref, parse, plainText, trimUrl } from '../../ui/markdown.js';

const text = (t) => ({ type: 'text', text: t });
const strong = (...children) => ({ type: 'strong', children });
const em = (...children) => ({ type: 'em', children });
const code = (t) => ({ type: 'code', text: t });
const link = (href) => ({ type: 'link', href, text: href });

/** Every node of a tree, depth first. */
function* walk(nodes) {
  for (const node of nodes) {
    yield node;
    if (node.children) yield* walk(node.children);
  }
}

const links = (nodes) => [...walk(nodes)].filter((n) => n.type === 'link').map((n) => n.href);

describe('formatting', () => {
  test('plain text is one text node, newlines kept', () => {
    assert.deepEqual(parse('hello\nworld'), [text('hello\nworld')]);
    assert.deepEqual(parse(''), []);
  });

  test('bold, italic, both, and nested', () => {
    assert.deepEqual(parse('**bold** and *it*'), [strong(text('bold')), text(' and '), em(text('it'))]);
    assert.deepEqual(parse('***both***'), [em(strong(text('both')))]);
    assert.deepEqual(parse('**a *b* c**'), [strong(text('a '), em(text('b')), text(' c'))]);
  });

  test('inline code keeps its markers and is not linked', () => {
    assert.deepEqual(parse('run `rm -rf *tmp*` now'), [text('run '), code('rm -rf *tmp*'), text(' now')]);
    assert.deepEqual(parse('`https://example.com/`'), [code('https://example.com/')]);
    assert.deepEqual(parse('`` a ` b ``'), [code('a ` b')]);
    assert.deepEqual(parse('**`x`**'), [strong(code('x'))]);
  });

  test('a fenced code block: language, no formatting inside, text after', () => {
    assert.deepEqual(parse('look:\n```js\nlet a = *b* + **c**;\n<b>x</b>\n```\nafter'), [
      text('look:'),
      { type: 'codeblock', lang: 'js', text: 'let a = *b* + **c**;\n<b>x</b>' },
      text('after'),
    ]);
  });

  test('code on the fence lines, as people type it in chat', () => {
    assert.deepEqual(parse('``` first line\nlast line```'), [{ type: 'codeblock', lang: '', text: 'first line\nlast line' }]);
    assert.deepEqual(parse('```one line```'), [code('one line')]);
  });

  test('an unterminated fence runs to the end of the message', () => {
    assert.deepEqual(parse('```\nunterminated *x*\n> not a quote'), [
      { type: 'codeblock', lang: '', text: 'unterminated *x*\n> not a quote' },
    ]);
  });

  test('quotes: consecutive > lines, formatted inside', () => {
    assert.deepEqual(parse('> one **b**\n>two\nplain'), [
      { type: 'quote', children: [text('one '), strong(text('b')), text('\ntwo')] },
      text('plain'),
    ]);
  });

  test('links: http(s) only, trailing punctuation and lone brackets left out', () => {
    assert.deepEqual(parse('see https://example.com/a?b=1.'), [text('see '), link('https://example.com/a?b=1'), text('.')]);
    assert.deepEqual(links(parse('(https://en.wikipedia.org/wiki/Rust_(language))')), ['https://en.wikipedia.org/wiki/Rust_(language)']);
    assert.deepEqual(links(parse('[x](https://example.com/x), ok?')), ['https://example.com/x']);
    assert.deepEqual(links(parse('"http://a.example/q", "https://b.example/";')), ['http://a.example/q', 'https://b.example/']);
    assert.deepEqual(parse('**https://example.com/**'), [strong(link('https://example.com/'))]);
    assert.deepEqual(links(parse('https://example.com/*not*_em_')), ['https://example.com/*not*_em']);
  });

  test('underscores mean nothing; stars inside words and numbers stay', () => {
    for (const t of ['snake_case_name', '__init__ and _x_', '5*3*2 = 30', 'a * b * c', '** not bold **', '****']) {
      assert.deepEqual(parse(t), [text(t)], t);
    }
  });

  test('\\* is a literal star', () => {
    assert.deepEqual(parse('\\*not italic\\*'), [text('*not italic*')]);
  });
});

describe('hostile input stays text', () => {
  test('HTML and script tags are text', () => {
    for (const t of ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>', '<b>bold?</b>', '<a href="javascript:alert(1)">x</a>']) {
      assert.deepEqual(parse(t), [text(t)], t);
    }
  });

  test('javascript:, data: and vbscript: are never linked', () => {
    const hostile = [
      '[x](javascript:alert(1))',
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
      'javascript://%0aalert(1)',
      'https:javascript:alert(1)',
      'http://',
    ];
    for (const t of hostile) {
      assert.deepEqual(links(parse(t)), [], t);
      assert.equal(plainText(parse(t)), t, t);
    }
    assert.equal(isSafeHref('javascript:alert(1)'), false);
    assert.equal(isSafeHref('data:text/html,x'), false);
    assert.equal(isSafeHref('https://example.com/'), true);
  });

  test('unbalanced markers keep their stars as text', () => {
    assert.deepEqual(parse('**not closed'), [text('**not closed')]);
    assert.deepEqual(parse('*a **b'), [text('*a **b')]);
    assert.deepEqual(parse('`open code'), [text('`open code')]);
    assert.deepEqual(parse('**b*'), [text('*'), em(text('b'))]);
    // A marker never spans lines.
    assert.deepEqual(parse('*a\nb*'), [text('*a\nb*')]);
  });

  test('deep nesting stops at MAX_NEST (the rest is text)', () => {
    const depth = 50;
    const tree = parse(`${'*x '.repeat(depth)}y${' z*'.repeat(depth)}`);
    let max = 0;
    const measure = (nodes, d) => {
      for (const n of nodes) {
        if (n.children) {
          max = Math.max(max, d + 1);
          measure(n.children, d + 1);
        }
      }
    };
    measure(tree, 0);
    assert.ok(max <= MAX_NEST, `nested ${max} deep`);
  });

  test('100k characters of markers and URLs parse, and the text survives', () => {
    const inputs = [
      '*'.repeat(100_000),
      '*a '.repeat(33_000),
      '`'.repeat(50_000) + 'x' + '`'.repeat(49_999),
      '` `` ```` '.repeat(10_000),
      `https://example.com/${')'.repeat(50_000)}`,
      `https://example.com/${'.'.repeat(50_000)}a`,
      'https://'.repeat(12_000),
      '> *'.repeat(30_000),
      'x\n'.repeat(50_000),
      '\\*'.repeat(50_000),
    ];
    for (const input of inputs) {
      const tree = parse(input);
      assert.ok(Array.isArray(tree));
      const shown = plainText(tree);
      assert.ok(shown.length > 0 && shown.length <= input.length);
    }
    assert.equal(plainText(parse('*'.repeat(100_000))), '*'.repeat(100_000));
    assert.deepEqual(links(parse(`https://example.com/${')'.repeat(50_000)}`)), ['https://example.com/']);
  });

  test('trimUrl leaves balanced brackets and cuts the rest', () => {
    assert.equal(trimUrl('https://x.example/a_(b)'), 'https://x.example/a_(b)');
    assert.equal(trimUrl('https://x.example/a)'), 'https://x.example/a');
    assert.equal(trimUrl('https://x.example/a?!.'), 'https://x.example/a');
  });
});
