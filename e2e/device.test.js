// Standing in for a device from the page (issue 10): how a connection is read, a checksum on
// send, auto-reply rules made from a received message, and a file sent with flow control. Real
// bridge, real TCP peers on loopback.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  Peer, composer, conversation, eventually, messages, openPage, openTool, rowOf, screenshot, sendForm, useBridge,
} from './harness.js';

const fx = useBridge();

/** Opens `peer`'s conversation. */
async function show(page, peer) {
  await rowOf(page, peer.address).click();
  await conversation(page).locator('.conv-title .peer', { hasText: peer.address }).waitFor();
}

/** The texts of the messages received in the conversation in view. */
const received = (page) => messages(page).locator('.msg.rx .body').allInnerTexts();

test('a framing chosen in the page cuts a stream written in one piece, and shows after a reload', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await show(page, peer);
  const reading = conversation(page).getByRole('button', { name: /^Reading: / });
  assert.equal(await reading.innerText(), 'Reading: raw', 'raw until told otherwise');

  await reading.click();
  const form = conversation(page).getByRole('form', { name: 'Reading' });
  // Refused at the form, with the reason, before anything is sent.
  await form.getByRole('combobox', { name: 'Framing' }).selectOption('fixed');
  await form.getByRole('textbox', { name: 'Length (bytes)' }).fill('0');
  await form.getByRole('button', { name: 'Apply' }).click();
  await form.getByRole('alert').filter({ hasText: 'A fixed length of 0 bytes is not allowed' }).waitFor();
  assert.equal(await reading.innerText(), 'Reading: raw', 'nothing changed');

  await form.getByRole('combobox', { name: 'Framing' }).selectOption('delimiter');
  await form.getByRole('combobox', { name: 'Delimiter' }).selectOption('hex');
  await form.getByRole('textbox', { name: 'Bytes (hex)' }).fill('3b');
  await form.getByRole('button', { name: 'Apply' }).click();
  await eventually(async () => (await reading.innerText()) === 'Reading: delimiter ;', 'the framing in force');

  peer.send('one;two;three;');
  await eventually(async () => (await received(page)).length === 3, 'three messages');
  assert.deepEqual(await received(page), ['one;', 'two;', 'three;']);

  // After a reload the control shows what the bridge has, not what was clicked.
  await page.reload();
  await page.locator('[role=status]', { hasText: /^Connected$/ }).waitFor();
  await show(page, peer);
  const again = conversation(page).getByRole('button', { name: /^Reading: / });
  assert.equal(await again.innerText(), 'Reading: delimiter ;');
  await again.click();
  const reopened = conversation(page).getByRole('form', { name: 'Reading' });
  assert.equal(await reopened.getByRole('combobox', { name: 'Framing' }).inputValue(), 'delimiter');
  assert.equal(await reopened.getByRole('textbox', { name: 'Bytes (hex)' }).inputValue(), '3b');

  // A checksum to check: a message that does not end with it is marked.
  await reopened.getByRole('combobox', { name: 'Checksum to check' }).selectOption('sum8');
  await reopened.getByRole('button', { name: 'Apply' }).click();
  await eventually(async () => (await again.innerText()) === 'Reading: delimiter ; · SUM-8', 'the checksum in force');
  // The check reads a message's last byte, here its delimiter: "zzG" sums to 0x3b, ";".
  peer.send('four;zzG;');
  await eventually(async () => (await received(page)).length === 5, 'five messages');
  const marked = messages(page).locator('.msg.rx', { has: page.locator('.mark.bad-checksum') });
  assert.equal(await marked.count(), 1, 'only "four;" fails its check');
  assert.match(await marked.locator('.body').innerText(), /^four;$/);
  peer.close();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('a checksum chosen in the composer is appended: the peer gets the bytes the preview showed', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await show(page, peer);
  const form = sendForm(page);
  await form.getByRole('combobox', { name: 'Input' }).selectOption('hex');
  await form.getByRole('combobox', { name: 'Checksum' }).selectOption('crc16_modbus');
  await composer(page).fill('01 03 00 00 00 0a');
  const preview = form.locator('.composer-preview .bytes');
  await eventually(async () => /^Sends 8 bytes: /.test(await preview.innerText()), 'a preview of 8 bytes');
  const shown = (await preview.innerText()).replace(/^Sends 8 bytes: /, '');
  assert.equal(shown, '01 03 00 00 00 0a c5 cd', 'Modbus read of 10 registers, with its CRC');
  await composer(page).press('Enter');
  const expected = Buffer.from(shown.replaceAll(' ', ''), 'hex');
  await peer.until((p) => p.received.equals(expected), `expected exactly ${shown}`);

  // Text too: the checksum comes after the line ending.
  await form.getByRole('combobox', { name: 'Input' }).selectOption('text');
  await form.getByRole('combobox', { name: 'Checksum' }).selectOption('xor8');
  await composer(page).fill('AB');
  await eventually(async () => /^Sends 4 bytes: /.test(await preview.innerText()), 'a preview of 4 bytes');
  const text = (await preview.innerText()).replace(/^Sends 4 bytes: /, '');
  assert.equal(text, '41 42 0a 09');
  await composer(page).press('Enter');
  const both = Buffer.concat([expected, Buffer.from(text.replaceAll(' ', ''), 'hex')]);
  await peer.until((p) => p.received.equals(both), `then exactly ${text}`);
  peer.close();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('a rule made from a received message answers the next one, with nobody typing', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await show(page, peer);
  peer.send('*IDN?\n');
  const asked = messages(page).locator('.msg.rx', { hasText: '*IDN?' });
  await asked.waitFor();
  await asked.getByRole('button', { name: 'auto-reply…' }).click();

  const panel = page.getByRole('dialog', { name: 'Auto-reply rules' });
  const editor = panel.getByRole('form', { name: 'Rule' });
  await editor.waitFor();
  assert.equal(await editor.getByRole('combobox', { name: 'When' }).inputValue(), 'exact');
  assert.equal(await editor.getByRole('textbox', { name: 'Text (escapes \\r \\n \\t \\0 \\\\ \\xHH)' }).inputValue(), '*IDN?');
  // The caret waits in the reply.
  const reply = editor.getByRole('textbox', { name: 'Reply', exact: true });
  await eventually(() => reply.evaluate((el) => el === document.activeElement), 'the reply has the focus');
  await page.keyboard.type('ACME,1000\\n');
  await editor.getByRole('button', { name: 'Save rule' }).click();
  const rows = panel.getByRole('list', { name: 'Rules in force' }).getByRole('listitem');
  await eventually(async () => (await rows.count()) === 1, 'the rule in force');
  assert.match(await rows.first().innerText(), /message is “\*IDN\?” → “ACME,1000\\n”/);

  // Nobody types: the bridge answers.
  peer.send('*IDN?\n');
  await peer.receives('ACME,1000\n');
  const auto = messages(page).locator('.msg.tx', { hasText: 'ACME,1000' });
  await auto.locator('.mark.auto', { hasText: 'auto: Reply to “*IDN?”' }).waitFor();
  await rows.first().locator('.rule-hits', { hasText: '1 reply' }).waitFor();

  // A second rule, in hex, from "Add rule": every field the bridge checks is checked here too.
  await panel.getByRole('button', { name: 'Add rule' }).click();
  await editor.getByRole('textbox', { name: 'Id' }).fill('modbus-read');
  await editor.getByRole('textbox', { name: 'Name' }).fill('Modbus read');
  await editor.getByRole('combobox', { name: 'When' }).selectOption('hex');
  await editor.getByRole('textbox', { name: /^Bytes/ }).fill('01 03 ?? ?? 00 01 *');
  await editor.getByRole('combobox', { name: 'Reply with' }).selectOption('hex');
  await editor.getByRole('textbox', { name: 'Reply', exact: true }).fill('01 03 02 00 2');
  await editor.getByRole('combobox', { name: 'Checksum' }).selectOption('crc16_modbus');
  await editor.getByRole('button', { name: 'Save rule' }).click();
  await editor.getByRole('alert').filter({ hasText: 'rule `modbus-read` (Modbus read): its reply' }).waitFor();
  await editor.getByRole('textbox', { name: 'Reply', exact: true }).fill('01 03 02 00 2a');
  await editor.getByRole('button', { name: 'Save rule' }).click();
  await eventually(async () => (await rows.count()) === 2, 'two rules in force');
  // A regex only the bridge can check: its refusal names the rule, at the rule.
  await panel.getByRole('button', { name: 'Add rule' }).click();
  await editor.getByRole('textbox', { name: 'Id' }).fill('broken');
  await editor.getByRole('combobox', { name: 'When' }).selectOption('regex');
  await editor.getByRole('textbox', { name: /^Pattern/ }).fill('MEAS(');
  await editor.getByRole('button', { name: 'Save rule' }).click();
  await editor.getByRole('alert').filter({ hasText: 'rule `broken`' }).waitFor();
  await editor.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await rows.count(), 2, 'the set in force is unchanged');
  peer.socket.write(Buffer.from('010300000001840a', 'hex'));
  // 01 03 02 00 2a and its CRC-16/MODBUS, 39 9b.
  await peer.until((p) => p.received.includes(Buffer.from('010302002a399b', 'hex')), 'the hex reply with its CRC');

  // Reordered: the hex rule first. The list shows what the bridge has.
  await rows.nth(1).getByRole('button', { name: 'Move Modbus read up' }).click();
  await eventually(async () => /Modbus read/.test(await rows.first().innerText()), 'the hex rule first');
  // Still answered: the text does not match the hex rule, so the next rule answers it.
  const replies = peer.received.length;
  peer.send('*IDN?\n');
  await peer.until((p) => p.received.subarray(replies).toString() === 'ACME,1000\n', 'the answer again');
  // Its count goes on from before the move: a new set keeps the counts of the rules it keeps.
  await rows.nth(1).locator('.rule-hits', { hasText: '2 replies' }).waitFor();
  await rows.first().locator('.rule-hits', { hasText: '1 reply' }).waitFor();
  await screenshot(page, 'rules');

  // The rules in force, as a rules file.
  const url = new URL(fx.bridge.url);
  url.pathname = '/rules.toml';
  const toml = await (await fetch(url)).text();
  assert.ok(toml.indexOf('modbus-read') < toml.indexOf('reply-1'), toml);

  // Off: it no longer answers.
  // The switch shows what the bridge has: off once the bridge says so.
  await rows.nth(1).getByRole('checkbox').click();
  await eventually(async () => /\boff\b/.test(await rows.nth(1).getAttribute('class')), 'the rule off');
  assert.equal(await rows.nth(1).getByRole('checkbox').isChecked(), false);
  const before = peer.received.length;
  peer.send('*IDN?\n');
  await messages(page).locator('.msg.rx', { hasText: '*IDN?' }).nth(3).waitFor();
  // A message the rule still on answers: replies leave in the order their messages came, so
  // once its answer is here, an answer to *IDN? would have come before it.
  peer.socket.write(Buffer.from('010300000001840a', 'hex'));
  const modbus = Buffer.from('010302002a399b', 'hex');
  await peer.until((p) => p.received.subarray(before).includes(modbus), 'the hex rule\'s answer');
  assert.deepEqual(peer.received.subarray(before), modbus, 'a rule that is off does not answer');

  // Deleted, both: the panel says there are none.
  await rows.nth(1).getByRole('button', { name: /^Delete/ }).click();
  await eventually(async () => (await rows.count()) === 1, 'one rule left');
  await rows.first().getByRole('button', { name: /^Delete/ }).click();
  await panel.getByText('No rules yet').waitFor();
  await panel.getByRole('button', { name: 'Close the rules' }).click();
  await panel.waitFor({ state: 'detached' });
  peer.close();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('a file of several MiB sent from the page arrives whole, paced, shown as one entry', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'device-file-'));
  try {
    const size = 12 * 1024 * 1024 + 123;
    const data = randomBytes(size);
    const file = path.join(dir, 'firmware.bin');
    writeFileSync(file, data);
    const page = await openPage(fx.browser, fx.bridge.url);
    const peer = await Peer.connect(fx.bridge.listenPort);
    await show(page, peer);
    // The peer reads nothing at first: the page must wait for it, not overrun the bridge.
    peer.socket.pause();
    await sendForm(page).locator('input[type=file]').setInputFiles(file);
    const status = sendForm(page).locator('.file-send');
    await status.filter({ hasText: 'Sending firmware.bin' }).waitFor();
    const bar = status.locator('progress');
    await new Promise((r) => setTimeout(r, 500));
    const value = Number(await bar.getAttribute('value'));
    assert.ok(value < size, `held back while the peer does not read (${value} of ${size})`);
    peer.socket.resume();

    await status.filter({ hasText: 'Sent firmware.bin' }).waitFor({ timeout: 60_000 });
    await peer.until((p) => p.received.length >= size, `expected ${size} bytes`);
    assert.equal(peer.received.length, size);
    assert.equal(
      createHash('sha256').update(peer.received).digest('hex'),
      createHash('sha256').update(data).digest('hex'),
      'the file arrived whole',
    );
    // One entry for the file, not its parts; done.
    const entries = messages(page).locator('.msg.file');
    await entries.filter({ hasText: 'firmware.bin' }).locator('.file-state', { hasText: /^sent, in \d+ parts$/ }).waitFor();
    assert.equal(await entries.count(), 1);
    assert.equal(await messages(page).locator('.msg.tx').count(), 1, 'no message per part');
    assert.equal(Number(await entries.locator('progress').getAttribute('value')), size);
    peer.close();
    assert.deepEqual(fx.browser.errors, []);
    await page.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file being sent stops at Cancel', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'device-file-'));
  try {
    const size = 16 * 1024 * 1024;
    const file = path.join(dir, 'big.bin');
    writeFileSync(file, randomBytes(size));
    const page = await openPage(fx.browser, fx.bridge.url);
    const watcher = await openPage(fx.browser, fx.bridge.url);
    const peer = await Peer.connect(fx.bridge.listenPort);
    await show(page, peer);
    await show(watcher, peer);
    peer.socket.pause();
    await sendForm(page).locator('input[type=file]').setInputFiles(file);
    const status = sendForm(page).locator('.file-send');
    await status.filter({ hasText: 'Sending big.bin' }).waitFor();
    assert.ok(await sendForm(page).getByRole('button', { name: 'Send a file…' }).isDisabled(), 'one file at a time');
    await status.getByRole('button', { name: 'Cancel' }).click();
    // The bridge drops what it still holds of the file at once, and the sender says exactly
    // how many bytes went out, while the peer has read none of them.
    const stopped = status.filter({ hasText: /big\.bin was not sent whole: cancelled; [\d,]+ bytes of 16,777,216 bytes went out\./ });
    await stopped.waitFor();
    const [, count] = (await stopped.innerText()).match(/cancelled; ([\d,]+) bytes/);
    const wentOut = Number(count.replaceAll(',', ''));
    assert.equal(peer.received.length, 0, 'the peer has read nothing yet');
    peer.socket.resume();
    // Exactly those bytes arrive, and the file's entry counts them.
    const entry = messages(page).locator('.msg.file', { hasText: 'big.bin' });
    await entry.waitFor();
    const handed = async () => Number(await entry.locator('progress').getAttribute('value'));
    await eventually(async () => peer.received.length === wentOut && await handed() === wentOut, `the ${wentOut} bytes that went out (the peer has ${peer.received.length})`);
    assert.ok(wentOut > 0 && wentOut < size, `${wentOut} of ${size} bytes`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(peer.received.length, wentOut, 'nothing more arrives');
    assert.equal(await entry.locator('.file-state').innerText(), 'stopped before its end');
    // Another page watching the conversation is told too, by the bridge.
    await messages(watcher).locator('.msg.file .file-state', { hasText: 'stopped before its end' }).waitFor();
    await watcher.close();
    await sendForm(page).locator('.file-send').getByRole('button', { name: 'Dismiss' }).click();
    assert.ok(await sendForm(page).getByRole('button', { name: 'Send a file…' }).isEnabled());
    peer.close();
    assert.deepEqual(fx.browser.errors, []);
    await page.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the reading of new connections is chosen in the Device panel, and a new connection starts with it', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  await openTool(page, 'Device');
  const section = page.getByRole('region', { name: 'Standing in for a device' });
  const toggle = section.getByRole('button', { name: /^Reading: / });
  assert.equal(await toggle.innerText(), 'Reading: raw');
  await toggle.click();
  const form = section.getByRole('form', { name: 'Reading of new connections' });
  await form.getByRole('combobox', { name: 'Framing' }).selectOption('length');
  await form.getByRole('combobox', { name: 'Length field' }).selectOption('2');
  await form.getByRole('combobox', { name: 'Byte order' }).selectOption('le');
  await form.getByRole('textbox', { name: 'After (bytes)' }).fill('x');
  await form.getByRole('button', { name: 'Apply' }).click();
  await form.getByRole('alert').filter({ hasText: 'The offset is a whole number of bytes' }).waitFor();
  await form.getByRole('textbox', { name: 'After (bytes)' }).fill('1');
  await form.getByRole('button', { name: 'Apply' }).click();
  await eventually(async () => (await toggle.innerText()) === 'Reading: length 2 B LE', 'the default in force');
  await form.getByRole('status').filter({ hasText: 'In force: length-prefixed' }).waitFor();

  const peer = await Peer.connect(fx.bridge.listenPort);
  await show(page, peer);
  const reading = conversation(page).getByRole('button', { name: /^Reading: / });
  assert.equal(await reading.innerText(), 'Reading: length 2 B LE', 'the new connection reads as chosen');
  // A type byte, a 2-byte little-endian length, then that many bytes: two messages in one write.
  peer.socket.write(Buffer.from('a103004142437a01005a', 'hex'));
  await eventually(async () => (await received(page)).length === 2, 'two messages');

  // Back to raw, for the tests after this one.
  await openTool(page, 'Device');
  await form.getByRole('combobox', { name: 'Framing' }).selectOption('raw');
  await form.getByRole('button', { name: 'Apply' }).click();
  await eventually(async () => (await toggle.innerText()) === 'Reading: raw', 'raw again');
  peer.close();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('a file dropped on the composer with "Send to all" ticked reaches every open connection', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const a = await Peer.connect(fx.bridge.listenPort);
  const b = await Peer.connect(fx.bridge.listenPort);
  await show(page, a);
  await sendForm(page).getByRole('checkbox', { name: 'Send to all' }).check();
  // 700 KiB made in the page, then dropped on the composer as a user drops a file.
  const size = 700 * 1024;
  await sendForm(page).evaluate((form, size) => {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 1) bytes[i] = (i * 7 + (i >> 10)) & 0xff;
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'dropped.bin'));
    form.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
    form.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, size);
  const expected = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) expected[i] = (i * 7 + (i >> 10)) & 0xff;
  await sendForm(page).locator('.file-send', { hasText: /^Sent dropped\.bin .* to all 2 open connections\./ }).waitFor();
  for (const peer of [a, b]) {
    await peer.until((p) => p.received.length >= size, `expected ${size} bytes`);
    assert.ok(peer.received.equals(expected), 'the file arrived whole');
    await show(page, peer);
    const entry = messages(page).locator('.msg.file', { hasText: 'dropped.bin' });
    await entry.locator('.file-state', { hasText: /^sent, in 3 parts$/ }).waitFor();
    assert.equal(await messages(page).locator('.msg.file').count(), 1);
  }
  await sendForm(page).getByRole('checkbox', { name: 'Send to all' }).uncheck();
  a.close();
  b.close();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});
