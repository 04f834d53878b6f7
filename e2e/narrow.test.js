// A phone-sized window, 420 px wide: the conversation and the composer come first and fit the
// screen; the connection list is a tab away, the dial form and the listener a tool's panel away;
// no control is too small to use, and nothing scrolls the page itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Peer, composer, connections, messages, openTool, screenshot, useBridge,
} from './harness.js';

const fx = useBridge();

/** Controls in view narrower or lower than a finger can use, or reaching past the screen. */
const cramped = (page) => page.evaluate(() => [...document.querySelectorAll('button, select, input, textarea')]
  .filter((el) => el.offsetParent !== null && !el.closest('.log'))
  .map((el) => ({ el, r: el.getBoundingClientRect() }))
  .filter(({ el, r }) => {
    const box = el.type === 'checkbox' || el.type === 'radio' ? 12 : 28;
    return r.width < box || r.height < (box === 12 ? 12 : 28) || r.right > innerWidth + 0.5;
  })
  .map(({ el, r }) => `${el.tagName} ${el.id || el.textContent.trim() || el.getAttribute('aria-label')}: ${Math.round(r.width)}x${Math.round(r.height)} at ${Math.round(r.left)}`));

test('at 420 px the conversation and composer come first, and the rest is a tab or a panel away', async () => {
  const page = await fx.browser.newPage();
  await page.setViewportSize({ width: 420, height: 800 });
  await page.goto(fx.bridge.url);
  await page.locator('[role=status]', { hasText: /^Connected$/ }).waitFor();
  const peer = await Peer.connect(fx.bridge.listenPort);
  const tabs = page.getByRole('navigation', { name: 'Parts of the page' });

  // The first peer is shown at once: its conversation and the composer, on screen.
  await page.getByRole('region', { name: 'Conversation' }).locator('.conv-title .peer', { hasText: peer.address }).waitFor();
  assert.equal(await connections(page).isVisible(), false, 'the list is in its tab');
  peer.send('你好, phone\n');
  await messages(page).locator('li.msg.rx', { hasText: '你好, phone' }).waitFor();
  const area = await composer(page).boundingBox();
  assert.ok(area.y >= 0 && area.y + area.height <= 800, `the composer is on screen: ${JSON.stringify(area)}`);
  const log = await page.locator('.log-scroll').boundingBox();
  assert.ok(log.height >= 150, `room for the conversation: ${log.height} px`);
  const [scrollHeight, scrollWidth] = await page.evaluate(() => [
    document.documentElement.scrollHeight, document.documentElement.scrollWidth,
  ]);
  assert.ok(scrollHeight <= 800 && scrollWidth <= 420, `the page itself does not scroll: ${scrollWidth}x${scrollHeight}`);
  assert.deepEqual(await cramped(page), []);
  await screenshot(page, 'narrow');

  // The list, a tab away; choosing a connection comes back to its conversation.
  await tabs.getByRole('button', { name: /^Connections/ }).click();
  await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
  assert.ok(await composer(page).isVisible());
  await composer(page).fill('typed on a phone');
  await composer(page).press('Enter');
  await peer.receives('typed on a phone\n');

  // The dial form and the listener, in the tools' panels, over the conversation.
  await openTool(page, 'Dial');
  await page.getByRole('form', { name: 'Connect' }).getByLabel('Host').waitFor();
  assert.deepEqual(await cramped(page), []);
  await openTool(page, 'Listen');
  await page.getByRole('form', { name: 'Listener' }).getByLabel('Listen address').waitFor();
  assert.deepEqual(await cramped(page), []);
  assert.deepEqual(fx.browser.errors, []);
  peer.close();
  await page.close();
});
