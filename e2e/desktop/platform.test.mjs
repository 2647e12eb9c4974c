// The desktop around the app, in its real window (WebKitGTK under Xvfb):
// a second launch focuses the running app and leaves one process; a
// hearth://join link given to a second launch joins the room in the first
// (and a link to anything but an http(s) server is refused in words);
// closing the window keeps Hearth running in the tray with its streams
// alive, hosting too; "Quit" ends the process and the hosting; the window's
// size survives a restart; a muted room and do not disturb stay quiet.
//
// The joined room is a `hearth serve` on 127.0.0.1 with --mdns off. The app
// runs with HEARTH_MDNS=off: the last test hosts (on 0.0.0.0) and must not
// advertise on the real network.
// The window is closed the way a window manager does it: a WM_DELETE_WINDOW
// client message to the app's X window (python3 + libX11 through ctypes).

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { apiPost, apiToken, startServer } from '../support.mjs';
import { APP_BIN, AppSession, newProfile, startDriver } from '../webdriver.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const APP = realpathSync(APP_BIN);
let PROFILE_CONFIG = '';
// The system's Python (python3-dbus and python3-gi are Debian packages).
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/**
 * The pids of running Hearth app processes of this binary and this
 * profile (other tests may run other copies meanwhile, on their own D-Bus).
 */
function appPids(configHome = PROFILE_CONFIG) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const exe = readlinkSync(`/proc/${name}/exe`);
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
      if (exe !== APP || state === 'Z') continue;
      const environ = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (environ.includes(`XDG_CONFIG_HOME=${configHome}`)) pids.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

async function waitUntil(test, message, timeout = 20000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const value = await test();
    if (value) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for: ${message}`);
}

// Finds the app's biggest X window by _NET_WM_PID; `state` prints its map
// state (0 unmapped, 2 viewable), `close` sends it WM_DELETE_WINDOW.
const X11 = String.raw`
import ctypes as C, sys
x = C.cdll.LoadLibrary('libX11.so.6')
x.XOpenDisplay.restype = C.c_void_p; x.XOpenDisplay.argtypes = [C.c_char_p]
x.XDefaultRootWindow.restype = C.c_ulong; x.XDefaultRootWindow.argtypes = [C.c_void_p]
x.XInternAtom.restype = C.c_ulong; x.XInternAtom.argtypes = [C.c_void_p, C.c_char_p, C.c_int]
x.XQueryTree.argtypes = [C.c_void_p, C.c_ulong, C.POINTER(C.c_ulong), C.POINTER(C.c_ulong), C.POINTER(C.POINTER(C.c_ulong)), C.POINTER(C.c_uint)]
x.XGetWindowProperty.argtypes = [C.c_void_p, C.c_ulong, C.c_ulong, C.c_long, C.c_long, C.c_int, C.c_ulong, C.POINTER(C.c_ulong), C.POINTER(C.c_int), C.POINTER(C.c_ulong), C.POINTER(C.c_ulong), C.POINTER(C.POINTER(C.c_ubyte))]
class Attrs(C.Structure):
    _fields_ = [('x', C.c_int), ('y', C.c_int), ('width', C.c_int), ('height', C.c_int), ('border_width', C.c_int), ('depth', C.c_int), ('visual', C.c_void_p), ('root', C.c_ulong), ('klass', C.c_int), ('bit_gravity', C.c_int), ('win_gravity', C.c_int), ('backing_store', C.c_int), ('backing_planes', C.c_ulong), ('backing_pixel', C.c_ulong), ('save_under', C.c_int), ('colormap', C.c_ulong), ('map_installed', C.c_int), ('map_state', C.c_int), ('all_event_masks', C.c_long), ('your_event_mask', C.c_long), ('do_not_propagate_mask', C.c_long), ('override_redirect', C.c_int), ('screen', C.c_void_p)]
x.XGetWindowAttributes.argtypes = [C.c_void_p, C.c_ulong, C.POINTER(Attrs)]
class ClientMessage(C.Structure):
    _fields_ = [('type', C.c_int), ('serial', C.c_ulong), ('send_event', C.c_int), ('display', C.c_void_p), ('window', C.c_ulong), ('message_type', C.c_ulong), ('format', C.c_int), ('data', C.c_long * 5), ('pad', C.c_long * 12)]
x.XSendEvent.argtypes = [C.c_void_p, C.c_ulong, C.c_int, C.c_long, C.POINTER(ClientMessage)]
x.XFlush.argtypes = [C.c_void_p]
d = x.XOpenDisplay(None)
pid_atom = x.XInternAtom(d, b'_NET_WM_PID', 0)
def pid_of(w):
    t, f, n, a, p = C.c_ulong(), C.c_int(), C.c_ulong(), C.c_ulong(), C.POINTER(C.c_ubyte)()
    if x.XGetWindowProperty(d, w, pid_atom, 0, 1, 0, 6, C.byref(t), C.byref(f), C.byref(n), C.byref(a), C.byref(p)) != 0 or n.value == 0:
        return None
    return C.cast(p, C.POINTER(C.c_ulong))[0]
def walk(w):
    r, parent, kids, n = C.c_ulong(), C.c_ulong(), C.POINTER(C.c_ulong)(), C.c_uint()
    x.XQueryTree(d, w, C.byref(r), C.byref(parent), C.byref(kids), C.byref(n))
    for i in range(n.value):
        yield kids[i]
        yield from walk(kids[i])
best = None
for w in walk(x.XDefaultRootWindow(d)):
    if pid_of(w) == int(sys.argv[2]):
        a = Attrs(); x.XGetWindowAttributes(d, w, C.byref(a))
        if best is None or a.width * a.height > best[1].width * best[1].height:
            best = (w, a)
if best is None:
    print('none'); sys.exit(0)
w, a = best
if sys.argv[1] == 'state':
    print(a.map_state)
else:
    ev = ClientMessage(type=33, window=w, message_type=x.XInternAtom(d, b'WM_PROTOCOLS', 0), format=32)
    ev.data[0] = x.XInternAtom(d, b'WM_DELETE_WINDOW', 0)
    x.XSendEvent(d, w, 0, 0, C.byref(ev))
    x.XFlush(d)
    print('sent')
`;

function x11(action, pid) {
  return execFileSync(PYTHON, ['-c', X11, action, String(pid)], { encoding: 'utf8' }).trim();
}

/**
 * Closes the app's window as a window manager would, and waits until it is
 * no longer shown. The message is sent again each second while the window
 * stays up (GTK may not have been listening yet).
 */
async function closeWindow(pid) {
  let sent = 0;
  await waitUntil(() => {
    if (x11('state', pid) !== '2') return true;
    if (Date.now() - sent > 1000) {
      assert.equal(x11('close', pid), 'sent');
      sent = Date.now();
    }
    return false;
  }, 'the window hides');
}

/** Starts the app binary a second time, as a person (or the desktop, with a link) would. */
async function launchAgain(env, args = []) {
  const child = spawn(APP_BIN, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code, stderr };
}

function notifications(log) {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('a desktop app people keep open all day', () => {
  const profile = { ...newProfile(), HEARTH_MDNS: 'off' };
  PROFILE_CONFIG = profile.XDG_CONFIG_HOME;
  const log = join(profile.XDG_CACHE_HOME, '..', 'notify.jsonl');
  const env = { ...process.env, ...profile, HEARTH_NOTIFY_LOG: log };
  let server;
  let driver;
  let app;
  let pid;
  let size;
  before(async () => {
    assert.deepEqual(appPids(), [], 'no Hearth app runs before the test');
    server = await startServer({ args: ['--mdns', 'off'] });
    driver = await startDriver({ ...profile, HEARTH_NOTIFY_LOG: log });
    app = await AppSession.open(driver);
    [pid] = await waitUntil(() => appPids().length === 1 && appPids(), 'the app process');
  });
  after(async () => {
    await app?.close();
    await driver?.stop();
    await server?.stop();
  });

  test('a hearth://join link given to a second launch joins the room in the first', async () => {
    await app.waitVisible('#desktop-home');
    await app.waitVisible('#desktop-settings');
    await app.type('#join-nick', 'ana');

    const link = `hearth://join?url=${encodeURIComponent(server.url)}&room=dev`;
    const second = await launchAgain(env, [link]);
    assert.equal(second.code, 0, `the second launch hands over and exits: ${second.stderr}`);
    assert.deepEqual(appPids(), [pid], 'one process: the first');

    await app.waitVisible('#app').catch(async (e) => {
      const state = await app.exec(`return ['#join-address', '#join-error', '#desktop-notice']
        .map((css) => document.querySelector(css)?.value ?? document.querySelector(css)?.textContent);`);
      throw new Error(`${e.message}; the home screen: ${JSON.stringify(state)}`);
    });
    await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";');
    const token = await apiToken(server.url, 'bo');
    await apiPost(server.url, token, 'dev', 'hello dev, from the link');
    assert.equal(await app.waitForMessage('hello dev, from the link'), 1);
    await app.screenshot('desktop-deep-link-joined');

    // A link to anything but an http(s) server: refused, in words, on the home screen.
    const refused = await launchAgain(env, ['hearth://join?url=ftp%3A%2F%2Fexample.org%2Fx']);
    assert.equal(refused.code, 0);
    await app.waitVisible('#desktop-home');
    const error = await app.waitFor('return document.querySelector("#join-error")?.textContent;');
    assert.match(error, /only http:\/\/ or https:\/\//);
    await app.screenshot('desktop-deep-link-refused');
    assert.equal(await app.exec('return document.querySelectorAll("#saved-rooms li.saved-room").length;'), 1);
  });

  test('closing keeps Hearth in the tray with its stream; a second launch shows it; Quit ends it', async () => {
    const settings = await app.exec('return window.__TAURI__.core.invoke("desktop_settings");');
    assert.equal(settings.tray_available, true, 'a tray icon was created');
    assert.equal(settings.keep_in_tray, true, 'on by default where there is a tray');
    assert.equal(await app.exec('return document.querySelector("#keep-in-tray").checked;'), true);

    await app.click('#saved-rooms li.saved-room .open-room');
    await app.waitVisible('#app');
    await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";');
    assert.equal(x11('state', pid), '2', 'the window is shown');

    await closeWindow(pid);
    assert.deepEqual(appPids(), [pid], 'the app still runs');
    const notice = await waitUntil(
      () => notifications(log).find((n) => n.title === 'Hearth is still running'),
      'the first close says where Hearth went');
    assert.match(notice.body, /tray/);

    // The stream stays alive while the window is hidden: the message
    // reaches the (hidden) page.
    const token = await apiToken(server.url, 'bo');
    await apiPost(server.url, token, 'dev', 'posted while the window was closed');
    assert.equal(await app.waitForMessage('posted while the window was closed'), 1);
    assert.equal(x11('state', pid) === '2', false, 'still hidden');

    // A second launch: the first window comes back (focused), one process.
    const second = await launchAgain(env);
    assert.equal(second.code, 0, second.stderr);
    await waitUntil(() => x11('state', pid) === '2', 'the window is shown again');
    assert.deepEqual(appPids(), [pid]);
    assert.equal(await app.waitFor('return document.hasFocus();'), true, 'the window has the focus');
    await app.waitVisible('#app');
    assert.equal(await app.waitForMessage('posted while the window was closed'), 1);
    await app.screenshot('desktop-back-from-tray');

    // A size of its own, to be found again after the restart.
    await app.cmd('POST', '/window/rect', { width: 1100, height: 760 });
    size = await app.waitFor(`const w = window.innerWidth, h = window.innerHeight;
      return w > 1000 ? [w, h] : null;`, { message: 'the window is resized' });

    // A second close hides again without a second notice.
    await closeWindow(pid);
    assert.equal(notifications(log).filter((n) => n.title === 'Hearth is still running').length, 1);

    // Quit (the tray menu's action, as a command) ends the process.
    await app.exec('window.__TAURI__.core.invoke("quit_app"); return true;').catch(() => {});
    await waitUntil(() => appPids().length === 0, 'the app process ends', 30000);
    app = null;
  });

  test('after a restart: the window size is kept; a muted room and do not disturb notify nothing', async () => {
    await driver.stop();
    driver = await startDriver({ ...profile, HEARTH_NOTIFY_LOG: log });
    app = await AppSession.open(driver);
    [pid] = await waitUntil(() => appPids().length === 1 && appPids(), 'the app process');
    await app.waitVisible('#desktop-settings');
    assert.deepEqual(await app.exec('return [window.innerWidth, window.innerHeight];'), size,
      'the size and position of the last run');
    const token = await apiToken(server.url, 'bo');

    /** Opens #dev, closes the window, posts `text`; waits until the hidden page has it. */
    async function postWhileClosed(text) {
      await app.click('#saved-rooms li.saved-room .open-room');
      await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";');
      await closeWindow(pid);
      await apiPost(server.url, token, 'dev', text);
      assert.equal(await app.waitForMessage(text), 1);
    }
    /** A second launch brings the window back; then the home screen. */
    async function comeBack() {
      assert.equal((await launchAgain(env)).code, 0);
      await waitUntil(() => x11('state', pid) === '2', 'the window is shown again');
      await app.click('#home');
      await app.waitVisible('#desktop-home');
    }

    await app.click('#saved-rooms li.saved-room .mute-room');
    await app.waitFor('const b = document.querySelector(".mute-room"); return b?.getAttribute("aria-pressed") === "true" && b.textContent === "Muted";');
    await app.screenshot('desktop-room-muted');
    await postWhileClosed('while the room was muted');
    await comeBack();
    await app.click('#saved-rooms li.saved-room .mute-room');
    await app.waitFor('return document.querySelector(".mute-room")?.getAttribute("aria-pressed") === "false";');

    await app.click('#do-not-disturb');
    await app.waitFor('return window.__TAURI__.core.invoke("desktop_settings").then((s) => s.do_not_disturb);');
    await app.exec('document.querySelector("#desktop-settings").scrollIntoView(); return true;');
    await app.screenshot('desktop-settings');
    await postWhileClosed('while do not disturb was on');
    await comeBack();
    await app.click('#do-not-disturb');
    await app.waitFor('return window.__TAURI__.core.invoke("desktop_settings").then((s) => !s.do_not_disturb);');

    await postWhileClosed('heard again');
    await waitUntil(() => notifications(log).find((n) => n.body === 'heard again'), 'a notification again');
    const bodies = notifications(log).map((n) => n.body);
    assert.ok(!bodies.includes('while the room was muted'), 'a muted room does not notify');
    assert.ok(!bodies.includes('while do not disturb was on'), 'do not disturb silences');

    await app.exec('window.__TAURI__.core.invoke("quit_app"); return true;').catch(() => {});
    await waitUntil(() => appPids().length === 0, 'the app process ends', 30000);
    app = null;
  });

  test('hosting goes on while the window is in the tray, and stops when Hearth quits', async () => {
    await driver.stop();
    driver = await startDriver({ ...profile, HEARTH_NOTIFY_LOG: log });
    app = await AppSession.open(driver);
    [pid] = await waitUntil(() => appPids().length === 1 && appPids(), 'the app process');
    await app.type('#host-nick', 'host');
    await app.click('#host-start');
    await app.waitFor('return document.querySelector("#host-status")?.dataset.running === "true";');
    const port = await app.waitFor('return document.querySelector("#host-status")?.dataset.port;');
    const hosted = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${hosted}/api/info`)).status, 200);

    await closeWindow(pid);
    const token = await apiToken(hosted, 'guest');
    await apiPost(hosted, token, 'general', 'the host is in the tray');

    await app.exec('window.__TAURI__.core.invoke("quit_app"); return true;').catch(() => {});
    await waitUntil(() => appPids().length === 0, 'the app process ends', 30000);
    app = null;
    await assert.rejects(fetch(`${hosted}/api/info`), 'hosting stopped with the app');
  });

  test('a hearth://join link the app is started with waits for the home screen, then joins', async () => {
    // The first app has quit (one Hearth per D-Bus session); a new profile.
    assert.deepEqual(appPids(), []);
    const fresh = { ...newProfile(), HEARTH_MDNS: 'off' };
    const coldDriver = await startDriver(fresh);
    try {
      const link = `hearth://join?url=${encodeURIComponent(server.url)}&room=cold`;
      const opened = await fetch(`${coldDriver.base}/session`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ capabilities: { alwaysMatch: { 'tauri:options': { application: APP_BIN, args: [link] } } } }),
      }).then((r) => r.json());
      coldDriver.noteChildren();
      const cold = new AppSession(coldDriver.base, opened.value.sessionId);
      // No nick yet: the form has the address and asks for one.
      const error = await cold.waitFor('return document.querySelector("#join-error")?.textContent;');
      assert.match(error, /Type a nickname/);
      assert.equal(await cold.exec('return document.querySelector("#join-address").value;'), `${server.url}/r/cold`);
      await cold.type('#join-nick', 'cy');
      await cold.click('#join-submit');
      await cold.waitFor('return !document.querySelector("#app").hidden && document.querySelector("#room-title")?.textContent === "cold";');
      await cold.close();
    } finally {
      await coldDriver.stop();
    }
  });
});

// A stand-in notification server on the test's D-Bus session
// (org.freedesktop.Notifications, the Desktop Notifications spec): prints
// each Notify as a JSON line, and "clicks" (ActionInvoked "default") the
// ones whose body says "click me", as a person clicking the notification.
const NOTIFICATIONS = String.raw`
import dbus, dbus.service, dbus.mainloop.glib, json
from gi.repository import GLib
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
IFACE = 'org.freedesktop.Notifications'
class Server(dbus.service.Object):
    def __init__(self):
        super().__init__(bus, '/org/freedesktop/Notifications')
        self.count = 0
    @dbus.service.method(IFACE, in_signature='susssasa{sv}i', out_signature='u')
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        self.count += 1
        nid = self.count
        print(json.dumps({'app': str(app), 'summary': str(summary), 'body': str(body), 'actions': [str(a) for a in actions]}), flush=True)
        if 'click me' in body and 'default' in actions:
            GLib.timeout_add(200, lambda: (self.ActionInvoked(nid, 'default'), False)[1])
        return nid
    @dbus.service.method(IFACE, in_signature='', out_signature='as')
    def GetCapabilities(self):
        return ['actions', 'body']
    @dbus.service.method(IFACE, in_signature='', out_signature='ssss')
    def GetServerInformation(self):
        return ('hearth-test', 'hearth', '1', '1.2')
    @dbus.service.method(IFACE, in_signature='u', out_signature='')
    def CloseNotification(self, nid):
        self.NotificationClosed(nid, 3)
    @dbus.service.signal(IFACE, signature='us')
    def ActionInvoked(self, nid, key):
        pass
    @dbus.service.signal(IFACE, signature='uu')
    def NotificationClosed(self, nid, reason):
        pass
server = Server()
name = dbus.service.BusName(IFACE, bus)
print('ready', flush=True)
GLib.MainLoop().run()
`;

const hasPythonDbus = (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import dbus, dbus.mainloop.glib; from gi.repository import GLib'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('a notification, as a notification server shows it', () => {
  const profile = { ...newProfile(), HEARTH_MDNS: 'off' };
  let server;
  let daemon;
  let driver;
  let app;
  const shown = [];
  before(async () => {
    if (!hasPythonDbus) return;
    server = await startServer({ args: ['--mdns', 'off'] });
    daemon = spawn(PYTHON, ['-c', NOTIFICATIONS], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    const ready = new Promise((resolve) => {
      daemon.stdout.on('data', (chunk) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop();
        for (const line of lines) {
          if (line === 'ready') resolve();
          else if (line) shown.push(JSON.parse(line));
        }
      });
    });
    await ready;
  });
  after(async () => {
    await app?.close();
    await driver?.stop();
    daemon?.kill();
    await server?.stop();
  });

  test('is from "Hearth" (the packaged binary\'s name), and a click opens its room', { skip: !hasPythonDbus && 'needs python3-dbus and python3-gi' }, async () => {
    // The packages install the binary as Hearth (mainBinaryName); the
    // notification's app name is the executable's name.
    const bin = join(mkdtempSync(join(tmpdir(), 'hearth-bin-')), 'Hearth');
    copyFileSync(APP_BIN, bin);
    chmodSync(bin, 0o755);
    driver = await startDriver(profile);
    const session = await fetch(`${driver.base}/session`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ capabilities: { alwaysMatch: { 'tauri:options': { application: bin } } } }),
    }).then((r) => r.json());
    driver.noteChildren();
    app = new AppSession(driver.base, session.value.sessionId);

    for (const room of ['a', 'b']) {
      await app.waitVisible('#desktop-home');
      await app.type('#join-address', `${server.url}/r/${room}`);
      await app.type('#join-nick', 'ana');
      await app.click('#join-submit');
      await app.waitFor(`return !document.querySelector("#app").hidden && document.querySelector("#room-title")?.textContent === "${room}";`);
      if (room === 'a') await app.click('#home');
    }
    await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";');

    const token = await apiToken(server.url, 'bo');
    await apiPost(server.url, token, 'a', '@ana click me');
    const note = await waitUntil(() => shown.find((n) => n.body === '@ana click me'), 'the notification is shown');
    assert.equal(note.app, 'Hearth');
    assert.equal(note.summary, 'bo mentioned you in #a');
    assert.ok(note.actions.includes('default'), 'a click on it is asked for');
    // The server reports the click: room a comes on screen.
    await app.waitFor('return !document.querySelector("#app").hidden && document.querySelector("#room-title")?.textContent === "a";',
      { message: 'room a opens' });
    assert.equal(await app.waitForMessage('@ana click me'), 1);
    await app.screenshot('desktop-notification-clicked');
  });
});
