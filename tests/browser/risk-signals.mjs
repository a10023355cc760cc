// The hosted login page's risk signals in headless Chromium (docs/risk.md, protocol
// §18.2), typed and pasted as Playwright's keyboard does it:
//  1. the browser as it is (navigator.webdriver, HeadlessChrome), the password typed key by
//     key at an even pace: the page reports automation and machine-regular typing, the
//     login is asked for a second factor (REVIEW), which the test gives on standard input;
//  2. a browser without those markers (another user, with a password only), the password pasted from the clipboard with
//     Control+V after the mouse moved: the page reports a paste and pointer movement, and
//     the login completes.
// Prints on stdout:
//   REVIEW <review id>   the factor form is shown; then reads the code from standard input
//   SIGNED_IN_1          signed in after the code
//   SIGNED_IN_2 <review id>   the second browser signed in with its password alone
// Exits non-zero on any page error or Content-Security-Policy violation.
// Usage: node risk-signals.mjs <base URL> <user with TOTP> <user with a password only> <password>
import { createInterface } from "node:readline";
import { launch } from "./launch.mjs";

const [base, username, person_name, password] = process.argv.slice(2);
const loginPage = `${base}/login?return_to=%2Flogin`;
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const errors = [];

function watch(page) {
  page.on("pageerror", (e) => errors.push(`page error: ${e}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
}

async function reviewId(context) {
  const c = (await context.cookies(base)).find((c) => c.name === "sekimori_review");
  return c ? c.value : "none";
}

async function signedIn(page) {
  await page.waitForSelector('form[action="/logout"]', { timeout: 15000 });
}

let page;
const bot = await launch({ automation: true });
try {
  const context = await bot.newContext();
  page = await context.newPage();
  watch(page);
  await page.goto(loginPage);
  await page.click('form[action="/login"] input[name="username"]');
  await page.keyboard.type(username, { delay: 40 });
  await page.click('form[action="/login"] input[name="password"]');
  await page.keyboard.type(password, { delay: 60 });
  const id = await reviewId(context);
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[action="/login/factor"] input[name="code"]', { timeout: 15000 });
  console.log(`REVIEW ${id}`);
  const code = (await input.next()).value.trim();
  await page.fill('input[name="code"]', code);
  await page.click('form[action="/login/factor"] button[type="submit"]');
  await signedIn(page);
  console.log("SIGNED_IN_1");
} catch (e) {
  errors.push(`step failed at ${page?.url()}: ${e}`);
  if (page) errors.push((await page.content()).slice(0, 2000));
} finally {
  await bot.close();
}

const person = await launch();
try {
  const context = await person.newContext();
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  page = await context.newPage();
  watch(page);
  await page.goto(loginPage);
  await page.mouse.move(40, 40);
  await page.mouse.move(120, 90, { steps: 5 });
  await page.click('form[action="/login"] input[name="username"]');
  await page.keyboard.type(person_name, { delay: 90 });
  await page.evaluate((p) => navigator.clipboard.writeText(p), password);
  await page.click('form[action="/login"] input[name="password"]');
  await page.keyboard.press("Control+V");
  const pasted = await page.inputValue('form[action="/login"] input[name="password"]');
  if (pasted !== password) throw new Error(`the paste did not fill the password (${pasted.length} characters)`);
  const id = await reviewId(context);
  await page.click('form[action="/login"] button[type="submit"]');
  await signedIn(page);
  console.log(`SIGNED_IN_2 ${id}`);
} catch (e) {
  errors.push(`step failed at ${page?.url()}: ${e}`);
  if (page) errors.push((await page.content()).slice(0, 2000));
} finally {
  await person.close();
  process.stdin.destroy();
}
if (errors.length) {
  console.error(errors.join("\n"));
  process.exitCode = 1;
}
