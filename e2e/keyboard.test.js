// The keyboard alone: the composer is a few keys away even in a long conversation, the arrow
// keys move through the connection list and within the log, and choosing a conversation puts
// the caret in the composer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Peer, composer, connections, eventually, messages, openPage, useBridge,
} from './harness.js';

const fx = useBridge(['--no-exit-word']);

const focused = (page) => page.evaluate(() => {
  const el = document.activeElement;
  return el.id || el.getAttribute('aria-label') || el.className || el.tagName;
});
const composerFocused = (page) => composer(page).evaluate((el) => el === document.activeElement);

test('in a conversation of 200 messages, the composer is a few keys away', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  const row = connections(page).getByRole('button', { name: new RegExp(peer.address) });
  await row.waitFor();
  for (let i = 1; i <= 200; i++) {
    peer.send(`reading ${i}\n`);
    if (i % 20 === 0) await messages(page).locator('li.msg.rx', { hasText: `reading ${i}` }).waitFor();
  }

  // Choosing the conversation with the keyboard puts the caret in the composer.
  await row.focus();
  await page.keyboard.press('Enter');
  assert.ok(await composerFocused(page), `after Enter on its row: ${await focused(page)}`);

  // From the log, one Tab: its messages and their buttons are not Tab stops.
  await messages(page).focus();
  await page.keyboard.press('Tab');
  assert.ok(await composerFocused(page), `Tab from the log went to ${await focused(page)}`);

  // From the conversation's first control, a handful of Tabs, not hundreds: its own controls
  // (the downloads are three: Text, JSON Lines, pcapng; then Make a simulator), none of its
  // messages.
  await page.getByRole('combobox', { name: 'Encoding', exact: true }).focus();
  let presses = 0;
  while (!(await composerFocused(page)) && presses < 20) {
    await page.keyboard.press('Tab');
    presses += 1;
  }
  assert.ok(presses <= 12, `${presses} Tabs from the Encoding menu to the composer`);

  // From anywhere but a text field, one key; the page says which.
  await row.focus();
  await page.keyboard.press('/');
  // The focus moves as the page handles the key: wait for it (bounded), rather than race it.
  await eventually(() => composerFocused(page), 'the composer focused by /');
  assert.equal(await composer(page).inputValue(), '', 'the key is not typed');
  assert.equal(await composer(page).getAttribute('aria-keyshortcuts'), '/');
  await page.getByRole('form', { name: 'Send' }).getByText('anywhere types here').waitFor();
  await page.keyboard.type('typed after /');
  await page.keyboard.press('Enter');
  await peer.receives('typed after /\n');
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('the arrow keys move within the log, to a message\'s buttons and back', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  for (const word of ['first', 'second', 'third']) {
    peer.send(`${word}\n`);
    await messages(page).locator('li.msg.rx', { hasText: word }).waitFor();
  }
  const active = () => page.evaluate(() => document.activeElement.textContent);

  await messages(page).focus();
  await page.keyboard.press('ArrowUp');
  assert.match(await active(), /third/, 'the newest first');
  await page.keyboard.press('ArrowUp');
  assert.match(await active(), /second/);
  await page.keyboard.press('ArrowRight');
  assert.equal(await active(), 'hex', 'its button');
  await page.keyboard.press('Enter');
  const second = messages(page).locator('li.msg.rx').nth(1); // its text is hex now
  await second.locator('pre.body.hex').waitFor();
  await page.keyboard.press('ArrowLeft');
  assert.ok(await second.evaluate((el) => el === document.activeElement), 'back on the message');
  await page.keyboard.press('Home');
  assert.match(await active(), /first/);
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});

test('the arrow keys move through the connection list, which is one Tab stop', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peers = [];
  for (let i = 0; i < 3; i++) peers.push(await Peer.connect(fx.bridge.listenPort));
  const rowOf = (p) => connections(page).getByRole('button', { name: new RegExp(p.address) });
  await rowOf(peers[2]).waitFor();
  await rowOf(peers[0]).click();
  const tabStops = await connections(page).locator('.conn-list button[tabindex="0"]').count();
  assert.equal(tabStops, 1);

  await rowOf(peers[0]).focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.ok(await rowOf(peers[2]).evaluate((el) => el === document.activeElement), 'two rows down');
  await page.keyboard.press('ArrowUp');
  assert.ok(await rowOf(peers[1]).evaluate((el) => el === document.activeElement));
  await page.keyboard.press('Enter');
  await page.getByRole('region', { name: 'Conversation' }).locator('.conv-title .peer', { hasText: peers[1].address }).waitFor();
  assert.ok(await composerFocused(page));
  for (const p of peers) p.close();
  await page.close();
});
