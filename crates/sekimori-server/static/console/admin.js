// Running detection and the tenant: tuning, settings (tenant, apps, groups) and detection.

// Tuning: the tenant's tuning document, edited as JSON, back-tested against the stored
// events (what would appear and disappear, as a diff) before it is saved as a new version.
async function tuning() {
  const [cur, versions] = await Promise.all([api("GET", "/api/v1/admin/tuning"), api("GET", "/api/v1/admin/tuning/versions")]);
  const writable = canWrite("detection");
  const doc = el("textarea", { id: "tuning-doc", rows: "14", spellcheck: "false", "aria-label": t("tuning_doc"), class: "code" });
  doc.value = JSON.stringify(cur.tuning || {}, null, 2);
  if (!writable) doc.setAttribute("readonly", "");
  const result = el("div", { id: "backtest-result" });
  const parsed = () => {
    try {
      return JSON.parse(doc.value);
    } catch (e) {
      throw new Error(t("not_json", { msg: e.message }));
    }
  };
  const hit = (sign, cls) => (h) => el("li", { class: cls }, `${sign} ${h.title} (${h.level}) · event ${h.event_seq} · ${h.rule_id || ""}`);
  const backtest = async () => {
    try {
      const r = await api("POST", "/api/v1/admin/tuning/backtest", { tuning: parsed() });
      result.replaceChildren(
        el("p", { id: "backtest-summary", "data-appear": r.appear.length, "data-disappear": r.disappear.length },
          t("backtest_result", { events: r.events, cur: r.current_alerts, prop: r.proposed_alerts })),
        el("h4", {}, t("disappear")), r.disappear.length ? el("ul", { class: "diff" }, r.disappear.map(hit("−", "gone"))) : el("p", {}, t("none")),
        el("h4", {}, t("appear")), r.appear.length ? el("ul", { class: "diff" }, r.appear.map(hit("+", "new"))) : el("p", {}, t("none")));
      say(t("done"), "ok");
    } catch (e) {
      say(t("error", { msg: e.message }), "error");
    }
  };
  const save = async () => {
    try {
      const r = await api("PUT", "/api/v1/admin/tuning", { base_version: cur.version, tuning: parsed() });
      await tuning();
      say(t("saved", { v: r.version }), "ok");
    } catch (e) {
      say(e.code === "conflict" ? t("stale", { v: e.problem.current_version }) : t("error", { msg: e.message }), "error");
    }
  };
  page(t("tuning"),
    el("p", { id: "tuning-version", "data-version": cur.version }, t("tuning_version", { v: cur.version })),
    el("label", { for: "tuning-doc" }, t("tuning_doc")), doc,
    writable ? el("div", { class: "row" },
      el("button", { type: "button", id: "backtest", onclick: backtest }, t("backtest")),
      el("button", { type: "button", id: "save-tuning", class: "primary", onclick: save }, t("save"))) : "",
    result,
    el("h3", {}, t("versions")),
    table([t("version"), t("author"), t("created")], versions.map((v) => [String(v.version), v.author, v.created_at])));
}

// Settings: the tenant's settings, apps (with their OIDC client registration) and groups;
// each part shown to the roles that may read it, its forms to those that may change it.
async function settings() {
  const [tenant, apps, clients, groups] = await Promise.all([
    api("GET", "/api/v1/admin/tenant"),
    canRead("apps") ? api("GET", "/api/v1/admin/apps") : null,
    canRead("apps") ? api("GET", "/api/v1/admin/oidc/clients") : null,
    canRead("users.read") ? api("GET", "/api/v1/admin/groups") : null,
  ]);
  const act = async (fn, after) => {
    try {
      const r = await fn();
      await settings();
      say(after ? after(r) : t("done"), "ok");
    } catch (e) {
      say(t("error", { msg: e.message }), "error");
    }
  };
  const field = (id, label, input) => el("div", { class: "field" }, el("label", { for: id }, label), input);
  const section = (id, title, ...content) => el("section", { id, "aria-labelledby": id + "-title" }, el("h3", { id: id + "-title" }, title), ...content);
  const parts = [];

  const tw = canWrite("tenant");
  const required = el("input", { id: "t-standby-required", type: "checkbox" });
  required.checked = tenant.standby_required;
  const seconds = el("input", { id: "t-standby-seconds", type: "number", min: "10", max: "300", value: tenant.standby_seconds });
  const policy = el("select", { id: "t-password-policy" }, [1, 2, 3, 4].map((n) => {
    const o = el("option", { value: String(n) }, String(n));
    if (n === tenant.password_policy) o.selected = true;
    return o;
  }));
  const zone = el("input", { id: "t-time-zone", type: "text", value: tenant.time_zone, autocomplete: "off" });
  for (const i of [required, seconds, policy, zone]) if (!tw) i.setAttribute("disabled", "");
  parts.push(section("tenant", t("tenant"),
    el("form", { id: "tenant-form", class: "stack" },
      field("t-standby-required", t("standby_required"), required), field("t-standby-seconds", t("standby_seconds"), seconds),
      field("t-password-policy", t("password_policy"), policy), field("t-time-zone", t("time_zone"), zone),
      tw ? el("button", { type: "submit", class: "primary" }, t("save")) : "")));

  if (apps) {
    const oidc = new Map(clients.map((c) => [c.client_id, c]));
    const aw = canWrite("apps");
    const rows = apps.map((a) => [
      el("span", { class: "app-name" }, a.name), a.kind, a.created_at,
      el("span", { class: "app-revoked" }, a.revoked_at || ""), el("span", { class: "app-origins", "data-app": a.name }, (a.origins || []).join(" ")),
      el("span", { class: "app-redirects", "data-app": a.name }, ((oidc.get(a.id) || {}).redirect_uris || []).join(" ")),
      aw && !a.revoked_at ? el("button", { type: "button", class: "danger revoke-app", "data-app": a.name,
        onclick: () => act(() => api("DELETE", "/api/v1/admin/apps/" + encodeURIComponent(a.id))) }, t("revoke")) : ""]);
    const words = (input) => input.value.split(/\s+/).filter(Boolean);
    const name = el("input", { id: "app-name", type: "text", autocomplete: "off", required: "" });
    const kind = el("select", { id: "app-kind" }, ["relying_party", "verifier"].map((k) => el("option", { value: k }, k)));
    const origins = el("input", { id: "app-origins", type: "text", autocomplete: "off", placeholder: "https://shop.example" });
    const redirects = el("input", { id: "app-redirects", type: "text", autocomplete: "off", placeholder: "https://wiki.example/cb" });
    const logoutUris = el("input", { id: "app-logout-uris", type: "text", autocomplete: "off", placeholder: "https://wiki.example/" });
    const publicClient = el("input", { id: "app-public", type: "checkbox" });
    const live = apps.filter((a) => !a.revoked_at);
    const target = el("select", { id: "origins-app" }, live.map((a) => el("option", { value: a.id }, a.name)));
    const newOrigins = el("input", { id: "origins-value", type: "text", autocomplete: "off" });
    const sec = section("apps", t("apps"), table([t("name"), t("kind"), t("created"), t("revoked"), t("origins"), t("redirect_uris"), ""], rows));
    if (aw) {
      // A new app: with web origins, and with OIDC redirect URIs it is also an OIDC client.
      const add = el("form", { id: "app-form", class: "row" }, field("app-name", t("name"), name), field("app-kind", t("kind"), kind),
        field("app-origins", t("origins"), origins), field("app-redirects", t("redirect_uris"), redirects),
        field("app-logout-uris", t("logout_uris"), logoutUris), field("app-public", t("public_client"), publicClient),
        el("button", { type: "submit" }, t("new_app")));
      add.addEventListener("submit", (e) => {
        e.preventDefault();
        const body = { name: name.value.trim(), kind: kind.value };
        if (words(origins).length) body.origins = words(origins);
        if (words(redirects).length) {
          body.oidc = { redirect_uris: words(redirects), post_logout_redirect_uris: words(logoutUris), public: publicClient.checked };
        }
        act(() => api("POST", "/api/v1/admin/apps", body), (r) => {
          $("main").append(el("p", { id: "new-app-key", class: "secret" }, t("app_key", { key: r.key || r.client_secret })));
          return t("done");
        });
      });
      // An app's web origins, replaced (empty clears them).
      const set = el("form", { id: "origins-form", class: "row" }, field("origins-app", t("app"), target),
        field("origins-value", t("origins"), newOrigins), el("button", { type: "submit" }, t("set_origins")));
      set.addEventListener("submit", (e) => {
        e.preventDefault();
        act(() => api("PATCH", "/api/v1/admin/apps/" + encodeURIComponent(target.value), { origins: words(newOrigins) }));
      });
      // An OIDC client's redirect URIs (and post-logout ones, kept when left empty), replaced.
      const liveClients = live.filter((a) => oidc.has(a.id));
      const client = el("select", { id: "redirects-app" }, liveClients.map((a) => el("option", { value: a.id }, a.name)));
      const newRedirects = el("input", { id: "redirects-value", type: "text", autocomplete: "off" });
      const newLogout = el("input", { id: "redirects-logout", type: "text", autocomplete: "off" });
      const setRedirects = el("form", { id: "redirects-form", class: "row" }, field("redirects-app", t("app"), client),
        field("redirects-value", t("redirect_uris"), newRedirects), field("redirects-logout", t("logout_uris"), newLogout),
        el("button", { type: "submit" }, t("set_redirects")));
      setRedirects.addEventListener("submit", (e) => {
        e.preventDefault();
        const body = {};
        if (words(newRedirects).length) body.redirect_uris = words(newRedirects);
        if (words(newLogout).length) body.post_logout_redirect_uris = words(newLogout);
        act(() => api("PATCH", "/api/v1/admin/oidc/clients/" + encodeURIComponent(client.value), body));
      });
      sec.append(add);
      if (live.length) sec.append(set);
      if (liveClients.length) sec.append(setRedirects);
    }
    parts.push(sec);
  }

  if (groups) {
    const gw = canWrite("groups");
    const removable = (g, m) => gw ? el("button", { type: "button", class: "quiet remove-member", "data-group": g.name, "data-member": m,
      "aria-label": t("remove_member", { user: m, group: g.name }),
      onclick: () => act(() => api("DELETE", `/api/v1/admin/groups/${encodeURIComponent(g.name)}/members/${encodeURIComponent(m)}`)) }, "×") : "";
    const rows = groups.map((g) => [el("span", { class: "group-name" }, g.name),
      el("span", {}, el("span", { class: "group-members", "data-group": g.name }, (g.members || []).join(", ")),
        ...(g.members || []).map((m) => removable(g, m))),
      el("span", { class: "group-hours", "data-group": g.name }, g.login_hours ? hoursText(g.login_hours) : "")]);
    const gname = el("input", { id: "group-name", type: "text", autocomplete: "off", required: "" });
    const which = el("select", { id: "member-group" }, groups.map((g) => el("option", { value: g.name }, g.name)));
    const who = el("input", { id: "member-name", type: "text", autocomplete: "off", required: "" });
    const gs = section("groups", t("groups"), table([t("name"), t("members"), t("login_hours")], rows));
    if (gw) {
      const create = el("form", { id: "group-form", class: "row" }, field("group-name", t("name"), gname), el("button", { type: "submit" }, t("new_group")));
      create.addEventListener("submit", (e) => {
        e.preventDefault();
        act(() => api("POST", "/api/v1/admin/groups", { name: gname.value.trim() }));
      });
      const member = el("form", { id: "member-form", class: "row" }, field("member-group", t("group"), which), field("member-name", t("username"), who),
        el("button", { type: "submit" }, t("add_member")));
      member.addEventListener("submit", (e) => {
        e.preventDefault();
        act(() => api("PUT", `/api/v1/admin/groups/${encodeURIComponent(which.value)}/members/${encodeURIComponent(who.value.trim())}`));
      });
      // A group's login hours as text: `mon,tue,wed 09:00-18:00; sat 10:00-14:00`; empty
      // lifts them (any time).
      const hoursGroup = el("select", { id: "hours-group" }, groups.map((g) => el("option", { value: g.name }, g.name)));
      const hours = el("input", { id: "hours-value", type: "text", autocomplete: "off", placeholder: "mon,tue,wed,thu,fri 09:00-18:00" });
      const setHours = el("form", { id: "hours-form", class: "row" }, field("hours-group", t("group"), hoursGroup),
        field("hours-value", t("login_hours"), hours), el("button", { type: "submit" }, t("set_hours")));
      setHours.addEventListener("submit", (e) => {
        e.preventDefault();
        act(async () => {
          const windows = parseHours(hours.value);
          return api("PATCH", "/api/v1/admin/groups/" + encodeURIComponent(hoursGroup.value), { login_hours: windows });
        });
      });
      gs.append(create);
      if (groups.length) gs.append(member, setHours);
    }
    parts.push(gs);
  }
  page(t("settings"), ...parts);
  if (tw) {
    $("tenant-form").addEventListener("submit", (e) => {
      e.preventDefault();
      act(() => api("PATCH", "/api/v1/admin/tenant", { standby_required: required.checked, standby_seconds: Number(seconds.value),
        password_policy: Number(policy.value), time_zone: zone.value.trim() }));
    });
  }
}
// Detection: where events come from and which rules run (and which did not load, why).
async function detection() {
  const [sources, listeners, rules] = await Promise.all([
    api("GET", "/api/v1/admin/ingest-sources"),
    api("GET", "/api/v1/admin/listeners"),
    api("GET", "/api/v1/admin/rules"),
  ]);
  const section = (id, title, ...content) => el("section", { id, "aria-labelledby": id + "-title" }, el("h3", { id: id + "-title" }, title), ...content);
  page(t("detection"),
    section("detection-sources", t("sources"), table([t("name"), t("created"), t("labels")], sources.map((x) =>
      [el("span", { class: "source-name" }, x.name), x.created_at || "", Object.entries(x.labels || {}).map(([k, v]) => k + "=" + v).join(", ")]))),
    section("detection-listeners", t("listeners"), table([t("listener"), t("received"), t("dropped"), t("malformed")], listeners.map((l) =>
      [l.url, String(l.received), String(l.dropped), String(l.malformed)]))),
    section("detection-rules", t("rules"),
      el("p", { id: "rules-loaded" }, t("rules_loaded", { d: rules.detections, c: rules.correlations, f: rules.filters, files: rules.files, n: rules.failures.length })),
      el("h4", {}, t("not_loaded")),
      table([t("file"), t("rule"), t("reason")], rules.failures.map((f) => [f.path, f.rule || "", f.reason]))));
}
