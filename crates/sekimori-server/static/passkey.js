// Passkeys on Sekimori's hosted login page (no framework): "Sign in with a passkey" and
// "Add a passkey". The server's WebAuthn options carry binary fields as base64url; this
// script turns them into ArrayBuffers for navigator.credentials and the answers back.
(function () {
  "use strict";
  function dec(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); }).buffer;
  }
  function enc(buf) {
    var s = "";
    new Uint8Array(buf).forEach(function (b) { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  async function post(path, body) {
    var r = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    var j = await r.json().catch(function () { return {}; });
    if (!r.ok) throw new Error(j.detail || r.statusText);
    return j;
  }
  function status(text) {
    var el = document.getElementById("passkey-status");
    if (el) el.textContent = text;
  }
  async function signIn(btn) {
    var user = document.querySelector('input[name="username"]');
    var name = btn.dataset.username || (user && user.value);
    var start = await post("/api/v1/session/passkey/start", name ? { username: name } : {});
    var pk = start.options.publicKey;
    pk.challenge = dec(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = dec(c.id); });
    var cred = await navigator.credentials.get({ publicKey: pk });
    var r = cred.response;
    var done = await post("/api/v1/session/passkey/finish", {
      ceremony: start.ceremony,
      return_to: btn.dataset.returnTo,
      pending: btn.dataset.pending || undefined,
      credential: {
        id: cred.id, rawId: enc(cred.rawId), type: cred.type, extensions: {},
        response: {
          authenticatorData: enc(r.authenticatorData), clientDataJSON: enc(r.clientDataJSON),
          signature: enc(r.signature), userHandle: r.userHandle ? enc(r.userHandle) : null,
        },
      },
    });
    location.assign(done.return_to);
  }
  async function register(btn) {
    var start = await post("/api/v1/session/passkeys/register/start", {});
    var pk = start.options.publicKey;
    pk.challenge = dec(pk.challenge);
    pk.user.id = dec(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = dec(c.id); });
    // Ask for a discoverable credential, so the passkey also works without a username.
    pk.authenticatorSelection = Object.assign({}, pk.authenticatorSelection, { residentKey: "preferred" });
    var cred = await navigator.credentials.create({ publicKey: pk });
    var r = cred.response;
    await post("/api/v1/session/passkeys/register/finish", {
      ceremony: start.ceremony,
      name: btn.dataset.name || "passkey",
      credential: {
        id: cred.id, rawId: enc(cred.rawId), type: cred.type, extensions: {},
        response: {
          attestationObject: enc(r.attestationObject), clientDataJSON: enc(r.clientDataJSON),
          transports: r.getTransports ? r.getTransports() : undefined,
        },
      },
    });
    status(btn.dataset.added);
  }
  function wire(id, action) {
    var btn = document.getElementById(id);
    if (!btn) return;
    if (!window.PublicKeyCredential) { btn.hidden = true; return; }
    btn.hidden = false;
    btn.addEventListener("click", function () {
      action(btn).catch(function (e) { status(btn.dataset.failed + " (" + e.message + ")"); });
    });
  }
  wire("passkey-sign-in", signIn);
  wire("passkey-add", register);
})();
