// What every end-to-end test needs: the real bridge binary, Debian's headless Chromium, and TCP
// peers on loopback. Every wait is bounded, every process is stopped when its test ends.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { after, afterEach, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const WAIT_MS = 10_000;

/** The tutorial's Python client and server. */
export const SEED = path.join(path.dirname(fileURLToPath(import.meta.url)), 'seed');

/**
 * The WebSocket addresses of bridges a test stopped or killed on purpose. A page still open on
 * one tries to reconnect, as it should, and Chromium logs each refused attempt as a console
 * error, possibly after the test moved on; those refusals are the expected outcome, not a fault
 * of the page, so they do not count as one (any other error still does).
 */
const stoppedBridges = new Set();

/** Whether a console error is a page's refused reconnect to a bridge stopped on purpose. */
function reconnectToStoppedBridge(text) {
  const m = text.match(/^WebSocket connection to '(ws:\/\/[^/']+)\/ws[^']*' failed: .*ERR_CONNECTION_REFUSED/);
  return m !== null && stoppedBridges.has(m[1]);
}

/**
 * Starts `bridge` on loopback (ephemeral ports unless `http` names one) and returns its URL and
 * listener address. With `listen: false` the bridge gets no `--listen` and tries its default
 * (0.0.0.0:7777): `listenPort` is then `null` when it could not listen, and `listenProblem` the
 * reason it printed.
 */
export async function startBridge(extraArgs = [], { http = '127.0.0.1:0', listen = true } = {}) {
  const bin = process.env.BRIDGE_BIN;
  if (!bin) throw new Error('set BRIDGE_BIN to the bridge binary (scripts/test.sh does)');
  const args = [...(listen ? ['--listen', '127.0.0.1:0'] : []), '--http', http, ...extraArgs];
  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const started = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bridge printed no URL in time:\n${stdout}${stderr}`)), WAIT_MS);
    child.on('exit', (code) => reject(new Error(`bridge exited with ${code}:\n${stdout}${stderr}`)));
    child.stdout.on('data', (d) => {
      stdout += d;
      const url = stdout.match(/(http:\/\/\S+)/);
      const listen = stdout.match(/TCP listener on (\S+)/);
      const problem = stdout.match(/TCP listener not started: (.*)\n/);
      if (url && (listen || problem)) {
        clearTimeout(timer);
        resolve({
          url: url[1],
          listenPort: listen ? Number(listen[1].split(':').pop()) : null,
          listenProblem: problem ? problem[1] : null,
        });
      }
    });
  });
  const gone = () => stoppedBridges.add(started.url.replace(/^http:\/\/([^/]+).*$/, 'ws://$1'));
  return {
    ...started,
    stdout: () => stdout,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      gone();
      const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return withTimeout(exited, WAIT_MS, 'bridge did not stop after SIGTERM');
    },
    /** Ends the bridge at once (SIGKILL), as a crash or a lost network would: it closes nothing. */
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      gone();
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await withTimeout(exited, WAIT_MS, 'bridge did not end after SIGKILL');
    },
  };
}

/** Launches Debian's Chromium headless, offline-friendly, with a fresh profile. */
export async function launchBrowser() {
  // Playwright gives every launch a fresh, empty profile of its own and removes it on close.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  // The last console lines of any kind, to print when a test fails.
  const log = [];
  context.on('weberror', (e) => errors.push(String(e.error())));
  return {
    context,
    errors,
    log,
    async newPage() {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' && !reconnectToStoppedBridge(m.text())) errors.push(m.text());
        log.push(`${m.type()}: ${m.text()}`);
        if (log.length > 50) log.shift();
      });
      return page;
    },
    async close() {
      await browser.close();
    },
  };
}

/** Local ports given out by `freshPort`: never twice in one test file. */
const usedPorts = new Set();

/** A local port from the ephemeral range that no peer or server of this test file had yet. */
function freshPort() {
  for (;;) {
    const port = 32768 + Math.floor(Math.random() * 28000);
    if (!usedPorts.has(port)) {
      usedPorts.add(port);
      return port;
    }
  }
}

/** A TCP peer (client or accepted socket) that records everything it receives. */
export class Peer {
  constructor(socket) {
    this.socket = socket;
    this.received = Buffer.alloc(0);
    this.ended = false;
    this.waiters = [];
    socket.on('data', (d) => { this.received = Buffer.concat([this.received, d]); this.wake(); });
    socket.on('end', () => { this.ended = true; this.wake(); });
    socket.on('close', () => { this.ended = true; this.wake(); });
    socket.on('error', () => {});
  }

  /**
   * Connects from a local port no earlier peer of this test file had: tests and the page tell
   * connections apart by address, and the kernel may give a closed peer's port to a new one,
   * whose row would then share its address with the old one's.
   */
  static async connect(port) {
    for (let tries = 0; tries < 100; tries++) {
      const localPort = freshPort();
      try {
        return await new Promise((resolve, reject) => {
          const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1', localPort },
            () => resolve(new Peer(socket)));
          socket.once('error', reject);
        });
      } catch (e) {
        if (e.code !== 'EADDRINUSE') throw e;
      }
    }
    throw new Error('no free local port for a peer in 100 tries');
  }

  get address() { return `127.0.0.1:${this.socket.localPort}`; }

  send(text) { this.socket.write(text); }

  wake() { for (const w of this.waiters.splice(0)) w(); }

  /** Resolves once `check(this)` is true; fails after a bounded wait with what was received. */
  async until(check, what) {
    const deadline = Date.now() + WAIT_MS;
    while (!check(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`peer: ${what}; received so far: ${JSON.stringify(this.received.toString())}`);
      await new Promise((resolve) => { this.waiters.push(resolve); setTimeout(resolve, left); });
    }
  }

  receives(text) { return this.until((p) => p.received.toString().includes(text), `expected ${JSON.stringify(text)}`); }

  closedByBridge() { return this.until((p) => p.ended, 'expected the bridge to close the connection'); }

  close() { this.socket.destroy(); }
}

/** A Python program from `seed/`, typed into through stdin, read through stdout. */
export function python(script, args) {
  const child = spawn('python3', ['-u', path.join(SEED, script), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d; wake(); });
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => { wake(); resolve(code); }));
  return {
    type(line) { child.stdin.write(`${line}\n`); },
    /** Resolves with the first match of `pattern` in what the program printed. */
    async prints(pattern) {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const m = out.match(pattern);
        if (m) return m;
        const left = deadline - Date.now();
        if (left <= 0 || child.exitCode !== null) {
          throw new Error(`${script} did not print ${pattern}; stdout: ${out}\nstderr: ${err}`);
        }
        await new Promise((resolve) => { waiters.push(resolve); setTimeout(resolve, left); });
      }
    },
    exited: () => withTimeout(exited, WAIT_MS, `${script} did not exit`),
    kill() { child.kill(); },
  };
}


/** A TCP server on an ephemeral loopback port, for the page to dial. */
export async function startTcpServer() {
  const accepted = [];
  const waiters = [];
  const server = net.createServer((socket) => {
    accepted.push(new Peer(socket));
    for (const w of waiters.splice(0)) w();
  });
  // A port no earlier server of this file had, so that a dial's row names this server alone.
  for (let tries = 0; ; tries++) {
    const listening = await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(freshPort(), '127.0.0.1', () => resolve(true));
    }).catch((e) => {
      if (e.code !== 'EADDRINUSE' || tries >= 100) throw e;
      return false;
    });
    if (listening) break;
  }
  return {
    port: server.address().port,
    async nextPeer() {
      await withTimeout(new Promise((resolve) => {
        if (accepted.length) resolve(); else waiters.push(resolve);
      }), WAIT_MS, 'no connection reached the test server');
      return accepted.shift();
    },
    close() { for (const p of accepted) p.close(); server.close(); },
  };
}

/**
 * One bridge (started with `extraArgs`) and one browser for the whole test file: started before
 * its first test, stopped after its last. The bridge must exit cleanly on SIGTERM unless
 * `cleanExit` is false. Read `.bridge` and `.browser` inside tests.
 */
export function useBridge(extraArgs = [], { cleanExit = true, ...options } = {}) {
  const fixture = { bridge: null, browser: null };
  before(async () => {
    fixture.bridge = await startBridge(extraArgs, options);
    fixture.browser = await launchBrowser();
  });
  afterEach(async (t) => {
    if (!t.passed) await describeFailure(fixture.browser);
  });
  after(async () => {
    await fixture.browser?.close();
    const code = await fixture.bridge?.stop();
    if (cleanExit) assert.equal(code, 0, 'the bridge exits cleanly on SIGTERM');
  });
  return fixture;
}

/**
 * After a failed test, what each page still open showed: its status, notices and connection
 * list, and the browser's last console lines; a failure in CI can then be read, not guessed.
 */
async function describeFailure(browser) {
  if (!browser) return;
  for (const page of browser.context.pages()) {
    const text = async (selector) => {
      try {
        return (await page.locator(selector).allInnerTexts()).join(' | ').replace(/\s+/g, ' ');
      } catch (e) {
        return `(${e.message.split('\n')[0]})`;
      }
    };
    console.log(`page ${page.url()}`);
    console.log(`  status: ${await text('[role=status]')}`);
    console.log(`  notices: ${await text('.notices')}`);
    console.log(`  connections: ${await text('nav[aria-label=Connections] li')}`);
  }
  for (const line of browser.log) console.log(`  console ${line}`);
}

/** Resolves once `check()` is true, looking every 20 ms; fails after a bounded wait. */
export async function eventually(check, what) {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still not true: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Saves `screenshot-NAME.png` for the README when SCREENSHOT_DIR is set (scripts/screenshots.sh
 * sets it to docs/).
 */
export async function screenshot(page, name) {
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `screenshot-${name}.png`) });
  }
}

/** The page's landmarks, by the accessible names the end-to-end tests rely on. */
export const messages = (page) => page.getByRole('log', { name: 'Messages', exact: true });
export const connections = (page) => page.getByRole('navigation', { name: 'Connections' });
export const composer = (page) => page.getByRole('textbox', { name: 'Message' });
export const conversation = (page) => page.getByRole('region', { name: 'Conversation' });
export const sendForm = (page) => page.getByRole('form', { name: 'Send' });
/** A connection's row in the list, found by its peer's address. */
export const rowOf = (page, address) => connections(page).getByRole('button', { name: new RegExp(address) });

/** How many messages of the log are wholly in view. */
export const wholeInView = (page) => page.evaluate(() => {
  const box = document.querySelector('.log-scroll').getBoundingClientRect();
  return [...document.querySelectorAll('.log li.msg')].filter((li) => {
    const r = li.getBoundingClientRect();
    return r.top >= box.top && r.bottom <= box.bottom;
  }).length;
});

/**
 * Opens a tool's panel (`Dial`, `Listen`, `Device`) from the toolbar, as a user does before
 * using its forms; a panel already open stays open. Returns the panel.
 */
export async function openTool(page, name) {
  const button = page.getByRole('navigation', { name: 'Tools' }).getByRole('button', { name, exact: true });
  if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click();
  const panel = page.locator(`#${await button.getAttribute('aria-controls')}`);
  await panel.waitFor();
  return panel;
}

/** Opens the bridge's page in a new tab and waits until it is connected to the bridge. */
export async function openPage(browser, url) {
  const page = await browser.newPage();
  await page.goto(url);
  await page.locator('[role=status]', { hasText: /^Connected$/ }).waitFor();
  return page;
}
