// Sekimori hosted QR login: fetch a single-use code, show it, long-poll until the
// authenticator redeems it; renew the code when it expires.
(function () {
  "use strict";
  var qr = document.getElementById("qr");
  var status = document.getElementById("status");
  var hint = document.getElementById("hint");

  function show(text, cls) {
    status.textContent = text;
    status.className = cls || "";
  }

  // Opened as the sign-in page of this server (`/login/qr?return_to=…`), the completed
  // login becomes a browser session here; otherwise the assertion is left for the page
  // that embeds this flow.
  var returnTo = new URLSearchParams(window.location.search).get("return_to");

  function signIn(assertion) {
    fetch("/api/v1/session/assertion", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ assertion: assertion, return_to: returnTo })
    })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (s) { window.location.assign(s.return_to || "/"); })
      .catch(function (e) { show("Could not start the session (" + e.message + ").", "error"); });
  }

  function start() {
    fetch("/api/v1/qr-sessions", { method: "POST" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (s) {
        qr.innerHTML = s.svg;
        qr.setAttribute("data-payload", s.payload);
        show("Waiting for your authenticator…");
        poll(s);
      })
      .catch(function (e) { show("Could not get a code (" + e.message + "); retrying…", "error"); setTimeout(start, 3000); });
  }

  function poll(s) {
    fetch("/api/v1/qr-sessions/" + encodeURIComponent(s.id) + "?wait=25", {
      headers: { "sekimori-poll-secret": s.poll_secret }
    })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (st) {
        if (st.status === "completed") {
          qr.innerHTML = "";
          hint.hidden = true;
          show("Logged in as " + st.username + ".", "done");
          if (returnTo !== null) {
            signIn(st.assertion || "");
          } else {
            document.body.setAttribute("data-assertion", st.assertion || "");
          }
        } else if (st.status === "expired") {
          show("The code expired; here is a new one.");
          start();
        } else {
          poll(s);
        }
      })
      .catch(function (e) { show("Connection lost (" + e.message + "); retrying…", "error"); setTimeout(function () { poll(s); }, 2000); });
  }

  start();
})();
