// Device traffic, dense as engineers expect: the log view (a line per message), the hexdump
// (offsets, 16 bytes a row, ASCII) for one message or the whole conversation, and line endings
// that merely end a line left quiet unless asked for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Peer, composer, connections, messages, openPage, screenshot, useBridge, wholeInView,
} from './harness.js';

const fx = useBridge();

const view = (page) => page.getByRole('combobox', { name: 'View' });

/** A peer whose messages arrive one by one (each waited for), so that each is a record. */
async function talkingPeer(page, lines) {
  const peer = await Peer.connect(fx.bridge.listenPort);
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  for (const line of lines) {
    peer.send(line);
    await messages(page).locator('li.msg.rx').last().filter({ hasText: line.trim() }).waitFor();
  }
  return peer;
}

test('the log view shows a line per message, about 30 at 1280x800, and line endings stay quiet', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const lines = Array.from({ length: 45 }, (_, i) => `+CSQ: ${10 + i},99\r\n`);
  const peer = await talkingPeer(page, lines);
  peer.send(Buffer.from('c9e8b1b8d2d1c1acbdd30d0a', 'hex')); // 设备已连接\r\n in GBK
  await page.getByRole('combobox', { name: 'Encoding', exact: true }).selectOption('GBK');
  await messages(page).locator('li.msg.rx', { hasText: '设备已连接' }).waitFor();
  await composer(page).fill('AT+CSQ');
  await composer(page).press('Enter');
  await messages(page).locator('li.msg.tx', { hasText: 'AT+CSQ' }).waitFor();

  // Text (chat): the CRLF that ends each line is not shown as an escape.
  const chat = await wholeInView(page);
  assert.equal(await messages(page).locator('li.msg.rx .esc').count(), 0, 'no highlighted \\r\\n');

  await view(page).selectOption('log');
  const line = messages(page).locator('li.msg.rx').first();
  await line.locator('.dir', { hasText: '←' }).waitFor();
  assert.match(await line.locator('time').textContent(), /^\d\d:\d\d:\d\d\.\d{3}$/);
  assert.equal(await line.locator('.size').textContent(), '13 B');
  assert.equal(await line.locator('pre.body').textContent(), '+CSQ: 10,99');
  const dense = await wholeInView(page);
  assert.ok(dense >= 28, `${dense} lines in view (the chat showed ${chat})`);
  assert.ok(dense >= 3 * chat, `${dense} lines against ${chat} bubbles`);
  await screenshot(page, 'log');

  // Asked for, the line endings show.
  await page.getByRole('checkbox', { name: 'Line ends' }).check();
  await line.locator('.esc', { hasText: '\\r\\n' }).waitFor();
  await page.getByRole('checkbox', { name: 'Line ends' }).uncheck();
  await view(page).selectOption('text');
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('the hex view is a hexdump: offsets, 16 bytes a row, an ASCII column; for one message or all', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await talkingPeer(page, ['AT+GMR\r\n']);
  const bytes = Buffer.concat([Buffer.from('AT+GMR\r\n'), Buffer.from([0, 1, 2, 0xff, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46])]);
  peer.send(bytes);
  const binary = messages(page).locator('li.msg.rx').last();
  await binary.locator('pre.body', { hasText: 'ABCDEF' }).waitFor();

  // One message, from its own button.
  await binary.getByRole('button', { name: 'hex' }).click();
  const dump = binary.locator('pre.body.hex');
  assert.equal(await dump.locator('.dump-offsets').textContent(), '00000000\n00000010');
  assert.equal(
    await dump.locator('.dump-hex').textContent(),
    '41 54 2b 47 4d 52 0d 0a  00 01 02 ff 41 42 43 44\n45 46',
  );
  assert.equal(await dump.locator('.dump-ascii').textContent(), 'AT+GMR......ABCD\nEF');
  await binary.getByRole('button', { name: 'text' }).click();
  await binary.locator('pre.body:not(.hex)').waitFor();

  // The whole conversation.
  await view(page).selectOption('hex');
  assert.equal(await messages(page).locator('li.msg.rx pre.body.hex').count(), 2);
  assert.equal(await messages(page).locator('li.msg.rx .dump-ascii').first().textContent(), 'AT+GMR..');
  await view(page).selectOption('text');
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});
