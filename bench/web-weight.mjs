// The web client's weight as a browser sees it: bytes on the wire for a
// first load and a reload of a room page (signed in), the requests made,
// and the time until the composer is usable. Runs the release server and
// Debian's Chromium (headless) through e2e/'s playwright-core.
//
// Usage: node bench/web-weight.mjs   (after cargo build --release -p hearth-server)
// Prints a Markdown table; nothing is asserted.

import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
process.env.HEARTH_BIN ??= join(root, 'target/release/hearth');
// e2e/support.mjs imports playwright-core from e2e/node_modules.
const { startServer, launchBrowser, signIn, waitConnected } = await import(
  join(root, 'e2e/support.mjs')
);

const server = await startServer();
const browser = await launchBrowser();
const context = await browser.newContext();
const page = await context.newPage();
const cdp = await context.newCDPSession(page);
await cdp.send('Network.enable');
let bytes = 0;
let requests = [];
let paths = new Map(); // request id -> path
let perPath = new Map(); // path -> bytes on the wire
cdp.on('Network.loadingFinished', (e) => {
  bytes += e.encodedDataLength;
  const path = paths.get(e.requestId) ?? '?';
  perPath.set(path, (perPath.get(path) ?? 0) + e.encodedDataLength);
});
cdp.on('Network.requestWillBeSent', (e) => {
  const path = new URL(e.request.url).pathname;
  requests.push(path);
  paths.set(e.requestId, path);
});

async function measure(load) {
  bytes = 0;
  requests = [];
  perPath = new Map();
  const started = performance.now();
  await load();
  await page.waitForSelector('#composer-text:not([disabled])');
  await waitConnected(page);
  const ready = performance.now() - started;
  return { bytes, requests: [...requests], ready, perPath: new Map(perPath) };
}

const first = await measure(() => signIn(page, server.url, 'ana'));
const reload = await measure(() => page.reload());
const count = (list, path) => list.filter((p) => p === path || p.endsWith(path)).length;

console.log('| load | bytes on the wire | requests | favicon requests | /api/rooms requests | composer usable after |');
console.log('|---|---|---|---|---|---|');
for (const [name, m] of [['first (sign-in, then the room)', first], ['reload', reload]]) {
  console.log(`| ${name} | ${m.bytes} | ${m.requests.length} | ${count(m.requests, '/favicon.svg')} | ${count(m.requests, '/api/rooms')} | ${Math.round(m.ready)} ms |`);
}
// Where a reload's bytes go (headers included), largest first.
console.log('\nreload, bytes per request:');
for (const [path, n] of [...reload.perPath].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])) {
  console.log(`  ${n}\t${path.replace(/\/v\/[0-9a-f]+\//, '/v/<version>/')}`);
}
await browser.close();
await server.stop();
