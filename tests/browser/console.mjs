// Drives snapkeep's console in Debian's Chromium (playwright-core, no browser download) as an
// operator would, and writes a screenshot of each page to $OUT_DIR. Run by
// tests/tests/integration/console.rs, which starts essim and snapkeep, slows essim so the
// snapshot's progress can be watched, and checks the restored documents afterwards.
// Exits non-zero, naming the step, when anything is not as expected.
import { chromium } from 'playwright-core';

const env = process.env;
const base = env.SNAPKEEP_URL;
const cluster = env.CLUSTER_ID;
const out = env.OUT_DIR;
const WAIT = 60_000;

let current = 'start';
function step(name) {
  current = name;
  console.log(`step: ${name}`);
}
function check(ok, what) {
  if (!ok) throw new Error(what);
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
const page = await context.newPage();
page.setDefaultTimeout(WAIT);
const problems = [];
// A refused request's status is reported as "Failed to load resource": those are expected here.
page.on('console', (m) => {
  if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
});
page.on('pageerror', (e) => problems.push(String(e)));
const shot = (name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
const alert = () => page.locator('[role=alert]').first();

/** Waits until `read()` gives a value for which `ok` holds; returns it. */
async function until(what, read, ok) {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${value})`);
    await page.waitForTimeout(200);
  }
}

try {
  step('nothing of the fleet is shown without login');
  await page.goto(`${base}/console/`);
  await page.waitForURL(`${base}/console/login`);
  check(!(await page.content()).includes(cluster), 'the login page names a cluster');
  await shot('login');

  step('a wrong token is refused in the page');
  await page.fill('#token', 'not-the-token');
  await page.click('button[type=submit]');
  check((await alert().innerText()).includes('not the admin token'), 'no refusal shown');

  step('log in and see the cluster unprotected');
  await page.fill('#token', env.SNAPKEEP_TOKEN);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/console/`);
  const row = page.locator(`tr[data-cluster="${cluster}"]`);
  await row.locator('.badge', { hasText: 'unprotected' }).waitFor();
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.textContent === 'Skip to content'), 'the first Tab is not the skip link');
  await page.focus(`#cluster-${cluster}`);
  await page.waitForTimeout(4000);
  check(await page.evaluate(() => document.activeElement.id) === `cluster-${cluster}`, 'a refresh took the keyboard focus away');
  await shot('fleet-unprotected');

  step('a bad snapshot name is refused with the message in the page');
  await row.locator('a').first().click();
  await page.waitForURL(`${base}/console/clusters/${cluster}`);
  const create = page.locator('form[action$="/snapshots"]');
  await create.locator('input[name=name]').fill('Bad Name!');
  await create.locator('button').click();
  const refusal = await alert().innerText();
  check(/invalid/i.test(refusal) && /name/i.test(refusal), `refusal not shown: ${refusal}`);
  check(await page.locator('tr[data-snapshot]').count() === 0, 'the refused name made a snapshot');
  check((await create.locator('input[name=name]').inputValue()) === 'Bad Name!', 'the form lost what was typed');
  await shot('cluster-refused-name');

  step("take a snapshot and watch its progress bar move");
  await create.locator('input[name=name]').fill('console-first');
  await create.locator('button').click();
  await page.waitForURL(`${base}/console/clusters/${cluster}`);
  const bar = page.locator('#running progress[value]').first();
  const first = await until('progress above 0', async () => Number(await bar.getAttribute('value', { timeout: WAIT })), (v) => v > 0);
  await until('the progress bar to move', async () => Number(await bar.getAttribute('value', { timeout: WAIT })), (v) => v > first);
  await shot('cluster-progress');
  const faster = await fetch(`${env.ESSIM_URL}/_essim/settings`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rate_bytes_per_sec: 2 ** 30 }),
  });
  check(faster.ok, `essim refused the rate: ${faster.status}`);

  step('the cluster turns protected on the fleet page, live');
  await page.click('nav a[href="/console/"]');
  await row.locator('.badge', { hasText: /^protected$/ }).waitFor();
  const idle = page.locator('tr[data-cluster="os-idle"] .badge');
  check((await idle.innerText()) === 'unprotected', 'the cluster without snapshots is not unprotected');
  await shot('fleet');

  step('restore with index selection and rename from the console');
  await row.locator('a').first().click();
  await page.locator('tr[data-snapshot="console-first"] a', { hasText: 'Restore' }).click();
  await page.locator('input[name=index][value=logs]').check();
  await page.fill('input[name=rename_pattern]', '(.+)');
  await page.fill('input[name=rename_replacement]', 'restored_$1');
  await shot('restore');
  await page.locator('form.restore button').click();
  await page.waitForURL(/\/console\/operations\?cluster_id=/);
  await page.locator('tr.phase-succeeded', { hasText: 'restore_snapshot' }).waitFor();
  await shot('operations');

  step('edit the policy and see the next five fire times');
  await page.goto(`${base}/console/clusters/${cluster}`);
  await page.locator('summary', { hasText: 'Edit the policy' }).click();
  const policy = page.locator('form.policy');
  await policy.locator('input[name=enabled]').check();
  await policy.locator('input[name=cron]').fill('0 0 3 * * ? *');
  await page.locator('#preview li').nth(4).waitFor();
  await policy.locator('button').click();
  await page.waitForURL(`${base}/console/clusters/${cluster}`);
  check(await page.locator('#next-fires li').count() === 5, 'five fire times are not shown');
  check((await page.locator('#next-fires li').first().innerText()).includes('03:00:00'), 'the fires are not at 03:00');
  await shot('cluster');

  step('storage profiles, access keys and the audit log');
  for (const [path, name] of [['/console/storage', 'storage'], ['/console/keys', 'keys'], ['/console/audit', 'audit']]) {
    await page.goto(`${base}${path}`);
    await shot(name);
  }
  const audit = await page.locator('table.audit').innerText();
  check(audit.includes('CreateSnapshot') && audit.includes('RestoreSnapshot') && audit.includes('SetPolicy'), 'console changes are not audited');
  check(!(await page.content()).includes(env.SNAPKEEP_TOKEN), 'the admin token is shown');

  step('log out');
  await page.click('form.logout button');
  await page.waitForURL(`${base}/console/login`);
  await page.goto(`${base}/console/`);
  await page.waitForURL(`${base}/console/login`);

  step('no script error or policy violation on any page');
  check(problems.length === 0, `the browser reported: ${problems.join(' | ')}`);
  console.log('all steps passed');
} catch (e) {
  await shot(`failed-${current.replace(/\W+/g, '-')}`).catch(() => {});
  console.error(`step "${current}" failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
