// The composer sends what it says it sends (issue 19): a saved message as it was saved, each
// conversation's draft with its own options, nothing for an empty Enter, no line ending for UDP
// unless chosen; and it is at hand: `/` from a checkbox or a menu, the caret in a new
// conversation once Connect succeeds. And a message's auto-reply… is offered where it is wanted.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import {
  Peer, composer, conversation, eventually, messages, openPage, openTool, rowOf, sendForm, startTcpServer,
  useBridge,
} from './harness.js';

const fx = useBridge(['--no-exit-word']);

/** Shows `peer`'s conversation, as a click on its row does. */
async function show(page, peer) {
  await rowOf(page, peer.address).click();
  await conversation(page).locator('.conv-title .peer', { hasText: peer.address }).waitFor();
}

/** Dials `port` on 127.0.0.1 from the Dial panel. */
async function dial(page, port, transport = 'TCP') {
  const panel = await openTool(page, 'Dial');
  const form = panel.getByRole('form', { name: 'Connect' });
  await form.getByLabel('Host').fill('127.0.0.1');
  await form.getByLabel('Port').fill(String(port));
  await form.getByRole('combobox', { name: 'Protocol' }).selectOption(transport);
  await form.getByRole('button', { name: 'Connect' }).click();
}

const composerFocused = (page) => composer(page).evaluate((el) => el === document.activeElement);
const menu = (page, name) => sendForm(page).getByRole('combobox', { name, exact: true });
const savedList = (page) => sendForm(page).getByRole('list', { name: 'Saved messages' });

test('a saved message is sent as its preview said when it was saved, whatever the composer holds now', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  await page.evaluate(() => localStorage.removeItem('tcp-bridge.quick-messages'));
  const [a, b] = [await Peer.connect(fx.bridge.listenPort), await Peer.connect(fx.bridge.listenPort)];
  await show(page, a);

  // The steps: a Modbus read in hex with its CRC, saved.
  await menu(page, 'Input').selectOption('hex');
  await menu(page, 'Checksum').selectOption('crc16_modbus');
  await composer(page).fill('01 03 00 00 00 02');
  const preview = await sendForm(page).locator('.composer-preview').textContent();
  assert.match(preview, /01 03 00 00 00 02/);
  assert.match(preview, /CRC-16\/MODBUS c4 0b/);
  await sendForm(page).getByRole('button', { name: 'Save message' }).click();
  const chip = savedList(page).getByRole('button', { name: '01 03 00 00 00 02 HEX · CRC-16/MODBUS', exact: true });
  await chip.waitFor();
  assert.match(await chip.getAttribute('title'), /Sends 8 bytes: 01 03 00 00 00 02 c4 0b/);

  // The composer back to text with no checksum, a draft in it: the chip sends the 8 bytes.
  await menu(page, 'Input').selectOption('text');
  await menu(page, 'Checksum').selectOption('none');
  await composer(page).fill('a draft');
  const modbus = Buffer.from('010300000002c40b', 'hex');
  await chip.click();
  await a.until((p) => p.received.equals(modbus), 'expected exactly 01 03 00 00 00 02 c4 0b');
  assert.equal(await composer(page).inputValue(), 'a draft', 'the draft stays');

  // In another conversation, whose options are the defaults: the same 8 bytes.
  await show(page, b);
  await chip.click();
  await b.until((p) => p.received.equals(modbus), 'expected exactly the same 8 bytes');

  // Shift+click: its text to edit, with its options.
  await chip.click({ modifiers: ['Shift'] });
  assert.equal(await composer(page).inputValue(), '01 03 00 00 00 02');
  assert.equal(await menu(page, 'Input').inputValue(), 'hex');
  assert.equal(await menu(page, 'Checksum').inputValue(), 'crc16_modbus');
  assert.equal(b.received.length, 8, 'and sends nothing');

  // A name shows in its place; the text is in the title.
  await menu(page, 'Input').selectOption('text');
  await menu(page, 'Checksum').selectOption('none');
  await menu(page, 'Line ending').selectOption('CRLF');
  await composer(page).fill('*RST');
  await sendForm(page).getByRole('textbox', { name: 'Name to save it under' }).fill('reset');
  await sendForm(page).getByRole('textbox', { name: 'Name to save it under' }).press('Enter');
  const named = savedList(page).getByRole('button', { name: 'reset TEXT · CRLF', exact: true });
  await named.waitFor();
  assert.match(await named.getAttribute('title'), /^\*RST\n/);
  assert.equal(b.received.length, 8, 'Enter in the name saved, and sent nothing');
  await show(page, a);
  await named.click();
  await a.until((p) => p.received.toString('latin1').endsWith('*RST\r\n'), 'expected *RST and CRLF');

  // Kept in the browser as they were saved.
  await page.reload();
  await page.locator('[role=status]', { hasText: /^Connected$/ }).waitFor();
  await chip.waitFor();
  await named.waitFor();
  assert.deepEqual(fx.browser.errors, []);
  a.close();
  b.close();
  await page.close();
});

test('saved messages kept by an earlier page still load, and are sent with the options in force', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  await page.evaluate(() => localStorage.setItem('tcp-bridge.quick-messages', JSON.stringify(['AT+GMR', 'ATI'])));
  await page.reload();
  await page.locator('[role=status]', { hasText: /^Connected$/ }).waitFor();
  const peer = await Peer.connect(fx.bridge.listenPort);
  await show(page, peer);
  const old = savedList(page).getByRole('button', { name: 'AT+GMR', exact: true });
  await old.waitFor();
  await savedList(page).getByRole('button', { name: 'ATI', exact: true }).waitFor();
  await menu(page, 'Line ending').selectOption('CRLF');
  await old.click();
  await peer.until((p) => p.received.toString() === 'AT+GMR\r\n', 'expected AT+GMR and the CRLF in force');
  await page.evaluate(() => localStorage.removeItem('tcp-bridge.quick-messages'));
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('each conversation keeps its own draft with its own options', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const [a, b] = [await Peer.connect(fx.bridge.listenPort), await Peer.connect(fx.bridge.listenPort)];
  await show(page, a);
  await menu(page, 'Line ending').selectOption('CRLF');
  await composer(page).fill('for A');

  await show(page, b);
  assert.equal(await composer(page).inputValue(), '', 'A\'s draft stays with A');
  assert.equal(await menu(page, 'Line ending').inputValue(), 'LF');
  await composer(page).fill('for B');

  await show(page, a);
  assert.equal(await composer(page).inputValue(), 'for A');
  assert.equal(await menu(page, 'Line ending').inputValue(), 'CRLF');
  await composer(page).press('Enter');
  await a.until((p) => p.received.toString() === 'for A\r\n', 'expected A\'s draft with A\'s ending');

  await show(page, b);
  assert.equal(await composer(page).inputValue(), 'for B');
  await composer(page).press('Enter');
  await b.until((p) => p.received.toString() === 'for B\n', 'expected B\'s draft with B\'s ending');
  await show(page, a);
  assert.equal(await composer(page).inputValue(), '', 'what was sent is no draft');
  assert.deepEqual(fx.browser.errors, []);
  a.close();
  b.close();
  await page.close();
});

test('/ from a checkbox or a menu types into the composer, and nothing else changes', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await show(page, peer);
  const escapes = sendForm(page).getByRole('checkbox', { name: /^Escapes/ });
  const view = conversation(page).getByRole('combobox', { name: 'View' });

  // The keys right after it, not waited for, land in the composer.
  await escapes.focus();
  await page.keyboard.press('/');
  await page.keyboard.type(' x');
  assert.equal(await escapes.isChecked(), false, 'the space did not tick Escapes');
  assert.ok(await composerFocused(page));

  await view.focus();
  await page.keyboard.press('/');
  await page.keyboard.type('hello');
  assert.equal(await view.inputValue(), 'text', 'the letters picked no view');
  assert.equal(await composer(page).inputValue(), ' xhello');
  await page.keyboard.press('Enter');
  await peer.until((p) => p.received.toString() === ' xhello\n', 'expected what was typed after /');
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('once Connect succeeds, the caret is in the new conversation\'s composer', async () => {
  const server = await startTcpServer();
  const page = await openPage(fx.browser, fx.bridge.url);
  await dial(page, server.port);
  const peer = await server.nextPeer();
  await eventually(() => composerFocused(page), 'the composer has the focus');
  await page.keyboard.type('typed at once');
  await page.keyboard.press('Enter');
  await peer.until((p) => p.received.toString() === 'typed at once\n', 'expected what was typed');
  assert.deepEqual(fx.browser.errors, []);
  server.close();
  await page.close();
});

test('Enter in an empty composer sends nothing', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await show(page, peer);
  assert.equal(await sendForm(page).locator('.composer-preview .bytes').count(), 0, 'no bytes to preview');
  await composer(page).press('Enter');
  await composer(page).fill('after');
  await composer(page).press('Enter');
  await peer.receives('after\n');
  assert.equal(peer.received.toString(), 'after\n', 'no bare line feed before it');
  await messages(page).locator('li.msg.tx', { hasText: 'after' }).waitFor();
  assert.equal(await messages(page).locator('li.msg.tx').count(), 1, 'no empty message shown');
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('a UDP conversation sends no line ending unless one is chosen', async () => {
  const socket = dgram.createSocket('udp4');
  const received = [];
  socket.on('message', (data) => received.push(data.toString()));
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const page = await openPage(fx.browser, fx.bridge.url);
  await dial(page, socket.address().port, 'UDP');
  await conversation(page).locator('.conv-title .transport.udp').waitFor();
  assert.equal(await menu(page, 'Line ending').inputValue(), 'None');
  await composer(page).fill('one');
  await composer(page).press('Enter');
  await eventually(() => received.length === 1, 'a datagram at the peer');
  assert.equal(received[0], 'one', 'the datagram is the message, nothing after it');

  await menu(page, 'Line ending').selectOption('LF');
  await composer(page).fill('two');
  await composer(page).press('Enter');
  await eventually(() => received.length === 2, 'a second datagram');
  assert.equal(received[1], 'two\n');
  assert.deepEqual(fx.browser.errors, []);
  socket.close();
  await page.close();
});

test('auto-reply… shows on the message hovered or focused, and is named as it shows', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await show(page, peer);
  const rx = messages(page).locator('li.msg.rx');
  for (const word of ['first', 'second']) {
    peer.send(`${word}\n`);
    await rx.filter({ hasText: word }).waitFor();
  }
  const button = (li) => li.getByRole('button', { name: 'auto-reply…', exact: true });
  const opacity = (li) => button(li).evaluate((el) => getComputedStyle(el).opacity);
  const [first, second] = [rx.filter({ hasText: 'first' }), rx.filter({ hasText: 'second' })];

  await composer(page).focus();
  await page.mouse.move(0, 0);
  assert.equal(await opacity(first), '0', 'not on every line');
  assert.equal(await opacity(second), '0');
  await second.hover();
  await eventually(async () => (await opacity(second)) === '1', 'shown on the hovered message');
  assert.equal(await opacity(first), '0');
  await page.mouse.move(0, 0);
  await first.focus();
  await eventually(async () => (await opacity(first)) === '1', 'shown on the focused message');
  assert.equal(await opacity(second), '0');

  await button(first).click();
  await page.getByRole('dialog', { name: 'Auto-reply rules' }).waitFor();
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});
