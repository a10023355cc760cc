// Sekimori authenticator app: arm login, approve pushes with number matching, scan QR
// codes, show tickets, warnings, environments. Speaks the device protocol (device.js).
"use strict";

(function () {
  const D = window.SekimoriDevice;
  const $ = (id) => document.getElementById(id);

  // ---- Language: English and Japanese, from the browser, switchable. ----
  const TEXT = {
    en: {
      title: "Sekimori", offline: "You are offline. The app is here; live requests wait for the network.",
      welcome_title: "Add your account", welcome_text: "Scan the enrolment QR code your administrator gave you, or paste its link.",
      scan_enrol: "Scan enrolment code", paste_label: "Enrolment link", device_name: "Name of this device", enrol: "Enrol",
      account: "Account", arm: "Arm login", armed: "Login armed", not_armed: "Login is not armed. Push requests are refused.",
      armed_state: "Login is armed: approve a request on this phone before the time runs out.",
      scan_login: "Scan login QR", tickets: "Tickets", environments: "Where I log in", this_device: "This device",
      enable_push: "Turn on notifications", push_on: "Notifications are on", scanning: "Point the camera at the code",
      cancel: "Cancel", no_tickets: "No tickets.", back: "Back", expires: "Expires", close: "Close", rename: "Rename",
      remove_text: "Removing this device stops it from approving logins. Enrol it again to use it.",
      remove: "Remove this device", add_account: "Add another account", login_request: "Login request",
      new_environment: "NEW ENVIRONMENT", number_prompt: "Type the number the login page shows", approve: "Approve",
      deny: "Deny", not_me: "Not me", dismiss: "Dismiss", enrolled: "Enrolled as {user}.", approved: "Approved. You are logged in.",
      denied: "Denied.", reported: "Reported. Push approvals are paused and your next login needs more.",
      refused_number: "The number did not match. This login was refused; start it again.",
      qr_done: "Logged in on the page that showed the code.", not_a_code: "This is not a Sekimori code.",
      camera_denied: "The camera is not available. Paste the link instead.", trust: "Trust", untrust: "Stop trusting",
      forget: "Forget", known: "known", new: "new", trusted: "trusted", last_login: "last login",
      environment_warning: "Login attempt from a new environment",
      warning_advice: "If this was not you, tap Not me: push approvals pause and your password should be changed.",
      security_notice: "Security notice", notice_advice: "Use your passkey or this app to log in until the change ends.",
      confirm_remove: "Remove this device from {user}?", removed: "This device was removed.", renamed: "Renamed.",
      error: "Error: {msg}", seconds: "{n} s", push_unsupported: "This browser cannot receive notifications. Keep the app open to get requests.",
      push_denied: "Notifications are blocked for this app in the browser's settings.",
    },
    ja: {
      title: "関守", offline: "オフラインです。アプリは使えますが、通信はネットワークが戻るまで待ちます。",
      welcome_title: "アカウントを追加", welcome_text: "管理者から受け取った登録用QRコードを読み取るか、リンクを貼り付けてください。",
      scan_enrol: "登録コードを読み取る", paste_label: "登録リンク", device_name: "この端末の名前", enrol: "登録",
      account: "アカウント", arm: "ログインを待ち受け", armed: "待ち受け中", not_armed: "待ち受けていません。プッシュ要求は拒否されます。",
      armed_state: "待ち受け中です。時間内にこの端末で要求を承認してください。",
      scan_login: "ログインQRを読み取る", tickets: "チケット", environments: "ログインした環境", this_device: "この端末",
      enable_push: "通知をオンにする", push_on: "通知はオンです", scanning: "カメラをコードに向けてください",
      cancel: "キャンセル", no_tickets: "チケットはありません。", back: "戻る", expires: "有効期限", close: "閉じる", rename: "名前を変更",
      remove_text: "この端末を削除すると、ログインを承認できなくなります。使うには再登録してください。",
      remove: "この端末を削除", add_account: "アカウントを追加", login_request: "ログイン要求",
      new_environment: "新しい環境", number_prompt: "ログイン画面に表示された番号を入力", approve: "承認",
      deny: "拒否", not_me: "自分ではない", dismiss: "閉じる", enrolled: "{user} として登録しました。", approved: "承認しました。ログインしました。",
      denied: "拒否しました。", reported: "報告しました。プッシュ承認を停止し、次回のログインには追加の確認が必要です。",
      refused_number: "番号が一致しません。このログインは拒否されました。もう一度始めてください。",
      qr_done: "コードを表示したページでログインしました。", not_a_code: "関守のコードではありません。",
      camera_denied: "カメラを使えません。リンクを貼り付けてください。", trust: "信頼する", untrust: "信頼をやめる",
      forget: "削除", known: "既知", new: "新規", trusted: "信頼済み", last_login: "最終ログイン",
      environment_warning: "新しい環境からのログイン試行",
      warning_advice: "心当たりがなければ「自分ではない」を押してください。プッシュ承認が停止されます。パスワードを変更してください。",
      security_notice: "セキュリティのお知らせ", notice_advice: "変更が終わるまで、パスキーかこのアプリでログインしてください。",
      confirm_remove: "{user} からこの端末を削除しますか？", removed: "この端末を削除しました。", renamed: "名前を変更しました。",
      error: "エラー: {msg}", seconds: "{n} 秒", push_unsupported: "このブラウザは通知を受け取れません。要求を受けるにはアプリを開いておいてください。",
      push_denied: "ブラウザの設定でこのアプリの通知がブロックされています。",
    },
  };
  let lang = localStorage.getItem("sekimori.lang") || ((navigator.language || "en").toLowerCase().startsWith("ja") ? "ja" : "en");

  function t(key, vars) {
    let s = (TEXT[lang] && TEXT[lang][key]) || TEXT.en[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
    return s;
  }

  function translate(root) {
    for (const el of (root || document).querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    document.documentElement.lang = lang;
    $("lang").textContent = lang === "ja" ? "English" : "日本語";
    document.title = t("title");
  }

  // ---- State and screens. ----
  let accountList = [];
  let current = null;
  let armedUntil = 0;
  let pollGeneration = 0;
  const SCREENS = ["welcome", "home", "scanner", "tickets", "ticket", "environments", "device"];

  function show(id) {
    for (const s of SCREENS) $(s).hidden = s !== id;
    document.body.dataset.screen = id;
  }

  function say(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.dataset.kind = kind || "info";
    el.hidden = !text;
  }

  function fail(e) {
    say(t("error", { msg: (e && e.message) || String(e) }), "error");
  }

  async function loadAccounts() {
    accountList = await D.accounts.all();
    accountList.sort((a, b) => a.enrolledAt - b.enrolledAt);
    const chosen = localStorage.getItem("sekimori.account");
    current = accountList.find((a) => a.deviceId === chosen) || accountList[0] || null;
    const sel = $("account");
    sel.replaceChildren(...accountList.map((a) => {
      const o = document.createElement("option");
      o.value = a.deviceId;
      o.textContent = a.username + " · " + new URL(a.server).host;
      o.selected = current && a.deviceId === current.deviceId;
      return o;
    }));
  }

  async function home() {
    await loadAccounts();
    if (!current) {
      show("welcome");
      return;
    }
    show("home");
    renderArm();
    poll();
  }

  // ---- Standby. ----
  function renderArm() {
    const left = Math.max(0, Math.ceil((armedUntil - Date.now()) / 1000));
    const armed = left > 0;
    $("arm").classList.toggle("on", armed);
    $("arm").setAttribute("aria-pressed", String(armed));
    $("arm-label").textContent = armed ? t("armed") : t("arm");
    $("arm-count").textContent = armed ? t("seconds", { n: left }) : "";
    $("arm-state").textContent = armed ? t("armed_state") : t("not_armed");
  }
  setInterval(renderArm, 500);

  async function arm() {
    try {
      const r = await D.signed(current, "POST", "/api/v1/device/standby", {});
      armedUntil = Date.now() + r.seconds * 1000;
      renderArm();
      say("");
    } catch (e) {
      fail(e);
    }
  }

  // ---- Messages: long-poll while the app is open. ----
  async function poll() {
    const gen = ++pollGeneration;
    let wait = 0;
    while (gen === pollGeneration && current && document.body.dataset.screen !== "welcome") {
      try {
        const msgs = await D.messages(current, wait);
        if (gen !== pollGeneration) return;
        render(msgs);
        $("offline").hidden = true;
        wait = 25;
      } catch (e) {
        if (e instanceof D.ProblemError && e.status === 401) {
          fail(e);
          return;
        }
        // No answer at all (not a problem document): the network is away.
        $("offline").hidden = e instanceof D.ProblemError;
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
  }

  function render(msgs) {
    const challenges = msgs.filter((m) => m.type === "push_login");
    const notices = msgs.filter((m) => m.type !== "push_login");
    const have = new Set(challenges.map((m) => m.login_id));
    for (const el of $("challenges").querySelectorAll("article")) {
      if (!have.has(el.dataset.login)) el.remove();
    }
    for (const m of challenges) {
      if (!$("challenges").querySelector(`article[data-login="${CSS.escape(m.login_id)}"]`)) $("challenges").append(challengeCard(m));
    }
    $("notices").replaceChildren(...notices.map(noticeCard));
    if (challenges.length && location.hash.startsWith("#login=")) history.replaceState(null, "", "#");
  }

  function challengeCard(m) {
    const el = $("challenge-template").content.firstElementChild.cloneNode(true);
    translate(el);
    el.dataset.login = m.login_id;
    el.querySelector(".rp").textContent = m.relying_party || m.service;
    el.querySelector(".env").textContent = (m.environment && m.environment.description) || "";
    el.querySelector(".new-env").hidden = !(m.environment && m.environment.known === false);
    const decide = async (what, body) => {
      for (const b of el.querySelectorAll("button")) b.disabled = true;
      try {
        await D.signed(current, "POST", `/api/v1/device/logins/${encodeURIComponent(m.login_id)}/${what}`, body);
        say(what === "approve" ? t("approved") : body && body.not_me ? t("reported") : t("denied"), "ok");
        if (what === "approve") armedUntil = 0;
      } catch (e) {
        if (e.code === "number_mismatch") say(t("refused_number"), "error");
        else fail(e);
      }
      el.remove();
    };
    el.querySelector("form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      decide("approve", { number: Number(el.querySelector(".number").value) });
    });
    el.querySelector(".deny").addEventListener("click", () => decide("deny", { not_me: false }));
    el.querySelector(".not-me").addEventListener("click", () => decide("deny", { not_me: true }));
    return el;
  }

  function noticeCard(m) {
    const el = $("notice-template").content.firstElementChild.cloneNode(true);
    translate(el);
    el.dataset.id = m.id;
    el.dataset.type = m.type;
    el.querySelector("h3").textContent = t(m.type === "environment_warning" ? "environment_warning" : "security_notice");
    el.querySelector(".text").textContent = m.text || "";
    el.querySelector(".advice").textContent = t(m.type === "environment_warning" ? "warning_advice" : "notice_advice");
    const notMe = el.querySelector(".not-me");
    notMe.hidden = m.type !== "environment_warning";
    const dismiss = async (body) => {
      try {
        await D.signed(current, "POST", `/api/v1/device/messages/${encodeURIComponent(m.id)}/dismiss`, body);
        el.remove();
        if (body.not_me) say(t("reported"), "ok");
      } catch (e) {
        fail(e);
      }
    };
    el.querySelector(".dismiss").addEventListener("click", () => dismiss({ not_me: false }));
    notMe.addEventListener("click", () => dismiss({ not_me: true }));
    return el;
  }

  // ---- Camera: BarcodeDetector where the browser has it, else the vendored jsQR. ----
  let stream = null;
  let jsQRLoaded = null;

  function loadJsQR() {
    if (!jsQRLoaded) {
      jsQRLoaded = new Promise((resolve, reject) => {
        const tag = $("jsqr");
        const s = document.createElement("script");
        s.src = tag.getAttribute("src");
        s.integrity = tag.getAttribute("integrity");
        s.onload = () => resolve(window.jsQR);
        s.onerror = () => reject(new Error("QR decoder did not load"));
        document.head.append(s);
      });
    }
    return jsQRLoaded;
  }

  async function decoder() {
    if ("BarcodeDetector" in window) {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) {
          const d = new window.BarcodeDetector({ formats: ["qr_code"] });
          return async (video) => {
            const found = await d.detect(video);
            return found.length ? found[0].rawValue : null;
          };
        }
      } catch (_) { /* fall back */ }
    }
    const jsQR = await loadJsQR();
    const canvas = $("frame");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    return async (video) => {
      if (!video.videoWidth) return null;
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0);
      const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const code = jsQR(img.data, img.width, img.height, { inversionAttempts: "dontInvert" });
      return code ? code.data : null;
    };
  }

  function stopCamera() {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
  }

  async function scan() {
    show("scanner");
    say("");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (_) {
      say(t("camera_denied"), "error");
      return null;
    }
    const video = $("video");
    video.srcObject = stream;
    await video.play().catch(() => {});
    const detect = await decoder();
    return new Promise((resolve) => {
      const cancel = () => {
        stopCamera();
        resolve(null);
      };
      $("scan-cancel").onclick = cancel;
      const tick = async () => {
        if (!stream) return;
        const text = await detect(video).catch(() => null);
        if (text) {
          stopCamera();
          resolve(text);
        } else {
          setTimeout(tick, 150);
        }
      };
      tick();
    });
  }

  async function handleScanned(text) {
    if (!text) {
      home();
      return;
    }
    const enrolment = D.parseEnrollment(text);
    if (enrolment) {
      await enrolWith(enrolment);
    } else if (text.startsWith("sekimori://login?")) {
      try {
        await D.signed(current, "POST", "/api/v1/device/qr/redeem", { payload: text });
        await home();
        say(t("qr_done"), "ok");
      } catch (e) {
        await home();
        fail(e);
      }
    } else {
      await home();
      say(t("not_a_code"), "error");
    }
  }

  // ---- Enrolment. ----
  function defaultName() {
    const ua = navigator.userAgent;
    const os = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iPhone" : /Mac OS/.test(ua) ? "Mac" : /Windows/.test(ua) ? "Windows" : "Linux";
    return "Sekimori app on " + os;
  }

  async function enrolWith(e) {
    try {
      const name = ($("device-name").value || "").trim() || defaultName();
      const account = await D.enroll(e.server, e.code, name);
      localStorage.setItem("sekimori.account", account.deviceId);
      history.replaceState(null, "", location.pathname);
      await home();
      say(t("enrolled", { user: account.username }), "ok");
      subscribePush(account, false);
    } catch (err) {
      await loadAccounts();
      show(current ? "home" : "welcome");
      fail(err);
    }
  }

  // ---- Web Push: subscribe once notifications are allowed. ----
  async function subscribePush(account, ask) {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      if (ask) say(t("push_unsupported"), "error");
      return;
    }
    if (Notification.permission !== "granted") {
      if (!ask) return;
      if ((await Notification.requestPermission()) !== "granted") {
        say(t("push_denied"), "error");
        return;
      }
    }
    try {
      const config = await D.signed(account, "GET", "/api/v1/device/web-push");
      if (!config.enabled) return;
      const reg = await navigator.serviceWorker.ready;
      let sub = await reg.pushManager.getSubscription();
      if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: D.unb64url(config.vapid_public_key) });
      await D.signed(account, "PUT", "/api/v1/device/web-push", sub.toJSON());
      $("enable-push").textContent = t("push_on");
    } catch (e) {
      if (ask) fail(e);
    }
  }

  // ---- Tickets. ----
  let ticketTimer = null;

  async function showTickets() {
    show("tickets");
    try {
      const list = await D.signed(current, "GET", "/api/v1/device/tickets");
      $("no-tickets").hidden = list.length > 0;
      $("ticket-list").replaceChildren(...list.map((tk) => {
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.type = "button";
        b.className = "ticket-item";
        b.textContent = tk.entitlement + " · " + new Date(tk.expires_at).toLocaleString(lang);
        b.addEventListener("click", () => showTicket(tk));
        li.append(b);
        return li;
      }));
    } catch (e) {
      fail(e);
    }
  }

  function showTicket(tk) {
    show("ticket");
    $("ticket-qr").src = "data:image/svg+xml;base64," + btoa(tk.svg);
    $("ticket-qr").alt = tk.payload;
    $("ticket-entitlement").textContent = tk.entitlement;
    $("ticket-expires").textContent = new Date(tk.expires_at).toLocaleString(lang);
    const until = Date.now() + Math.max(0, (Date.parse(tk.expires_at) - (Date.now() + (current.skew || 0) * 1000)));
    const tick = () => {
      const left = Math.max(0, Math.floor((until - Date.now()) / 1000));
      const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      $("ticket-count").textContent = `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
    };
    tick();
    clearInterval(ticketTimer);
    ticketTimer = setInterval(tick, 1000);
  }

  // ---- Environments. ----
  async function showEnvironments() {
    show("environments");
    try {
      const list = await D.signed(current, "GET", "/api/v1/device/environments");
      $("environment-list").replaceChildren(...list.map((env) => {
        const li = document.createElement("li");
        const p = document.createElement("p");
        const marks = [env.known ? t("known") : t("new"), env.trusted ? t("trusted") : null].filter(Boolean).join(", ");
        p.textContent = `${env.browser} · ${env.os} · ${env.network}${env.country ? " · " + env.country : ""} (${marks})`;
        const when = document.createElement("small");
        when.textContent = env.last_login_at ? t("last_login") + ": " + new Date(env.last_login_at).toLocaleString(lang) : "";
        const trust = document.createElement("button");
        trust.type = "button";
        trust.textContent = env.trusted ? t("untrust") : t("trust");
        trust.addEventListener("click", async () => {
          try {
            await D.signed(current, "POST", `/api/v1/device/environments/${encodeURIComponent(env.key)}/trust`, { trusted: !env.trusted });
            showEnvironments();
          } catch (e) { fail(e); }
        });
        const forget = document.createElement("button");
        forget.type = "button";
        forget.className = "danger";
        forget.textContent = t("forget");
        forget.addEventListener("click", async () => {
          try {
            await D.signed(current, "DELETE", `/api/v1/device/environments/${encodeURIComponent(env.key)}`);
            showEnvironments();
          } catch (e) { fail(e); }
        });
        const row = document.createElement("div");
        row.className = "row";
        row.append(trust, forget);
        li.append(p, when, row);
        return li;
      }));
    } catch (e) {
      fail(e);
    }
  }

  // ---- Wiring. ----
  function wire() {
    $("lang").addEventListener("click", () => {
      lang = lang === "ja" ? "en" : "ja";
      localStorage.setItem("sekimori.lang", lang);
      translate();
      renderArm();
    });
    $("scan-enrol").addEventListener("click", async () => handleScanned(await scan()));
    $("scan-login").addEventListener("click", async () => handleScanned(await scan()));
    $("paste-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const e = D.parseEnrollment($("paste").value);
      if (e) enrolWith(e);
      else say(t("not_a_code"), "error");
    });
    $("arm").addEventListener("click", arm);
    $("account").addEventListener("change", () => {
      localStorage.setItem("sekimori.account", $("account").value);
      $("challenges").replaceChildren();
      home();
    });
    $("show-tickets").addEventListener("click", showTickets);
    $("show-environments").addEventListener("click", showEnvironments);
    $("show-device").addEventListener("click", () => {
      $("rename").value = current.name;
      show("device");
    });
    $("enable-push").addEventListener("click", () => subscribePush(current, true));
    $("ticket-close").addEventListener("click", () => {
      clearInterval(ticketTimer);
      showTickets();
    });
    for (const b of document.querySelectorAll("button.back")) b.addEventListener("click", home);
    $("rename-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const name = $("rename").value.trim();
        await D.signed(current, "PATCH", "/api/v1/device/self", { name });
        current.name = name;
        await D.accounts.put(current);
        say(t("renamed"), "ok");
      } catch (e) { fail(e); }
    });
    $("remove-device").addEventListener("click", async () => {
      if (!confirm(t("confirm_remove", { user: current.username }))) return;
      try {
        await D.signed(current, "DELETE", "/api/v1/device/self");
      } catch (e) {
        if (!(e instanceof D.ProblemError && e.status === 401)) { fail(e); return; }
      }
      await D.accounts.remove(current.deviceId);
      localStorage.removeItem("sekimori.account");
      await home();
      say(t("removed"), "ok");
    });
    $("add-account").addEventListener("click", () => show("welcome"));
    window.addEventListener("online", () => { $("offline").hidden = true; poll(); });
    window.addEventListener("offline", () => { $("offline").hidden = false; });
  }

  async function start() {
    translate();
    wire();
    $("offline").hidden = navigator.onLine;
    $("device-name").value = defaultName();
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});
    // An enrolment link opened in the app: /app/#enroll=<sekimori://enroll?… or https link>.
    const m = /^#enroll=(.+)$/.exec(location.hash);
    if (m) {
      const e = D.parseEnrollment(decodeURIComponent(m[1]));
      if (e) {
        await loadAccounts();
        await enrolWith(e);
        return;
      }
    }
    await home();
    if (current && "Notification" in window && Notification.permission === "granted") subscribePush(current, false);
  }

  start().catch(fail);
})();
