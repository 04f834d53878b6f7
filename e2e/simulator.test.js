// A simulator made from a conversation in the page (issue 21): a client talks to a device the
// bridge stands in for with the example SCPI rules; "Make a simulator from this conversation"
// fills the rules panel with what the bridge learnt of it, not in force; once the user uses
// them, a fresh client asking the same gets the same answers, now from the learnt rules. Real
// bridge, real TCP peers on loopback.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import {
  Peer, conversation, eventually, openPage, rowOf, screenshot, useBridge,
} from './harness.js';

const SCPI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'scpi-device.toml');
const fx = useBridge(['--rules', SCPI]);

const dialog = (page) => page.getByRole('dialog', { name: 'Auto-reply rules' });
const inForce = (page) => dialog(page).getByRole('list', { name: 'Rules in force' }).getByRole('listitem');
const learnt = (page) => dialog(page).getByRole('region', { name: 'Learnt rules' });

const QUESTIONS = ['*IDN?\n', 'MEAS:VOLT?\n', 'MEAS:VOLT?\n', 'SYST:ERR?\n'];

/** A client of the device: greeted, then asks each question once the last is answered (each
 * answer is a line). Returns the client and all it received. */
async function askAll(port) {
  const client = await Peer.connect(port);
  const lines = (p) => p.received.toString().split('\n').length - 1;
  await client.until((p) => lines(p) === 1, 'the greeting');
  for (const [i, question] of QUESTIONS.entries()) {
    client.send(question);
    await client.until((p) => lines(p) === i + 2, `the answer to ${JSON.stringify(question)}`);
  }
  return { client, said: client.received.toString() };
}

test('a simulator made from a conversation waits for review, then answers a fresh client as the device did', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const recorded = await askAll(fx.bridge.listenPort);
  assert.match(recorded.said, /^ACME Instruments DMM-1000 ready\nACME Instruments,DMM-1000,SN0001,1\.0\.3\n\+1\.000E-03\n\+2\.000E-03\n0,"No error"\n$/);

  await rowOf(page, recorded.client.address).click();
  await conversation(page).locator('.conv-title .peer', { hasText: recorded.client.address }).waitFor();
  await conversation(page).getByRole('button', { name: 'Make a simulator from this conversation' }).click();

  // The panel shows what was learnt, at its head, and the device's own rules still in force.
  await learnt(page).waitFor();
  const status = learnt(page).getByRole('status');
  await eventually(
    async () => /^Learnt from conversation \d+: 4 rules, a greeting on connect, 1 request generalised\./.test(await status.innerText()),
    'what was learnt is said',
  );
  const rows = learnt(page).getByRole('list', { name: 'Learnt rules, not in force' }).getByRole('listitem');
  const texts = await rows.allInnerTexts();
  assert.equal(texts.length, 4, texts.join('\n'));
  assert.match(texts[0], /Greeting[\s\S]*on connect/);
  assert.ok(texts.some((t) => t.includes('Answer *IDN?') && t.includes('ACME Instruments,DMM-1000')), texts.join('\n'));
  assert.ok(texts.some((t) => t.includes('Answer MEAS:VOLT?') && t.includes('${counter}')), texts.join('\n'));
  await screenshot(page, 'simulator-learnt');
  assert.equal(await inForce(page).count(), 5, 'nothing applied itself');
  assert.ok((await inForce(page).allInnerTexts()).some((t) => t.includes('Identify')));

  // Used as any edited rule set: now the learnt rules, and only they, answer.
  await learnt(page).getByRole('button', { name: 'Use these rules' }).click();
  await learnt(page).waitFor({ state: 'detached' });
  await eventually(async () => (await inForce(page).count()) === 4, 'the learnt rules in force');
  const now = await inForce(page).allInnerTexts();
  assert.ok(now.some((t) => t.includes('Answer *IDN?')), now.join('\n'));
  assert.ok(!now.some((t) => t.includes('Identify')), now.join('\n'));

  const fresh = await askAll(fx.bridge.listenPort);
  assert.equal(fresh.said, recorded.said);
  recorded.client.close();
  fresh.client.close();
  await page.close();
});
