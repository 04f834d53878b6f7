// The tutorial this project started from, run for real against the bridge: its Python chat client
// talks to the page through the bridge's listener, and the page dials its Python chat server.
// Both send text without a line ending and end the conversation with `exit`.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  connections, composer, messages, openPage, openTool, python, SEED, startBridge, useBridge,
} from './harness.js';

const fx = useBridge();

test("the tutorial's client chats with the page in Chinese, and `exit` ends it", async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  const client = python('client.py', ['127.0.0.1', String(fx.bridge.listenPort)]);
  try {
    await client.prints(/请输入你要发送的数据:/);
    client.type('你好，服务器');
    const entry = connections(page).getByRole('listitem').filter({ hasText: '127.0.0.1:' });
    await entry.getByRole('button').click();
    await messages(page).locator('li.msg.rx', { hasText: '你好，服务器' }).waitFor();

    await composer(page).fill('你好，客户端');
    await composer(page).press('Enter');
    await client.prints(/当前接受的信息是:你好，客户端\n/);

    client.type('exit');
    assert.equal(await client.exited(), 0);
    await entry.and(page.locator('[data-state=closed]')).waitFor();
    await messages(page).locator('li.msg.rx', { hasText: 'exit' }).waitFor();
  } finally {
    client.kill();
    await page.close();
  }
});

test("the page dials the tutorial's server, and the server's `exit` ends it", async () => {
  const server = python('server.py', ['127.0.0.1', '0']);
  try {
    const port = (await server.prints(/listening on (\d+)/))[1];
    const page = await openPage(fx.browser, fx.bridge.url);
    await openTool(page, 'Dial');
    const form = page.getByRole('form', { name: 'Connect' });
    await form.getByLabel('Host').fill('127.0.0.1');
    await form.getByLabel('Port').fill(port);
    await form.getByRole('button', { name: 'Connect' }).click();
    await server.prints(/当前客户端是:/);

    const entry = connections(page).locator('li', { hasText: `127.0.0.1:${port}` });
    await entry.getByRole('button').click();
    await composer(page).fill('你好，服务器');
    await composer(page).press('Enter');
    await server.prints(/当前接受的信息是:你好，服务器\n/);

    await server.prints(/请输入你要发送的数据:/);
    server.type('你好，网页');
    await messages(page).locator('li.msg.rx', { hasText: '你好，网页' }).waitFor();

    await composer(page).fill('再见');
    await composer(page).press('Enter');
    await server.prints(/当前接受的信息是:再见\n/);
    server.type('exit');
    await server.prints(/服务完毕/);
    await entry.and(page.locator('[data-state=closed]')).waitFor();
    await page.close();
  } finally {
    server.kill();
  }
});

test("a bridge started with only an echo device's rules answers the tutorial's client, with nobody at the page", async () => {
  const rules = path.join(SEED, '..', '..', 'examples', 'echo-device.toml');
  const device = await startBridge(['--rules', rules]);
  const client = python('client.py', ['127.0.0.1', String(device.listenPort)]);
  try {
    await client.prints(/请输入你要发送的数据:/);
    client.type('你好，设备');
    await client.prints(/当前接受的信息是:你好，设备\n/);
    client.type('hello again');
    await client.prints(/当前接受的信息是:hello again\n/);
    client.type('exit');
    assert.equal(await client.exited(), 0);
  } finally {
    client.kill();
    assert.equal(await device.stop(), 0);
  }
});
