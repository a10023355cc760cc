// Sekimori authenticator: the device protocol (docs/protocol.md section 3), shared by the
// app page and its service worker. Keys are WebCrypto keys made non-extractable and kept in
// IndexedDB: the private key never leaves the browser, not even to this script. Ed25519
// where the browser has it; ECDSA P-256 (the protocol's `p256` key type) where it does not
// (Safari before 17).
"use strict";

(function (global) {
  const DB = "sekimori-authenticator";
  const STORE = "accounts";

  function b64url(bytes) {
    let s = "";
    const b = new Uint8Array(bytes);
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function unb64url(text) {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  function hex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // RFC 8785 (JCS): members sorted by UTF-16 code units, ECMAScript number and string forms.
  function canonical(v) {
    if (v === null || typeof v !== "object") return JSON.stringify(v);
    if (Array.isArray(v)) return "[" + v.map(canonical).join(",") + "]";
    return "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + canonical(v[k])).join(",") + "}";
  }

  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "deviceId" });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function tx(mode, fn) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const result = fn(t.objectStore(STORE));
      t.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      t.onerror = () => reject(t.error);
    });
  }

  const accounts = {
    all: () => tx("readonly", (s) => s.getAll()),
    put: (a) => tx("readwrite", (s) => s.put(a)),
    remove: (deviceId) => tx("readwrite", (s) => s.delete(deviceId)),
  };

  // A problem document (RFC 9457) as an Error with its stable code.
  class ProblemError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || "HTTP " + status);
      this.status = status;
      this.code = (problem && problem.code) || "http_" + status;
      this.problem = problem || {};
    }
  }

  function nonce() {
    return b64url(crypto.getRandomValues(new Uint8Array(32)));
  }

  // One signed request; `stale_timestamp` (a phone whose clock is off) is retried once with
  // the offset the server reported, which the account then keeps.
  async function signed(account, method, path, body) {
    const text = body === undefined ? "" : JSON.stringify(body);
    for (let attempt = 0; attempt < 2; attempt++) {
      const ts = Math.floor(Date.now() / 1000) + (account.skew || 0);
      const n = nonce();
      const digest = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
      const input = canonical({ body_sha256: digest, device_id: account.deviceId, method, nonce: n, path, ts });
      const sig = await crypto.subtle.sign(signAlgorithm(account), account.privateKey, new TextEncoder().encode(input));
      const headers = {
        "sekimori-device": account.deviceId,
        "sekimori-timestamp": String(ts),
        "sekimori-nonce": n,
        "sekimori-signature": b64url(sig),
      };
      if (text) headers["content-type"] = "application/json";
      const resp = await fetch(account.server + path, { method, headers, body: text || undefined, cache: "no-store" });
      if (resp.ok) {
        return resp.status === 204 ? null : resp.json();
      }
      const problem = await resp.json().catch(() => null);
      if (attempt === 0 && problem && problem.code === "stale_timestamp" && typeof problem.server_time === "number") {
        account.skew = problem.server_time - Math.floor(Date.now() / 1000);
        await accounts.put(account);
        continue;
      }
      throw new ProblemError(resp.status, problem);
    }
    throw new ProblemError(0, null);
  }

  function signAlgorithm(account) {
    return account.keyType === "p256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
  }

  // The server signs a P-256 device's messages with its P-256 key (ES256), others Ed25519.
  async function serverKey(account) {
    if (account.keyType === "p256") {
      return crypto.subtle.importKey("raw", unb64url(account.serverPublicKeyP256), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    }
    return crypto.subtle.importKey("raw", unb64url(account.serverPublicKey), { name: "Ed25519" }, false, ["verify"]);
  }

  // The account's pending messages whose server signature verifies; others are dropped.
  async function messages(account, wait) {
    const r = await signed(account, "GET", "/api/v1/device/messages?wait=" + (wait || 0));
    const key = await serverKey(account);
    const out = [];
    for (const item of r.messages || []) {
      const ok = await crypto.subtle.verify(
        signAlgorithm(account), key, unb64url(item.signature), new TextEncoder().encode(canonical(item.message)));
      if (ok) out.push(item.message);
    }
    return out;
  }

  // Parses sekimori://enroll?u=<server>&c=<code>, or an https enrolment page link.
  function parseEnrollment(text) {
    const t = (text || "").trim();
    let m = /^sekimori:\/\/enroll\?(.*)$/.exec(t);
    if (m) {
      const q = new URLSearchParams(m[1]);
      const server = q.get("u");
      const code = q.get("c");
      if (server && code && /^https?:\/\//.test(server)) return { server: server.replace(/\/+$/, ""), code };
      return null;
    }
    try {
      const u = new URL(t);
      if ((u.protocol === "https:" || u.protocol === "http:") && u.pathname.endsWith("/enroll") && u.searchParams.get("c")) {
        return { server: u.origin + u.pathname.replace(/\/enroll$/, ""), code: u.searchParams.get("c") };
      }
    } catch (_) { /* not a URL */ }
    return null;
  }

  // A non-extractable key pair: Ed25519, or P-256 where the browser has no Ed25519.
  async function newKeyPair() {
    try {
      return { keyType: "ed25519", pair: await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]) };
    } catch (_) {
      const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
      return { keyType: "p256", pair };
    }
  }

  // Makes the device's key pair and registers its public half.
  async function enroll(server, code, name) {
    const { keyType, pair } = await newKeyPair();
    const pub = b64url(await crypto.subtle.exportKey("raw", pair.publicKey));
    const resp = await fetch(server + "/api/v1/device/enroll", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code, public_key: pub, key_type: keyType, name }),
    });
    const body = await resp.json().catch(() => null);
    if (!resp.ok) throw new ProblemError(resp.status, body);
    const account = {
      deviceId: body.device_id,
      userId: body.user_id,
      username: body.username,
      server,
      serverPublicKey: body.server_public_key,
      serverPublicKeyP256: body.server_public_key_p256,
      keyType,
      serverKeyId: body.server_key_id,
      name,
      publicKey: pub,
      privateKey: pair.privateKey,
      skew: 0,
      enrolledAt: Date.now(),
    };
    await accounts.put(account);
    return account;
  }

  global.SekimoriDevice = {
    accounts, signed, messages, enroll, parseEnrollment, canonical, b64url, unb64url, signAlgorithm, ProblemError,
  };
})(typeof self !== "undefined" ? self : window);
