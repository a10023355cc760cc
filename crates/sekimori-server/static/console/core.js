// Sekimori console: pages over the admin API. Every request goes with the browser's session
// and the `sekimori-console` header, so the server authorises it exactly as a token of the
// signed-in person's console role (docs/protocol.md 9.5); the pages only hide what the role
// may not do, the server refuses it anyway.
//
// Served as one script, /console/console.js: these files in the order console_pages.rs
// names them, inside one function (nothing leaks to the page's global scope).
//
// This file: what every page uses: the signed-in person (`me`) and their language, the
// admin API with the console header, what the role may do, and drawing a page, a table or
// a message.

const $ = (id) => document.getElementById(id);
let lang = localStorage.getItem("sekimori.console.lang") || ((navigator.language || "en").toLowerCase().startsWith("ja") ? "ja" : "en");
let me = null;

function t(key, vars) {
  let s = (TEXT[lang] && TEXT[lang][key]) || TEXT.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
  return s;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick") e.addEventListener("click", v);
    else if (v !== null && v !== undefined) e.setAttribute(k, v);
  }
  for (const c of children.flat()) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return e;
}

function say(text, kind) {
  $("status").textContent = text;
  $("status").dataset.kind = kind || "info";
  $("status").hidden = !text;
}

async function api(method, path, body, raw) {
  const resp = await fetch(path, {
    method,
    headers: Object.assign({ "sekimori-console": "1" }, body ? { "content-type": "application/json" } : {}),
    body: body ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
    cache: "no-store",
  });
  if (!resp.ok) {
    const p = await resp.json().catch(() => ({}));
    const e = new Error(p.detail || p.title || "HTTP " + resp.status);
    e.code = p.code;
    e.problem = p;
    throw e;
  }
  if (raw) return resp;
  return resp.status === 204 ? null : resp.json();
}

// What the role may do, with the capability names of the server's table: an admin
// everything, an auditor reads everything and changes nothing, an operator its capabilities.
function hasCapability(c) {
  return ((me && me.scope && me.scope.capabilities) || []).includes(c);
}
const canRead = (c) => !!me && (me.role !== "operator" || hasCapability(c));
const canWrite = (c) => !!me && (me.role === "admin" || (me.role === "operator" && hasCapability(c)));

function translate() {
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  document.documentElement.lang = lang;
  $("lang").textContent = lang === "ja" ? "English" : "日本語";
  document.title = t("title");
  for (const a of document.querySelectorAll("nav a[data-needs]")) a.hidden = !canRead(a.dataset.needs);
  if (me) $("me").textContent = t("role", { name: me.name, role: me.role });
}

function page(title, ...content) {
  const main = $("main");
  main.replaceChildren(el("h2", {}, title), ...content);
  main.focus();
}

function table(headers, rows) {
  if (!rows.length) return el("p", {}, t("none"));
  return el("div", { class: "scroll" }, el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))))));
}
