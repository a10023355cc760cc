// Headless Chromium as every browser test starts it (Debian's package by default).
//
// Most tests stand for a person at an ordinary browser, so by default the browser does not
// show the automation markers login-time risk looks for (docs/risk.md): navigator.webdriver
// is off and the user agent says "Chrome", not "HeadlessChrome". A test of those markers
// asks for the browser as it is: launch({ automation: true }).
import { chromium } from "playwright-core";

const PERSON_UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

export function launch({ automation = false } = {}) {
  const args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"];
  if (!automation) {
    args.push("--disable-blink-features=AutomationControlled", `--user-agent=${PERSON_UA}`);
  }
  return chromium.launch({
    executablePath: process.env.SEKIMORI_CHROMIUM || "/usr/bin/chromium",
    args,
  });
}
