// ui_conns: PEERS TCP peers (10,000 by default) connect to the bridge's listener and each sends
// two lines a second apart, while the page, in headless Chromium at 1280x800, lists them and the
// user types into the composer. Waits until the list's header counts every peer, then prints,
// each the median of RUNS runs, as `name=value unit` lines:
//
// - the longest main-thread task meanwhile (Long Tasks API, which reports tasks over 50 ms: 0
//   means none);
// - how long a keystroke in the composer takes to show meanwhile: from the browser receiving
//   the key (the event's time stamp) until the next frame begins, which paints it; measured in
//   the page, so that the peers' work in this process does not count (the slowest keystroke,
//   and the median).
//
// `cargo run --release -p bench -- ui_conns` runs it; by hand:
//
//   BRIDGE_BIN=target/release/bridge RUNS=1 node bench/ui_conns/ui_conns.js
//
// The peers live in this process: it needs an open-file limit above PEERS (`ulimit -n`).
import net from 'node:net';
import { composer, connections, launchBrowser, openPage, startBridge } from '../../e2e/harness.js';
import { RUNS, longestTask, median, watchLongTasks } from '../page_tasks.js';

const PEERS = Number(process.env.PEERS ?? 10_000);
/** Connections being set up at once: enough to be quick, few enough for the listen backlog. */
const IN_FLIGHT = 200;
/** Time between keystrokes while the peers arrive. */
const KEY_EVERY_MS = 150;
const LIST_TIMEOUT_MS = 180_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Opens peers `first` to `count - 1` to `port`, at most IN_FLIGHT at a time; each sends a line,
 * and another a second later.
 */
async function connectPeers(port, first, count, sockets) {
  let next = first;
  const seconds = [];
  async function worker() {
    while (next < count) {
      const i = next++;
      const socket = await new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
        s.once('error', reject);
      });
      socket.on('error', () => {});
      sockets.push(socket);
      socket.write(`hello from peer ${i}\n`);
      seconds.push(sleep(1000).then(() => socket.write(`peer ${i} again, a second later\n`)));
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await Promise.all(seconds);
}


async function once() {
  const bridge = await startBridge(['--no-exit-word', '--max-conns', String(PEERS)]);
  const browser = await launchBrowser();
  const sockets = [];
  try {
    const page = await openPage(browser, bridge.url);
    await watchLongTasks(page);

    // The first connection to open is selected, which enables the composer: one peer first, so
    // that the typing covers the others' arrival, until the header counts them all and every
    // peer has sent both lines.
    const first = connectPeers(bridge.listenPort, 0, 1, sockets);
    const area = composer(page);
    await area.and(page.locator(':enabled')).waitFor({ timeout: 60_000 });
    const started = performance.now();
    let sent = false;
    const peers = Promise.all([first, connectPeers(bridge.listenPort, 1, PEERS, sockets)])
      .finally(() => { sent = true; });
    const header = connections(page).getByText(new RegExp(`\\b${PEERS.toLocaleString('en-US')} in all\\b`));
    let listed = false;
    let listedAfter;
    const listedAt = header.waitFor({ timeout: LIST_TIMEOUT_MS }).finally(() => {
      listed = true;
      listedAfter = performance.now() - started;
    });
    await area.focus();
    await area.evaluate((el) => {
      window.__keys = [];
      el.addEventListener('keydown', (e) => {
        const pressed = e.timeStamp;
        requestAnimationFrame(() => window.__keys.push(performance.now() - pressed));
      });
    });
    let typed = '';
    while (!listed || !sent) {
      const key = String.fromCharCode(97 + (typed.length % 26));
      typed += key;
      await page.keyboard.press(key);
      await sleep(KEY_EVERY_MS);
    }
    await listedAt;
    await peers;
    await page.waitForFunction((n) => window.__keys.length >= n, typed.length);
    if ((await area.inputValue()) !== typed) throw new Error('the composer lost a keystroke');
    const delays = await page.evaluate(() => window.__keys);
    if (delays.length === 0) throw new Error('no keystroke was measured while the peers arrived');
    const longest = await longestTask(page);
    return { listedAfter, longest, slowestKey: Math.max(...delays), medianKey: median(delays), keys: delays.length };
  } finally {
    for (const s of sockets) s.destroy();
    await browser.close();
    await bridge.stop();
  }
}

const runs = [];
for (let i = 0; i < RUNS; i++) runs.push(await once());
console.log(`ui_conns_peers=${PEERS}`);
console.log(`ui_conns_listed_after=${Math.round(median(runs.map((r) => r.listedAfter)))} ms`);
console.log(`ui_conns_longest_task=${Math.round(median(runs.map((r) => r.longest)))} ms`);
console.log(`ui_conns_keystroke_slowest=${Math.round(median(runs.map((r) => r.slowestKey)))} ms`);
console.log(`ui_conns_keystroke_median=${Math.round(median(runs.map((r) => r.medianKey)))} ms`);
console.log(`ui_conns_keystrokes=${runs[0].keys}`);
