// Passkeys on the hosted login page in headless Chromium with a virtual authenticator
// (Chrome DevTools Protocol, CTAP2, resident keys, user verification), for the Rust
// end-to-end test `browser::passkey_in_chromium`. Signs in with a password, adds a passkey,
// signs out, then signs in with the passkey alone (no username: a discoverable credential).
// Prints on stdout:
//   ADDED <status text>      once the page says the passkey was added
//   SESSION <json>           the session after the passkey login
//   CONSOLE <who>            (with a fourth argument `console`) signed out again, /console/
//                            sends the browser to sign in at level 2, done with the passkey
// Usage: node passkey.mjs <URL on localhost> <username> <password> [console]
import { launch } from "./launch.mjs";

const [url, username, password, alsoConsole] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true,
               hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await page.goto(`${url}/login?return_to=%2Flogin`);
  await page.fill('form[action="/login"] input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await page.click('form[action="/login"] button[type="submit"]');
  await page.waitForSelector("#passkey-add:not([hidden])", { timeout: 15000 });
  await page.click("#passkey-add");
  await page.waitForFunction(() => document.getElementById("passkey-status").textContent !== "", null, { timeout: 15000 });
  console.log(`ADDED ${await page.textContent("#passkey-status")}`);
  await page.click('form[action="/logout"]:not(:has(input[name="everywhere"])) button');
  await page.waitForSelector("#passkey-sign-in:not([hidden])", { timeout: 15000 });
  await page.click("#passkey-sign-in");
  await page.waitForURL((u) => !u.pathname.startsWith("/login"), { timeout: 15000 });
  const session = await page.evaluate(async () => (await fetch("/api/v1/session")).text());
  console.log(`SESSION ${session}`);
  if (alsoConsole === "console") {
    await page.goto(`${url}/login`);
    await page.click('form[action="/logout"]:not(:has(input[name="everywhere"])) button');
    await page.goto(`${url}/console/`);
    await page.waitForURL(/\/login\?return_to=%2Fconsole%2F&level=2/);
    await page.waitForSelector("#passkey-sign-in:not([hidden])", { timeout: 15000 });
    await page.click("#passkey-sign-in");
    await page.waitForURL(`${url}/console/`, { timeout: 15000 });
    await page.waitForFunction(() => document.getElementById("me").textContent.length > 0);
    console.log(`CONSOLE ${await page.textContent("#me")}`);
  }
  if (errors.length) { console.error(errors.join("\n")); process.exitCode = 1; }
} finally {
  await browser.close();
}
