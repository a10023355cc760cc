// Drives the hosted QR login page opened as this server's sign-in page
// (`/login/qr?return_to=/api/v1/session`) in headless Chromium, for the Rust end-to-end
// test `browser::qr_sign_in_in_chromium_starts_a_session`. Prints on stdout:
//   PAYLOAD <QR payload>          once the page shows a code
//   SESSION <JSON>                the page the browser lands on after signing in
// Usage: node qr-session.mjs <server URL>
import { launch } from "./launch.mjs";

const [url] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${url}/login/qr?return_to=${encodeURIComponent("/api/v1/session")}`);
  await page.waitForSelector("#qr svg", { timeout: 15000 });
  console.log(`PAYLOAD ${await page.getAttribute("#qr", "data-payload")}`);
  await page.waitForURL(`${url}/api/v1/session`, { timeout: 30000 });
  console.log(`SESSION ${(await page.textContent("body")).trim()}`);
  if (errors.length) { console.error(errors.join("\n")); process.exitCode = 1; }
} finally {
  await browser.close();
}
