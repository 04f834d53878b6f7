// UDP and TLS conversations in the page, as TCP ones: the dial form's transport, the badges, a
// TLS conversation's certificate, the listener panel's TLS listener and UDP socket. Real peers
// on 127.0.0.1: Node's `tls` with a certificate made here by openssl, and `dgram`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import {
  Peer, composer, connections, conversation, eventually, messages, openPage, openTool, rowOf, screenshot,
  sendForm, startBridge, useBridge, withTimeout,
} from './harness.js';

const fx = useBridge();
const WAIT_MS = 10_000;

// A self-signed certificate for the test's TLS server, made fresh for this run.
const cert = {};
before(() => {
  cert.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transports-'));
  const [key, crt] = [path.join(cert.dir, 'key.pem'), path.join(cert.dir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '2', '-subj', '/CN=sensor.example', '-addext', 'subjectAltName=DNS:sensor.example',
    '-keyout', key, '-out', crt], { stdio: 'ignore' });
  cert.key = fs.readFileSync(key);
  cert.pem = fs.readFileSync(crt);
  cert.fingerprint = new X509Certificate(cert.pem).fingerprint256;
});
after(() => fs.rmSync(cert.dir, { recursive: true, force: true }));

/** A UDP socket on 127.0.0.1 that keeps every datagram it receives, whole. */
async function udpPeer() {
  const socket = dgram.createSocket('udp4');
  const received = [];
  socket.on('message', (data, from) => received.push({ data, from }));
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    socket,
    received,
    port: socket.address().port,
    send: (data, port) => new Promise((resolve, reject) => {
      socket.send(data, port, '127.0.0.1', (err) => (err ? reject(err) : resolve()));
    }),
    async nth(n) {
      await eventually(() => received.length >= n, `${n} datagram(s) at the UDP peer`);
      return received[n - 1];
    },
    close: () => socket.close(),
  };
}

/** Dials from the page's dial form. */
async function dial(page, transport, port, { acceptAny = false } = {}) {
  await openTool(page, 'Dial');
  const form = page.getByRole('form', { name: 'Connect' });
  await form.getByLabel('Host').fill('127.0.0.1');
  await form.getByLabel('Port').fill(String(port));
  await form.getByRole('combobox', { name: 'Protocol' }).selectOption(transport);
  const accept = form.getByRole('checkbox', { name: /Accept any certificate/ });
  if (transport === 'TLS') {
    if (acceptAny) await accept.check();
  } else {
    assert.equal(await accept.count(), 0, 'the choice is TLS\'s only');
  }
  await form.getByRole('button', { name: 'Connect' }).click();
}

const header = (page) => conversation(page).locator('.conv-title');

test('the page dials a TLS server, accepting any certificate, chats both ways and shows the certificate', async () => {
  const accepted = [];
  const server = tls.createServer({ key: cert.key, cert: cert.pem }, (socket) => accepted.push(new Peer(socket)));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const page = await openPage(fx.browser, fx.bridge.url);

  // Verified, a self-signed certificate is refused, and the reason offers the way on.
  await dial(page, 'TLS', port);
  await conversation(page).getByText(/accept any certificate/).first().waitFor();
  assert.equal(accepted.length, 0, 'no conversation reached the server');
  const notice = page.locator('.notices .notice', { hasText: /accept any certificate/ });
  assert.doesNotMatch(await notice.textContent(), /Other\(|Error\(/, 'the reason is in words, not rustls\' enum');
  await notice.getByRole('button', { name: 'Dismiss' }).click();
  const refused = rowOf(page, `127.0.0.1:${port}`).locator('.transport.tls.pending');
  await refused.waitFor();
  assert.match(await refused.getAttribute('title'), /no handshake/, 'no green light for a handshake that failed');

  await dial(page, 'TLS', port, { acceptAny: true });
  await eventually(() => accepted.length === 1, 'the server accepted the bridge');
  const peer = accepted[0];
  const row = rowOf(page, `127.0.0.1:${port}`).filter({ has: page.locator('.transport.tls.unverified') });
  await row.waitFor();
  assert.match(await row.locator('.transport').textContent(), /TLS.*not verified/);
  await header(page).locator('.transport.tls.unverified').waitFor();

  peer.send('hello over TLS\n');
  await messages(page).locator('li.msg.rx', { hasText: 'hello over TLS' }).waitFor();
  await composer(page).fill('and back');
  await composer(page).press('Enter');
  await peer.receives('and back\n');
  await messages(page).locator('li.msg.tx', { hasText: 'and back' }).waitFor();
  assert.equal(await sendForm(page).getByRole('checkbox', { name: 'Broadcast' }).count(), 0, 'UDP\'s only');

  // The certificate's details, under the header.
  const details = conversation(page).locator('details.tls-details');
  assert.match(await details.locator('summary').textContent(), /TLSv1\.[23] · .* · certificate NOT verified/);
  await details.locator('summary').click();
  const value = (term) => details.locator('dt', { hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');
  assert.match(await value('Subject').textContent(), /CN=sensor\.example/);
  assert.match(await value('Issuer').textContent(), /self-signed/);
  assert.match(await value('Names').textContent(), /sensor\.example/);
  assert.match(await value('Valid').textContent(), /^from \d{4}-.* until \d{4}-/);
  assert.doesNotMatch(await value('Valid').textContent(), /expired|not valid yet/);
  assert.equal(await value('SHA-256').locator('code').textContent(), cert.fingerprint,
    'the fingerprint openssl\'s certificate has');
  assert.match(await value('Certificate').textContent(), /NOT verified/);
  await screenshot(page, 'tls');

  server.close();
  for (const p of accepted) p.close();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('the page dials a UDP peer and chats both ways, each datagram a message', async () => {
  const peer = await udpPeer();
  const page = await openPage(fx.browser, fx.bridge.url);
  await dial(page, 'UDP', peer.port);
  const row = rowOf(page, `127.0.0.1:${peer.port}`);
  await row.filter({ has: page.locator('.transport.udp') }).waitFor();
  await header(page).locator('.transport.udp').waitFor();

  // Two sends, two datagrams, each exactly what was typed (UDP's line ending is none).
  await composer(page).fill('one');
  await composer(page).press('Enter');
  await composer(page).fill('two');
  await composer(page).press('Enter');
  await peer.nth(2);
  const first = peer.received[0];
  assert.equal(first.data.toString(), 'one');
  assert.equal(peer.received[1].data.toString(), 'two');

  // Answers to where the bridge sent from: each datagram is one message, the empty one too.
  const bridgePort = first.from.port;
  await peer.send(Buffer.from('alpha'), bridgePort);
  await peer.send(Buffer.from('beta'), bridgePort);
  await peer.send(Buffer.alloc(0), bridgePort);
  const rx = messages(page).locator('li.msg.rx');
  await rx.filter({ hasText: 'empty datagram' }).waitFor();
  assert.equal(await rx.count(), 3);
  assert.match(await rx.nth(0).locator('.body').textContent(), /^alpha$/);
  assert.match(await rx.nth(1).locator('.body').textContent(), /^beta$/);

  // Broadcast is offered for UDP, off until ticked.
  const broadcast = sendForm(page).getByRole('checkbox', { name: 'Broadcast' });
  assert.equal(await broadcast.isChecked(), false);

  // A send no datagram can hold is refused with the reason, in the conversation, nothing sent.
  await composer(page).fill('x'.repeat(65_508));
  await composer(page).press('Enter');
  await messages(page).getByText(/a UDP datagram holds at most 65,507 bytes/).waitFor();
  await composer(page).fill('three');
  await composer(page).press('Enter');
  await peer.nth(3);
  assert.equal(peer.received[2].data.toString(), 'three', 'the one too large never went');

  // Nothing listens there any more: the port's "unreachable" is said in the conversation.
  peer.close();
  await composer(page).fill('anyone?');
  await composer(page).press('Enter');
  await conversation(page).getByText(/nothing is listening on 127\.0\.0\.1/).first().waitFor();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('a send to a broadcast address needs Broadcast ticked, and then goes', async (t) => {
  // Loopback's broadcast address: what goes there stays on this machine.
  const receiver = dgram.createSocket('udp4');
  const got = [];
  receiver.on('message', (data) => got.push(data.toString()));
  try {
    await new Promise((resolve, reject) => { receiver.once('error', reject); receiver.bind(0, '127.255.255.255', resolve); });
  } catch (e) {
    receiver.close();
    t.skip(`cannot bind 127.255.255.255 here (${e.code})`);
    return;
  }
  const page = await openPage(fx.browser, fx.bridge.url);
  try {
    await openTool(page, 'Dial');
    const form = page.getByRole('form', { name: 'Connect' });
    await form.getByLabel('Host').fill('127.255.255.255');
    await form.getByLabel('Port').fill(String(receiver.address().port));
    await form.getByRole('combobox', { name: 'Protocol' }).selectOption('UDP');
    await form.getByRole('button', { name: 'Connect' }).click();
    await header(page).locator('.peer', { hasText: '127.255.255.255' }).waitFor();
    await header(page).locator('.transport.udp').waitFor();

    await composer(page).fill('to all?');
    await composer(page).press('Enter');
    await messages(page).getByText(/tick Broadcast/).waitFor();
    assert.deepEqual(got, [], 'nothing went');

    const broadcast = sendForm(page).getByRole('checkbox', { name: 'Broadcast' });
    await broadcast.check();
    await composer(page).fill('to all');
    await composer(page).press('Enter');
    await eventually(() => got.length === 1, 'the broadcast arrived');
    assert.equal(got[0], 'to all');
    assert.equal(await broadcast.isChecked(), true, 'the choice stays for this conversation');
  } finally {
    receiver.close();
    await page.close();
  }
});

test('the listener panel opens the UDP socket, a peer\'s datagrams become a UDP conversation, and groups are joined and left', async () => {
  // A bridge of its own: this test moves its listeners.
  const own = await startBridge();
  const page = await openPage(fx.browser, own.url);
  try {
    await openTool(page, 'Listen');
    const panel = page.getByRole('group', { name: 'UDP socket' });
    await panel.locator('summary').click();
    const form = page.getByRole('form', { name: 'Open the UDP socket' });
    await form.getByLabel('Listen address').fill('127.0.0.1:0');
    await form.getByRole('button', { name: 'Listen' }).click();
    const state = panel.getByRole('status');
    await state.getByText(/^Open on 127\.0\.0\.1:\d+$/).waitFor();
    const port = Number((await state.textContent()).split(':').pop());
    assert.ok(port > 0);

    const peer = await udpPeer();
    await peer.send(Buffer.from('ping from a device'), port);
    const row = rowOf(page, `127.0.0.1:${peer.port}`);
    await row.filter({ has: page.locator('.transport.udp') }).waitFor();
    await row.click();
    await header(page).locator('.transport.udp').waitFor();
    await messages(page).locator('li.msg.rx', { hasText: 'ping from a device' }).waitFor();
    await composer(page).fill('pong');
    await composer(page).press('Enter');
    const answer = await peer.nth(1);
    assert.equal(answer.data.toString(), 'pong');
    assert.equal(answer.from.port, port, 'answered from the socket it wrote to');

    // A group that is not an address is refused, said in the groups' form, not the page's top.
    await openTool(page, 'Listen');
    const groups = page.getByRole('form', { name: 'Multicast groups' });
    await groups.getByLabel('Group').fill('not-a-group');
    await groups.getByRole('button', { name: 'Join' }).click();
    await groups.getByRole('alert').getByText(/is not an IP address/).waitFor();
    // A group on loopback: listed as joined, then left.
    await groups.getByLabel('Group').fill('239.255.77.2');
    await groups.getByLabel('Interface (optional)').fill('127.0.0.1');
    await groups.getByRole('button', { name: 'Join' }).click();
    await groups.locator('.group-list li', { hasText: '239.255.77.2' }).waitFor();
    assert.equal(await groups.getByRole('alert').count(), 0, 'the failure is over');
    await groups.getByRole('button', { name: 'Leave 239.255.77.2' }).click();
    await eventually(async () => (await groups.locator('.group-list li').count()) === 0, 'the group left');

    // Stopped: the panel says so, and offers to start it where it was.
    await form.getByRole('button', { name: 'Stop' }).click();
    await state.getByText('Stopped').waitFor();
    assert.equal(await form.getByLabel('Listen address').inputValue(), `127.0.0.1:${port}`);
    peer.close();
    assert.deepEqual(fx.browser.errors, []);
  } finally {
    await page.close();
    assert.equal(await own.stop(), 0);
  }
});

test('the listener panel starts the TLS listener and shows the fingerprint its clients see', async () => {
  const own = await startBridge();
  const page = await openPage(fx.browser, own.url);
  try {
    await openTool(page, 'Listen');
    const panel = page.getByRole('group', { name: 'TLS listener' });
    await panel.locator('summary').click();
    const form = page.getByRole('form', { name: 'Listen with TLS' });
    await form.getByLabel('Listen address').fill('127.0.0.1:0');
    await form.getByRole('button', { name: 'Listen' }).click();
    const state = panel.getByRole('status');
    await state.getByText(/^Listening on 127\.0\.0\.1:\d+$/).waitFor();
    const port = Number((await state.textContent()).split(':').pop());
    const shown = await panel.locator('.fingerprint code').textContent();
    assert.match(shown, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    await panel.getByRole('button', { name: /Copy the TLS listener's certificate fingerprint/ }).waitFor();

    // A TLS client sees the certificate with that fingerprint, and becomes a TLS conversation.
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    await withTimeout(new Promise((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject); }),
      WAIT_MS, 'no TLS handshake with the bridge');
    assert.equal(socket.getPeerX509Certificate().fingerprint256, shown);
    const client = new Peer(socket);
    client.send('hello, bridge\n');
    const row = rowOf(page, `127.0.0.1:${socket.localPort}`);
    await row.filter({ has: page.locator('.transport.tls:not(.unverified)') }).waitFor();
    await row.click();
    await messages(page).locator('li.msg.rx', { hasText: 'hello, bridge' }).waitFor();
    const details = conversation(page).locator('details.tls-details');
    await details.locator('summary').click();
    await details.locator('dd code', { hasText: shown }).waitFor();
    client.close();

    // A failure is shown at the TLS listener: moving it to an address in use keeps it where it was.
    await openTool(page, 'Listen');
    await form.getByLabel('Listen address').fill(`127.0.0.1:${own.listenPort}`);
    await form.getByRole('button', { name: 'Move' }).click();
    await form.getByRole('alert').getByText(/cannot listen for TLS/).waitFor();
    assert.match(await state.textContent(), new RegExp(`Listening on 127\\.0\\.0\\.1:${port}$`));
    assert.equal(await page.locator('.notices').getByText(/cannot listen/).count(), 0, 'not at the page\'s top');
    assert.deepEqual(fx.browser.errors, []);
  } finally {
    await page.close();
    assert.equal(await own.stop(), 0);
  }
});
