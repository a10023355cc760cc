// Alerts: the queue, an alert's page with its triage, and each entity's timeline.

// An alert's title as a link to its page (class `cls`), or marked when it is `current`.
function alertLink(a, current, cls) {
  return a.id === current ? el("strong", { class: "this-alert" }, `${a.title} (${t("this_alert")})`)
    : el("a", { href: "#/alerts/" + encodeURIComponent(a.id), class: cls }, a.title || a.id);
}

// Alerts as a table: time, level, the rule (a link to the alert), state and assignee.
function alertTable(list) {
  return table([t("time"), t("level"), t("rule"), t("state"), t("assignee")], list.map((a) =>
    [a.created_at || "", a.level || "", alertLink(a, null, "alert-link"),
      el("span", { class: "alert-row-state", "data-state": a.state }, t(a.state)), el("span", { class: "alert-row-assignee" }, a.assignee || "")]));
}

const ENTITY_KINDS = ["user", "ip", "host"];
// What the server puts in place of personal data for the auditor (no timeline for it).
const MASKED = "[masked]";
// The alert queue, filtered by state (`#/alerts?state=firing`); the state's value stays
// the API's (`data-state`), its label is translated.
async function alerts(query) {
  const params = new URLSearchParams(query || "");
  const state = params.get("state") || "";
  const kind = ENTITY_KINDS.find((k) => params.get(k));
  const ask = new URLSearchParams({ limit: "100" });
  if (state) ask.set("state", state);
  if (kind) ask.set(kind, params.get(kind));
  const list = await api("GET", "/api/v1/admin/alerts?" + ask);
  const pick = el("select", { id: "alert-state-filter", "aria-label": t("state") },
    ["", "firing", "acknowledged", "resolved"].map((s) => {
      const o = el("option", { value: s }, s ? t(s) : t("all_states"));
      if (s === state) o.selected = true;
      return o;
    }));
  pick.addEventListener("change", () => {
    const next = new URLSearchParams();
    if (pick.value) next.set("state", pick.value);
    if (kind) next.set(kind, params.get(kind));
    location.hash = "#/alerts" + (String(next) ? "?" + next : "");
  });
  const about = kind ? el("p", { id: "alert-about", "data-kind": kind }, t("about_filter", { kind: t("kind_" + kind), value: params.get(kind) }), " ",
    el("a", { href: "#/alerts" + (state ? "?state=" + state : "") }, t("clear"))) : "";
  page(t("alerts"), el("div", { class: "row" }, el("label", { for: "alert-state-filter" }, t("filter")), pick), about, alertTable(list));
}

// An entity's timeline beside an alert: the alerts about it, the stored events about it
// (a day before to an hour after) and, for a user, their audit events (when the role reads
// the audit log), newest first, this alert marked.
async function timeline(alert, kind, value) {
  // The stored events about it from a day before the alert to an hour after.
  const at = Date.parse(alert.created_at);
  const around = new URLSearchParams({ since: new Date(at - 24 * 3600 * 1000).toISOString(),
    until: new Date(at + 3600 * 1000).toISOString(), limit: "20", [kind]: value });
  const [about, events, stored] = await Promise.all([
    api("GET", `/api/v1/admin/alerts?${kind}=${encodeURIComponent(value)}&limit=20`),
    kind === "user" && canRead("audit") ? latestAuditEvents(value) : [],
    api("GET", "/api/v1/admin/ingested-events?" + around).then((r) => r.events),
  ]);
  const items = about.map((a) => ({ at: a.created_at, what: alertLink(a, alert.id, "timeline-alert"), kind: t("alerts") }))
    .concat(events.map((e) => ({ at: e["@timestamp"], what: el("span", { class: "timeline-event" }, `${e.event.action} (${e.event.outcome})`), kind: t("audit") })))
    .concat(stored.map((e) => ({ at: e.received_at, kind: t("nav_events"), what: el("span", { class: "timeline-stored", title: JSON.stringify(e.event) },
      flat(e.event, "", [], 6).map(([k, v]) => `${k}=${v}`).join(" · ")) })));
  items.sort((x, y) => Date.parse(y.at) - Date.parse(x.at));
  const title = el("h3", {}, t("timeline", { kind: t("kind_" + kind), value }));
  const link = kind === "user" ? el("a", { href: "#/users/" + encodeURIComponent(value) }, value) : value;
  return el("section", { class: "timeline", "data-kind": kind }, title,
    el("p", {}, link, " · ", el("a", { href: `#/alerts?${kind}=${encodeURIComponent(value)}`, class: "more-like" }, t("about_filter", { kind: t("kind_" + kind), value }))),
    table([t("time"), t("kind"), t("event")], items.slice(0, 30).map((i) => [i.at, i.kind, i.what])));
}

// One alert: what matched, the event's excerpt, its triage and comments.
async function alertPage(id) {
  const a = await api("GET", "/api/v1/admin/alerts/" + encodeURIComponent(id));
  // The rule's file as loaded (none for a rule no longer loaded, or a baseline signal).
  const rule = a.rule_id ? await api("GET", "/api/v1/admin/rules/" + encodeURIComponent(a.rule_id)).catch(() => null) : null;
  const act = async (fn) => {
    try {
      await fn();
      await alertPage(id);
      say(t("done"), "ok");
    } catch (e) {
      say(t("error", { msg: e.message }), "error");
    }
  };
  const actions = el("div", { class: "row", id: "alert-actions" });
  if (canWrite("detection")) {
    if (a.state === "firing") {
      actions.append(el("button", { type: "button", id: "ack", class: "primary",
        onclick: () => act(() => api("POST", `/api/v1/admin/alerts/${encodeURIComponent(id)}/ack`)) }, t("acknowledge")));
    }
    if (a.state !== "resolved") {
      actions.append(el("button", { type: "button", id: "resolve",
        onclick: () => act(() => api("POST", `/api/v1/admin/alerts/${encodeURIComponent(id)}/resolve`, {})) }, t("resolve")));
    }
    const assignee = el("input", { id: "assignee-text", type: "text", value: a.assignee || "", "aria-label": t("assignee"), autocomplete: "off" });
    const assign = (name) => act(() => api("PUT", `/api/v1/admin/alerts/${encodeURIComponent(id)}/assignee`, { assignee: name }));
    actions.append(assignee,
      el("button", { type: "button", id: "assign", onclick: () => assign(assignee.value.trim() || null) }, t("assign")),
      el("button", { type: "button", id: "assign-me", onclick: () => assign(me.actor) }, t("assign_me")));
    if (a.assignee) actions.append(el("button", { type: "button", id: "unassign", onclick: () => assign(null) }, t("unassign")));
    const text = el("textarea", { id: "comment-text", rows: "2", "aria-label": t("comment") });
    actions.append(text, el("button", { type: "button", id: "comment",
      onclick: () => act(() => api("POST", `/api/v1/admin/alerts/${encodeURIComponent(id)}/comments`, { body: text.value })) }, t("comment")));
  }
  page(a.title,
    el("dl", {}, el("dt", {}, t("level")), el("dd", {}, a.level), el("dt", {}, t("state")), el("dd", { id: "alert-state", "data-state": a.state }, t(a.state)),
      el("dt", {}, t("assignee")), el("dd", { id: "alert-assignee" }, a.assignee || "—"),
      el("dt", {}, t("time")), el("dd", {}, a.created_at), el("dt", {}, t("matched")), el("dd", {}, (a.matched || []).join(", "))),
    actions,
    el("h3", {}, t("event")), el("pre", { class: "excerpt" }, JSON.stringify(a.excerpt, null, 2)),
    rule ? el("details", { id: "rule-source" }, el("summary", {}, t("rule_file", { path: rule.path })),
      el("pre", { class: "excerpt", id: "rule-yaml" }, rule.yaml + (rule.truncated ? "\n…" : ""))) : "",
    el("h3", {}, t("comments")),
    table([t("time"), t("who"), t("comment")], (a.comments || []).map((c) => [c.created_at, el("span", { class: "comment-author" }, c.author), c.body])),
    ...await Promise.all(ENTITY_KINDS.filter((k) => typeof (a.entities || {})[k] === "string" && a.entities[k] !== MASKED).map((k) => timeline(a, k, a.entities[k]))));
}
