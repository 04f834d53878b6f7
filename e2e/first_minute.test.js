// The learner's first minute: their own `server.py` already has the tutorial's port 7777 when
// they start the bridge with no flags. The bridge starts anyway and says why it does not listen,
// in the terminal and in the page, whose listener panel offers both ways on: dial that server,
// or listen elsewhere.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import {
  Peer, connections, eventually, launchBrowser, openPage, openTool, startBridge,
} from './harness.js';

const TUTORIAL_PORT = 7777;

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** A server on 127.0.0.1:7777 standing in for the learner's; `null` if another program has it. */
async function holdTutorialPort() {
  const accepted = [];
  const server = net.createServer((socket) => accepted.push(new Peer(socket)));
  const held = await new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(TUTORIAL_PORT, '127.0.0.1', () => resolve(true));
  });
  return held ? { accepted, close: () => { for (const p of accepted) p.close(); server.close(); } } : null;
}

test('with the tutorial\'s port taken, the bridge starts, says why, and the page offers both ways on', async () => {
  // Whoever has the port, it is taken: the bridge's behaviour is the same.
  const learner = await holdTutorialPort();
  const bridge = await startBridge([], { listen: false });
  try {
    assert.equal(bridge.listenPort, null);
    assert.equal(
      bridge.listenProblem,
      `port ${TUTORIAL_PORT} is in use (is your own server running?): dial it from the page, or listen elsewhere`,
    );
    const page = await openPage(browser, bridge.url);
    await openTool(page, 'Listen');
    const listener = page.getByRole('form', { name: 'Listener' });
    await listener.getByRole('status').getByText(`Not listening: ${bridge.listenProblem}.`).waitFor();
    await page.locator('.topbar').getByText(`Not listening for TCP on port ${TUTORIAL_PORT}`).waitFor();

    // Dial it from the page: the learner's server gets a client.
    if (learner) {
      await listener.getByRole('button', { name: `Dial 127.0.0.1:${TUTORIAL_PORT}` }).click();
      await connections(page).locator('li[data-state=open]', { hasText: `127.0.0.1:${TUTORIAL_PORT}` }).waitFor();
      await eventually(() => learner.accepted.length === 1, 'the learner\'s server has a client');
    }

    // Or listen elsewhere: the controls are ready, with an address to try.
    await openTool(page, 'Listen');
    const address = listener.getByLabel('Listen address');
    assert.equal(await address.inputValue(), `0.0.0.0:${TUTORIAL_PORT + 1}`);
    const listen = listener.getByRole('button', { name: 'Listen' });
    assert.ok(await listen.isEnabled());
    await address.fill('127.0.0.1:0');
    await listen.click();
    await listener.getByRole('status').getByText(/^Listening on 127\.0\.0\.1:\d+$/).waitFor();
    assert.equal(await listener.locator('.problem').count(), 0, 'the problem is gone once it listens');
    assert.deepEqual(browser.errors, []);
    await page.close();
  } finally {
    learner?.close();
    assert.equal(await bridge.stop(), 0);
  }
});
