// A small W3C WebDriver client (fetch only) and the harness for the desktop
// app's end-to-end tests: tauri-driver + WebKitWebDriver drive the real
// `hearth-desktop` window (under Xvfb, started by scripts/test.sh).

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const APP_BIN = process.env.HEARTH_DESKTOP_BIN ?? join(root, 'target/debug/hearth-desktop');
const TAURI_DRIVER = process.env.TAURI_DRIVER ?? join(homedir(), '.cargo/bin/tauri-driver');
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
export const ARTIFACTS = join(root, 'e2e/artifacts');

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The app's own directories (settings, data, outbox): one "installation".
 * The same profile across two sessions is an app restart.
 */
export function newProfile() {
  const home = mkdtempSync(join(tmpdir(), 'hearth-desktop-'));
  return {
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CACHE_HOME: join(home, 'cache'),
  };
}

/** The pids of `pid`'s living descendants (from /proc; Linux only). */
function descendants(pid) {
  const children = new Map(); // ppid -> [pid]
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue; // exited, only not reaped
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  const found = [];
  const queue = [String(pid)];
  while (queue.length) {
    for (const child of children.get(queue.shift()) ?? []) {
      found.push(child);
      queue.push(String(child));
    }
  }
  return found;
}

function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Waits until none of `pids` is alive; false after `ms`. */
async function allGone(pids, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pids.some(alive)) return true;
    await sleep(100);
  }
  return !pids.some(alive);
}

/** tauri-driver on free ports, with the app's environment. */
export async function startDriver(profile) {
  const port = await freePort();
  const nativePort = await freePort();
  const child = spawn(TAURI_DRIVER, ['--port', String(port), '--native-port', String(nativePort)], {
    env: { ...process.env, ...profile },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  const known = new Set(); // descendants seen so far (WebKitWebDriver, the app, its WebKit processes)
  const noteChildren = () => {
    for (const pid of descendants(child.pid)) known.add(pid);
  };
  return {
    base,
    /** Notes tauri-driver's descendants now: stop() ends them even if orphaned by then. */
    noteChildren,
    /**
     * Stops tauri-driver and everything it started. When a session ends
     * badly, WebKitWebDriver or the app can outlive tauri-driver; they hold
     * this process's stdout and stderr, so `node --test` would never exit
     * (seen: every test passed, then the run hung). So: note the
     * descendants (also when a session opened), stop tauri-driver, then
     * TERM (and after 5 s KILL) whichever of them is still alive.
     */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        noteChildren();
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      const left = [...known].filter(alive);
      known.clear();
      for (const pid of left) signal(pid, 'SIGTERM');
      if (!(await allGone(left, 5000))) for (const pid of left) signal(pid, 'SIGKILL');
    },
  };
}

/** One WebDriver request; a driver that never answers fails it after `timeout` ms. */
async function call(base, method, path, body, timeout = 60000) {
  const response = await fetch(`${base}${path}`, {
    method,
    signal: AbortSignal.timeout(timeout),
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(`WebDriver ${method} ${path}: ${response.status} ${JSON.stringify(json.value ?? json)}`);
  }
  return json.value;
}

/** A WebDriver session on the app's main window. */
export class AppSession {
  static async open(driver) {
    const value = await call(driver.base, 'POST', '/session', {
      capabilities: { alwaysMatch: { 'tauri:options': { application: APP_BIN } } },
    });
    driver.noteChildren?.();
    return new AppSession(driver.base, value.sessionId);
  }

  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  cmd(method, path, body, timeout) {
    return call(this.base, method, `/session/${this.id}${path}`, body, timeout);
  }

  /** Ends the session (the app closes); the driver's stop() cleans up after a failure. */
  async close() {
    await this.cmd('DELETE', '', undefined, 15000).catch(() => {});
  }

  /** Runs `script` (a function body; `arguments` available) in the page. */
  exec(script, ...args) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  async find(css) {
    const found = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return found[ELEMENT];
  }

  /** Polls `script` until it returns something truthy. */
  async waitFor(script, { timeout = 20000, message = script } = {}, ...args) {
    const deadline = Date.now() + timeout;
    let last;
    while (Date.now() < deadline) {
      try {
        last = await this.exec(script, ...args);
        if (last) return last;
      } catch (e) {
        last = e;
      }
      await sleep(200);
    }
    throw new Error(`timed out waiting for: ${message} (last: ${last})`);
  }

  /** Waits until an element matching `css` is displayed. */
  waitVisible(css, timeout = 20000) {
    return this.waitFor(
      'const e = document.querySelector(arguments[0]); return !!e && !e.closest("[hidden]") && e.getClientRects().length > 0;',
      { timeout, message: `${css} visible` },
      css,
    );
  }

  async click(css) {
    await this.waitVisible(css);
    await this.cmd('POST', `/element/${await this.find(css)}/click`, {});
  }

  /** Replaces the value of an input or textarea. */
  async type(css, text) {
    await this.waitVisible(css);
    const el = await this.find(css);
    await this.cmd('POST', `/element/${el}/clear`, {});
    await this.cmd('POST', `/element/${el}/value`, { text });
  }

  text(css) {
    return this.exec('const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;', css);
  }

  /** Types into the composer and presses Enter. */
  async send(text) {
    await this.type('#composer-text', text);
    await this.cmd('POST', `/element/${await this.find('#composer-text')}/value`, { text: '\uE007' });
  }

  /** Waits until a stored message with exactly `text` is shown; returns how many. */
  waitForMessage(text, timeout = 30000) {
    return this.waitFor(
      'return [...document.querySelectorAll("#messages .message:not(.pending) .text")].filter((e) => e.textContent === arguments[0]).length;',
      { timeout, message: `message ${JSON.stringify(text)}` },
      text,
    );
  }

  /** Saves a PNG of the window under e2e/artifacts/. */
  async screenshot(name) {
    const png = await this.cmd('GET', '/screenshot');
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, `${name}.png`), Buffer.from(png, 'base64'));
  }
}
