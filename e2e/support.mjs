// Support for the browser tests: a real `hearth serve` child process, Debian's
// Chromium driven by playwright-core, and small page helpers that speak the
// web client's DOM contract (ids and classes listed in ui/index.html).

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
export const HEARTH_BIN = process.env.HEARTH_BIN ?? join(root, 'target/debug/hearth');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = join(root, 'e2e/artifacts');

/** Starts `hearth serve` on 127.0.0.1 (port 0 = any free port). */
export async function startServer({ data, port = 0, args = [] } = {}) {
  data ??= mkdtempSync(join(tmpdir(), 'hearth-e2e-'));
  const child = spawn(
    HEARTH_BIN,
    ['serve', '--bind', `127.0.0.1:${port}`, '--data', data, '--sync', 'normal', '--log', 'warn', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error('hearth did not start in time')), 15000);
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const found = seen.match(/listening on (http:\/\/\S+)/);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`hearth exited (${code}) before listening`)));
  });
  child.stdout.resume();
  return {
    url,
    data,
    port: Number(new URL(url).port),
    child,
    /** Stops the server: SIGTERM (graceful) or SIGKILL. */
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}

/** Launches headless Chromium with the flags this closed network needs. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page in a fresh browser context (its own cookies: its own session). */
export async function newPage(browser, viewport = { width: 1100, height: 800 }, colorScheme = 'light') {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  page.dialogs = [];
  page.on('dialog', async (dialog) => {
    page.dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  page.consoleErrors = [];
  page.on('pageerror', (err) => page.consoleErrors.push(String(err)));
  return page;
}

/** Opens `/r/{room}` and signs in as `nick`; waits until the stream is up. */
export async function signIn(page, url, nick, room = 'general') {
  await page.goto(`${url}/r/${room}`);
  await page.locator('#nick').fill(nick);
  await page.locator('#signin-submit').click();
  await page.locator('#app').waitFor({ state: 'visible' });
  await waitConnected(page);
}

export async function waitConnected(page, timeout = 15000) {
  await page.locator('#connection[data-state="connected"]').waitFor({ timeout });
}

/** Types `text` into the composer and presses Enter. */
export async function send(page, text) {
  await page.locator('#composer-text').fill(text);
  await page.locator('#composer-text').press('Enter');
}

/** The texts of the stored (not pending) messages shown, in order. */
export function shownTexts(page) {
  return page.$$eval('#messages .message:not(.pending) .text', (els) => els.map((e) => e.textContent));
}

/** Waits until a stored message with exactly `text` is shown. */
export async function waitForText(page, text, timeout = 15000) {
  await page.waitForFunction(
    (wanted) => [...document.querySelectorAll('#messages .message:not(.pending) .text')].some((e) => e.textContent === wanted),
    text,
    { timeout },
  );
}

/** The nicks in the online list. */
export function onlineNicks(page) {
  return page.$$eval('#online li', (els) => els.map((e) => e.textContent.trim()).sort());
}

/** Signs in over the API (no browser) and returns a bearer token. */
export async function apiToken(url, nick, password = undefined) {
  const response = await fetch(`${url}/api/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ nick, password }),
  });
  if (response.status !== 201) throw new Error(`session: ${response.status}`);
  return (await response.json()).token;
}

/** Posts over the API; returns the stored message. */
export async function apiPost(url, token, room, text) {
  const response = await fetch(`${url}/api/rooms/${room}/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ text, client_id: crypto.randomUUID() }),
  });
  if (response.status !== 201) throw new Error(`post: ${response.status} ${await response.text()}`);
  return response.json();
}

/** A room's stored history (up to 500, oldest first). */
export async function apiHistory(url, token, room) {
  const response = await fetch(`${url}/api/rooms/${room}/messages?limit=500`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  return response.json();
}

/** Saves a screenshot under e2e/artifacts/ (not committed). */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}
