// The OpenID Connect authorization-code flow in headless Chromium, as a person meets it:
// the relying party on another origin sends the browser to Sekimori, the person signs in
// on the hosted page (password; then, for acr_values=2, the second factor), and the
// browser must land back on the relying party's redirect URI; then RP-initiated logout
// with its confirmation form must land on the post-logout page. Chromium enforces our
// real Content-Security-Policy (form-action applies to every redirect after a form post).
// Prints on stdout:
//   CALLBACK1 <url>    where the browser landed after the password sign-in
//   CALLBACK2 <url>    where it landed after stepping up with the code
//   LOGOUT <url>       where it landed after confirming the logout
// After CALLBACK1 it reads the second factor's code from a line on standard input (the
// test enrols the factor then). Exits non-zero on any page error or Content-Security-Policy
// violation.
// Usage: node oidc-flow.mjs <auth URL> <step-up auth URL> <logout URL> <user> <password> <rp origin>
import { createInterface } from "node:readline";
import { launch } from "./launch.mjs";

const [authUrl, stepUpUrl, logoutUrl, username, password, rpOrigin] = process.argv.slice(2);
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const browser = await launch();
const errors = [];
let page;
try {
  page = await browser.newPage();
  page.on("pageerror", (e) => errors.push(`page error: ${e}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("requestfailed", (r) => {
    // The relying party's pages are plain; a blocked navigation shows as a failed request.
    if (r.isNavigationRequest()) errors.push(`navigation failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  const onRp = (u) => u.origin === rpOrigin;

  await page.goto(authUrl);
  await page.waitForURL((u) => u.pathname === "/login", { timeout: 15000 });
  await page.fill('form[action="/login"] input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await page.click('form[action="/login"] button[type="submit"]');
  await page.waitForURL(onRp, { timeout: 15000 });
  console.log(`CALLBACK1 ${page.url()}`);
  const code = (await input.next()).value.trim();

  await page.goto(stepUpUrl);
  await page.waitForSelector('form[action="/login/factor"] input[name="code"]', { timeout: 15000 });
  await page.fill('input[name="code"]', code);
  await page.click('form[action="/login/factor"] button[type="submit"]');
  await page.waitForURL(onRp, { timeout: 15000 });
  console.log(`CALLBACK2 ${page.url()}`);

  await page.goto(logoutUrl);
  await page.waitForSelector('form[action="/oidc/logout"] button', { timeout: 15000 });
  await page.click('form[action="/oidc/logout"] button');
  await page.waitForURL(onRp, { timeout: 15000 });
  console.log(`LOGOUT ${page.url()}`);
} catch (e) {
  errors.push(`step failed at ${page?.url()}: ${e}`);
  if (page) errors.push((await page.content()).slice(0, 2000));
} finally {
  await browser.close();
  process.stdin.destroy();
}
if (errors.length) {
  console.error(errors.join("\n"));
  process.exitCode = 1;
}
