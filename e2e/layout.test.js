// The page for a day of device work: the connection list has the side to itself (12 rows at
// least at 1280x800), the forms are in the tools' panels, nothing typed is lost when a panel or
// a dialog opens or closes, and Tab goes through the dial form in the order the eye does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Peer, composer, connections, messages, openPage, openTool, useBridge,
} from './harness.js';

const fx = useBridge();

/** The rows of the list wholly in view. */
const rowsInView = (page) => connections(page).locator('.conn-scroll').evaluate((scroll) => {
  const box = scroll.getBoundingClientRect();
  return [...scroll.querySelectorAll('li.conn')].filter((li) => {
    const r = li.getBoundingClientRect();
    return r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5;
  }).length;
});

test('at 1280x800 the list shows 12 rows at least, and a tool\'s panel leaves it in sight', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peers = [];
  try {
    for (let i = 0; i < 16; i++) peers.push(await Peer.connect(fx.bridge.listenPort));
    await rowsOf(page, peers);
    const shown = await rowsInView(page);
    assert.ok(shown >= 12, `${shown} rows in view at 1280x800`);

    // A panel opens over the conversation: the list keeps its rows, and a new peer shows.
    for (const tool of ['Dial', 'Listen', 'Device']) {
      await openTool(page, tool);
      assert.equal(await rowsInView(page), shown, `the ${tool} panel leaves the list whole`);
    }
    const late = await Peer.connect(fx.bridge.listenPort);
    peers.push(late);
    await connections(page).locator('.conn-scroll').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await connections(page).getByRole('button', { name: new RegExp(late.address) }).waitFor();
    assert.deepEqual(fx.browser.errors, []);
  } finally {
    for (const p of peers) p.close();
    await page.close();
  }
});

/** Waits until every peer has its row in the list. */
async function rowsOf(page, peers) {
  await connections(page).locator('.conn-counts', { hasText: new RegExp(`^${peers.length} open`) }).waitFor();
}

test('Tab goes Host, Port, Protocol, as the eye does', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const form = await openTool(page, 'Dial');
  const [host, port, protocol] = [form.getByLabel('Host'), form.getByLabel('Port'), form.getByLabel('Protocol')];
  await host.focus();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'connect-port');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'connect-protocol');
  // The eye: Host above, then Port left of Protocol on the row below.
  const [h, p, pr] = [await host.boundingBox(), await port.boundingBox(), await protocol.boundingBox()];
  assert.ok(h.y + h.height <= p.y, 'Port is below Host');
  assert.ok(Math.abs(p.y - pr.y) < 2 && p.x + p.width <= pr.x, 'Protocol is right of Port, on its row');
  await page.close();
});

test('nothing typed is lost when the rules dialog or a tool\'s panel opens and closes', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const peer = await Peer.connect(fx.bridge.listenPort);
  try {
    await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
    peer.send('*IDN?\n');
    await messages(page).locator('li.msg.rx', { hasText: '*IDN?' }).waitFor();

    const find = page.getByRole('searchbox', { name: 'Find' });
    const gaps = page.getByRole('checkbox', { name: 'Gaps' });
    await composer(page).fill('a draft not yet sent');
    await find.fill('IDN');
    await gaps.check();
    const dial = await openTool(page, 'Dial');
    await dial.getByLabel('Host').fill('device.example');
    await dial.getByLabel('Port').fill('5025');
    const listen = await openTool(page, 'Listen');
    await listen.getByLabel('Listen address').first().fill('127.0.0.1:5555');
    const typed = async () => ({
      host: await dial.getByLabel('Host').inputValue(),
      port: await dial.getByLabel('Port').inputValue(),
      listen: await listen.getByLabel('Listen address').first().inputValue(),
      draft: await composer(page).inputValue(),
      find: await find.inputValue(),
      gaps: await gaps.isChecked(),
    });
    const before = await typed();
    assert.deepEqual(before, {
      host: 'device.example', port: '5025', listen: '127.0.0.1:5555', draft: 'a draft not yet sent', find: 'IDN', gaps: true,
    });

    const rules = page.getByRole('dialog', { name: 'Auto-reply rules' });
    const device = await openTool(page, 'Device');
    await device.getByRole('button', { name: /^Rules/ }).click();
    await rules.waitFor();
    assert.deepEqual(await typed(), before, 'the rules dialog opened');
    await rules.getByRole('button', { name: 'Close the rules' }).click();
    assert.deepEqual(await typed(), before, 'the rules dialog closed');

    await messages(page).locator('li.msg.rx', { hasText: '*IDN?' }).getByRole('button', { name: 'auto-reply…' }).click();
    await rules.waitFor();
    assert.deepEqual(await typed(), before, 'auto-reply… opened the rules dialog');
    await page.keyboard.press('Escape');
    await rules.waitFor({ state: 'detached' });
    assert.deepEqual(await typed(), before, 'Escape closed it');

    await openTool(page, 'Dial');
    await page.keyboard.press('Escape');
    await dial.waitFor({ state: 'hidden' });
    assert.deepEqual(await typed(), before, 'a panel opened and closed');
    assert.deepEqual(fx.browser.errors, []);
  } finally {
    peer.close();
    await page.close();
  }
});
