// ui_flood: a TCP peer sends 10 MB of short lines as fast as it can while the page, in headless
// Chromium, shows the conversation. Waits until the page counts every byte, then prints the
// longest main-thread task the page had meanwhile (Long Tasks API), each the median of RUNS runs,
// as `name=value unit` lines. `cargo run --release -p bench` runs it when Node.js, the e2e
// packages and Chromium are there; by hand:
//
//   BRIDGE_BIN=target/release/bridge RUNS=3 node bench/ui_flood/ui_flood.js
import { Peer, connections, launchBrowser, openPage, startBridge } from '../../e2e/harness.js';
import { RUNS, longestTask, median, watchLongTasks } from '../page_tasks.js';

const TOTAL = 10 * 1000 * 1000;
const LINE = 'the quick brown fox jumps over the lazy dog 0123456789\n'; // 55 bytes

/** One run: the flood, then what the page did with it. */
async function once() {
  const bridge = await startBridge(['--no-exit-word']);
  const browser = await launchBrowser();
  try {
    const page = await openPage(browser, bridge.url);
    await watchLongTasks(page);

    const peer = await Peer.connect(bridge.listenPort);
    await connections(page).getByRole('button', { name: new RegExp(peer.address) }).click();
    const lines = Math.ceil(TOTAL / LINE.length);
    const block = LINE.repeat(1000);
    const started = Date.now();
    for (let sent = 0; sent < lines; sent += 1000) {
      const n = Math.min(1000, lines - sent);
      const chunk = n === 1000 ? block : LINE.repeat(n);
      if (!peer.socket.write(chunk)) await new Promise((r) => peer.socket.once('drain', r));
    }
    const bytes = lines * LINE.length;
    // The page's counter for this connection reaches every byte the peer sent (its title
    // groups the thousands: `received: 10,000,045 bytes`).
    const counter = page.locator(`li:has-text("${peer.address}") .rx`);
    await counter.and(page.locator(`[title^="received: ${bytes.toLocaleString('en-US')} bytes"]`)).waitFor({ timeout: 120_000 });
    const shownAfter = Date.now() - started;
    // Then the page must still answer promptly.
    const t0 = Date.now();
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    const nextFrame = Date.now() - t0;
    const longest = await longestTask(page);
    peer.close();
    return { bytes, lines, shownAfter, nextFrame, longest };
  } finally {
    await browser.close();
    await bridge.stop();
  }
}

const runs = [];
for (let i = 0; i < RUNS; i++) runs.push(await once());
console.log(`ui_flood_bytes=${runs[0].bytes} bytes`);
console.log(`ui_flood_lines=${runs[0].lines}`);
console.log(`ui_flood_shown_after=${median(runs.map((r) => r.shownAfter))} ms`);
console.log(`ui_flood_longest_task=${Math.round(median(runs.map((r) => r.longest)))} ms`);
console.log(`ui_flood_next_frame=${median(runs.map((r) => r.nextFrame))} ms`);
