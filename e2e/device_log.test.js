// A day of device work from the page: a protocol's framing chosen by its name, the traffic read
// as a compact hex log, and the Reading control that says what it means. Real bridge, real TCP
// peers on loopback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Peer, conversation, eventually, messages, openPage, rowOf, useBridge } from './harness.js';

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
