// Sekimori authenticator service worker: keeps the app shell for offline use, and on a
// Web Push wake-up fetches the signed messages (the push itself says only "look") and
// shows a notification for each login request or warning.
"use strict";
importScripts("/app/device.js");

const CACHE = "sekimori-app-v1";
const SHELL = [
  "/app/", "/app/app.js", "/app/device.js", "/app/app.css", "/app/manifest.webmanifest",
  "/app/icon.svg", "/app/icon-192.png", "/app/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()));
});

// The shell: network first (a new release shows at once), the cache when offline. The API
// is never cached.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith("/app/")) return;
  const key = url.pathname === "/app/index.html" ? "/app/" : url.pathname;
  event.respondWith(
    fetch(event.request)
      .then((resp) => {
        if (resp.ok && SHELL.includes(key)) {
          const copy = resp.clone();
          caches.open(CACHE).then((c) => c.put(key, copy));
        }
        return resp;
      })
      .catch(() => caches.match(key).then((hit) => hit || Response.error())));
});

const TEXT = {
  en: { login: "Login request: {rp}", login_body: "{env}. Open to approve with the number the page shows.",
        warning: "Login attempt from a new environment", look: "Sekimori", look_body: "Open the app." },
  ja: { login: "ログイン要求: {rp}", login_body: "{env}。ページに表示された番号で承認するには開いてください。",
        warning: "新しい環境からのログイン試行", look: "関守", look_body: "アプリを開いてください。" },
};

function t(key, vars) {
  const lang = (self.navigator.language || "en").toLowerCase().startsWith("ja") ? "ja" : "en";
  let s = TEXT[lang][key];
  for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
  return s;
}

// One notification per wake-up: the newest login request if there is one (it expires in a
// minute), else the newest warning, else a plain "open the app"; the app lists the rest.
async function wake() {
  const D = self.SekimoriDevice;
  let login = null;
  let warning = null;
  for (const account of await D.accounts.all()) {
    let msgs = [];
    try {
      msgs = await D.messages(account, 0);
    } catch (_) {
      continue;
    }
    for (const m of msgs) {
      if (m.type === "push_login") login = m;
      else if (m.type === "environment_warning") warning = m;
    }
  }
  if (login) {
    const env = (login.environment && login.environment.description) || "";
    return self.registration.showNotification(t("login", { rp: login.relying_party || login.service }), {
      body: t("login_body", { env }), tag: "login-" + login.login_id, requireInteraction: true,
      data: { url: "/app/#login=" + encodeURIComponent(login.login_id) }, icon: "/app/icon-192.png",
    });
  }
  if (warning) {
    return self.registration.showNotification(t("warning"), {
      body: warning.text, tag: "msg-" + warning.id, data: { url: "/app/" }, icon: "/app/icon-192.png",
    });
  }
  // A user-visible push must show something (the browsers require it).
  return self.registration.showNotification(t("look"), { body: t("look_body"), tag: "look", data: { url: "/app/" } });
}

self.addEventListener("push", (event) => {
  event.waitUntil(wake());
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/app/";
  event.waitUntil(
    self.clients.matchAll({ type: "window" }).then((wins) => {
      for (const w of wins) {
        if (new URL(w.url).pathname.startsWith("/app/")) return w.focus().then((c) => c.navigate(url));
      }
      return self.clients.openWindow(url);
    }));
});
