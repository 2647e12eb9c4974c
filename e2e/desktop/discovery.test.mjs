// "On your network" in the app's real window: servers advertised with mDNS
// appear on the home screen, a click joins one (an https one only after the
// person confirms its fingerprint), a stopped server leaves the list, and
// the app's own hosted room is never listed. The host screen says under
// which name the room is visible.
//
// mDNS is multicast: this test never sends any on the real network. Run
// normally, it starts itself again inside a private network namespace
// (`unshare -n`: `lo`, up, with multicast and a route for it, plus a veth
// pair whose two ends are both inside, 10.77.0.1 on `hv0`: a "network" the
// host screen can show links for) with its own D-Bus, keyring and Xvfb,
// and checks that run's result; inside, it refuses to run if any other
// interface is visible (and the default route leads only into hv0, so
// WebKit counts as online). It needs root (CI runs as root), util-linux,
// iproute2 and openssl (a certificate for the https server). Without them
// it fails and says why, rather than skip quietly.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { HEARTH_BIN } from '../support.mjs';
import { AppSession, newProfile, startDriver } from '../webdriver.mjs';

const INNER = 'HEARTH_E2E_PRIVATE_NETNS';
const THIS_FILE = fileURLToPath(import.meta.url);
const E2E_DIR = fileURLToPath(new URL('..', import.meta.url));
const NETNS_SETUP = 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && '
  + 'ip link add hv0 type veth peer name hv1 && ip addr add 10.77.0.1/24 dev hv0 && ip link set hv1 up && ip link set hv0 up && '
  // WebKit's navigator.onLine is false without a default route (the chat
  // would say "Offline: no network"); this one leads only to hv1.
  + 'ip route add default dev hv0 && '
  + 'exec "$0" "$@"';

if (!process.env[INNER]) {
  test('On your network, in a private network namespace', { timeout: 300000 }, async () => {
    assert.equal(process.getuid?.(), 0, 'this test needs root to make a private network namespace (unshare -n); CI runs as root');
    for (const tool of ['unshare', 'ip', 'dbus-run-session', 'xvfb-run']) {
      assert.equal(spawnSync('sh', ['-c', `command -v ${tool}`]).status, 0, `${tool} is missing (scripts/setup.sh --test installs it)`);
    }
    const keyring = mkdtempSync(join(tmpdir(), 'hearth-netns-keyring-'));
    const child = spawn('unshare', ['-n', '--', 'sh', '-c', NETNS_SETUP,
      'dbus-run-session', '--', 'sh', '-c',
      'printf hearth-ci | gnome-keyring-daemon --unlock --components=secrets >/dev/null; '
      + 'exec xvfb-run -a -s "-screen 0 1280x800x24" node --test-reporter=tap "$0"', THIS_FILE], {
      cwd: E2E_DIR,
      // Not NODE_TEST_CONTEXT: the inner run would take itself for a child of
      // this runner and run nothing.
      env: { ...withoutTestContext(process.env), [INNER]: '1', XDG_DATA_HOME: keyring },
      // The inner run's report goes to stderr: stdout is this runner's.
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let report = '';
    child.stdout.on('data', (chunk) => {
      report += chunk;
      process.stderr.write(chunk);
    });
    child.stderr.pipe(process.stderr);
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, 'the run inside the private network namespace failed (its report is above)');
    assert.match(report, /^# pass 3$/m, 'the inner run did not pass every test');
    assert.match(report, /^# fail 0$/m);
  });
} else {
  inPrivateNamespace();
}

function withoutTestContext(env) {
  const copy = { ...env };
  delete copy.NODE_TEST_CONTEXT;
  return copy;
}

function inPrivateNamespace() {
  // Netlink, not /sys/class/net: sysfs still shows the namespace it was mounted in.
  const links = JSON.parse(spawnSync('ip', ['-j', '-d', 'link', 'show'], { encoding: 'utf8' }).stdout || '[]');
  const ours = (l) => l.ifname === 'lo'
    || (['hv0', 'hv1'].includes(l.ifname) && l.linkinfo?.info_kind === 'veth' && l.link_netnsid === undefined);
  if (!links.length || !links.every(ours)) {
    throw new Error(`${INNER} is set but this is not the test's private network namespace (${links.map((l) => l.ifname).join(', ')}): refusing to send multicast`);
  }

  /** `hearth serve` on every interface (so it advertises), named `name`. */
  async function serve(name, args = []) {
    const data = mkdtempSync(join(tmpdir(), 'hearth-e2e-mdns-'));
    const child = spawn(HEARTH_BIN, ['serve', '--bind', '0.0.0.0:0', '--name', name, '--data', data,
      '--sync', 'normal', '--log', 'warn', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let seen = '';
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start in time`)), 15000);
      child.stdout.on('data', (chunk) => {
        seen += chunk;
        const found = seen.match(/listening on https?:\/\/[^\s:]+:(\d+)/);
        if (found) {
          clearTimeout(timer);
          resolve(Number(found[1]));
        }
      });
      child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening`)));
    });
    child.stdout.resume();
    const fingerprint = seen.match(/fingerprint \(SHA-256\) (\S+)/)?.[1] ?? null;
    return {
      port,
      fingerprint,
      async stop(signal = 'SIGTERM') {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill(signal);
        await exited;
      },
    };
  }

  /** A self-signed certificate (openssl), for the https server. */
  function certificate() {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-e2e-cert-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-nodes', '-days', '2', '-subj', '/CN=dee.local', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', key, '-out', cert]);
    assert.equal(made.status, 0, `openssl (the Debian package openssl, a dependency of ca-certificates) could not make a certificate: ${made.error ?? made.stderr}`);
    return { cert, key };
  }

  const names = '[...document.querySelectorAll("#nearby-list .nearby-server")].map((e) => e.dataset.name)';
  const listed = `return ${names};`;
  const isListed = (name) => `return ${names}.includes(${JSON.stringify(name)});`;

  describe('On your network', () => {
    let driver;
    let app;
    const servers = [];
    before(async () => {
      // The host's default name is "<user>'s room on <host>".
      driver = await startDriver({ ...newProfile(), USER: 'ana' });
      app = await AppSession.open(driver);
    });
    after(async () => {
      await app?.close();
      await driver?.stop();
      for (const server of servers) await server.stop();
    });

    test('hosting says under which name the room is visible, and the app leaves its own room out', async () => {
      await app.waitVisible('#desktop-home');
      await app.waitVisible('#nearby-empty');
      assert.match(await app.text('#nearby-empty'), /No rooms found on your network yet/);
      await app.screenshot('desktop-on-your-network-empty');
      // Every name the list ever shows, from now to the end (the app's own
      // room must never be one, not even for a moment).
      await app.exec(`window.__everListed = new Set();
        new MutationObserver(() => {
          for (const e of document.querySelectorAll("#nearby-list .nearby-server")) window.__everListed.add(e.dataset.name);
        }).observe(document.querySelector("#nearby-list"), { childList: true, subtree: true });`);
      await app.type('#host-nick', 'host');
      await app.click('#host-start');
      await app.waitFor('return document.querySelector("#host-status")?.dataset.running === "true";');
      await app.waitFor('return document.querySelector("#host-visibility")?.dataset.state === "visible";', { timeout: 15000 });
      assert.match(await app.text('#host-visibility-text'), /^Visible on your network as “ana's room on .+”\.$/);
      assert.match(await app.text('#host-links'), /http:\/\/10\.77\.0\.1:\d+\/r\/general/);
      // The links and the QR code are above the fold of the 1000×700 window.
      const fold = await app.exec(`
        const bottom = (s) => document.querySelector(s).getBoundingClientRect().bottom;
        return { qr: bottom('#host-qr'), link: bottom('#host-links li'), height: window.innerHeight };`);
      assert.ok(fold.qr <= fold.height && fold.link <= fold.height, `below the fold: ${JSON.stringify(fold)}`);
      await app.screenshot('desktop-host-visible');

      // The switch withdraws the advertisement at once, and brings it back.
      await app.click('#host-visible');
      await app.waitFor('return document.querySelector("#host-visibility")?.dataset.state === "off";');
      await app.click('#host-visible');
      await app.waitFor('return document.querySelector("#host-visibility")?.dataset.state === "visible";', { timeout: 15000 });
    });

    test('servers appear live with a lock and a TLS badge; a click joins; a stopped one leaves', async () => {
      const started = Date.now();
      const bo = await serve("Bo's room");
      servers.push(bo);
      await app.waitFor(isListed("Bo's room"), { timeout: 15000 });
      const appeared = Date.now() - started;
      servers.push(await serve("Cy's room", ['--password', 'sesame']));
      const { cert, key } = certificate();
      const dee = await serve("Dee's room", ['--tls-cert', cert, '--tls-key', key]);
      servers.push(dee);
      await app.waitFor(`return ${names}.length === 3;`, { timeout: 15000 });
      // The app's own room (announced before these) is not among them.
      assert.deepEqual(await app.exec(listed), ["Bo's room", "Cy's room", "Dee's room"]);
      const badges = await app.exec(`return [...document.querySelectorAll("#nearby-list .nearby-server")].map((e) =>
        [e.dataset.name, !!e.querySelector(".nearby-lock"), !!e.querySelector(".nearby-tls")]);`);
      assert.deepEqual(badges, [["Bo's room", false, false], ["Cy's room", true, false], ["Dee's room", false, true]]);
      await app.exec('document.querySelector(".nearby-card").scrollIntoView();');
      await app.screenshot('desktop-on-your-network');

      // https: the fingerprint is shown and asked about; nothing is joined before "Yes".
      await app.type('#join-nick', 'guest');
      await app.click('#nearby-list .nearby-server[data-name="Dee\'s room"] .nearby-join');
      await app.waitVisible('#nearby-confirm');
      assert.equal(await app.text('#nearby-confirm-fp'), dee.fingerprint);
      assert.match(await app.text('#nearby-confirm'), /Does this match the host's screen\?/);
      assert.equal(await app.exec('return document.querySelectorAll("#saved-rooms .saved-room").length;'), 1);
      await app.screenshot('desktop-on-your-network-tls');
      await app.click('#nearby-confirm-yes');
      await app.waitVisible('#app');
      await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";');
      await app.click('#home');
      await app.waitVisible('#desktop-home');

      // A password: the join form asks for it.
      await app.click('#nearby-list .nearby-server[data-name="Cy\'s room"] .nearby-join');
      await app.waitVisible('#join-password');
      assert.match(await app.text('#join-error'), /needs a password/);

      // No password: one click joins.
      await app.click('#nearby-list .nearby-server[data-name="Bo\'s room"] .nearby-join');
      await app.waitVisible('#app');
      await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";');
      await app.click('#home');
      await app.waitVisible('#desktop-home');

      const stopping = Date.now();
      await bo.stop();
      await app.waitFor(`return !${names}.includes("Bo's room");`, { timeout: 15000 });
      const left = Date.now() - stopping;
      console.error(`# Bo's room appeared in the list ${appeared} ms after its server started; left it ${left} ms after SIGTERM`);
    });

    test('a server that crashed (no goodbye) leaves the list once joining it fails', async () => {
      const eve = await serve("Eve's room");
      await app.waitFor(isListed("Eve's room"), { timeout: 15000 });
      await eve.stop('SIGKILL');
      const clicked = Date.now();
      await app.click('#nearby-list .nearby-server[data-name="Eve\'s room"] .nearby-join');
      await app.waitFor('return document.querySelector("#join-error")?.textContent.length > 0;');
      await app.waitFor(`return !${names}.includes("Eve's room");`, { timeout: 20000 });
      console.error(`# a crashed server left the list ${Date.now() - clicked} ms after the failed join`);

      // Hosting stops (its goodbye reaches the browser after the state
      // changed) and starts again: the app's own room was never listed.
      await app.click('#host-stop');
      await app.waitFor('return document.querySelector("#host-status")?.dataset.running === "false";');
      await app.click('#host-start');
      await app.waitFor('return document.querySelector("#host-visibility")?.dataset.state === "visible";', { timeout: 15000 });
      const own = (await app.text('#host-visibility-text')).match(/“(.+)”/)[1];
      const ever = await app.exec('return [...window.__everListed];');
      assert.deepEqual(ever.sort(), ["Bo's room", "Cy's room", "Dee's room", "Eve's room"], `own: ${own}`);
    });
  });
}
