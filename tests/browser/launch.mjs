// Headless Chromium as every browser test starts it (Debian's package by default).
import { chromium } from "playwright-core";

export function launch() {
  return chromium.launch({
    executablePath: process.env.SEKIMORI_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
