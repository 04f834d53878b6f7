// The bridge between a client and its server (`--proxy`): the tutorial's Python client talks
// through the bridge to the tutorial's Python server, and the page shows the pair as one
// conversation, each message marked with the way it went, in every view; the composer sends
// into it as either side.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import {
  composer, connections, conversation, eventually, launchBrowser, messages, openPage, openTool, Peer,
  python, screenshot, startBridge,
} from './harness.js';

const fx = { server: null, serverPort: null, bridge: null, proxyPort: null, browser: null };

before(async () => {
  fx.server = python('server.py', ['127.0.0.1', '0']);
  fx.serverPort = (await fx.server.prints(/listening on (\d+)/))[1];
  fx.bridge = await startBridge(['--proxy', `127.0.0.1:0=127.0.0.1:${fx.serverPort}`]);
  const line = fx.bridge.stdout().match(/Proxy on 127\.0\.0\.1:(\d+), relaying each client to (\S+)/);
  assert.ok(line, `the bridge says where it proxies: ${fx.bridge.stdout()}`);
  assert.equal(line[2], `127.0.0.1:${fx.serverPort}`);
  fx.proxyPort = line[1];
  fx.browser = await launchBrowser();
});

after(async () => {
  fx.server?.kill();
  await fx.browser?.close();
  assert.equal(await fx.bridge?.stop(), 0, 'the bridge exits cleanly on SIGTERM');
});

/** The message of the log holding `text`, and the way it is marked. */
const message = (page, text) => messages(page).locator('li.msg', { hasText: text });

test("the tutorial's client talks through the proxy to its server, and the page shows both ways", async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const client = python('client.py', ['127.0.0.1', fx.proxyPort]);
  try {
    await client.prints(/请输入你要发送的数据:/);
    client.type('你好，服务器');
    await fx.server.prints(/当前接受的信息是:你好，服务器\n/);
    await fx.server.prints(/请输入你要发送的数据:/);
    fx.server.type('你好，客户端');
    await client.prints(/当前接受的信息是:你好，客户端\n/);

    // The list names the pair: the client, and the server it is relayed to.
    const row = connections(page).getByRole('button', {
      name: new RegExp(`client 127\\.0\\.0\\.1:\\d+ ⇄ 127\\.0\\.0\\.1:${fx.serverPort}`),
    });
    await row.waitFor();
    assert.match(await row.innerText(), /proxied/i);
    await row.click();

    // Each message says which way it went, in the order the bridge saw them.
    await message(page, '你好，客户端').waitFor();
    const said = await messages(page).locator('li.msg').evaluateAll((lis) => lis.map((li) => [
      li.querySelector('.mark.way')?.textContent ?? null,
      li.querySelector('.body')?.textContent ?? '',
    ]));
    assert.deepEqual(said, [['client→server', '你好，服务器'], ['server→client', '你好，客户端']]);
    for (const view of ['Log', 'Hex', 'Dump']) {
      await page.getByLabel('View', { exact: true }).selectOption({ label: view });
      await messages(page).locator(`li.msg.${view === 'Dump' ? 'dump' : 'logline'}`).nth(1).waitFor();
      const ways = await messages(page).locator('li.msg .mark.way').allTextContents();
      assert.deepEqual(ways, ['client→server', 'server→client'], `in the ${view} view`);
    }
    await page.getByLabel('View', { exact: true }).selectOption({ label: 'Chat' });

    // The composer sends as either side: to the server, as if from the client...
    await page.getByLabel('Send to', { exact: true }).selectOption('server');
    // The empty composer names the side it sends to.
    assert.match(
      await composer(page).getAttribute('placeholder'),
      new RegExp(`^Message to the server 127\\.0\\.0\\.1:${fx.serverPort} `),
    );
    await composer(page).fill('PING');
    await composer(page).press('Enter');
    await fx.server.prints(/当前接受的信息是:PING\n/);
    const ping = message(page, 'PING');
    await ping.locator('.mark.way', { hasText: 'client→server' }).waitFor();
    await ping.locator('.mark.injected').waitFor();
    // ...and to the client, as if from the server.
    await page.getByLabel('Send to', { exact: true }).selectOption('client');
    assert.match(await composer(page).getAttribute('placeholder'), /^Message to the client 127\.0\.0\.1:\d+ /);
    await composer(page).fill('NOTE');
    await composer(page).press('Enter');
    await message(page, 'NOTE').locator('.mark.way', { hasText: 'server→client' }).waitFor();
    // Counted by way: client→server and server→client.
    assert.match(await row.innerText(), /c→s .*s→c/s);
    // The rate graph's two lines are the two ways.
    await page.getByRole('img', { name: /\/s client→server, .*\/s server→client/ }).waitFor();
    await screenshot(page, 'proxy');
  } finally {
    client.kill();
    await page.close();
  }
});

test('the Listen panel starts, lists and stops a proxy, a refused one says why at the form, and a half-close is shown', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  // A server that keeps its side open when its client half-closes (Node's default closes both).
  const accepted = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => accepted.push(new Peer(socket)));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const serverPort = server.address().port;
  try {
    const panel = await openTool(page, 'Listen');
    const proxies = panel.getByRole('group', { name: 'Proxies' });
    if (!(await proxies.evaluate((details) => details.open))) await proxies.locator('summary').click();
    const form = proxies.getByRole('form', { name: 'Start a proxy' });
    // The one --proxy started is listed already.
    const running = proxies.getByRole('list', { name: 'Proxies running' });
    await running.getByText(`127.0.0.1:${fx.proxyPort} ⇄ 127.0.0.1:${fx.serverPort}`).waitFor();

    // A server that is not HOST:PORT is refused in the form, nothing sent.
    await form.getByLabel('Listen on').fill('127.0.0.1:0');
    await form.getByLabel('Relay to').fill('127.0.0.1');
    await form.getByRole('button', { name: 'Start' }).click();
    await form.getByRole('alert').getByText(/HOST:PORT/).waitFor();

    await form.getByLabel('Relay to').fill(`127.0.0.1:${serverPort}`);
    await form.getByRole('button', { name: 'Start' }).click();
    const item = running.getByRole('listitem').filter({ hasText: `⇄ 127.0.0.1:${serverPort}` });
    await item.waitFor();
    await screenshot(page, 'proxies');
    const port = (await item.innerText()).match(/127\.0\.0\.1:(\d+) ⇄/)[1];
    assert.notEqual(port, '0', 'the port the bridge chose');

    // It relays: a client through it reaches the server.
    const client = await Peer.connect(Number(port));
    await eventually(() => accepted.length === 1, 'the server to accept the relayed client');
    const [end] = accepted;
    client.send("through the page's proxy\n");
    await end.receives("through the page's proxy");

    // Stopped: it leaves the list; the pair it made goes on.
    await item.getByRole('button', { name: `Stop the proxy on 127.0.0.1:${port}` }).click();
    await item.waitFor({ state: 'detached' });
    end.send('still here\n');
    await client.receives('still here');

    // The client half-closes: the server reads the end, the page says so, and the server
    // still answers.
    await connections(page).getByRole('button', { name: new RegExp(`⇄ 127\\.0\\.0\\.1:${serverPort}`) }).click();
    client.socket.end();
    await end.until((p) => p.ended, 'the server to read the end');
    await page.getByRole('status').filter({ hasText: 'The client closed its sending side' }).waitFor();
    end.send('an answer after the end\n');
    await client.receives('an answer after the end');
    client.close();
    end.close();
  } finally {
    server.close();
    await page.close();
  }
});

test('each side is read its own way: the client in lines, the server in GBK frames of a length', async () => {
  // A server that answers in frames of a 2-byte length, its text in GBK, and a bridge between
  // it and a client that speaks UTF-8 lines.
  const accepted = [];
  const server = net.createServer((socket) => accepted.push(new Peer(socket)));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const serverPort = server.address().port;
  const bridge = await startBridge(['--proxy', `127.0.0.1:0=127.0.0.1:${serverPort}`]);
  const page = await openPage(fx.browser, bridge.url);
  try {
    const proxyPort = Number(bridge.stdout().match(/Proxy on 127\.0\.0\.1:(\d+)/)[1]);
    const client = await Peer.connect(proxyPort);
    await eventually(() => accepted.length === 1, 'the server to accept the relayed client');
    const [end] = accepted;
    await connections(page).getByRole('button', { name: new RegExp(`⇄ 127\\.0\\.0\\.1:${serverPort}`) }).click();

    // Lines both ways, then the server's way alone in frames of a length.
    const reading = conversation(page).getByRole('button', { name: /^Reading: / });
    await reading.click();
    const form = conversation(page).getByRole('form', { name: 'Reading' });
    assert.equal(await form.getByRole('combobox', { name: 'Messages' }).inputValue(), 'both');
    await form.getByRole('combobox', { name: 'Framing' }).selectOption('delimiter');
    await form.getByRole('combobox', { name: 'Delimiter' }).selectOption('lf');
    await form.getByRole('button', { name: 'Apply' }).click();
    await eventually(async () => (await reading.innerText()) === 'Reading: delimiter \\n', 'lines both ways');
    await form.getByRole('combobox', { name: 'Messages' }).selectOption('s2c');
    await form.getByRole('combobox', { name: 'Framing' }).selectOption('length');
    await form.getByRole('combobox', { name: 'Length field' }).selectOption('2');
    await form.getByRole('button', { name: 'Apply' }).click();
    await eventually(
      async () => (await reading.innerText()) === 'Reading: c→s delimiter \\n; s→c length 2 B BE',
      'each way read its own way',
    );
    await form.getByRole('status').filter({ hasText: /client→server delimiter \\n; server→client length/ }).waitFor();
    // Unedited, the form shows the side the menu names; edited, it keeps what was typed when
    // the side changes, to be applied there instead.
    const messagesMenu = form.getByRole('combobox', { name: 'Messages' });
    const framing = form.getByRole('combobox', { name: 'Framing' });
    await messagesMenu.selectOption('c2s');
    await eventually(async () => (await framing.inputValue()) === 'delimiter', "the client's framing shown");
    await messagesMenu.selectOption('s2c');
    await eventually(async () => (await framing.inputValue()) === 'length', "the server's framing shown");
    await framing.selectOption('idle');
    await form.getByLabel('Silence (ms)').waitFor();
    await messagesMenu.selectOption('c2s');
    // The page has drawn the change of side (Yew draws in a microtask) before this looks.
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0))));
    assert.equal(await framing.inputValue(), 'idle', 'an edit outlives a change of side');
    assert.equal(await form.getByLabel('Silence (ms)').count(), 1);
    await messagesMenu.selectOption('s2c');
    // The server's text is GBK; the client's stays UTF-8.
    await conversation(page).getByLabel('s→c', { exact: true }).selectOption('GBK');

    client.send('one\n二\n');
    await end.receives('二\n');
    const frames = Buffer.from([0, 4, 0xc4, 0xe3, 0xba, 0xc3, 0, 4, 0xd4, 0xd9, 0xbc, 0xfb]); // 你好, 再见
    end.send(frames);
    await client.until((p) => p.received.equals(frames), 'the frames, relayed as they came');
    const said = () => messages(page).locator('li.msg').evaluateAll((lis) => lis.map((li) => [
      li.querySelector('.mark.way')?.textContent ?? null,
      li.querySelector('.body')?.textContent ?? '',
    ]));
    await eventually(async () => (await said()).length === 4, 'four messages');
    const [one, two, hello, bye] = await said();
    assert.deepEqual([one, two], [['client→server', 'one'], ['client→server', '二']]);
    assert.deepEqual([hello[0], bye[0]], ['server→client', 'server→client']);
    assert.match(hello[1], /你好$/, 'a frame, read as GBK');
    assert.match(bye[1], /再见$/);

    // What is sent as the server is written as the server speaks: GBK.
    await page.getByLabel('Send to', { exact: true }).selectOption('client');
    await composer(page).fill('再见');
    await composer(page).press('Enter');
    await client.until((p) => p.received.includes(Buffer.from([0xd4, 0xd9, 0xbc, 0xfb]), frames.length), 'GBK bytes');
    await screenshot(page, 'proxy-per-side');
    client.close();
    end.close();
  } finally {
    await page.close();
    server.close();
    assert.equal(await bridge.stop(), 0);
  }
});
