// A day of device work from the page: a protocol's framing chosen by its name, the traffic read
// as a compact hex log, and the Reading control that says what it means. Real bridge, real TCP
// peers on loopback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Peer, composer, conversation, eventually, messages, openPage, openTool, rowOf, screenshot, sendForm,
  useBridge, wholeInView,
} from './harness.js';

const fx = useBridge(['--no-exit-word']);

/** Opens `peer`'s conversation. */
async function show(page, peer) {
  await rowOf(page, peer.address).click();
  await conversation(page).locator('.conv-title .peer', { hasText: peer.address }).waitFor();
}

/**
 * Modbus RTU replies to reads: address, function, byte count, data, CRC-16/MODBUS (low byte
 * first). The first is the Modbus specification's example reply (registers 108 to 110) from
 * slave 0x11; the second, slave 1's two registers 1 and 42.
 */
const MODBUS_REPLIES = ['1103 06 022b 0000 0064 c8ba', '0103 04 0001 002a 2a2c']
  .map((hex) => Buffer.from(hex.replaceAll(' ', ''), 'hex'));

test('the Modbus RTU preset fills the Reading form visibly, and frames replies CRC and all', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await show(page, peer);
  const reading = conversation(page).getByRole('button', { name: /^Reading: / });
  await reading.click();
  const form = conversation(page).getByRole('form', { name: 'Reading' });
  const preset = form.getByRole('combobox', { name: 'Preset' });
  assert.equal(await preset.inputValue(), 'custom', 'raw is no preset');
  await preset.selectOption('modbus-rtu');
  // What the preset chose, in the fields themselves.
  assert.equal(await form.getByRole('combobox', { name: 'Framing' }).inputValue(), 'length');
  assert.equal(await form.getByRole('combobox', { name: 'Length field' }).inputValue(), '1');
  assert.equal(await form.getByRole('textbox', { name: 'After (bytes)' }).inputValue(), '2');
  assert.equal(await form.getByRole('textbox', { name: 'Trailer (bytes)' }).inputValue(), '2');
  assert.equal(await form.getByRole('checkbox', { name: 'Length counts the header' }).isChecked(), false);
  assert.equal(await form.getByRole('combobox', { name: 'Checksum to check' }).inputValue(), 'crc16_modbus');
  await form.getByRole('button', { name: 'Apply' }).click();
  await eventually(async () => (await reading.innerText()) === 'Reading: length 1 B + 2 B · CRC-16/MODBUS',
    'the preset in force');
  assert.match(await form.locator('.reading-in-force').innerText(), /then a trailer of 2 bytes; checks CRC-16\/MODBUS/);

  // The two replies glued together and split inside the second one's CRC.
  const stream = Buffer.concat(MODBUS_REPLIES);
  peer.socket.write(stream.subarray(0, stream.length - 1));
  await eventually(async () => (await messages(page).locator('.msg.rx').count()) === 1, 'the first reply');
  peer.socket.write(stream.subarray(stream.length - 1));
  await eventually(async () => (await messages(page).locator('.msg.rx').count()) === 2, 'the second reply');
  assert.equal(await messages(page).locator('.mark.bad-checksum').count(), 0, 'every CRC checks');

  // A change to a field is no longer the preset, and says so.
  await form.getByRole('textbox', { name: 'Trailer (bytes)' }).fill('0');
  assert.equal(await preset.inputValue(), 'custom');
  peer.close();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

/** A line of the hex log as the eye reads it: time, direction, bytes. */
const hexLine = async (li) => [
  await li.locator('time').textContent(),
  await li.locator('.dir').textContent(),
  await li.locator('pre.body').textContent(),
].join(' ');

test('the hex log: a line per message, about 30 at 1280x800, sent hex shown as hex', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await show(page, peer);
  await conversation(page).getByRole('button', { name: /^Reading: / }).click();
  const form = conversation(page).getByRole('form', { name: 'Reading' });
  await form.getByRole('combobox', { name: 'Preset' }).selectOption('modbus-rtu');
  await form.getByRole('button', { name: 'Apply' }).click();
  await form.getByRole('button', { name: 'Close' }).click();
  await conversation(page).getByRole('button', { name: 'Reading: length 1 B + 2 B · CRC-16/MODBUS' }).waitFor();

  await page.getByRole('combobox', { name: 'View' }).selectOption('log-hex');
  // A poll and its reply, 24 times: the page sends the request typed in hex, the device answers.
  const send = sendForm(page);
  await send.getByRole('combobox', { name: 'Input' }).selectOption('hex');
  for (let i = 0; i < 24; i++) {
    await composer(page).fill('01 03 00 00 00 02 c4 0b');
    await composer(page).press('Enter');
    await messages(page).locator('li.msg.tx').nth(i).waitFor();
    peer.socket.write(MODBUS_REPLIES[1]);
    await messages(page).locator('li.msg.rx').nth(i).waitFor();
  }
  const request = Buffer.from('010300000002c40b', 'hex');
  await peer.until((p) => p.received.equals(Buffer.concat(Array(24).fill(request))), 'the 24 requests');

  const sent = messages(page).locator('li.msg.tx').last();
  assert.match(await hexLine(sent), /^\d\d:\d\d:\d\d\.\d{3} → 01 03 00 00 00 02 c4 0b$/);
  assert.doesNotMatch(await sent.innerText(), /\\x01|\\0/, 'no escapes');
  const reply = messages(page).locator('li.msg.rx').last();
  assert.match(await hexLine(reply), /^\d\d:\d\d:\d\d\.\d{3} ← 01 03 04 00 01 00 2a 2a 2c$/);
  // One line each, and about 30 of them to a screen.
  const height = await sent.evaluate((li) => li.getBoundingClientRect().height);
  assert.ok(height <= 16, `a line is ${height} px high`);
  const inView = await wholeInView(page);
  assert.ok(inView >= 28 && inView <= 40, `${inView} lines in view`);
  await screenshot(page, 'hex-log');

  // A message flips to its text, on its line, and back.
  await sent.getByRole('button', { name: 'text' }).click({ force: true });
  await sent.getByRole('button', { name: 'hex' }).waitFor();
  assert.equal((await sent.evaluate((li) => li.getBoundingClientRect().height)) <= 16, true);
  peer.close();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('Reading: raw explains itself on hover and to a screen reader', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await show(page, peer);
  const reading = conversation(page).getByRole('button', { name: 'Reading: raw' });
  await reading.hover();
  const title = await reading.getAttribute('title');
  assert.equal(title, 'How the bridge reads this connection: raw (one message per read). TCP keeps '
    + 'no message boundaries, so a peer\'s message may show in two, or two of them as one: choose a '
    + 'framing to cut the stream where the peer\'s messages end. Click to change it.');
  // The accessible description, as the browser computes it for assistive technology: the
  // conversation's control and the one for new connections (in the Device panel, which a closed
  // panel hides from assistive technology too).
  await openTool(page, 'Device');
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  const described = nodes
    .filter((n) => n.role?.value === 'button' && n.name?.value === 'Reading: raw')
    .map((n) => n.description?.value ?? '');
  assert.equal(described.length, 2, 'the conversation\'s and the new connections\' controls');
  assert.ok(described.includes(title), JSON.stringify(described));
  assert.ok(described.every((d) => d.includes('TCP keeps no message boundaries')), JSON.stringify(described));
  await cdp.detach();
  peer.close();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});
