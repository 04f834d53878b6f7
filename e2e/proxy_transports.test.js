// A proxy with TLS on both sides, in the page: a TLS client (Node's `tls`) through the bridge to
// a TLS server (Node's `tls`, with a certificate made here by openssl); the conversation shows
// each side's TLS, the client's and the server's. The Proxies form starts a UDP proxy, written
// as `--proxy` takes it, and shows the bridge's refusal of transports that do not go together.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import {
  Peer, connections, conversation, eventually, launchBrowser, openPage, openTool, startBridge,
  withTimeout,
} from './harness.js';

const fx = { dir: null, server: null, accepted: [], bridge: null, proxyPort: null, browser: null };

before(async () => {
  fx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-transports-'));
  const [key, crt] = [path.join(fx.dir, 'key.pem'), path.join(fx.dir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '2', '-subj', '/CN=plc.example', '-addext', 'subjectAltName=DNS:plc.example',
    '-keyout', key, '-out', crt], { stdio: 'ignore' });
  fx.server = tls.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(crt) },
    (socket) => fx.accepted.push(new Peer(socket)));
  await new Promise((resolve) => fx.server.listen(0, '127.0.0.1', resolve));
  const serverPort = fx.server.address().port;
  fx.bridge = await startBridge(['--proxy', `tls:127.0.0.1:0=tls-any:127.0.0.1:${serverPort}`]);
  const line = fx.bridge.stdout().match(/TLS proxy on 127\.0\.0\.1:(\d+), relaying each client to (\S+)/);
  assert.ok(line, `the bridge says where it proxies: ${fx.bridge.stdout()}`);
  assert.equal(line[2], `tls-any:127.0.0.1:${serverPort}`);
  fx.proxyPort = Number(line[1]);
  fx.browser = await launchBrowser();
});

after(async () => {
  fx.server?.close();
  await fx.browser?.close();
  assert.equal(await fx.bridge?.stop(), 0, 'the bridge exits cleanly on SIGTERM');
  fs.rmSync(fx.dir, { recursive: true, force: true });
});

test('a TLS client and a TLS server through the proxy, and the TLS of each side in the page', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const socket = tls.connect({ host: '127.0.0.1', port: fx.proxyPort, rejectUnauthorized: false });
  await withTimeout(new Promise((resolve) => socket.once('secureConnect', resolve)), 10_000,
    'no TLS handshake with the proxy');
  const client = new Peer(socket);
  try {
    await eventually(() => fx.accepted.length === 1, 'the TLS server to accept the relayed client');
    const [end] = fx.accepted;
    client.send('over TLS to the bridge\n');
    await end.receives('over TLS to the bridge');
    end.send('over TLS from the server\n');
    await client.receives('over TLS from the server');

    const serverPort = fx.server.address().port;
    await connections(page).getByRole('button', { name: new RegExp(`⇄ 127\\.0\\.0\\.1:${serverPort}`) }).click();
    const details = conversation(page).locator('details.tls-details');
    await details.nth(1).waitFor();
    const [clientSide, serverSide] = await details.locator('summary').allTextContents();
    assert.match(clientSide, /^Client side: TLSv1\.[23] · .* · the client saw this bridge's certificate$/);
    assert.match(serverSide, /^Server side: TLSv1\.[23] · .* · certificate NOT verified/);
    await details.nth(1).locator('summary').click();
    await details.nth(1).getByText('CN=plc.example').first().waitFor();
  } finally {
    client.close();
  }
});

test('the Proxies form starts a UDP proxy and says why the bridge refuses UDP to TLS', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const panel = await openTool(page, 'Listen');
  const proxies = panel.getByRole('group', { name: 'Proxies' });
  if (!(await proxies.evaluate((details) => details.open))) await proxies.locator('summary').click();
  const form = proxies.getByRole('form', { name: 'Start a proxy' });
  const running = proxies.getByRole('list', { name: 'Proxies running' });
  await running.getByText(`tls:127.0.0.1:${fx.proxyPort} ⇄ tls-any:127.0.0.1:`).waitFor();

  await form.getByLabel('Listen on').fill('udp:127.0.0.1:0');
  await form.getByLabel('Relay to').fill('tls:127.0.0.1:9');
  await form.getByRole('button', { name: 'Start' }).click();
  await form.getByRole('alert').getByText(/a UDP proxy is UDP on both sides/).waitFor();

  await form.getByLabel('Relay to').fill('127.0.0.1:9');
  await form.getByRole('button', { name: 'Start' }).click();
  const item = running.getByRole('listitem').filter({ hasText: '⇄ udp:127.0.0.1:9' });
  await item.waitFor();
  const port = (await item.innerText()).match(/^udp:127\.0\.0\.1:(\d+) ⇄/)[1];
  await item.getByRole('button', { name: `Stop the proxy on udp:127.0.0.1:${port}` }).click();
  await item.waitFor({ state: 'detached' });
});
