// Drives Sekimori's hosted QR login page in headless Chromium, for the Rust end-to-end
// test `browser::qr_page_in_chromium`. Prints one line per step on stdout:
//   PAYLOAD <first QR payload>      once the page shows a code
//   PAYLOAD <second QR payload>     once the page has replaced an expired code
//   STATUS <status text>            once the page says the user is logged in
//   ASSERTION <jwt>                 the one-time assertion the page received
// Usage: node qr-login.mjs <server URL> [screenshot.png]
import { launch } from "./launch.mjs";

const [url, screenshot] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage({ userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36" });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${url}/login/qr`);
  await page.waitForSelector("#qr svg", { timeout: 15000 });
  const first = await page.getAttribute("#qr", "data-payload");
  console.log(`PAYLOAD ${first}`);
  await page.waitForFunction(
    (p) => { const q = document.getElementById("qr"); return q.getAttribute("data-payload") && q.getAttribute("data-payload") !== p && q.querySelector("svg"); },
    first, { timeout: 30000 });
  console.log(`PAYLOAD ${await page.getAttribute("#qr", "data-payload")}`);
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Logged in as"), null, { timeout: 30000 });
  console.log(`STATUS ${await page.textContent("#status")}`);
  console.log(`ASSERTION ${await page.getAttribute("body", "data-assertion")}`);
  if (screenshot) { await page.screenshot({ path: screenshot }); }
  if (errors.length) { console.error(errors.join("\n")); process.exitCode = 1; }
} finally {
  await browser.close();
}
