// Drives an integrator's page (another origin) that embeds Sekimori's JS snippet, in
// headless Chromium, for the Rust end-to-end test `browser::js_snippet_on_another_origin`.
// Prints on stdout:
//   PAYLOAD <QR payload>     once the widget shows a code
//   LOGIN <username> <jwt> <review id> <signals JSON>   what the page's callback received
// Usage: node snippet.mjs <integrator page URL>
import { launch } from "./launch.mjs";

const [url] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") { errors.push(m.text()); } });
  await page.goto(url);
  await page.waitForSelector(".sekimori-qr svg", { timeout: 15000 });
  console.log(`PAYLOAD ${await page.getAttribute(".sekimori-qr", "data-payload")}`);
  await page.waitForFunction(() => document.body.getAttribute("data-assertion"), null, { timeout: 30000 });
  const got = (name) => page.getAttribute("body", name);
  console.log(`LOGIN ${await got("data-user")} ${await got("data-assertion")} ${await got("data-review")} ${await got("data-signals")}`);
  if (errors.length) { console.error(errors.join("\n")); process.exitCode = 1; }
} finally {
  await browser.close();
}
