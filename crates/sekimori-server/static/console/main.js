// Routing between the pages, and the start.

async function route() {
  say("");
  const at = location.hash;
  const h = decodeURIComponent(at.replace(/^#/, "")) || "/";
  try {
    if (h === "/users") await users();
    else if (h.startsWith("/users/")) await user(h.slice(7));
    else if (h === "/audit") await audit();
    // The query as written (not decoded), so a value with `&` or `+` stays itself.
    else if (h === "/alerts" || h.startsWith("/alerts?")) await alerts(location.hash.replace(/^#\/alerts\??/, ""));
    else if (h === "/events") await eventsPage();
    else if (h === "/detection") await detection();
    else if (h === "/tuning") await tuning();
    else if (h === "/settings") await settings();
    else if (h.startsWith("/alerts/")) await alertPage(h.slice(8));
    else await home();
  } catch (e) {
    page(t("title"));
    say(t("error", { msg: e.message }), "error");
  }
  // A page still loading when the browser moved on (its answers slower than the next
  // page's) has just drawn over the page moved to: draw that one again.
  if (location.hash !== at) await route();
}

async function start() {
  me = await api("GET", "/api/v1/admin/whoami");
  translate();
  $("lang").addEventListener("click", () => {
    lang = lang === "ja" ? "en" : "ja";
    localStorage.setItem("sekimori.console.lang", lang);
    translate();
    route();
  });
  window.addEventListener("hashchange", route);
  await route();
}

start().catch((e) => say(t("error", { msg: e.message }), "error"));
