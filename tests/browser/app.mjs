// The authenticator app (/app/) on a phone-sized headless Chromium with a fake camera, as
// its user meets it. Driven step by step by the Rust test (crates/sekimori-server/tests/e2e/
// app_browser.rs): commands on standard input, answers on standard output.
//
//   (start)        enrols by scanning the enrolment QR with the camera → ENROLLED <device id>
//                  checks the key: KEY <extractable> <exportKey outcome> <algorithm>
//                  signs with the app's key, replays and tampers → SIGNED <first> <replay> <tamper>
//                  arms login → ARMED
//   PUSH <n>       waits for the challenge, types n, approves → APPROVED | REFUSED <code>
//   ARM            arms again → ARMED
//   SWPUSH         a push to the service worker (DevTools ServiceWorker.deliverPushMessage)
//                  → NOTIFIED <title> | <body>
//   DENY / NOTME   waits for the challenge and denies it (not me: and reports it) → DENIED | REPORTED
//   SCAN           scans the login QR with the camera → SCANNED <status text>
//   TICKET         opens the newest ticket full screen and reads its QR back → TICKET <payload>
//   SCREENS        environments and device screens; renames the device → RENAMED
//   JA             switches to Japanese → JA <arm state text>
//   REMOVE         removes this device from the account (confirmed) → REMOVED <screen shown>
//   OFFLINE        reopens the app with the network off → OFFLINE <shell shown> <banner shown>
//   END            exits (non-zero if a page error or CSP violation was seen before OFFLINE)
// Screenshots of each screen, light and dark, go to <screenshot dir>.
// Usage: node app.mjs <base URL> <camera y4m> <profile dir> <screenshot dir> [no-ed25519 <enrolment page URL>]
// With no-ed25519 the page's WebCrypto refuses Ed25519, as Safari before 17 does, and the
// app must fall back to P-256; and the phone enrols by opening the enrolment page's link
// ("Open the Sekimori app") instead of the camera.
import { createInterface } from "node:readline";
import { mkdirSync } from "node:fs";
import { launchPhone } from "./launch.mjs";

const [base, video, profile, shots, mode, enrolPage] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const errors = [];
let recording = true;

const context = await launchPhone({ userDataDir: profile, video });
if (mode === "no-ed25519") {
  await context.addInitScript(() => {
    const generate = crypto.subtle.generateKey.bind(crypto.subtle);
    crypto.subtle.generateKey = (alg, ...rest) =>
      (alg === "Ed25519" || (alg && alg.name === "Ed25519"))
        ? Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"))
        : generate(alg, ...rest);
  });
}
const page = context.pages()[0] || (await context.newPage());
page.on("pageerror", (e) => recording && errors.push(`page error: ${e}`));
page.on("console", (m) => {
  // A refusal the steps provoke (a replay, a wrong number, a phone clock the server corrects)
  // is logged by Chromium as a failed resource; script errors and CSP violations are not.
  const refusal = /^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text());
  if (recording && m.type() === "error" && !refusal) errors.push(`console: ${m.text()}`);
});
page.setDefaultTimeout(20000);

async function shot(name) {
  await page.emulateMedia({ colorScheme: "light" });
  await page.screenshot({ path: `${shots}/${name}-light.png` });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: `${shots}/${name}-dark.png` });
  await page.emulateMedia({ colorScheme: "light" });
}

async function status(kind) {
  await page.waitForSelector(`#status[data-kind="${kind}"]:not([hidden])`);
  const text = await page.textContent("#status");
  await page.evaluate(() => { const s = document.getElementById("status"); s.hidden = true; s.dataset.kind = ""; });
  return text;
}

async function challenge() {
  await page.waitForSelector(".challenge");
  return page.locator(".challenge").first();
}

async function arm(screenshot) {
  await page.click("#arm");
  await page.waitForSelector("#arm.on");
  if (screenshot) await shot(screenshot);
  console.log("ARMED");
}

try {
  if (enrolPage) {
    await page.goto(enrolPage);
    await page.click("#open-app");
  } else {
    await page.goto(`${base}/app/`);
    await page.waitForSelector("#welcome:not([hidden])");
    await shot("welcome");
    await page.click("#scan-enrol");
  }
  await page.waitForSelector("#home:not([hidden])");
  await status("ok");
  const device = await page.evaluate(async () => (await SekimoriDevice.accounts.all())[0].deviceId);
  console.log(`ENROLLED ${device}`);

  // The private key: non-extractable, Ed25519, usable only to sign.
  const key = await page.evaluate(async () => {
    const [a] = await SekimoriDevice.accounts.all();
    let exported = "exported";
    try {
      await crypto.subtle.exportKey("pkcs8", a.privateKey);
    } catch (e) {
      exported = e.name;
    }
    return `${a.privateKey.extractable} ${exported} ${a.privateKey.algorithm.name} ${a.keyType}`;
  });
  console.log(`KEY ${key}`);

  // The server's checks hold for the app's keys: one request signed, sent twice, then
  // with its body changed under the same signature.
  const signedChecks = await page.evaluate(async () => {
    const D = SekimoriDevice;
    const [a] = await D.accounts.all();
    const body = "{}";
    const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
    const ts = Math.floor(Date.now() / 1000) + (a.skew || 0);
    const nonce = D.b64url(crypto.getRandomValues(new Uint8Array(32)));
    const digest = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
    const path = "/api/v1/device/standby";
    const input = D.canonical({ body_sha256: digest, device_id: a.deviceId, method: "POST", nonce, path, ts });
    const sig = D.b64url(await crypto.subtle.sign(D.signAlgorithm(a), a.privateKey, new TextEncoder().encode(input)));
    const headers = { "content-type": "application/json", "sekimori-device": a.deviceId,
      "sekimori-timestamp": String(ts), "sekimori-nonce": nonce, "sekimori-signature": sig };
    const send = async (b, h) => {
      const r = await fetch(path, { method: "POST", headers: h, body: b });
      return r.ok ? String(r.status) : (await r.json()).code;
    };
    const first = await send(body, headers);
    const replay = await send(body, headers);
    const tampered = await send('{"x":1}', { ...headers, "sekimori-nonce": D.b64url(crypto.getRandomValues(new Uint8Array(32))) });
    return `${first} ${replay} ${tampered}`;
  });
  console.log(`SIGNED ${signedChecks}`);
  if (mode !== "no-ed25519") await shot("home");
  await arm(mode !== "no-ed25519" ? "armed" : null);

  for await (const line of input) {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === "PUSH") {
      const c = await challenge();
      if (mode !== "no-ed25519") await shot("challenge");
      await c.locator(".number").fill(arg);
      await c.locator("button[type=submit]").click();
      const kind = await Promise.race([
        page.waitForSelector('#status[data-kind="ok"]:not([hidden])').then(() => "ok"),
        page.waitForSelector('#status[data-kind="error"]:not([hidden])').then(() => "error"),
      ]);
      const text = await status(kind);
      console.log(kind === "ok" ? "APPROVED" : `REFUSED ${text}`);
    } else if (cmd === "ARM") {
      await arm();
    } else if (cmd === "SWPUSH") {
      const cdp = await context.newCDPSession(page);
      const registration = new Promise((resolve) => {
        cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => {
          for (const r of e.registrations) if (r.scopeURL === `${base}/app/` && !r.isDeleted) resolve(r.registrationId);
        });
      });
      await cdp.send("ServiceWorker.enable");
      const registrationId = await registration;
      await cdp.send("ServiceWorker.deliverPushMessage", {
        origin: base, registrationId, data: JSON.stringify({ v: 1, messages: [] }),
      });
      // The worker shows one notification per message (the login request, and a warning for
      // a new environment), in no set order: the login request's is the one looked for.
      let login;
      let shown = [];
      for (let i = 0; i < 300 && !login; i++) {
        shown = await page.evaluate(async () =>
          (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => `${n.title} | ${n.body}`));
        login = shown.find((n) => n.startsWith("Login request"));
        if (!login) await page.waitForTimeout(100);
      }
      let pending = "";
      if (!login) {
        pending = await page.evaluate(async () => {
          const [a] = await SekimoriDevice.accounts.all();
          return (await SekimoriDevice.messages(a, 0)).map((m) => m.type).join(",");
        });
      }
      console.log(`NOTIFIED ${login || "no login request among: " + (shown.join(" || ") || "none") + " (pending: " + pending + ")"}`);
    } else if (cmd === "DENY" || cmd === "NOTME") {
      const c = await challenge();
      await c.locator(cmd === "DENY" ? ".deny" : ".not-me").click();
      await status("ok");
      console.log(cmd === "DENY" ? "DENIED" : "REPORTED");
    } else if (cmd === "SCAN") {
      await page.click("#scan-login");
      await page.waitForSelector("#scanner:not([hidden])");
      await shot("scanner");
      const kind = await Promise.race([
        page.waitForSelector('#status[data-kind="ok"]:not([hidden])').then(() => "ok"),
        page.waitForSelector('#status[data-kind="error"]:not([hidden])').then(() => "error"),
      ]);
      console.log(`SCANNED ${kind} ${await status(kind)}`);
    } else if (cmd === "TICKET") {
      await page.click("#show-tickets");
      await page.waitForSelector(".ticket-item");
      await shot("tickets");
      await page.click(".ticket-item");
      await page.waitForSelector("#ticket:not([hidden])");
      await page.waitForFunction(() => document.getElementById("ticket-qr").complete);
      await shot("ticket");
      // Read the code on the screen back, as a verifier's scanner would.
      const payload = await page.evaluate(async () => {
        const img = document.getElementById("ticket-qr");
        const c = document.createElement("canvas");
        c.width = 480; c.height = 480;
        const ctx = c.getContext("2d");
        ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, 480, 480);
        ctx.drawImage(img, 0, 0, 480, 480);
        const d = ctx.getImageData(0, 0, 480, 480);
        const code = window.jsQR(d.data, 480, 480);
        return code ? code.data : "unreadable";
      });
      console.log(`TICKET ${payload} ${await page.textContent("#ticket-entitlement")}`);
      await page.click("#ticket-close");
      await page.click("#tickets button.back");
    } else if (cmd === "SCREENS") {
      await page.click("#show-environments");
      await page.waitForSelector("#environment-list li");
      await shot("environments");
      await page.click("#environments button.back");
      await page.click("#show-device");
      await page.waitForSelector("#device:not([hidden])");
      await page.fill("#rename", "Alice's phone");
      await page.click("#rename-form button[type=submit]");
      await status("ok");
      await shot("device");
      await page.click("#device button.back");
      await page.waitForSelector("#home:not([hidden])");
      console.log("RENAMED");
    } else if (cmd === "JA") {
      await page.click("#lang");
      await shot("home-ja");
      console.log(`JA ${await page.textContent("#arm-state")}`);
      await page.click("#lang");
    } else if (cmd === "REMOVE") {
      page.once("dialog", (d) => d.accept());
      await page.click("#show-device");
      await page.click("#remove-device");
      await page.waitForSelector("#welcome:not([hidden])");
      console.log(`REMOVED ${await page.evaluate(() => document.body.dataset.screen)}`);
    } else if (cmd === "OFFLINE") {
      recording = false; // a page without a network logs failed requests
      await context.setOffline(true);
      await page.reload();
      const shell = await page.waitForSelector("#home:not([hidden])").then(() => true, () => false);
      const banner = await page.waitForSelector("#offline:not([hidden])").then(() => true, () => false);
      await shot("offline");
      console.log(`OFFLINE ${shell} ${banner}`);
    } else if (cmd === "END") {
      break;
    }
  }
} catch (e) {
  errors.push(`step failed at ${page.url()}: ${e}`);
}
await context.close();
for (const e of errors) console.error(e);
process.exit(errors.length ? 1 : 0);
