// The used-by story, walked as a newcomer would: start the bridge, open the URL it prints, chat
// with a TCP peer from the page, in server mode (a peer connects to the bridge) and in client mode
// (the page dials a TCP server).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  Peer, composer, connections, messages, openPage, openTool, screenshot, startBridge, startTcpServer, useBridge,
} from './harness.js';

const fx = useBridge();


test('server mode: a TCP client connects, the page reads it and answers', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);

  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  peer.send('你好, bridge\n');
  await messages(page).locator('li.msg.rx', { hasText: '你好, bridge' }).waitFor();

  await composer(page).fill('hello, peer');
  await composer(page).press('Enter');
  await peer.receives('hello, peer\n');
  await messages(page).locator('li.msg.tx', { hasText: 'hello, peer' }).waitFor();
  assert.equal(await composer(page).inputValue(), '', 'the composer is cleared after sending');

  // Shift+Enter is a new line inside one message; Enter sends both lines at once.
  await composer(page).fill('line one');
  await composer(page).press('Shift+Enter');
  await composer(page).pressSequentially('line two');
  await composer(page).press('Enter');
  await peer.receives('line one\nline two\n');
  await screenshot(page, 'conversation');

  // The seed's convention: `exit` ends the conversation.
  peer.send('exit\n');
  await peer.closedByBridge();
  await connections(page).locator('li[data-state=closed]', { hasText: peer.address }).waitFor();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('client mode: the page dials a TCP server and chats with it', async () => {
  const server = await startTcpServer();
  const page = await openPage(fx.browser, fx.bridge.url);

  await openTool(page, 'Dial');
  const form = page.getByRole('form', { name: 'Connect' });
  await form.getByLabel('Host').fill('127.0.0.1');
  await form.getByLabel('Port').fill(String(server.port));
  await form.getByRole('button', { name: 'Connect' }).click();
  const peer = await server.nextPeer();

  const entry = connections(page).locator('li', { hasText: `127.0.0.1:${server.port}` });
  await entry.and(page.locator('[data-state=open]')).waitFor();
  await entry.getByRole('button').click();
  peer.send('welcome to the server\r\n');
  await messages(page).locator('li.msg.rx', { hasText: 'welcome to the server' }).waitFor();

  await composer(page).fill('hi, server');
  await composer(page).press('Enter');
  await peer.receives('hi, server\n');

  // Sending `exit` ends it from our side, as the seed's client does.
  await composer(page).fill('exit');
  await composer(page).press('Enter');
  await peer.closedByBridge();
  assert.equal(peer.received.toString(), 'hi, server\nexit\n');
  await entry.and(page.locator('[data-state=closed]')).waitFor();

  // One click dials the same server again, and the new conversation is the one shown.
  await page.getByRole('region', { name: 'Conversation' }).getByRole('button', { name: 'Dial again' }).click();
  const again = await server.nextPeer();
  again.send('welcome back\n');
  await messages(page).locator('li.msg.rx', { hasText: 'welcome back' }).waitFor();
  server.close();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('a refused dial is reported with its reason', async () => {
  // Port 1 on loopback: nothing listens there, and unlike a port just freed, no other program
  // can be handed it for an outgoing connection in the meantime.
  const port = 1;
  const page = await openPage(fx.browser, fx.bridge.url);
  await openTool(page, 'Dial');
  const form = page.getByRole('form', { name: 'Connect' });
  await form.getByLabel('Host').fill('127.0.0.1');
  await form.getByLabel('Port').fill(String(port));
  await form.getByRole('button', { name: 'Connect' }).click();
  await page.getByText(/refused/).first().waitFor();
  await connections(page).locator('li[data-state=closed]', { hasText: `127.0.0.1:${port}` }).waitFor();
  await page.close();
});

test('a refresh and a second tab show the same conversation, once', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  for (let i = 1; i <= 5; i++) peer.send(`line ${i}\n`);
  await messages(page).locator('li.msg.rx', { hasText: 'line 5' }).waitFor();

  const count = async (p) => {
    await connections(p).getByRole('button', { name: new RegExp(peer.address) }).click();
    await messages(p).locator('li.msg.rx', { hasText: 'line 5' }).waitFor();
    return messages(p).locator('li.msg.rx').evaluateAll((items) => items.map((li) => li.textContent));
  };
  const before = await count(page);
  await page.reload();
  await page.locator('[role=status]', { hasText: /^Connected$/ }).waitFor();
  const afterReload = await count(page);
  const second = await openPage(fx.browser, fx.bridge.url);
  const inSecondTab = await count(second);
  assert.deepEqual(afterReload, before);
  assert.deepEqual(inSecondTab, before);
  const joined = before.join('');
  for (let i = 1; i <= 5; i++) assert.equal(joined.split(`line ${i}`).length, 2, `line ${i} shown exactly once`);
  peer.close();
  await page.close();
  await second.close();
});

test('the page reconnects by itself when the bridge restarts', async () => {
  const first = await startBridge();
  const httpAddr = new URL(first.url).host;
  const page = await fx.browser.newPage();
  await page.goto(first.url);
  const status = page.locator('[role=status]');
  await status.getByText(/^Connected$/).waitFor();
  const oldPeer = await Peer.connect(first.listenPort);
  await connections(page).getByRole('button', { name: new RegExp(oldPeer.address) }).waitFor();

  assert.equal(await first.stop(), 0);
  await status.getByText(/^Disconnected/).waitFor();

  // A new bridge on the same web address: the page finds it again and shows its state, not the
  // old bridge's.
  const second = await startBridge([], { http: httpAddr });
  try {
    await status.getByText(/^Connected$/).waitFor({ timeout: 15_000 });
    const peer = await Peer.connect(second.listenPort);
    await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
    peer.send('after the restart\n');
    await messages(page).locator('li.msg.rx', { hasText: 'after the restart' }).waitFor();
    assert.equal(await connections(page).getByRole('button', { name: new RegExp(oldPeer.address) }).count(), 0);
    peer.close();
  } finally {
    await page.close();
    assert.equal(await second.stop(), 0);
  }
});

test('with an access token, the page opened from the printed URL works and a bare one does not', async () => {
  const guarded = await startBridge(['--token', 'e2e-secret-token']);
  try {
    assert.match(guarded.url, /\/\?token=e2e-secret-token$/);
    const page = await openPage(fx.browser, guarded.url);
    await page.close();

    const bare = await fx.browser.newPage();
    await bare.goto(new URL(guarded.url).origin);
    await bare.locator('[role=status]', { hasText: /^Disconnected/ }).waitFor();
    await bare.close();
    // The bare page's browser logs its refused WebSockets: the expected outcome, not a fault.
    const refused = fx.browser.errors.splice(0);
    assert.ok(refused.every((e) => e.includes('403')), refused.join('\n'));
  } finally {
    assert.equal(await guarded.stop(), 0);
  }
});

test('the page opens a client to its own listener, then moves, stops and restarts the listener', async () => {
  // A bridge of its own: this test moves and stops the listener that other tests connect to.
  const own = await startBridge();
  const page = await openPage(fx.browser, own.url);
  await openTool(page, 'Listen');
  const listener = page.getByRole('form', { name: 'Listener' });
  const state = listener.getByRole('status');
  await state.getByText(`Listening on 127.0.0.1:${own.listenPort}`).waitFor();

  // Both ends of one conversation in one page: the dialled client and the accepted server side.
  await listener.getByRole('button', { name: 'Open a client to it' }).click();
  const client = connections(page).locator('li[data-state=open]', { hasText: `127.0.0.1:${own.listenPort}` });
  await client.waitFor();
  const clientLocal = await client.getByRole('button').textContent();
  const server = connections(page).locator('li[data-state=open]').filter({ hasNot: page.getByText(`127.0.0.1:${own.listenPort}`) }).last();
  await server.getByRole('button').click();
  await composer(page).fill('hello from the server side');
  await composer(page).press('Enter');
  // Both ends side by side: the client's side of the same conversation shows what arrived.
  await page.getByRole('region', { name: 'Other end' })
    .getByRole('log', { name: 'Messages at the other end' })
    .locator('li.msg.rx', { hasText: 'hello from the server side' }).waitFor();
  await screenshot(page, 'both-ends');
  await client.getByRole('button').click();
  await messages(page).locator('li.msg.rx', { hasText: 'hello from the server side' }).waitFor();
  assert.ok(clientLocal.length > 0);

  // Move it: the new address is announced, and the old one refuses.
  const oldPort = own.listenPort;
  await openTool(page, 'Listen');
  await listener.getByLabel('Listen address').fill('127.0.0.1:0');
  await listener.getByRole('button', { name: 'Move' }).click();
  await state.getByText(/^Listening on 127\.0\.0\.1:\d+$/).and(page.locator(`:not(:text("127.0.0.1:${oldPort}"))`)).waitFor();
  const moved = Number((await state.textContent()).split(':').pop());
  assert.notEqual(moved, oldPort);
  await assert.rejects(Peer.connect(oldPort), /ECONNREFUSED/);
  const peer = await Peer.connect(moved);
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).waitFor();
  peer.close();

  // Stop it, and start it again.
  await listener.getByRole('button', { name: 'Stop' }).click();
  await state.getByText('Stopped').waitFor();
  await assert.rejects(Peer.connect(moved), /ECONNREFUSED/);
  await listener.getByLabel('Listen address').fill('127.0.0.1:0');
  await listener.getByRole('button', { name: 'Listen' }).click();
  await state.getByText(/^Listening on 127\.0\.0\.1:\d+$/).waitFor();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
  assert.equal(await own.stop(), 0);
});

test('a GBK message reads correctly once its conversation is set to GBK, and replies go out in GBK', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  peer.socket.write(Buffer.from('c4e3bac30a', 'hex')); // 你好\n in GBK

  // As UTF-8 (the default), the bytes are not text, and the page shows each of them.
  await messages(page).locator('li.msg.rx', { hasText: '\\xC4\\xE3\\xBA\\xC3' }).waitFor();
  await page.getByRole('combobox', { name: 'Encoding' }).selectOption('GBK');
  await messages(page).locator('li.msg.rx', { hasText: '你好' }).waitFor();

  await composer(page).fill('再见');
  await composer(page).press('Enter');
  const gbk = Buffer.from('d4d9bcfb0a', 'hex'); // 再见\n in GBK
  await peer.until((p) => p.received.equals(gbk), 'expected 再见 in GBK');

  // What GBK cannot write is refused at the composer, and nothing is sent.
  await composer(page).fill('😀');
  await composer(page).press('Enter');
  await page.getByRole('alert').getByText(/cannot be written in GBK/).waitFor();
  await composer(page).fill('ok');
  await composer(page).press('Enter');
  await peer.until((p) => p.received.length > gbk.length, 'expected the next message');
  assert.equal(peer.received.toString('hex'), 'd4d9bcfb0a6f6b0a');
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('hex input and escapes send exactly the bytes typed; bad hex is refused and sends nothing', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  const send = page.getByRole('form', { name: 'Send' });

  await send.getByRole('combobox', { name: 'Input' }).selectOption('hex');
  await composer(page).fill('48 65 6c');
  await composer(page).press('Enter');
  await peer.until((p) => p.received.equals(Buffer.from('Hel')), 'expected exactly "Hel"');

  await composer(page).fill('48 6');
  await composer(page).press('Enter');
  await page.getByRole('alert').getByText(/odd number of hex digits/).waitFor();
  assert.equal(await composer(page).inputValue(), '48 6', 'the input is kept for fixing');

  await send.getByRole('combobox', { name: 'Input' }).selectOption('text');
  await send.getByLabel(/^Escapes/).check();
  await composer(page).fill('AT\\x01\\r');
  await composer(page).press('Enter');
  const expected = Buffer.concat([Buffer.from('Hel'), Buffer.from('AT\x01\r\n', 'latin1')]);
  await peer.until((p) => p.received.equals(expected), 'expected "AT", 0x01, CR, then the LF line ending');

  // One message at a time, or the whole view: the hex view shows the bytes as they went.
  await messages(page).locator('li.msg.tx', { hasText: 'AT' }).waitFor();
  const sent = messages(page).locator('li.msg.tx').nth(1); // "Hel", then this one
  await sent.getByRole('button', { name: 'hex' }).click();
  await sent.locator('pre.body.hex', { hasText: '41 54 01 0d 0a' }).waitFor();
  await sent.getByRole('button', { name: 'text' }).click();
  await sent.locator('pre.body:not(.hex)').waitFor();
  await page.getByRole('combobox', { name: 'View' }).selectOption('hex');
  await messages(page).locator('li.msg.tx pre.body.hex', { hasText: '41 54 01 0d 0a' }).waitFor();
  await page.getByRole('combobox', { name: 'View' }).selectOption('text');
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('find narrows the conversation, clear view hides it without losing it, gaps show the time between', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  for (const word of ['alpha', 'beta', 'gamma']) {
    peer.send(`${word}\n`);
    await messages(page).locator('li.msg.rx', { hasText: word }).waitFor();
  }
  const rx = messages(page).locator('li.msg.rx');

  await page.getByRole('searchbox', { name: 'Find' }).fill('BET');
  await rx.filter({ hasText: 'alpha' }).waitFor({ state: 'detached' });
  assert.deepEqual(await rx.locator('pre.body').allTextContents(), ['beta']);
  await page.getByRole('searchbox', { name: 'Find' }).fill('');
  await rx.filter({ hasText: 'alpha' }).waitFor();

  await page.getByRole('checkbox', { name: 'Gaps' }).check();
  assert.equal(await rx.locator('.gap').count(), 2, 'every message after the first shows its gap');
  assert.match(await rx.locator('.gap').first().textContent(), /^\+\d+ ms$|^\+\d+\.\d{3} s$/);

  await page.getByRole('button', { name: 'Clear view' }).click();
  await rx.first().waitFor({ state: 'detached' });
  peer.send('delta\n');
  await rx.filter({ hasText: 'delta' }).waitFor();
  assert.equal(await rx.count(), 1, 'only what came after the clear');
  await page.getByRole('button', { name: 'Show all' }).click();
  await rx.filter({ hasText: 'alpha' }).waitFor();
  assert.equal(await rx.count(), 4);
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('the conversation downloads as text and as JSON Lines with the exact bytes', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  peer.socket.write(Buffer.from([0x68, 0x69, 0xff, 0x0a])); // "hi", a byte that is not UTF-8, LF
  await messages(page).locator('li.msg.rx', { hasText: 'hi\\xFF' }).waitFor();
  const downloads = page.getByRole('group', { name: 'Download' });

  const read = async (name) => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      downloads.getByRole('button', { name }).click(),
    ]);
    const stream = await download.createReadStream();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    return { file: download.suggestedFilename(), text: Buffer.concat(chunks).toString('utf8') };
  };
  const text = await read('Text');
  assert.match(text.file, /\.txt$/);
  assert.match(text.text, / <- hi\\xFF\n$/);
  const jsonl = await read('JSON Lines');
  assert.match(jsonl.file, /\.jsonl$/);
  const lines = jsonl.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].dir, 'rx');
  assert.equal(lines[0].hex, '6869ff0a');
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('the conversation downloads as pcapng, which tshark reads back byte for byte', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  peer.socket.write(Buffer.from([0x68, 0x69, 0xff, 0x0a])); // "hi", a byte that is not UTF-8, LF
  await messages(page).locator('li.msg.rx', { hasText: 'hi\\xFF' }).waitFor();
  await composer(page).fill('ok');
  await composer(page).press('Enter');
  await peer.receives('ok\n');
  await messages(page).locator('li.msg.tx', { hasText: 'ok' }).waitFor();

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('group', { name: 'Download' }).getByRole('button', { name: 'pcapng' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /\.pcapng$/);
  const dir = mkdtempSync(join(tmpdir(), 'pcapng-'));
  const file = join(dir, download.suggestedFilename());
  await download.saveAs(file);
  // tshark is installed by the test script; the stream each way is exactly what was said.
  const follow = execFileSync('tshark', ['-r', file, '-q', '-z', 'follow,tcp,raw,0'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const body = follow.split('Node 1:')[1].split('\n').slice(1).filter((l) => l && !l.startsWith('='));
  const client = body.filter((l) => !l.startsWith('\t')).join('');
  const server = body.filter((l) => l.startsWith('\t')).map((l) => l.trim()).join('');
  assert.equal(client, '6869ff0a');
  assert.equal(server, '6f6b0a');
  const comment = execFileSync('tshark', ['-r', file, '-c', '1', '-T', 'fields', '-e', 'frame.comment'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  assert.match(comment, new RegExp(`^conversation \\d+: TCP, accepted from ${peer.address.replace(/[.[\]]/g, '\\$&')} on `));
  rmSync(dir, { recursive: true });
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('repeat-send sends at its interval until stopped', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  const send = page.getByRole('form', { name: 'Send' });
  await composer(page).fill('ping');
  await send.getByLabel('Every').fill('50');
  await send.getByRole('button', { name: 'Repeat' }).click();
  const count = () => peer.received.toString().split('ping\n').length - 1;
  await peer.until(() => count() >= 3, 'expected three pings');
  await send.getByRole('button', { name: /^Stop repeating \(\d+ sent\)$/ }).click();
  await send.getByRole('button', { name: 'Repeat' }).waitFor();
  const stopped = count();
  // Nothing more after the stop: ten intervals' worth of waiting, bounded.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.ok(count() <= stopped + 1, `${count() - stopped} pings after the stop`);
  assert.equal(peer.received.toString(), 'ping\n'.repeat(count()));
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('saved messages stay in the browser and fill the composer with one click', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  const send = page.getByRole('form', { name: 'Send' });
  await composer(page).fill('AT+GMR');
  await send.getByRole('button', { name: 'Save message' }).click();
  const saved = send.getByRole('list', { name: 'Saved messages' });
  await saved.getByRole('button', { name: 'AT+GMR TEXT · LF', exact: true }).waitFor();

  // Still there after a reload, and one click with Shift puts it back in the composer (a plain
  // click sends it: settings.test.js).
  await page.reload();
  await page.locator('[role=status]', { hasText: /^Connected$/ }).waitFor();
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  await composer(page).fill('');
  await saved.getByRole('button', { name: 'AT+GMR TEXT · LF', exact: true }).click({ modifiers: ['Shift'] });
  assert.equal(await composer(page).inputValue(), 'AT+GMR');
  await composer(page).press('Enter');
  await peer.receives('AT+GMR\n');

  await saved.getByRole('button', { name: 'Remove the saved message AT+GMR' }).click();
  await saved.getByRole('button', { name: 'AT+GMR TEXT · LF', exact: true }).waitFor({ state: 'detached' });
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('each conversation shows its traffic of the last minute', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  peer.send('x'.repeat(2000));
  await messages(page).locator('li.msg.rx').first().waitFor();
  const graph = page.getByRole('region', { name: 'Conversation' }).getByRole('img', { name: /^Last second:/ });
  // The busiest second of the minute holds the 2000 bytes (one record, or a few).
  await graph.and(page.locator('[aria-label*="busiest second of the last minute: 2.0 KiB"]')).waitFor();
  assert.equal(await graph.locator('polyline').count(), 2);
  peer.close();
  await page.close();
});

test('a narrow window, driven by the keyboard alone, still chats', async () => {
  const page = await fx.browser.newPage();
  await page.setViewportSize({ width: 600, height: 800 });
  await page.goto(fx.bridge.url);
  await page.locator('[role=status]', { hasText: /^Connected$/ }).waitFor();
  const peer = await Peer.connect(fx.bridge.listenPort);
  const entry = connections(page).getByRole('button', { name: new RegExp(peer.address) });
  await entry.waitFor();

  // Focus on the connection, Enter to open it, Tab on to the composer: no mouse.
  await entry.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('region', { name: 'Conversation' }).getByText(peer.address).first().waitFor();
  for (let i = 0; i < 40 && !(await composer(page).evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  assert.ok(await composer(page).evaluate((el) => el === document.activeElement), 'Tab reaches the composer');
  await page.keyboard.type('typed, not clicked');
  await page.keyboard.press('Enter');
  await peer.receives('typed, not clicked\n');
  assert.ok(await composer(page).isVisible());
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});
