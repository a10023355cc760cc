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
          document.body.setAttribute("data-assertion", st.assertion || "");
          show("Logged in as " + st.username + ".", "done");
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
