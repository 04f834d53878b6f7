// Both ends of one connection side by side (the bridge dialled its own listener): each pane says
// which side it is, the server side stays on the left and the client side on the right
// whichever is selected, the composer says which side it types as and switches, and a pane in
// view is never marked unread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  composer, connections, openPage, openTool, useBridge,
} from './harness.js';

const fx = useBridge();

/** The panes, left to right: their accessible names and the side each says it is. */
const panes = (page) => page.locator('.conversations > section').evaluateAll((sections) => sections
  .map((s) => ({ name: s.getAttribute('aria-label'), role: s.querySelector('.pane-role')?.firstChild?.textContent })));

/**
 * How each pane's toolbars are laid out: for each bar, whether every control is within the pane,
 * and on how many rows its controls sit.
 */
const toolbarLayout = (page) => page.locator('.conversations > section').evaluateAll((sections) => sections
  .flatMap((s) => [...s.querySelectorAll('.conv-tools, .conv-filter')].map((bar) => [s, bar]))
  .map(([pane, bar]) => {
    const boxes = [...bar.querySelectorAll('select, button, input')].map((el) => el.getBoundingClientRect());
    const inside = boxes.every((r) => r.right <= pane.getBoundingClientRect().right + 0.5);
    // A row begins where a control's middle is more than 8 px below the one before it.
    const middles = boxes.map((r) => r.top + r.height / 2).sort((a, b) => a - b);
    const rows = 1 + middles.filter((m, i) => i > 0 && m - middles[i - 1] > 8).length;
    return { bar: bar.className, inside, rows };
  }));

test('both ends: labelled by side, server left and client right, each with what typing does', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  await openTool(page, 'Listen');
  const listener = page.getByRole('form', { name: 'Listener' });
  await listener.getByRole('button', { name: 'Open a client to it' }).click();
  const client = connections(page).locator('li[data-state=open]', { hasText: `127.0.0.1:${fx.bridge.listenPort}` });
  await client.waitFor();
  await page.locator('.conversations.both-ends').waitFor();

  // The dialled side is selected: it is on the right, and the composer types as it.
  assert.deepEqual(await panes(page), [
    { name: 'Other end, server side: accepted', role: 'server side' },
    { name: 'Conversation, client side: dialled', role: 'client side' },
  ]);
  const left = page.locator('.conversations > section').first();
  const right = page.locator('.conversations > section').last();
  await left.getByText('server side: accepted').waitFor();
  await right.getByText('client side: dialled').waitFor();
  await right.getByText('you type as this side').waitFor();
  await right.getByText('What you type below is sent by the client side to the server side').waitFor();
  await left.getByText('What the client side sends arrives here').waitFor();
  const sendingAs = page.getByRole('radiogroup', { name: 'Sending as' });
  assert.ok(await sendingAs.getByRole('radio', { name: 'client side' }).isChecked());
  // At 1280 px each pane is half a window: the conversation's tools fit on one row; Find, the
  // downloads and the simulator take two, and nothing goes past the pane's edge.
  assert.deepEqual(await toolbarLayout(page), [
    { bar: 'conv-tools', inside: true, rows: 1 },
    { bar: 'conv-filter', inside: true, rows: 2 },
    { bar: 'conv-tools', inside: true, rows: 1 },
    { bar: 'conv-filter', inside: true, rows: 2 },
  ], 'each toolbar within its pane at 1280 px');

  await composer(page).fill('hello from the client side');
  await composer(page).press('Enter');
  await left.locator('li.msg.rx', { hasText: 'hello from the client side' }).waitFor();
  // The server side received it while in view: not unread.
  const server = connections(page).locator('li[data-state=open]').last();
  assert.equal(await server.locator('.unread').count(), 0, 'a pane in view has nothing unread');

  // Switch sides at the composer: the panes stay where they are.
  await sendingAs.getByRole('radio', { name: 'server side' }).check();
  assert.deepEqual(await panes(page), [
    { name: 'Conversation, server side: accepted', role: 'server side' },
    { name: 'Other end, client side: dialled', role: 'client side' },
  ]);
  await composer(page).fill('and back from the server side');
  await composer(page).press('Enter');
  await right.locator('li.msg.rx', { hasText: 'and back from the server side' }).waitFor();
  assert.equal(await client.locator('.unread').count(), 0);

  // Selecting the client side in the list: the same order.
  await client.getByRole('button').click();
  assert.equal((await panes(page))[0].role, 'server side');
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});
