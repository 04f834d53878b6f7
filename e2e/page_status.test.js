// What the page says of problems and of the bridge itself: problems float over the conversation
// without moving anything, belong to the conversation they are about, end when it succeeds and
// can be dismissed; a bridge that is not reached is said to be so, and one that comes back as
// another run is said to have restarted, with what is gone. Real bridges, a real openssl
// s_server and a real browser, loopback only.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  Peer, composer, connections, conversation, eventually, messages, openPage, openTool, rowOf,
  sendForm, startBridge, startTcpServer, useBridge, withTimeout,
} from './harness.js';

const fx = useBridge();
const WAIT_MS = 10_000;

// A self-signed certificate for openssl s_server, made fresh for this run.
const cert = {};
before(() => {
  cert.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'page-status-'));
  [cert.key, cert.pem] = [path.join(cert.dir, 'key.pem'), path.join(cert.dir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '2', '-subj', '/CN=sensor.example', '-keyout', cert.key, '-out', cert.pem], { stdio: 'ignore' });
});
after(() => fs.rmSync(cert.dir, { recursive: true, force: true }));

/** `openssl s_server` on an ephemeral loopback port, presenting the self-signed certificate. */
async function sServer() {
  // stdin stays open: at its end s_server would end the conversation.
  const child = spawn('openssl', ['s_server', '-accept', '127.0.0.1:0', '-cert', cert.pem, '-key', cert.key],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', () => {});
  const port = await withTimeout(new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`openssl s_server exited with ${code}: ${out}`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/ACCEPT 127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
  }), WAIT_MS, 'openssl s_server did not start');
  return {
    port,
    received: () => out,
    close: () => child.kill('SIGKILL'),
  };
}

/** Dials from the page's dial form, and closes the panel again. */
async function dial(page, transport, port, { acceptAny = false } = {}) {
  const form = await openTool(page, 'Dial');
  await form.getByLabel('Host').fill('127.0.0.1');
  await form.getByLabel('Port').fill(String(port));
  await form.getByRole('combobox', { name: 'Protocol' }).selectOption(transport);
  if (acceptAny) await form.getByRole('checkbox', { name: /Accept any certificate/ }).check();
  await form.getByRole('button', { name: 'Connect' }).click();
  await page.keyboard.press('Escape');
  await form.waitFor({ state: 'hidden' });
}

const notices = (page) => page.locator('.notices .notice');

/** Where the connection list, its first row and the composer are. */
const layout = async (page) => ({
  list: await connections(page).boundingBox(),
  row: await connections(page).locator('li.conn').first().boundingBox(),
  composer: await sendForm(page).boundingBox(),
  message: await composer(page).boundingBox(),
});

function sameLayout(a, b) {
  for (const part of Object.keys(a)) {
    for (const side of ['x', 'y', 'width', 'height']) {
      assert.ok(Math.abs(a[part][side] - b[part][side]) <= 1,
        `${part}.${side} moved: ${a[part][side]} then ${b[part][side]}`);
    }
  }
}

test('three problems in view move neither the connection list nor the composer, and each is dismissed', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  // Ports where nothing listens: a dial to each is refused.
  const closed = [];
  for (let i = 0; i < 3; i++) {
    const server = await startTcpServer();
    server.close();
    closed.push(server.port);
  }
  try {
    await rowOf(page, peer.address).click();
    // Sending to all shows every conversation's problems at once.
    await sendForm(page).getByLabel('Send to all').check();
    const before = await layout(page);
    assert.equal(await notices(page).count(), 0);

    for (const port of closed) await dial(page, 'TCP', port);
    await eventually(async () => (await notices(page).count()) === 3, 'three problems in view');
    sameLayout(before, await layout(page));
    // Over the conversation, above the composer: they hide none of the composer.
    const stack = await page.locator('.notices').boundingBox();
    assert.ok(stack.y + stack.height <= before.composer.y + 0.5, 'the notices end above the composer');
    assert.ok(stack.x >= before.list.x + before.list.width, 'the notices are right of the list');

    for (let left = 3; left > 0; left--) {
      await notices(page).first().getByRole('button', { name: 'Dismiss' }).click();
      await eventually(async () => (await notices(page).count()) === left - 1, `${left - 1} left`);
    }
    sameLayout(before, await layout(page));
    assert.deepEqual(fx.browser.errors, []);
  } finally {
    peer.close();
    await page.close();
  }
});

test('a TLS dial refused is told in its conversation only, and is over once the retry accepting any certificate is through', async () => {
  const server = await sServer();
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  try {
    await rowOf(page, peer.address).waitFor();
    await dial(page, 'TLS', server.port);
    const refusal = notices(page).filter({ hasText: /accept any certificate/ });
    await refusal.waitFor();
    await conversation(page).locator('.conv-title .peer', { hasText: `127.0.0.1:${server.port}` }).waitFor();

    // Another conversation in view: the refusal is not over it.
    await rowOf(page, peer.address).click();
    await conversation(page).locator('.conv-title .peer', { hasText: peer.address }).waitFor();
    assert.equal(await refusal.count(), 0, 'not shown with another conversation');
    await rowOf(page, `127.0.0.1:${server.port}`).click();
    await refusal.waitFor();

    // Dialled again accepting any certificate: the peer is reached, the problem is over.
    await dial(page, 'TLS', server.port, { acceptAny: true });
    const through = rowOf(page, `127.0.0.1:${server.port}`).filter({ has: page.locator('.transport.tls.unverified') });
    await through.waitFor();
    await refusal.waitFor({ state: 'detached' });
    // Wherever one looks: with the refused dial's conversation too.
    await rowOf(page, `127.0.0.1:${server.port}`).filter({ hasNot: page.locator('.transport.tls.unverified') }).click();
    await conversation(page).locator('.conv-title .state', { hasText: 'closed' }).waitFor();
    assert.equal(await refusal.count(), 0);
    await through.click();
    await composer(page).fill('through');
    await composer(page).press('Enter');
    await eventually(() => server.received().includes('through'), 's_server received the line');
    assert.deepEqual(fx.browser.errors, []);
  } finally {
    server.close();
    peer.close();
    await page.close();
  }
});

/**
 * Records the page's WebSockets, so that a test can close the page's socket to a bridge that
 * goes on running, as a network that drops it would.
 */
const keepSockets = () => {
  const Native = window.WebSocket;
  window.pageSockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.pageSockets.push(this);
    }
  };
};

test('a bridge not reached is said to be so; the same run reached again says nothing, another run says what is gone', async () => {
  const first = await startBridge();
  const httpAddr = new URL(first.url).host;
  const page = await fx.browser.newPage();
  await page.addInitScript(keepSockets);
  await page.goto(first.url);
  const status = page.locator('[role=status]', { hasText: /^(Connected|Connecting|Disconnected)/ });
  const facts = page.locator('.topbar .server-facts .listen');
  const counts = connections(page).locator('.conn-counts');
  let second = null;
  const peer = await Peer.connect(first.listenPort);
  try {
    await status.getByText(/^Connected$/).waitFor();
    await facts.getByText(`Listening on 127.0.0.1:${first.listenPort}`).waitFor();
    await rowOf(page, peer.address).click();
    peer.send('before\n');
    await messages(page).locator('li.msg.rx', { hasText: 'before' }).waitFor();
    // A rule set from the page, which a restart loses (the bridge has no rules file).
    const device = await openTool(page, 'Device');
    await device.getByRole('button', { name: /^Rules/ }).click();
    const rules = page.getByRole('dialog', { name: 'Auto-reply rules' });
    await rules.getByRole('button', { name: 'Add rule' }).click();
    const editor = rules.getByRole('form', { name: 'Rule' });
    await editor.getByRole('textbox', { name: 'Id' }).fill('idn');
    await editor.getByRole('textbox', { name: /^Text/ }).fill('*IDN?');
    await editor.getByRole('textbox', { name: 'Reply', exact: true }).fill('ACME\\n');
    await editor.getByRole('button', { name: 'Save rule' }).click();
    await rules.getByText('1 rule in force').waitFor();
    await rules.getByRole('button', { name: 'Close the rules' }).click();
    await page.keyboard.press('Escape');

    // The page's socket drops, the bridge runs on: reached again, nothing to tell.
    await page.evaluate(() => window.pageSockets.at(-1).close());
    await status.getByText(/^Disconnected/).waitFor();
    await status.getByText(/^Connected$/).waitFor({ timeout: 15_000 });
    await facts.getByText(`Listening on 127.0.0.1:${first.listenPort}`).waitFor();
    assert.equal(await page.getByText('The bridge restarted').count(), 0, 'the same run: no restart');
    await messages(page).locator('li.msg.rx', { hasText: 'before' }).waitFor();

    // Gone without a word: the top bar says the bridge is not reached, not where it listens.
    await first.kill();
    await status.getByText(/^Disconnected/).waitFor();
    await facts.getByText(`Bridge not reached (it was listening on 127.0.0.1:${first.listenPort})`).waitFor();
    assert.equal(await page.locator('.topbar').getByText(/Listening on/).count(), 0);
    assert.match(await counts.innerText(), /^When last heard of: 1 open · 1 in all$/);

    // Another run on the same web address: the page says it restarted, and what is gone.
    second = await startBridge([], { http: httpAddr });
    await status.getByText(/^Connected$/).waitFor({ timeout: 15_000 });
    const told = notices(page).filter({ hasText: 'The bridge restarted' });
    await told.waitFor();
    assert.equal(await told.locator('.notice-text').innerText(),
      'The bridge restarted: the conversation of its last run and the auto-reply rule set from the page are gone.');
    await facts.getByText(`Listening on 127.0.0.1:${second.listenPort}`).waitFor();
    assert.equal(await rowOf(page, peer.address).count(), 0, 'the old run\'s conversation is gone');
    await told.getByRole('button', { name: 'Dismiss' }).click();
    await told.waitFor({ state: 'detached' });
    assert.deepEqual(fx.browser.errors, []);
  } finally {
    peer.close();
    await page.close();
    if (second) assert.equal(await second.stop(), 0);
    await first.kill();
  }
});
