// Sekimori's hosted login page: what the browser shows about who is typing (docs/risk.md,
// protocol §18.2). Collected while the person fills a form marked data-signals, and written
// as JSON into its hidden "signals" field when the form is sent; the review id goes with it
// in the page's cookie. What cannot be observed is left out (unknown), never reported as
// "human": a password filled in by a password manager is neither typed nor pasted.
(function () {
  "use strict";
  var pointerMoved = false;
  function moved() { pointerMoved = true; }
  ["pointermove", "mousemove", "touchstart", "wheel"].forEach(function (type) {
    document.addEventListener(type, moved, { passive: true, capture: true });
  });

  // Key intervals so even (coefficient of variation under 0.1 over at least six
  // intervals) that a script typed; fewer intervals: unknown.
  function regular(times) {
    if (times.length < 7) { return null; }
    var gaps = [];
    for (var i = 1; i < times.length; i++) { gaps.push(times[i] - times[i - 1]); }
    var mean = gaps.reduce(function (a, b) { return a + b; }, 0) / gaps.length;
    if (mean <= 0) { return true; }
    var variance = gaps.reduce(function (a, g) { return a + (g - mean) * (g - mean); }, 0) / gaps.length;
    return Math.sqrt(variance) / mean < 0.1;
  }

  function watch(form) {
    var field = form.querySelector('input[name="signals"]');
    if (!field) { return; }
    // The secret the form sends (the password), else its first text field (push: username).
    var secret = form.querySelector('input[type="password"]') || form.querySelector('input[type="text"], input:not([type])');
    var pasted = null;
    var keys = [];
    if (secret) {
      secret.addEventListener("paste", function () { pasted = true; });
      secret.addEventListener("keydown", function (e) {
        if (e.key && e.key.length === 1) {
          keys.push(performance.now());
          if (pasted === null) { pasted = false; }
        }
      });
    }
    form.addEventListener("submit", function () {
      var s = { pointer_moved: pointerMoved, user_agent: navigator.userAgent };
      if (typeof navigator.webdriver === "boolean") { s.webdriver = navigator.webdriver; }
      s.headless = /HeadlessChrome/.test(navigator.userAgent);
      if (pasted !== null) { s.pasted = pasted; }
      var r = regular(keys);
      if (r !== null) { s.regular_typing = r; }
      field.value = JSON.stringify(s);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-signals]"), watch);
})();
