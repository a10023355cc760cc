/*! Sekimori QR login widget, v1. Copy-paste integration:
 *   <div id="sekimori-login"></div>
 *   <script src="https://AUTH.EXAMPLE/sdk/v1/sekimori.js" integrity="sha384-…" crossorigin="anonymous"
 *           data-app="APP_ID" data-target="sekimori-login" data-callback="onSekimoriLogin"></script>
 * The widget shows a single-use QR code; when the user scans it with the Sekimori
 * authenticator, the page receives a one-time assertion (a `sekimori:login` event on the
 * target element, and `window[data-callback]({assertion, username, signals, review_id})`).
 * The page's backend verifies it with one call: POST /api/v1/assertions/verify with the app
 * key, passing {"assertion", "client": {"ip", "user_agent", "signals", "review_id"}} so that
 * the login is judged with the browser's own account of itself (docs/risk.md).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var base = new URL(script.src).origin;
  var app = script.getAttribute("data-app") || "";
  var target = document.getElementById(script.getAttribute("data-target") || "sekimori-login");
  var callback = script.getAttribute("data-callback");
  var ja = (navigator.language || "").toLowerCase().indexOf("ja") === 0;
  var text = ja
    ? { scan: "関守認証アプリでQRコードを読み取ってください。", wait: "認証アプリを待っています…", done: "ログインしました: ",
        renew: "コードの有効期限が切れました。新しいコードです。", retry: "接続できません。再試行します…" }
    : { scan: "Scan this code with your Sekimori authenticator.", wait: "Waiting for your authenticator…", done: "Logged in as ",
        renew: "The code expired; here is a new one.", retry: "Cannot connect; retrying…" };
  if (!target) { return; }
  var hint = document.createElement("p");
  var qr = document.createElement("div");
  var status = document.createElement("p");
  hint.className = "sekimori-hint";
  qr.className = "sekimori-qr";
  status.className = "sekimori-status";
  status.setAttribute("role", "status");
  hint.textContent = text.scan;
  target.appendChild(hint);
  target.appendChild(qr);
  target.appendChild(status);

  function show(t) { status.textContent = t; }

  // Login-time risk: a review id kept in a cookie on this page's origin, and what the
  // browser shows of automation. What cannot be observed is left out (unknown).
  function reviewId() {
    var m = document.cookie.match(/(?:^|; )sekimori_review=([A-Za-z0-9_-]{16,64})/);
    if (m) { return m[1]; }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    var id = btoa(String.fromCharCode.apply(null, b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    document.cookie = "sekimori_review=" + id + "; Path=/; Max-Age=1800; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
    return id;
  }
  var review = reviewId();
  var pointerMoved = false;
  ["pointermove", "mousemove", "touchstart", "wheel"].forEach(function (type) {
    document.addEventListener(type, function () { pointerMoved = true; }, { passive: true, capture: true });
  });
  function signals() {
    var s = { pointer_moved: pointerMoved, user_agent: navigator.userAgent,
              headless: /HeadlessChrome/.test(navigator.userAgent) };
    if (typeof navigator.webdriver === "boolean") { s.webdriver = navigator.webdriver; }
    return s;
  }

  function finish(st) {
    qr.innerHTML = "";
    hint.hidden = true;
    show(text.done + st.username);
    var detail = { assertion: st.assertion, username: st.username, signals: signals(), review_id: review };
    target.dispatchEvent(new CustomEvent("sekimori:login", { detail: detail, bubbles: true }));
    if (callback && typeof window[callback] === "function") { window[callback](detail); }
  }

  function start() {
    fetch(base + "/api/v1/qr-sessions?app=" + encodeURIComponent(app), { method: "POST", mode: "cors" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (s) {
        qr.innerHTML = s.svg;
        qr.setAttribute("data-payload", s.payload);
        show(text.wait);
        poll(s);
      })
      .catch(function () { show(text.retry); setTimeout(start, 3000); });
  }

  function poll(s) {
    fetch(base + "/api/v1/qr-sessions/" + encodeURIComponent(s.id) + "?wait=25", {
      mode: "cors", headers: { "sekimori-poll-secret": s.poll_secret }
    })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (st) {
        if (st.status === "completed") { finish(st); }
        else if (st.status === "expired") { show(text.renew); start(); }
        else { poll(s); }
      })
      .catch(function () { show(text.retry); setTimeout(function () { poll(s); }, 2000); });
  }

  start();
})();
