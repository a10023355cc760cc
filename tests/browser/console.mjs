// The console in headless Chromium, driven step by step by the Rust test
// (crates/sekimori-server/tests/e2e/console_browser.rs); answers on stdout, commands on stdin.
//
//   (start)  opens /console/, is sent to sign in at level 2, asks for a push → NUMBER <n>
//            (the test approves it on the admin's authenticator) → SIGNED_IN <who>
//            home → USERS <count>; DASH <password failures> <successes> <pushes refused
//            outside standby> from the dashboard; RISK <ok> <review> <ng> <new environments>; DETECTION-DASH <medium
//            alerts> | <top rules> | <source:events,…>; the audit chain checked from home → CHAIN
//            <ok|broken>; a11y → A11Y home <serious violations>
//   USER <name>  the user's page: disables them, ends their sessions, enrols a device
//            → DISABLED, ENDED <status>, ENROL <link>; A11Y user <n>; reads the factors, the
//            override in force and the recent events, lifts the override → FACTORS <password>
//            <passkeys> <totp> <recovery codes left> | override <action> lifted | recent <has a failed password>
//            | alerts <alerts about the user listed>; then sets the user's login hours, new recovery
//            codes, removes the password → USER-EDIT sessions <live before they were ended> | hours
//            <shown> | codes <shown> recovery <left> | password <has one>
//   AUDIT [action]  verifies the chain → VERIFIED <status>; searches for the action, "more
//            like this" by the first user shown, exports NDJSON and CSV
//            → SEARCH <result count> | <user> | <NDJSON lines> | <CSV lines>; A11Y audit <n>
//   ALERT <rule id>  opens the first alert, acknowledges it, assigns it and comments, opens
//            the rule's YAML, then filters the queue → ALERT <state> <assignee> <comment's
//            author> | rule shown: <the YAML names the id> | acknowledged: <assignees> | firing: <n>
//   TIMELINE <user>  the queue filtered to the alerts about the user → rows; the first opened:
//            its timelines → TIMELINE <rows> | user: <this alert marked> <audit events shown> |
//            ip: <rows in the IP's timeline> (<stored events among them>) | more like this: <rows of the
//            IP's queue>; A11Y timeline <n>
//   EVENTS <user> <field> <source>  the stored events from the source about the user, then "more
//            like this" by that field
//            → A11Y events <n>, EVENTS <rows> | <rows like it> | indexed | <NDJSON lines> | <CSV lines>
//   DETECTION  the Detection page (sources, listeners, rules) → A11Y detection <n>,
//            DETECTION <source names> | <rules loaded line>
//   TUNING <rule id>  the Tuning page: a document with an unknown key → TUNING-BAD <status>;
//            one disabling the rule back-tested and saved → A11Y tuning <n>,
//            TUNING <version before> | -<disappear> +<appear> | <all of that rule> | saved <version>
//   STALE    saves from the page after the test wrote a version over the API → STALE <status>
//   SETTINGS <username>  the Settings page: a bad and a good time zone, an app added
//            (key shown) and revoked, a group made with the user in it → A11Y settings <n>,
//            SETTINGS <bad status> | <good status> | key <shown> | revoked | help: <members> | oidc
//            <wiki's redirect URIs> | shop <its origins set> | <status of bad hours> | hours <help's hours> | removed
//   JA       Japanese → JA <nav text>
//   AUDITOR <username> <user to view>  a second browser signs in as an auditor (push →
//            NUMBER <n>) and opens that user's page, then Settings → AUDITOR <action buttons> <email shown> |
//            settings: <n> buttons, <n> disabled inputs | events masked: <the IP address masked on the Events page>
//            | pages <pages loaded without an error, of 9> | leaks: <pages showing the email or the address>
//   OPERATOR <username> <member> <non-member>  a third browser signs in as an operator (push →
//            NUMBER <n>) → A11Y operator <n>, OPERATOR <users listed> | nav <pages shown> | <action
//            buttons on the member's page> | outside: <status opening the non-member>
//   END
// Exits non-zero on any page error or CSP violation. Screenshots go to <dir>.
// Usage: node console.mjs <base URL> <admin username> <screenshot dir>
import { createInterface } from "node:readline";
import { readFileSync, mkdirSync } from "node:fs";
import { launch } from "./launch.mjs";

const [base, adminUser, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const axe = readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
const errors = [];
const browser = await launch();

function watch(page) {
  page.on("pageerror", (e) => errors.push(`page error: ${e}`));
  page.on("console", (m) => {
    const refusal = /^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text());
    if (m.type() === "error" && !refusal) errors.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(20000);
}

async function shot(page, name) {
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: `${shots}/${name}-${scheme}.png`, fullPage: true });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

// axe-core over the page as it is now; the serious and critical violations, counted.
async function a11y(page, name) {
  await page.evaluate(axe);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}(${v.nodes.length})`);
  });
  console.log(`A11Y ${name} ${found.length}${found.length ? " " + found.join(",") : ""}`);
}

async function signIn(context, username) {
  const page = await context.newPage();
  watch(page);
  await page.goto(`${base}/console/`);
  await page.waitForURL(/\/login\?/);
  await page.fill('form[action="/login/push"] input[name="username"]', username);
  await page.click('form[action="/login/push"] button[type="submit"]');
  const number = await page.getAttribute("[data-number]", "data-number");
  console.log(`NUMBER ${number}`);
  await page.waitForURL(`${base}/console/`, { timeout: 30000 });
  await page.waitForFunction(() => document.getElementById("me").textContent.length > 0);
  return page;
}

async function status(page) {
  await page.waitForSelector('#status:not([hidden])[data-kind="ok"], #status:not([hidden])[data-kind="error"]');
  const s = `${await page.getAttribute("#status", "data-kind")} ${await page.textContent("#status")}`;
  await page.evaluate(() => { document.getElementById("status").hidden = true; });
  return s;
}

let page;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await signIn(context, adminUser);
  console.log(`SIGNED_IN ${await page.textContent("#me")}`);
  await page.waitForSelector("#count-users");
  console.log(`USERS ${await page.textContent("#count-users")}`);
  await page.waitForSelector("#dashboard");
  const cell = async (id) => ((await page.$(id)) ? (await page.textContent(id)).trim() : "0");
  console.log(`DASH ${await cell("#n-password-failure")} ${await cell("#n-password-success")} ${await cell("#n-push-outside_standby")}`);
  console.log(`RISK ${await cell("#risk-ok")} ${await cell("#risk-review")} ${await cell("#risk-ng")} ${await cell("#risk-new_environments")}`);
  const sources = [];
  for (const row of await page.locator("tr:has(.dash-source)").all()) {
    sources.push(`${(await row.locator(".dash-source").textContent()).trim()}:${(await row.locator(".dash-events").textContent()).trim()}`);
  }
  console.log(`DETECTION-DASH ${await cell("#alerts-medium")} | ${(await page.locator(".top-rule").allTextContents()).join(",")} | ${sources.join(",")}`);
  const before = (await page.textContent("#home-chain-at")).trim();
  await page.click("#home-verify");
  await page.waitForSelector('#home-chain[data-fresh="yes"]');
  const checked = await page.getAttribute("#home-chain", "data-state");
  // The check is recorded: the home page, loaded again, shows it without walking the chain.
  await page.reload();
  await page.waitForSelector('#home-chain[data-fresh="no"]');
  console.log(`CHAIN ${before} | ${checked} | after reload: ${await page.getAttribute("#home-chain", "data-state")}`);
  await shot(page, "console-home");
  await a11y(page, "home");
  for await (const line of input) {
    const [cmd, ...args] = line.trim().split(/\s+/);
    if (cmd === "USER") {
      await page.goto(`${base}/console/#/users/${args[0]}`);
      await page.waitForSelector("#toggle-disabled");
      const sessions = await page.locator(".session-amr").count();
      await page.click("#toggle-disabled");
      await page.waitForFunction(() => document.getElementById("user-state")?.textContent === "disabled");
      console.log("DISABLED");
      await page.click("#end-sessions");
      console.log(`ENDED ${await status(page)}`);
      await page.click("#enrol");
      await page.waitForSelector("#enrol-qr img");
      console.log(`ENROL ${await page.getAttribute("#enrol-qr img", "alt")}`);
      // Factors, the override the test set, the user's recent events; then the override lifted.
      const factors = [];
      factors.push(await page.textContent("#f-password"));
      factors.push(await page.getAttribute("#user-factors", "data-passkeys"), await page.getAttribute("#user-factors", "data-totp"));
      factors.push(await page.textContent("#f-recovery"));
      const recent = await page.locator(".recent-action").allTextContents();
      const override = await page.textContent(".override-action");
      await shot(page, "console-user");
      await a11y(page, "user");
      await page.click(".lift-override");
      await page.waitForFunction(() => !document.querySelector(".override-action"));
      const about = await page.locator("#user-alerts .alert-link").count();
      console.log(`FACTORS ${factors.join(" ")} | override ${override} lifted | recent ${recent.includes("auth.password.failed")} | alerts ${about}`);
      // Their own login hours set; new recovery codes (shown once); the password removed.
      await page.fill("#user-hours", "mon 09:00-17:00");
      await page.click('#user-hours-form button[type="submit"]');
      await page.waitForFunction(() => document.getElementById("user-hours-shown")?.textContent === "mon 09:00-17:00");
      await page.click("#new-recovery-codes");
      await page.waitForSelector("#recovery-codes-shown");
      const codes = (await page.textContent("#recovery-codes-shown")).split(" ").length;
      await page.click(".remove-password");
      await page.waitForFunction(() => document.getElementById("f-password")?.textContent === "no");
      console.log(`USER-EDIT sessions ${sessions} | hours ${await page.textContent("#user-hours-shown")} | codes ${codes} recovery ${await page.textContent("#f-recovery")} | password ${await page.textContent("#f-password")}`);
    } else if (cmd === "AUDIT") {
      await page.goto(`${base}/console/#/alerts`);
      await page.waitForSelector("#main h2");
      await shot(page, "console-alerts");
      await a11y(page, "alerts");
      await page.goto(`${base}/console/#/audit`);
      await page.click("#verify");
      console.log(`VERIFIED ${await status(page)}`);
      // Search by action, then "more like this" from a user shown, then export what is found.
      await page.fill("#q-action", args[0] || "auth.password.failed");
      await page.click('#search-form button[type="submit"]');
      await page.waitForSelector('#result-count[data-query*="action="]');
      const found = await page.textContent("#result-count");
      await page.click(".like-user");
      await page.waitForSelector('#result-count[data-query*="user="]');
      const user = await page.inputValue("#q-user");
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-ndjson")]);
      const lines = readFileSync(await download.path(), "utf8").split("\n").filter(Boolean);
      const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
      const csvLines = readFileSync(await csv.path(), "utf8").split("\n").filter(Boolean);
      console.log(`SEARCH ${found} | ${user} | ${lines.length} | ${csvLines.length}`);
      await shot(page, "console-audit");
      await a11y(page, "audit");
    } else if (cmd === "ALERT") {
      await page.goto(`${base}/console/#/alerts`);
      await page.click(".alert-link");
      await page.waitForSelector("#ack");
      await page.click("#ack");
      await page.waitForFunction(() => document.getElementById("alert-state")?.dataset.state === "acknowledged");
      // Acknowledging took it; handed to bob, then taken back.
      const assigned = (who) => page.waitForFunction((w) => document.getElementById("alert-assignee")?.textContent === w, who);
      await assigned("console:alice");
      await page.fill("#assignee-text", "bob");
      await page.click("#assign");
      await assigned("bob");
      await page.click("#assign-me");
      await assigned("console:alice");
      await page.fill("#comment-text", "Looked at it: the admin's own test.");
      await page.click("#comment");
      await page.waitForSelector(".comment-author");
      await shot(page, "console-alert");
      await a11y(page, "alert");
      const state = await page.getAttribute("#alert-state", "data-state");
      const assignee = await page.textContent("#alert-assignee");
      const author = await page.textContent(".comment-author");
      // The rule's YAML is on the page (folded): it names the rule's id.
      await page.click("#rule-source summary");
      const ruleShown = (await page.textContent("#rule-yaml")).includes(args[0] || "\u0000");
      // The queue filtered by state: the alert is among the acknowledged, with its assignee,
      // and not among the firing.
      await page.goto(`${base}/console/#/alerts`);
      await page.waitForSelector("#alert-state-filter");
      await page.selectOption("#alert-state-filter", "acknowledged");
      // The filtered queue drawn: every row acknowledged (not the unfiltered one before it).
      await page.waitForFunction(() => {
        const rows = [...document.querySelectorAll(".alert-row-state")];
        return location.hash === "#/alerts?state=acknowledged" && rows.length > 0 && rows.every((r) => r.dataset.state === "acknowledged");
      });
      const acked = await page.locator(".alert-row-assignee").allTextContents();
      await page.selectOption("#alert-state-filter", "firing");
      await page.waitForFunction(() => location.hash === "#/alerts?state=firing" && !document.querySelector('.alert-row-state[data-state="acknowledged"]'));
      const firing = await page.locator(".alert-row-state").count();
      console.log(`ALERT ${state} ${assignee} ${author} | rule shown: ${ruleShown} | acknowledged: ${acked.join(",")} | firing: ${firing}`);
    } else if (cmd === "TIMELINE") {
      await page.goto(`${base}/console/#/alerts?user=${encodeURIComponent(args[0])}`);
      await page.waitForSelector("#alert-about");
      const rows = await page.locator(".alert-link").count();
      await page.click(".alert-link");
      await page.waitForSelector('.timeline[data-kind="user"]');
      await page.waitForSelector('.timeline[data-kind="ip"]');
      const marked = await page.locator('.timeline[data-kind="user"] .this-alert').count();
      const events = await page.locator('.timeline[data-kind="user"] .timeline-event').count();
      const ipRows = await page.locator('.timeline[data-kind="ip"] tbody tr').count();
      const stored = await page.locator('.timeline[data-kind="ip"] .timeline-stored').count();
      await shot(page, "console-alert-timeline");
      await a11y(page, "timeline");
      await page.click('.timeline[data-kind="ip"] .more-like');
      await page.waitForSelector('#alert-about[data-kind="ip"]');
      const more = await page.locator(".alert-link").count();
      console.log(`TIMELINE ${rows} | user: ${marked} ${events > 0} | ip: ${ipRows} (${stored} stored) | more like this: ${more}`);
    } else if (cmd === "EVENTS") {
      // The stored events about a user, then "more like this" from a field shown, then
      // exported.
      await page.goto(`${base}/console/#/events`);
      await page.waitForSelector("#event-form");
      await page.selectOption("#e-source", { label: args[2] });
      await page.selectOption("#e-kind", "user");
      await page.fill("#e-entity", args[0]);
      await page.click('#event-form button[type="submit"]');
      await page.waitForSelector(`#event-count[data-query*="user=${args[0]}"]`);
      const about = await page.locator(".event-fields").count();
      await page.click(`.like-field[data-field="${args[1]}"]`);
      await page.waitForSelector(`#event-count[data-query*="field=${args[1]}"]`);
      const like = await page.locator(".event-fields").count();
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#events-export-ndjson")]);
      const lines = readFileSync(await download.path(), "utf8").split("\n").filter(Boolean);
      const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#events-export-csv")]);
      const csvLines = readFileSync(await csv.path(), "utf8").split("\n").filter(Boolean);
      // The same field without the user: a search field reads its index, and the page says so.
      await page.fill("#e-entity", "");
      await page.click('#event-form button[type="submit"]');
      await page.waitForSelector(`#event-count:not([data-query*="user="])`);
      const indexed = (await page.locator("#event-indexed").count()) > 0;
      await shot(page, "console-events");
      await a11y(page, "events");
      console.log(`EVENTS ${about} | ${like} | ${indexed ? "indexed" : "read one by one"} | ${lines.length} | ${csvLines.length}`);
    } else if (cmd === "DETECTION") {
      // Where events come from and which rules run: the ingest source made by the test,
      // and the rules loaded (none failed).
      await page.goto(`${base}/console/#/detection`);
      await page.waitForSelector("#rules-loaded");
      await shot(page, "console-detection");
      await a11y(page, "detection");
      const names = await page.locator(".source-name").allTextContents();
      console.log(`DETECTION ${names.join(",")} | ${await page.textContent("#rules-loaded")}`);
    } else if (cmd === "TUNING") {
      // A document with an unknown key is refused, naming it; one that disables the rule
      // that fired is back-tested (that alert would disappear) and saved as version 1.
      await page.goto(`${base}/console/#/tuning`);
      await page.waitForSelector("#tuning-doc");
      const before = await page.getAttribute("#tuning-version", "data-version");
      await page.fill("#tuning-doc", '{"disabled_rulez": []}');
      await page.click("#backtest");
      await page.waitForFunction(() => document.getElementById("status")?.dataset.kind === "error");
      console.log(`TUNING-BAD ${await status(page)}`);
      await page.fill("#tuning-doc", JSON.stringify({ disabled_rules: [args[0]] }));
      await page.click("#backtest");
      await page.waitForSelector("#backtest-summary");
      const gone = await page.locator("ul.diff .gone").allTextContents();
      const appear = await page.getAttribute("#backtest-summary", "data-appear");
      await shot(page, "console-tuning");
      await a11y(page, "tuning");
      await page.click("#save-tuning");
      await page.waitForSelector('#tuning-version[data-version="1"]');
      console.log(`TUNING ${before} | -${gone.length} +${appear} | ${gone.every((g) => g.includes(args[0]))} | saved ${await page.getAttribute("#tuning-version", "data-version")}`);
    } else if (cmd === "STALE") {
      // The test saved version 2 over the API meanwhile: saving from the page (made on
      // version 1) is refused and says so.
      await page.fill("#tuning-doc", "{}");
      await page.click("#save-tuning");
      await page.waitForFunction(() => document.getElementById("status")?.dataset.kind === "error");
      console.log(`STALE ${await status(page)}`);
    } else if (cmd === "SETTINGS") {
      // The tenant: a time zone that is not one refuses the change (the standby window set
      // with it is not saved either), a real one saves both. An app added (its
      // key shown once) and revoked. A group made and a member added.
      await page.goto(`${base}/console/#/settings`);
      await page.waitForSelector("#tenant-form");
      await page.fill("#t-standby-seconds", "90");
      await page.fill("#t-time-zone", "Mars/Olympus");
      await page.click('#tenant-form button[type="submit"]');
      const bad = await status(page);
      await page.fill("#t-time-zone", "Asia/Tokyo");
      await page.click('#tenant-form button[type="submit"]');
      const ok = await status(page);
      // wiki is registered as an OIDC client (a redirect URI) with a web origin; shop's
      // origins are set afterwards.
      await page.fill("#app-name", "wiki");
      await page.selectOption("#app-kind", "relying_party");
      await page.fill("#app-origins", "https://wiki.example");
      await page.fill("#app-redirects", "https://wiki.example/cb");
      await page.fill("#app-logout-uris", "https://wiki.example/");
      await page.click('#app-form button[type="submit"]');
      await page.waitForSelector("#new-app-key");
      const key = (await page.textContent("#new-app-key")).includes("skapp_");
      const redirect = await page.textContent('.app-redirects[data-app="wiki"]');
      await page.selectOption("#origins-app", { label: "shop" });
      await page.fill("#origins-value", "https://shop.example https://m.shop.example");
      await page.click('#origins-form button[type="submit"]');
      await page.waitForFunction(() => document.querySelector('.app-origins[data-app="shop"]')?.textContent.includes("m.shop"));
      const shopOrigins = await page.textContent('.app-origins[data-app="shop"]');
      // wiki's redirect URIs changed after registration (its post-logout one kept).
      await page.selectOption("#redirects-app", { label: "wiki" });
      await page.fill("#redirects-value", "https://wiki.example/cb https://wiki.example/cb2");
      await page.click('#redirects-form button[type="submit"]');
      await page.waitForFunction(() => document.querySelector('.app-redirects[data-app="wiki"]')?.textContent.includes("cb2"));
      const moved = await page.textContent('.app-redirects[data-app="wiki"]');
      await page.click('.revoke-app[data-app="wiki"]');
      await page.waitForFunction(() => [...document.querySelectorAll("#apps tr")].some((r) => r.textContent.includes("wiki") && r.querySelector(".app-revoked")?.textContent));
      await page.fill("#group-name", "help");
      await page.click('#group-form button[type="submit"]');
      await page.waitForSelector('.group-members[data-group="help"]', { state: "attached" });
      await page.selectOption("#member-group", "help");
      await page.fill("#member-name", args[0]);
      await page.click('#member-form button[type="submit"]');
      await page.waitForFunction((u) => document.querySelector('.group-members[data-group="help"]')?.textContent === u, args[0]);
      const members = await page.textContent('.group-members[data-group="help"]');
      // Login hours: text that is not a window is refused before anything is sent; then set.
      await page.selectOption("#hours-group", "help");
      await page.fill("#hours-value", "whenever");
      await page.evaluate(() => { document.getElementById("status").hidden = true; });
      await page.click('#hours-form button[type="submit"]');
      const badHours = await status(page);
      await page.selectOption("#hours-group", "help");
      await page.fill("#hours-value", "mon,tue 09:00-18:00; sat 10:00-14:00");
      await page.click('#hours-form button[type="submit"]');
      await page.waitForFunction(() => document.querySelector('.group-hours[data-group="help"]')?.textContent.includes("sat"));
      const hours = await page.textContent('.group-hours[data-group="help"]');
      await shot(page, "console-settings");
      await a11y(page, "settings");
      // And the member removed again.
      await page.click(`.remove-member[data-group="help"][data-member="${args[0]}"]`);
      await page.waitForFunction(() => document.querySelector('.group-members[data-group="help"]')?.textContent === "");
      console.log(`SETTINGS ${bad} | ${ok} | key ${key} | revoked | help: ${members} | oidc ${redirect} → ${moved} | shop ${shopOrigins} | ${badHours} | hours ${hours} | removed`);
    } else if (cmd === "JA") {
      await page.goto(`${base}/console/#/users`);
      await page.waitForSelector("#search");
      await page.click("#lang");
      await page.waitForFunction(() => document.documentElement.lang === "ja");
      await shot(page, "console-users-ja");
      console.log(`JA ${(await page.textContent("nav")).replace(/\s+/g, " ").trim()}`);
      // Every page in Japanese too, for the screenshots.
      for (const [hash, name] of [["#/", "home"], [`#/users/${args[0] || "dave"}`, "user"], ["#/alerts", "alerts"], ["#/events", "events"], ["#/audit", "audit"], ["#/detection", "detection"], ["#/tuning", "tuning"], ["#/settings", "settings"]]) {
        await page.goto(`${base}/console/${hash}`);
        await page.waitForSelector("#main h2");
        await shot(page, `console-${name}-ja`);
      }
    } else if (cmd === "AUDITOR") {
      const other = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      const p2 = await signIn(other, args[0]);
      await p2.goto(`${base}/console/#/users/${args[1]}`);
      await p2.waitForSelector("#user-state");
      const buttons = await p2.locator("#actions button").count();
      const email = await p2.textContent("dl dd");
      await shot(p2, "console-user-auditor-phone");
      await p2.goto(`${base}/console/#/settings`);
      await p2.waitForSelector("#tenant-form");
      await p2.waitForSelector(".app-name");
      const settingsButtons = await p2.locator("#main button").count();
      const disabled = await p2.locator("#tenant-form input:disabled, #tenant-form select:disabled").count();
      await p2.goto(`${base}/console/#/events`);
      await p2.waitForSelector("#event-form");
      await p2.selectOption("#e-source", { label: "edr" });
      await p2.click('#event-form button[type="submit"]');
      await p2.waitForSelector('#event-count[data-query*="source="]');
      const fields = (await p2.locator(".event-fields").allTextContents()).join(" ");
      const masked = fields.includes("IpAddress=[masked]") && !fields.includes("198.51.100.7");
      // Every page loads for the auditor, and none shows dave's email or the address the
      // failed logon came from.
      let loaded = 0;
      const leaks = [];
      for (const hash of ["#/", "#/users", `#/users/${args[1]}`, "#/alerts", "#/events", "#/detection", "#/tuning", "#/audit", "#/settings"]) {
        await p2.goto(`${base}/console/${hash}`);
        await p2.waitForSelector("#main h2");
        await p2.waitForLoadState("networkidle");
        const text = await p2.textContent("#main");
        if (await p2.locator('#status:not([hidden])[data-kind="error"]').count() === 0) loaded += 1;
        if (text.includes("dave@example.jp") || text.includes("198.51.100.7")) leaks.push(hash);
      }
      await p2.goto(`${base}/console/#/alerts`);
      await p2.click(".alert-link");
      await p2.waitForSelector(".timeline, #alert-state");
      await p2.waitForLoadState("networkidle");
      if ((await p2.textContent("#main")).includes("198.51.100.7")) leaks.push("#/alerts/…");
      console.log(`AUDITOR ${buttons} ${email} | settings: ${settingsButtons} buttons, ${disabled} disabled inputs | events masked: ${masked} | pages ${loaded} | leaks: ${leaks.join(",") || "none"}`);
    } else if (cmd === "OPERATOR") {
      // A help-desk operator scoped to one group: sees its members only, the pages of its
      // capabilities only, may act on a member, and is refused a user outside the group.
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const p3 = await signIn(ctx, args[0]);
      const nav = (await p3.locator("nav a:not([hidden])").allTextContents()).map((x) => x.trim()).join(",");
      await p3.goto(`${base}/console/#/users`);
      await p3.waitForSelector("#search");
      const users = (await p3.locator("#main tbody a").allTextContents()).join(",");
      await shot(p3, "console-users-operator");
      await a11y(p3, "operator");
      await p3.goto(`${base}/console/#/users/${args[1]}`);
      await p3.waitForSelector("#user-state");
      const buttons = (await p3.locator("#actions button").allTextContents()).length;
      await p3.goto(`${base}/console/#/users/${args[2]}`);
      const outside = await status(p3);
      console.log(`OPERATOR ${users} | nav ${nav} | ${buttons} buttons | outside: ${outside.split(" ")[0]}`);
    } else if (cmd === "END") {
      break;
    }
  }
} catch (e) {
  errors.push(`step failed at ${page?.url()}: ${e}`);
}
await browser.close();
for (const e of errors) console.error(e);
process.exit(errors.length ? 1 : 0);
