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

// A phone: a persistent profile (the app's keys and service worker survive a reopen), a
// phone-sized touch viewport, and Chromium's fake camera reading `video` (a Y4M file the
// test writes; the file is opened again for each camera start, so the test can replace it
// between scans). Camera and notifications are allowed as a user would allow them.
export function launchPhone({ userDataDir, video, base }) {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.SEKIMORI_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-blink-features=AutomationControlled",
           "--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${video}`],
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    userAgent: "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36",
    permissions: ["camera", "notifications"],
    ...(base ? { baseURL: base } : {}),
  });
}
