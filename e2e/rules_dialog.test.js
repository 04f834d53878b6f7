// The auto-reply rules dialog for the keyboard (the focus taken, kept and given back; Esc; a
// deletion undone), and rules kept: saved to the bridge's --rules file, or said to last until
// the bridge stops. Real bridge, real browser, loopback only.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import {
  eventually, openPage, openTool, startBridge, useBridge,
} from './harness.js';

const fx = useBridge();

const dialog = (page) => page.getByRole('dialog', { name: 'Auto-reply rules' });
const rows = (page) => dialog(page).getByRole('list', { name: 'Rules in force' }).getByRole('listitem');
const opener = (page) => page.getByRole('button', { name: /^Rules \(\d+\)$/ });

/** The button that opens the rules dialog, in the Device panel. */
async function rulesButton(page) {
  await openTool(page, 'Device');
  return opener(page);
}

/** Whether the focus is inside the rules dialog. */
const focusInDialog = (page) => page.evaluate(() => {
  const d = document.querySelector('[role=dialog][aria-modal=true]');
  return d !== null && d.contains(document.activeElement);
});

/** Adds a rule from the dialog's form: `*IDN?` answered with `reply`. */
async function addRule(page, id, reply) {
  await dialog(page).getByRole('button', { name: 'Add rule' }).click();
  const editor = dialog(page).getByRole('form', { name: 'Rule' });
  await editor.getByRole('textbox', { name: 'Id' }).fill(id);
  await editor.getByRole('textbox', { name: /^Text/ }).fill(`ASK ${id}`);
  await editor.getByRole('textbox', { name: 'Reply', exact: true }).fill(reply);
  await editor.getByRole('button', { name: 'Save rule' }).click();
  await editor.waitFor({ state: 'detached' });
}

test('the rules dialog takes the focus, keeps Tab inside, closes on Esc and gives the focus back', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  await (await rulesButton(page)).focus();
  await page.keyboard.press('Enter');
  await dialog(page).waitFor();
  await eventually(() => focusInDialog(page), 'the dialog has the focus');

  // Round and round: Tab never leaves the dialog, either way.
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await focusInDialog(page), `Tab ${i + 1} stays in the dialog`);
  }
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Shift+Tab');
    assert.ok(await focusInDialog(page), `Shift+Tab ${i + 1} stays in the dialog`);
  }
  // The focus key of the composer does not take it out either.
  await page.keyboard.press('/');
  assert.ok(await focusInDialog(page), '/ leaves the focus in the dialog');

  await page.keyboard.press('Escape');
  await dialog(page).waitFor({ state: 'detached' });
  await eventually(
    () => opener(page).evaluate((el) => el === document.activeElement),
    'the focus is back on the button that opened the dialog',
  );
  await page.close();
});

test('a deleted rule comes back with Undo, in its place', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  await (await rulesButton(page)).click();
  for (const id of ['first', 'second', 'third']) await addRule(page, id, `${id}\\n`);
  await eventually(async () => (await rows(page).count()) === 3, 'three rules in force');
  // Saved, the form is gone: the focus waits on Add rule for the next one.
  const add = dialog(page).getByRole('button', { name: 'Add rule' });
  await eventually(() => add.evaluate((el) => el === document.activeElement), 'Add rule has the focus');
  await dialog(page).getByText('3 rules in force').waitFor();

  // Switched off, a rule is kept but not counted in force.
  await rows(page).nth(2).getByRole('checkbox').click();
  await dialog(page).getByText('2 rules in force · 1 off').waitFor();

  await rows(page).nth(1).getByRole('button', { name: 'Delete second' }).click();
  await eventually(async () => (await rows(page).count()) === 2, 'the rule deleted');
  const undo = dialog(page).getByRole('button', { name: 'Undo' });
  await dialog(page).getByRole('status').filter({ hasText: 'Deleted second.' }).waitFor();
  // The row's button is gone: the focus waits on Undo, and Enter takes it.
  await eventually(() => undo.evaluate((el) => el === document.activeElement), 'Undo has the focus');
  await page.keyboard.press('Enter');
  await eventually(async () => (await rows(page).count()) === 3, 'the rule back');
  const ids = await rows(page).locator('.rule-name').allInnerTexts();
  assert.deepEqual(ids, ['first', 'second', 'third'], 'back in its place');
  await undo.waitFor({ state: 'detached' });
  assert.ok(await focusInDialog(page), 'the focus stays in the dialog');

  // The bridge has them as the page shows them.
  const url = new URL(fx.bridge.url);
  url.pathname = '/rules.toml';
  const toml = await (await fetch(url)).text();
  assert.ok(toml.indexOf('"first"') < toml.indexOf('"second"') && toml.indexOf('"second"') < toml.indexOf('"third"'), toml);

  // Without a rules file, the dialog says how long they last, and offers no save.
  await dialog(page).getByText('These rules last until the bridge stops:').waitFor();
  assert.equal(await dialog(page).getByRole('button', { name: /^Save to / }).count(), 0);
  // Two deletions in a row, the second before the bridge has answered the first (both clicks
  // in one task of the page, so no answer can come between them): both hold.
  await dialog(page).evaluate((d) => {
    for (const name of ['Delete first', 'Delete second']) d.querySelector(`button[aria-label="${name}"]`).click();
  });
  await eventually(async () => (await rows(page).count()) === 1, 'one rule left');
  assert.deepEqual(await rows(page).locator('.rule-name').allInnerTexts(), ['third']);
  await dialog(page).getByRole('button', { name: 'Delete third' }).click();
  await dialog(page).getByText('No rules yet').waitFor();
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('a regex the bridge refuses shows the pointer to its fault in a fixed-width font, under the pattern', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  await (await rulesButton(page)).click();
  await dialog(page).getByRole('button', { name: 'Add rule' }).click();
  const editor = dialog(page).getByRole('form', { name: 'Rule' });
  await editor.getByRole('textbox', { name: 'Id' }).fill('broken');
  await editor.getByRole('combobox', { name: 'When' }).selectOption('regex');
  // Empty: the form says so in its own words.
  await editor.getByRole('button', { name: 'Save rule' }).click();
  await editor.getByRole('alert').filter({ hasText: '“Matches regex” needs a pattern' }).waitFor();
  await editor.getByRole('textbox', { name: /^Pattern/ }).fill('MEAS(');
  await editor.getByRole('button', { name: 'Save rule' }).click();
  await editor.getByRole('alert').filter({ hasText: 'rule `broken`: its regex does not compile: unclosed group' }).waitFor();
  const pointer = editor.getByLabel('Where the pattern fails');
  assert.equal(await pointer.innerText(), 'MEAS(\n    ^');
  const style = await pointer.evaluate((el) => {
    const s = getComputedStyle(el);
    return { font: s.fontFamily, space: s.whiteSpace };
  });
  assert.match(style.font, /mono/i, style.font);
  assert.equal(style.space, 'pre');
  // Under the pattern: below the field that holds it.
  const [fieldBox, pointerBox] = [
    await editor.getByRole('textbox', { name: /^Pattern/ }).boundingBox(),
    await pointer.boundingBox(),
  ];
  assert.ok(pointerBox.y >= fieldBox.y + fieldBox.height, 'the pointer is below the pattern');
  await editor.getByRole('button', { name: 'Cancel' }).click();
  await page.keyboard.press('Escape');
  await dialog(page).waitFor({ state: 'detached' });
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('rules edited in the page are saved to the bridge\'s --rules file', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rules-dialog-'));
  const file = path.join(dir, 'device.toml');
  writeFileSync(file, '# a device\n');
  const own = await startBridge(['--rules', file]);
  try {
    const page = await openPage(fx.browser, own.url);
    await (await rulesButton(page)).click();
    await addRule(page, 'idn', 'ACME\\n');
    await eventually(async () => (await rows(page).count()) === 1, 'the rule in force');
    assert.equal(await dialog(page).getByText('These rules last until the bridge stops:').count(), 0);
    await dialog(page).getByRole('button', { name: 'Save to device.toml' }).click();
    await dialog(page).getByRole('status').filter({ hasText: 'Saved to device.toml: 1 rule' }).waitFor();
    const saved = readFileSync(file, 'utf8');
    assert.match(saved, /id = "idn"/, saved);
    assert.match(saved, /reply = \{ text = 'ACME\\n' \}/, saved);
    // A change since: what was saved no longer holds, and the dialog stops saying it does.
    await rows(page).first().getByRole('checkbox').click();
    await dialog(page).getByText('0 rules in force · 1 off').waitFor();
    await dialog(page).getByText('Saved to device.toml').waitFor({ state: 'detached' });
    assert.deepEqual(fx.browser.errors, []);
    await page.close();
  } finally {
    assert.equal(await own.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Rules button counts the rules in force, not those switched off', async () => {
  const own = await startBridge();
  const page = await openPage(fx.browser, own.url);
  try {
    await (await rulesButton(page)).click();
    for (const id of ['one', 'two', 'three']) await addRule(page, id, `${id}\\n`);
    await dialog(page).getByText('3 rules in force').waitFor();
    await rows(page).nth(1).getByRole('checkbox').click();
    await dialog(page).getByText('2 rules in force · 1 off').waitFor();
    await dialog(page).getByRole('button', { name: 'Close the rules' }).click();
    await dialog(page).waitFor({ state: 'detached' });
    await eventually(async () => (await opener(page).textContent()) === 'Rules (2)',
      'the button counts the two rules that answer');
    assert.match(await opener(page).getAttribute('title'), /^2 rules in force/);
    assert.deepEqual(fx.browser.errors, []);
  } finally {
    await page.close();
    assert.equal(await own.stop(), 0);
  }
});

test('Esc while a rule has changes not saved asks first; Esc again keeps editing', async () => {
  const page = await openPage(fx.browser, fx.bridge.url);
  await (await rulesButton(page)).click();
  await dialog(page).getByRole('button', { name: 'Add rule' }).click();
  const editor = dialog(page).getByRole('form', { name: 'Rule' });
  // Opened and untouched: nothing to lose, Esc closes at once.
  await page.keyboard.press('Escape');
  await dialog(page).waitFor({ state: 'detached' });

  await (await rulesButton(page)).click();
  await dialog(page).getByRole('button', { name: 'Add rule' }).click();
  await editor.getByRole('textbox', { name: 'Id' }).fill('half-typed');
  await editor.getByRole('textbox', { name: 'Reply', exact: true }).fill('not yet saved');
  await page.keyboard.press('Escape');
  const question = dialog(page).getByRole('alert').filter({ hasText: 'This rule has changes not saved' });
  await question.waitFor();
  assert.equal(await dialog(page).count(), 1, 'the dialog stays open');
  const keep = question.getByRole('button', { name: 'Keep editing' });
  await eventually(() => keep.evaluate((el) => el === document.activeElement), 'Keep editing has the focus');

  // Esc again answers "keep editing": the question goes, the draft stays, the caret is in it.
  await page.keyboard.press('Escape');
  await question.waitFor({ state: 'detached' });
  assert.equal(await editor.getByRole('textbox', { name: 'Id' }).inputValue(), 'half-typed');
  assert.equal(await editor.getByRole('textbox', { name: 'Reply', exact: true }).inputValue(), 'not yet saved');
  assert.ok(await focusInDialog(page), 'the focus stays in the dialog');

  // The Close button asks too; discarding closes, and nothing was sent to the bridge.
  await dialog(page).getByRole('button', { name: 'Close the rules' }).click();
  await question.getByRole('button', { name: 'Discard changes and close' }).click();
  await dialog(page).waitFor({ state: 'detached' });
  assert.equal(await opener(page).textContent(), 'Rules (0)');
  assert.deepEqual(fx.browser.errors, []);
  await page.close();
});

test('a rule in passing is made in the form: it watches one way of a proxy and rewrites what passes', async () => {
  // A real server on loopback, and a bridge proxying to it.
  const got = [];
  const server = net.createServer((socket) => socket.on('data', (d) => got.push(d.toString())));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const own = await startBridge(['--proxy', `127.0.0.1:0=127.0.0.1:${server.address().port}`]);
  const page = await openPage(fx.browser, own.url);
  const client = new net.Socket();
  try {
    const proxyPort = own.stdout().match(/Proxy on 127\.0\.0\.1:(\d+),/)[1];
    await (await rulesButton(page)).click();
    await dialog(page).getByRole('button', { name: 'Add rule' }).click();
    const editor = dialog(page).getByRole('form', { name: 'Rule' });
    await editor.getByRole('textbox', { name: 'Id' }).fill('louder');
    await editor.getByRole('combobox', { name: 'When' }).selectOption('contains');
    await editor.getByRole('textbox', { name: /^Text/ }).fill('hello');
    // An action for a proxy, on an ordinary conversation's rule: the bridge's words, at the form.
    await editor.getByRole('combobox', { name: 'Does' }).selectOption({ label: 'Drop' });
    assert.equal(await editor.getByRole('textbox', { name: 'Reply', exact: true }).count(), 0,
      'a drop sends nothing: no reply to write');
    await editor.getByRole('button', { name: 'Save rule' }).click();
    await editor.getByRole('alert').filter({ hasText: "its action `drop` is for a proxy's messages: give it a `way`" }).waitFor();

    await editor.getByRole('combobox', { name: 'Watches' }).selectOption({ label: 'Proxied client→server' });
    await editor.getByRole('combobox', { name: 'Does' }).selectOption({ label: 'Rewrite what matched, forward' });
    await editor.getByRole('textbox', { name: 'Replace with', exact: true }).fill('HELLO');
    await editor.getByRole('button', { name: 'Save rule' }).click();
    await editor.waitFor({ state: 'detached' });
    await rows(page).filter({ hasText: 'client→server: contains “hello” → rewrite to “HELLO”' }).waitFor();

    // What a client says through the proxy reaches its server rewritten.
    await new Promise((resolve) => client.connect(Number(proxyPort), '127.0.0.1', resolve));
    client.write('hello world, hello\n');
    await eventually(() => got.join('') === 'HELLO world, HELLO\n', `the server got it rewritten: ${JSON.stringify(got)}`);

    // The rules file the bridge offers holds the new fields.
    const url = new URL(own.url);
    url.pathname = '/rules.toml';
    const toml = await (await fetch(url)).text();
    assert.match(toml, /way = "client_to_server"\naction = "rewrite"\n/, toml);
    assert.deepEqual(fx.browser.errors, []);
  } finally {
    client.destroy();
    await page.close();
    assert.equal(await own.stop(), 0);
    server.close();
  }
});
