// Users: the list, a user's page with its actions, and login hours as the console writes them.

async function users() {
  const list = await api("GET", "/api/v1/admin/users");
  const search = el("input", { type: "search", id: "search", "aria-label": t("search"), placeholder: t("search") });
  const holder = el("div", {});
  const render = () => {
    const q = search.value.toLowerCase();
    const rows = list
      .filter((u) => !q || u.username.toLowerCase().includes(q) || String(u.email || "").toLowerCase().includes(q))
      .map((u) => [el("a", { href: "#/users/" + encodeURIComponent(u.username) }, u.username), u.email || "",
        (u.groups || []).join(", "), u.disabled ? t("disabled") : t("active")]);
    holder.replaceChildren(table([t("username"), t("email"), t("groups"), t("state")], rows));
  };
  search.addEventListener("input", render);
  render();
  page(t("users"), el("div", { class: "row" }, search), holder);
}

async function user(name) {
  const u = await api("GET", "/api/v1/admin/users/" + encodeURIComponent(name));
  const base = `/api/v1/admin/users/${encodeURIComponent(name)}`;
  const [devices, envs, factors, passkeys, overrides, sessions, recent, about] = await Promise.all([
    api("GET", `${base}/devices`), api("GET", `${base}/environments`), api("GET", `${base}/factors`),
    api("GET", `${base}/passkeys`), api("GET", "/api/v1/admin/overrides"), api("GET", `${base}/sessions`),
    canRead("audit") ? latestAuditEvents(name) : null,
    canRead("detection.read") ? api("GET", `/api/v1/admin/alerts?user=${encodeURIComponent(name)}&limit=20`) : null,
  ]);
  const mine = overrides.filter((o) => o.username === u.username);
  const actions = el("div", { class: "row", id: "actions" });
  const act = async (fn) => {
    try {
      const msg = await fn();
      say(msg || t("done"), "ok");
    } catch (e) {
      say(t("error", { msg: e.message }), "error");
    }
  };
  if (canWrite("users.write")) {
    actions.append(el("button", { type: "button", id: "toggle-disabled", class: u.disabled ? "primary" : "danger",
      onclick: () => act(async () => { await api("PATCH", "/api/v1/admin/users/" + encodeURIComponent(name), { disabled: !u.disabled }); await user(name); }) },
    u.disabled ? t("enable") : t("disable")));
  }
  const qr = el("div", { class: "qr", id: "enrol-qr" });
  if (canWrite("credentials")) {
    actions.append(el("button", { type: "button", id: "end-sessions",
      onclick: () => act(async () => { const r = await api("DELETE", `/api/v1/admin/users/${encodeURIComponent(name)}/sessions`); return t("ended", { n: r.revoked }); }) },
    t("end_sessions")));
    actions.append(el("button", { type: "button", id: "enrol",
      onclick: () => act(async () => {
        const resp = await api("POST", `/api/v1/admin/users/${encodeURIComponent(name)}/enrollments?format=png`, null, true);
        const url = URL.createObjectURL(await resp.blob());
        qr.replaceChildren(el("img", { src: url, alt: resp.headers.get("sekimori-enrollment-link") || "" }), el("p", {}, t("enrol_hint")));
      }) }, t("enrol")));
  }
  // Resetting a factor: each removed on its own (the user enrols it again), recovery codes
  // replaced (the new ones shown once).
  const cw = canWrite("credentials");
  const remove = (label, path, cls) => cw ? el("button", { type: "button", class: "danger " + cls,
    onclick: () => act(async () => { await api("DELETE", path); await user(name); }) }, label) : "";
  const codes = el("div", { id: "recovery-codes" });
  const factorRows = [
    [t("password"), el("span", { id: "f-password" }, factors.password ? t("yes") : t("no")),
      factors.password ? remove(t("remove"), `${base}/password`, "remove-password") : ""],
    ...(factors.totp || []).map((c) => [t("totp"), c.confirmed_at ? c.created_at : t("unconfirmed"),
      remove(t("remove"), `${base}/totp/${encodeURIComponent(c.id)}`, "remove-totp")]),
    ...passkeys.map((p) => [t("passkeys"), p.name || p.id, remove(t("remove"), `${base}/passkeys/${encodeURIComponent(p.id)}`, "remove-passkey")]),
    [t("recovery_left"), el("span", { id: "f-recovery" }, factors.recovery_codes_left), cw ? el("button", { type: "button", id: "new-recovery-codes",
      onclick: () => act(async () => {
        const r = await api("POST", `${base}/recovery-codes`);
        codes.replaceChildren(el("p", { class: "secret", id: "recovery-codes-shown" }, r.codes.join(" ")), el("p", {}, t("codes_once")));
      }) }, t("new_codes")) : ""],
  ];
  // Login hours: the user's own (empty: none of their own, their groups' apply).
  const hours = el("input", { id: "user-hours", type: "text", autocomplete: "off", placeholder: "mon,tue,wed,thu,fri 09:00-18:00" });
  hours.value = u.login_hours ? hoursText(u.login_hours) : "";
  const hoursForm = el("form", { id: "user-hours-form", class: "row" }, el("label", { for: "user-hours" }, t("login_hours")), hours,
    canWrite("users.write") ? el("button", { type: "submit" }, t("set_hours")) : "");
  if (!canWrite("users.write")) hours.setAttribute("disabled", "");
  hoursForm.addEventListener("submit", (e) => {
    e.preventDefault();
    act(async () => {
      await api("PATCH", base, { login_hours: parseHours(hours.value) });
      await user(name);
    });
  });
  page(u.username,
    el("dl", {}, el("dt", {}, t("email")), el("dd", {}, u.email || ""), el("dt", {}, t("groups")), el("dd", {}, (u.groups || []).join(", ")),
      el("dt", {}, t("state")), el("dd", { id: "user-state" }, u.disabled ? t("disabled") : t("active")),
      el("dt", {}, t("login_hours")), el("dd", { id: "user-hours-shown" }, u.login_hours ? hoursText(u.login_hours) : t("hours_groups"))),
    actions, qr, hoursForm,
    el("h3", {}, t("factors")),
    el("div", { id: "user-factors", "data-passkeys": passkeys.length, "data-totp": (factors.totp || []).length },
      table([t("kind"), "", ""], factorRows)), codes,
    el("h3", {}, t("sessions")), table([t("created"), t("last_seen"), t("expires"), t("level"), t("methods")],
      sessions.map((x) => [x.created_at, x.last_seen_at, x.expires_at, x.level, el("span", { class: "session-amr" }, x.amr.join(", "))])),
    el("h3", {}, t("devices")), table([t("name"), t("created"), ""], devices.map((d) =>
      [d.name, d.created_at, remove(t("remove"), `${base}/devices/${encodeURIComponent(d.id)}`, "remove-device")])),
    el("h3", {}, t("environments")), table([t("environments"), t("last_seen")],
      envs.map((e) => [[e.browser, e.os, e.network, e.country].filter(Boolean).join(" · "), e.last_seen])),
    el("h3", {}, t("overrides")), table([t("action"), t("level"), t("reason"), t("expires"), ""], mine.map((o) => [
      el("span", { class: "override-action" }, o.action), o.level ?? "", o.reason, o.expires_at,
      canWrite("credentials") ? el("button", { type: "button", class: "lift-override",
        onclick: () => act(async () => { await api("POST", `/api/v1/admin/overrides/${encodeURIComponent(o.id)}/lift`, { reason: t("lift_reason") }); await user(name); }) },
      t("lift")) : ""])),
    ...(about ? [el("h3", {}, t("alerts_about")), el("div", { id: "user-alerts" }, alertTable(about))] : []),
    ...(recent ? [el("h3", {}, t("recent_events")), table([t("time"), t("action"), t("outcome")],
      recent.map((e) => [e["@timestamp"], el("span", { class: "recent-action" }, e.event.action), e.event.outcome]))] : []));
}
// Login hours (docs/protocol.md 9.3) as the console writes them: windows separated by `;`,
// each `days from-until` (`mon,tue 09:00-18:00`); empty text is null (no hours of its own).
function parseHours(text) {
  if (!text.trim()) return null;
  return text.split(";").map((w) => w.trim()).filter(Boolean).map((w) => {
    const m = /^([a-z,]+)\s+(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})$/.exec(w);
    if (!m) throw new Error(t("bad_hours", { window: w }));
    return { days: m[1].split(",").filter(Boolean), from: m[2], until: m[3] };
  });
}

function hoursText(windows) {
  return windows.map((w) => `${w.days.join(",")} ${w.from}-${w.until}`).join("; ");
}
