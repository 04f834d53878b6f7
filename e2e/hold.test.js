// Hold, edit, forward, drop in a proxied conversation: two pages on one bridge watch the same
// client and server; one holds what the client says, edits it and lets it go, and the other
// sees the same queue and what became of each message. The server gets exactly what was let
// go, in order, and nothing that was dropped.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  eventually, launchBrowser, messages, openPage, Peer, rowOf, screenshot, startBridge, startTcpServer,
} from './harness.js';

const fx = { server: null, bridge: null, proxyPort: null, browser: null };

before(async () => {
  fx.server = await startTcpServer();
  fx.bridge = await startBridge(['--proxy', `127.0.0.1:0=127.0.0.1:${fx.server.port}`, '--framing', 'lf']);
  const line = fx.bridge.stdout().match(/Proxy on 127\.0\.0\.1:(\d+), relaying each client to (\S+)/);
  assert.ok(line, `the bridge says where it proxies: ${fx.bridge.stdout()}`);
  fx.proxyPort = line[1];
  fx.browser = await launchBrowser();
});

after(async () => {
  fx.server?.close();
  await fx.browser?.close();
  assert.equal(await fx.bridge?.stop(), 0, 'the bridge exits cleanly on SIGTERM');
});

const heldList = (page) => page.getByRole('region', { name: 'Held messages' });
const heldMessage = (page, text) => heldList(page).locator('li.held-message', { hasText: text });
const holdSwitch = (page) => page.getByLabel('Hold client→server', { exact: true });

test('a page holds, edits and forwards what the client says; a second page sees the same queue', async () => {
  const first = await openPage(fx.browser, fx.bridge.url);
  const second = await openPage(fx.browser, fx.bridge.url);
  const client = await Peer.connect(fx.proxyPort);
  const server = await fx.server.nextPeer();
  try {
    for (const page of [first, second]) await rowOf(page, client.address).click();

    // Hold is switched on from one page; the other's switch says so too.
    await holdSwitch(first).check();
    await eventually(() => holdSwitch(second).isChecked(), "the second page's Hold switch is on");

    client.send('set temp 20\n');
    for (const page of [first, second]) await heldMessage(page, 'set temp 20').waitFor();
    assert.equal(server.received.length, 0, 'the server got nothing while it is held');

    // Edit: the bytes as text, and the exact bytes that would go.
    await heldMessage(first, 'set temp 20').getByRole('button', { name: 'Edit' }).click();
    const editor = first.getByRole('textbox', { name: 'Edit held message' });
    assert.equal(await editor.inputValue(), 'set temp 20\n');
    await editor.fill('set temp 25\n');
    const preview = heldList(first).locator('.held-preview');
    await preview.getByText('Forwards 12 bytes: 73 65 74 20 74 65 6d 70 20 32 35 0a').waitFor();
    // As hex, the same bytes.
    await heldList(first).getByRole('button', { name: 'Hex' }).click();
    assert.equal(await editor.inputValue(), '73 65 74 20 74 65 6d 70 20 32 35 0a');
    await heldList(first).getByRole('button', { name: /^Text/ }).click();
    assert.equal(await editor.inputValue(), 'set temp 25\n');
    await screenshot(first, 'hold-edit');
    await heldList(first).getByRole('button', { name: 'Forward edited' }).click();

    // The server gets exactly the edit; both pages see it leave the queue and go, marked.
    await server.receives('set temp 25\n');
    assert.equal(server.received.toString(), 'set temp 25\n');
    for (const page of [first, second]) {
      await heldList(page).waitFor({ state: 'detached' });
      const went = messages(page).locator('li.msg', { hasText: 'set temp 25' });
      await went.locator('.mark.edited').waitFor();
    }

    // The second page drops one and forwards the next: the first sees both go.
    client.send('reboot\n');
    client.send('status?\n');
    for (const page of [first, second]) await heldMessage(page, 'status?').waitFor();
    await heldMessage(second, 'reboot').getByRole('button', { name: 'Drop' }).click();
    await messages(first).locator('li.msg', { hasText: 'reboot' }).locator('.mark.dropped').waitFor();
    await heldMessage(second, 'status?').getByRole('button', { name: 'Forward', exact: true }).click();
    await server.receives('status?\n');
    assert.equal(server.received.toString(), 'set temp 25\nstatus?\n', 'what was dropped never went');
    await heldList(first).waitFor({ state: 'detached' });

    // Hold off: what the client says goes at once again.
    await holdSwitch(second).uncheck();
    await eventually(async () => !(await holdSwitch(first).isChecked()), "the first page's Hold switch is off");
    client.send('bye\n');
    await server.receives('bye\n');
  } finally {
    client.close();
    await first.close();
    await second.close();
  }
});
