// The page says what it does: every control shows the setting in force for the conversation in
// view, the forms keep what the user typed or last used, and the page says what a send to all
// reached and when what it shows may be out of date (issue 12, its numbered defects).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Peer, composer, connections, conversation, eventually, openPage, openTool, rowOf, sendForm, startBridge, startTcpServer, useBridge,
} from './harness.js';

const fx = useBridge();


test('each conversation\'s menus show its own settings, whichever way it was selected', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const a = await Peer.connect(fx.bridge.listenPort);
  const b = await Peer.connect(fx.bridge.listenPort);
  const encoding = page.getByRole('combobox', { name: 'Encoding', exact: true });
  const view = page.getByRole('combobox', { name: 'View' });
  const input = sendForm(page).getByRole('combobox', { name: 'Input' });
  const ending = sendForm(page).getByRole('combobox', { name: 'Line ending' });
  const show = async (peer) => {
    await rowOf(page, peer.address).click();
    await conversation(page).locator('.conv-title .peer', { hasText: peer.address }).waitFor();
  };

  // The steps: GBK on A, select B, select A again.
  await show(a);
  await encoding.selectOption('GBK');
  await show(b);
  assert.equal(await encoding.inputValue(), 'UTF-8', 'B reads UTF-8');
  await show(a);
  assert.equal(await encoding.inputValue(), 'GBK', 'A is back, and so is its encoding');
  await composer(page).fill('好');
  await composer(page).press('Enter');
  await a.until((p) => p.received.equals(Buffer.from('bac30a', 'hex')), 'expected 好 in GBK');

  // The view and the composer's options are each conversation's own too.
  await view.selectOption('hex');
  await ending.selectOption('CRLF');
  await show(b);
  assert.deepEqual(
    [await encoding.inputValue(), await view.inputValue(), await input.inputValue(), await ending.inputValue()],
    ['UTF-8', 'text', 'text', 'LF'],
  );
  await input.selectOption('hex');
  // Back to A from the keyboard this time: A's settings are in force, and shown.
  await rowOf(page, b.address).focus();
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await conversation(page).locator('.conv-title .peer', { hasText: a.address }).waitFor();
  assert.deepEqual(
    [await encoding.inputValue(), await view.inputValue(), await input.inputValue(), await ending.inputValue()],
    ['GBK', 'hex', 'text', 'CRLF'],
  );
  await composer(page).fill('好');
  await composer(page).press('Enter');
  await a.until((p) => p.received.equals(Buffer.from('bac30abac30d0a', 'hex')), 'expected 好 in GBK, then CRLF');
  await show(b);
  assert.equal(await input.inputValue(), 'hex', 'B kept hex');
  assert.deepEqual(fx.browser.errors, []);
  a.close();
  b.close();
  await page.close();
});

test('new connections start in the encoding chosen in the page, kept in the fx.browser, else the bridge\'s', async () => {
  const gbkBridge = await startBridge(['--encoding', 'gbk']);
  try {
    const page = await openPage(fx.browser, gbkBridge.url);
    const newConnections = page.getByRole('combobox', { name: 'New connections' });
    const encoding = page.getByRole('combobox', { name: 'Encoding', exact: true });
    assert.equal(await newConnections.locator('option:checked').textContent(), 'GBK (the bridge\'s)');
    const first = await Peer.connect(gbkBridge.listenPort);
    await rowOf(page, first.address).click();
    assert.equal(await encoding.inputValue(), 'GBK', '--encoding gbk');

    await newConnections.selectOption('GB18030');
    await page.reload();
    await page.locator('[role=status]', { hasText: /^Connected$/ }).waitFor();
    assert.equal(await newConnections.inputValue(), 'GB18030', 'kept in this browser');
    const second = await Peer.connect(gbkBridge.listenPort);
    await rowOf(page, second.address).click();
    await conversation(page).getByText(second.address).first().waitFor();
    assert.equal(await encoding.inputValue(), 'GB18030');
    await newConnections.selectOption({ label: 'GBK (the bridge\'s)' });
    first.close();
    second.close();
    await page.close();
  } finally {
    assert.equal(await gbkBridge.stop(), 0);
  }
});

test('stop, then listen: the listener comes back where it was, and the dial form keeps its port', async () => {
  const own = await startBridge();
  try {
    const page = await openPage(fx.browser, own.url);
    const listener = page.getByRole('form', { name: 'Listener' });
    const state = listener.getByRole('status');
    const address = listener.getByLabel('Listen address');
    const dialPort = page.getByRole('form', { name: 'Connect' }).getByLabel('Port');
    await openTool(page, 'Dial');
    await dialPort.fill('2323');
    await openTool(page, 'Listen');
    await state.getByText(`Listening on 127.0.0.1:${own.listenPort}`).waitFor();

    await listener.getByRole('button', { name: 'Stop' }).click();
    await state.getByText('Stopped').waitFor();
    assert.equal(await address.inputValue(), `127.0.0.1:${own.listenPort}`, 'the address is not rewritten');
    await openTool(page, 'Dial');
    assert.equal(await dialPort.inputValue(), '2323', 'nor is the dial port');
    await openTool(page, 'Listen');
    await listener.getByRole('button', { name: 'Listen' }).click();
    await state.getByText(`Listening on 127.0.0.1:${own.listenPort}`).waitFor();
    await Peer.connect(own.listenPort).then((p) => p.close());
    assert.deepEqual(fx.browser.errors, []);
    await page.close();
  } finally {
    assert.equal(await own.stop(), 0);
  }
});

test('with hex input the line ending shows none, and the composer previews the exact bytes', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await rowOf(page, peer.address).click();
  const ending = sendForm(page).getByRole('combobox', { name: 'Line ending' });
  const preview = sendForm(page).locator('.composer-preview');
  await ending.selectOption('CRLF');
  await sendForm(page).getByRole('combobox', { name: 'Input' }).selectOption('hex');
  assert.equal(await ending.inputValue(), 'None', 'what the menu shows is what goes out');
  assert.ok(await ending.isDisabled());
  await composer(page).fill('41 54');
  await preview.getByText('Sends 2 bytes: 41 54').waitFor();
  await composer(page).press('Enter');
  await peer.until((p) => p.received.equals(Buffer.from('AT')), 'expected exactly AT, no line ending');

  await sendForm(page).getByRole('combobox', { name: 'Input' }).selectOption('text');
  assert.equal(await ending.inputValue(), 'CRLF', 'text keeps its ending');
  await composer(page).fill('AT');
  await preview.getByText('Sends 4 bytes: 41 54 0d 0a').waitFor();
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('a send to all says how many it reached, and that the next Enter goes to all again', async () => {
  const own = await startBridge();
  const peers = [];
  try {
    const page = await openPage(fx.browser, own.url);
    for (let i = 0; i < 3; i++) peers.push(await Peer.connect(own.listenPort));
    await connections(page).locator('.conn-counts').getByText('3 open · 3 in all').waitFor();
    await sendForm(page).getByLabel('Send to all').check();
    const note = sendForm(page).getByRole('status');
    await note.getByText('Enter sends to all 3 open connections').waitFor();
    assert.equal(await sendForm(page).getByRole('button', { name: /^Send to all 3$/ }).count(), 1);

    await composer(page).fill('to everyone');
    await composer(page).press('Enter');
    for (const p of peers) await p.receives('to everyone\n');
    await note.getByText(/^Sent to 3 connections\. Enter sends to all 3 open connections/).waitFor();
    assert.ok(await sendForm(page).getByLabel('Send to all').isChecked(), 'still on, and it says so');
    assert.deepEqual(fx.browser.errors, []);
    await page.close();
  } finally {
    for (const p of peers) p.close();
    assert.equal(await own.stop(), 0);
  }
});

test('while the page is not connected to the bridge, open conversations are not said to be open', async () => {
  const own = await startBridge();
  const page = await openPage(fx.browser, own.url);
  const peer = await Peer.connect(own.listenPort);
  const row = connections(page).locator('li', { hasText: peer.address });
  await row.and(page.locator('[data-state=open]')).waitFor();
  await row.getByRole('button').click();
  const headerState = conversation(page).locator('.conv-title .state');
  assert.equal(await headerState.textContent(), 'open');

  // Gone without a word (a crash, a lost network): nothing told the page its peers closed.
  await own.kill();
  await page.locator('[role=status]', { hasText: /^Disconnected/ }).waitFor();
  await row.and(page.locator('[data-state=unknown]')).waitFor();
  assert.equal(await row.locator('.state').textContent(), 'unknown');
  assert.equal(await headerState.textContent(), 'unknown');
  assert.match(await headerState.getAttribute('title'), /was open when last heard of/);
  peer.close();
  await page.close();
});

test('the host field fits an IPv6 address, and host:port pasted into it fills both fields', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  await openTool(page, 'Dial');
  const form = page.getByRole('form', { name: 'Connect' });
  const host = form.getByLabel('Host');
  for (const address of ['192.168.100.200', '2001:db8:85a3::8a2e:370:7334']) {
    await host.fill(address);
    assert.ok(await host.evaluate((el) => el.scrollWidth <= el.clientWidth), `${address} shows whole`);
  }
  await host.fill('');
  await host.focus();
  await host.evaluate((el) => {
    const data = new DataTransfer();
    data.setData('text/plain', '192.168.1.20:502');
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  });
  await eventually(async () => (await host.inputValue()) === '192.168.1.20', 'the host alone in Host');
  assert.equal(await form.getByLabel('Port').inputValue(), '502');
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('a saved message is sent with one click; Shift+click puts it in the composer', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await rowOf(page, peer.address).click();
  await composer(page).fill('AT+RST');
  await sendForm(page).getByRole('button', { name: 'Save message' }).click();
  await composer(page).fill('draft, kept');
  const saved = sendForm(page).getByRole('list', { name: 'Saved messages' }).getByRole('button', { name: 'AT+RST TEXT · LF', exact: true });
  await saved.click();
  await peer.receives('AT+RST\n');
  assert.equal(await composer(page).inputValue(), 'draft, kept', 'a saved message does not take the draft\'s place');
  await saved.click({ modifiers: ['Shift'] });
  assert.equal(await composer(page).inputValue(), 'AT+RST', 'Shift+click puts it in the composer');
  assert.equal(peer.received.toString(), 'AT+RST\n', 'and sends nothing');
  await sendForm(page).getByRole('button', { name: 'Remove the saved message AT+RST' }).click();
  peer.close();
  await page.close();
});

test('when the conversation in view closes, the next peer to arrive is shown, unless the user chose the closed one', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const first = await Peer.connect(fx.bridge.listenPort);
  const firstAt = first.address;
  await rowOf(page, firstAt).click();
  first.send('exit\n');
  await connections(page).locator('li[data-state=closed]', { hasText: firstAt }).waitFor();
  const second = await Peer.connect(fx.bridge.listenPort);
  await conversation(page).locator('.conv-title .peer', { hasText: second.address }).waitFor();

  // Chosen once closed, it stays while another arrives.
  await rowOf(page, firstAt).click();
  const third = await Peer.connect(fx.bridge.listenPort);
  await rowOf(page, third.address).waitFor();
  third.send('hello\n');
  await connections(page).locator('li', { hasText: third.address }).locator('.unread').waitFor();
  assert.equal(await conversation(page).locator('.conv-title .peer').textContent(), firstAt);
  second.close();
  third.close();
  await page.close();
});

/**
 * Sets fields and submits in one task of the page, as a quick user does while the page is busy
 * drawing: the page has not yet redrawn after the fields changed when the submit runs.
 */
const typeAndSubmit = (page, fields, submit) => page.evaluate(({ fields, submit }) => {
  for (const [id, value] of Object.entries(fields)) {
    const el = document.getElementById(id);
    el.value = value;
    el.dispatchEvent(new InputEvent('input', { bubbles: true }));
  }
  const target = document.querySelector(submit);
  if (target instanceof HTMLFormElement) target.requestSubmit();
  else target.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
}, { fields, submit });

test('a form sends what its fields hold, even before the page has drawn the last keystroke', async () => {
  const server = await startTcpServer();
  const page = await openPage(fx.browser, fx.bridge.url);
  try {
    await openTool(page, 'Dial');
    await typeAndSubmit(page, { 'connect-host': '127.0.0.1', 'connect-port': String(server.port) },
      'form[aria-label=Connect]');
    const peer = await server.nextPeer();
    // What a person waits for: the conversation open and the composer able to send to it. The
    // title alone shows while the dial is still connecting, when Enter is refused.
    await conversation(page).locator('.conv-title', { hasText: `127.0.0.1:${server.port}` })
      .locator('.state', { hasText: 'open' }).waitFor();
    await sendForm(page).locator('button[type=submit]:not([disabled])').waitFor();
    await typeAndSubmit(page, { 'composer-text': 'typed fast' }, '#composer-text');
    await peer.receives('typed fast\n');
    assert.deepEqual(fx.browser.errors, []);
  } finally {
    server.close();
    await page.close();
  }
});

test('a message sent while its conversation is still connecting is refused in words and kept', async () => {
  // A server that takes the TCP connection and never answers the TLS handshake: the dial stays
  // connecting until the bridge's dial timeout.
  const server = await startTcpServer();
  const page = await openPage(fx.browser, fx.bridge.url);
  try {
    await openTool(page, 'Dial');
    const form = page.getByRole('form', { name: 'Connect' });
    await form.getByLabel('Host').fill('127.0.0.1');
    await form.getByLabel('Port').fill(String(server.port));
    await form.getByRole('combobox', { name: 'Protocol' }).selectOption('TLS');
    await form.getByRole('button', { name: 'Connect' }).click();
    const peer = await server.nextPeer();
    await conversation(page).locator('.conv-title .state', { hasText: 'connecting' }).waitFor();
    await composer(page).fill('typed early');
    await composer(page).press('Enter');
    const refusal = sendForm(page).getByRole('alert');
    await refusal.waitFor();
    assert.match(await refusal.textContent(), new RegExp(`Still connecting to 127\\.0\\.0\\.1:${server.port}`));
    assert.equal(await composer(page).inputValue(), 'typed early', 'the text stays to send later');
    assert.doesNotMatch(peer.received.toString('latin1'), /typed early/);
    assert.deepEqual(fx.browser.errors, []);
  } finally {
    server.close();
    await page.close();
  }
});
