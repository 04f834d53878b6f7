// The tutorial this project started from, run for real against the bridge: its Python chat client
// talks to the page through the bridge's listener, and the page dials its Python chat server.
// Both send text without a line ending and end the conversation with `exit`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  connections, composer, messages, openPage, openTool, startBridge, withTimeout, useBridge,
} from './harness.js';

const SEED = path.join(path.dirname(fileURLToPath(import.meta.url)), 'seed');
const WAIT_MS = 10_000;

const fx = useBridge();

/** A Python program from `seed/`, typed into through stdin, read through stdout. */
function python(script, args) {
  const child = spawn('python3', ['-u', path.join(SEED, script), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d; wake(); });
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => { wake(); resolve(code); }));
  return {
    type(line) { child.stdin.write(`${line}\n`); },
    /** Resolves with the first match of `pattern` in what the program printed. */
    async prints(pattern) {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const m = out.match(pattern);
        if (m) return m;
        const left = deadline - Date.now();
        if (left <= 0 || child.exitCode !== null) {
          throw new Error(`${script} did not print ${pattern}; stdout: ${out}\nstderr: ${err}`);
        }
        await new Promise((resolve) => { waiters.push(resolve); setTimeout(resolve, left); });
      }
    },
    exited: () => withTimeout(exited, WAIT_MS, `${script} did not exit`),
    kill() { child.kill(); },
  };
}


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
