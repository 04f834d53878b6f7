// A peer that stops reading, as a user meets it in the page: the connection shows how much waits
// to be written to it, a send past the bridge's bound is refused with the reason, and the page
// goes on: another peer's line still arrives.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import {
  Peer, composer, connections, messages, openPage, withTimeout, useBridge,
} from './harness.js';

// A small bound, so that a few sends from the page reach it.
const fx = useBridge(['--send-queue', '64K'], { cleanExit: false });

/**
 * A peer that connects and never reads, with a receive buffer so small that the bridge's own
 * socket buffers stay small too: what the page sends soon waits in the bridge.
 */
async function deafPeer(port) {
  const script = [
    'import socket, sys, time',
    's = socket.socket()',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)',
    `s.connect(("127.0.0.1", ${port}))`,
    'print(s.getsockname()[1], flush=True)',
    'time.sleep(60)',
  ].join('\n');
  const child = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const localPort = await withTimeout(new Promise((resolve) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
  }), 10_000, 'the deaf peer did not connect');
  return { address: `127.0.0.1:${localPort}`, close: () => child.kill() };
}

test('a peer that does not read shows what waits for it; a send past the bound is refused with the reason', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const deaf = await deafPeer(fx.bridge.listenPort);
  try {
    const row = connections(page).getByRole('button', { name: new RegExp(deaf.address) });
    await row.click();
    // Sends of 1 MiB, the most a message may be: the peer's socket takes a few megabytes before
    // it is full, then the bridge holds what is sent, up to its bound of 64 KiB.
    const refusal = page.getByRole('alert').filter({ hasText: `${deaf.address} is not reading` });
    for (let i = 0; i < 20 && !(await refusal.count()); i++) {
      await composer(page).fill('x'.repeat(1_000_000));
      await composer(page).press('Enter');
      await page.waitForTimeout(100);
    }
    await refusal.first().waitFor();
    assert.match(await refusal.first().innerText(), /waiting to be written; this send was not queued/);
    // The list and the conversation say how much waits, while it does.
    assert.match(await row.locator('.waiting').innerText(), /^\d+(\.\d)? [KM]iB waiting$/);
    await page.locator('.conv-waiting', { hasText: 'the peer is not reading' }).waitFor();

    // Another peer is not held up: its line reaches the page.
    const other = await Peer.connect(fx.bridge.listenPort);
    await connections(page).getByRole('button', { name: new RegExp(other.address) }).click();
    other.send('still heard\n');
    await messages(page).locator('li.msg.rx', { hasText: 'still heard' }).waitFor();
    other.close();
    assert.deepEqual(fx.browser.errors, []);
  } finally {
    deaf.close();
    await page.close();
  }
});
