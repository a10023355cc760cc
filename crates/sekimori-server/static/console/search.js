// Finding things: the audit log and the stored (ingested) events, with "more like this"
// and export.

// A button that downloads what `path` answers in NDJSON, as NDJSON or as CSV (`header`, then
// each line's `columns`), named `name.<format>`.
function exportButton(id, format, name, path, header, columns) {
  return el("button", { type: "button", id, onclick: async () => {
    const text = await (await api("GET", path, null, true)).text();
    let out = text;
    if (format === "csv") {
      const q = (v) => '"' + String(v ?? "").replace(/"/g, '""') + '"';
      out = header + "\n" + text.split("\n").filter(Boolean).map((l) => columns(JSON.parse(l)).map(q).join(",")).join("\n") + "\n";
    }
    const a = el("a", { href: URL.createObjectURL(new Blob([out], { type: format === "csv" ? "text/csv" : "application/x-ndjson" })),
      download: name + "." + format });
    document.body.append(a);
    a.click();
    a.remove();
  } }, t("export_" + format));
}

// A user's 20 latest audit events, newest first.
async function latestAuditEvents(user) {
  return (await api("GET", `/api/v1/events?user=${encodeURIComponent(user)}&limit=20&order=desc&format=json`)).events;
}

// The audit log: search by action, user and time range, page through, export, and
// "more like this" from any action or user shown; and verify the chain.
const auditQuery = { action: "", user: "", since: "", until: "" };

function auditParams(extra) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(auditQuery)) {
    if (v) p.set(k, k === "since" || k === "until" ? new Date(v).toISOString() : v);
  }
  for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
  return p.toString();
}

async function audit(after) {
  const r = await api("GET", "/api/v1/events?" + auditParams({ limit: 50, format: "json", after: after || 0 }));
  const events = r.events;
  const verify = el("button", { type: "button", id: "verify", class: "primary", onclick: async () => {
    try {
      const v = await api("GET", "/api/v1/admin/audit/verify");
      const ok = !v.first_broken;
      say(ok ? t("verified", { n: v.rows_checked }) : t("broken", { seq: v.first_broken.seq }), ok ? "ok" : "error");
    } catch (e) {
      say(t("error", { msg: e.message }), "error");
    }
  } }, t("verify"));
  const field = (name, type) => {
    const input = el("input", { id: "q-" + name, name, type: type || "text", "aria-label": t("q_" + name), placeholder: t("q_" + name) });
    input.value = auditQuery[name];
    return input;
  };
  const form = el("form", { id: "search-form", class: "row" },
    field("action"), field("user"), field("since", "datetime-local"), field("until", "datetime-local"),
    el("button", { type: "submit" }, t("search_events")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    for (const k of Object.keys(auditQuery)) auditQuery[k] = form.elements[k].value;
    audit();
  });
  const like = (k, v) => el("a", { href: "#/audit", class: "like-" + k, onclick: (ev) => {
    ev.preventDefault();
    auditQuery[k] = v;
    audit();
  } }, v);
  const rows = events.map((e) => [e["@timestamp"] || "", like("action", (e.event || {}).action || ""), (e.event || {}).outcome || "",
    (e.user || {}).name ? like("user", e.user.name) : "", ((e.sekimori || {}).actor) || ""]);
  const exportAs = (format) => exportButton("export-" + format, format, "sekimori-audit",
    "/api/v1/events?" + auditParams({ limit: 10000, format: "ndjson" }), "time,action,outcome,user,actor",
    (e) => [e["@timestamp"], (e.event || {}).action, (e.event || {}).outcome, (e.user || {}).name, (e.sekimori || {}).actor]);
  const last = events.length ? events[events.length - 1].sekimori.audit.seq : null;
  const more = events.length === 50 ? el("button", { type: "button", id: "next-page", onclick: () => audit(last) }, t("next_page")) : "";
  page(t("audit"), el("div", { class: "row" }, verify, exportAs("ndjson"), exportAs("csv")), form,
    el("p", { id: "result-count", "data-query": auditParams() }, t("results", { n: events.length })),
    table([t("time"), t("action"), t("outcome"), t("who"), t("actor")], rows), more);
}
// Stored (ingested) events: by time range, source, the user, address or host they are
// about and one field's value, newest first, a page at a time; any field shown is a link to
// "more like this" (that field's value); export as NDJSON or CSV.
const eventQuery = { since: "", until: "", source: "", kind: "user", entity: "", field: "", value: "" };

function eventParams(extra) {
  const now = new Date(me.now).getTime() + 1000;
  const p = new URLSearchParams({
    since: new Date(eventQuery.since ? Date.parse(eventQuery.since) : now - 24 * 3600 * 1000).toISOString(),
    until: new Date(eventQuery.until ? Date.parse(eventQuery.until) : now).toISOString(),
  });
  if (eventQuery.source) p.set("source", eventQuery.source);
  if (eventQuery.entity) p.set(eventQuery.kind, eventQuery.entity);
  if (eventQuery.field) { p.set("field", eventQuery.field); p.set("value", eventQuery.value); }
  for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
  return p;
}

// An event's scalar members by dotted path (at most `max`).
function flat(v, prefix, out, max) {
  for (const [k, x] of Object.entries(v || {})) {
    if (out.length >= max) break;
    const path = prefix ? prefix + "." + k : k;
    if (x !== null && typeof x === "object" && !Array.isArray(x)) flat(x, path, out, max);
    else if (x !== null && typeof x !== "object") out.push([path, String(x)]);
  }
  return out;
}

async function eventsPage(before) {
  const [sources, r] = await Promise.all([api("GET", "/api/v1/admin/ingest-sources"),
    api("GET", "/api/v1/admin/ingested-events?" + eventParams(Object.assign({ limit: 50 }, before ? { before } : {})))]);
  const names = new Map(sources.map((x) => [x.id, x.name]));
  const input = (name, type, value) => {
    const i = el("input", { id: "e-" + name, name, type: type || "text", "aria-label": t("q_" + name), placeholder: t("q_" + name), autocomplete: "off" });
    i.value = value;
    return i;
  };
  const source = el("select", { id: "e-source", name: "source", "aria-label": t("q_source") },
    el("option", { value: "" }, t("all_sources")), sources.map((x) => el("option", { value: x.id }, x.name)));
  source.value = eventQuery.source;
  const kind = el("select", { id: "e-kind", name: "kind", "aria-label": t("q_entity") }, ENTITY_KINDS.map((k) => el("option", { value: k }, t("kind_" + k))));
  kind.value = eventQuery.kind;
  const form = el("form", { id: "event-form", class: "row" }, input("since", "datetime-local", eventQuery.since),
    input("until", "datetime-local", eventQuery.until), source, kind, input("entity", "text", eventQuery.entity),
    input("field", "text", eventQuery.field), input("value", "text", eventQuery.value), el("button", { type: "submit" }, t("search_events")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    for (const k of Object.keys(eventQuery)) eventQuery[k] = form.elements[k].value.trim();
    eventsPage();
  });
  const like = (path, value) => el("a", { href: "#/events", class: "like-field", "data-field": path, title: t("more_like"), onclick: (ev) => {
    ev.preventDefault();
    eventQuery.field = path;
    eventQuery.value = value;
    eventsPage();
  } }, `${path}=${value}`);
  const rows = r.events.map((e) => [e.received_at, names.get(e.source_id) || e.source_id,
    el("span", { class: "event-fields" }, flat(e.event, "", [], 12).flatMap(([k, v], i) => [i ? " · " : "", like(k, v)]))]);
  const exportAs = (format) => exportButton("events-export-" + format, format, "sekimori-events",
    "/api/v1/admin/ingested-events?" + eventParams({ limit: 1000, format: "ndjson" }), "seq,received_at,source,event",
    (e) => [e.seq, e.received_at, names.get(e.source_id) || e.source_id, JSON.stringify(e.event)]);
  const more = r.next ? el("button", { type: "button", id: "events-next", onclick: () => eventsPage(r.next) }, t("next_page")) : "";
  page(t("events_title"), el("div", { class: "row" }, exportAs("ndjson"), exportAs("csv")), form,
    el("p", { id: "event-count", "data-query": String(eventParams()) }, t("found", { n: r.events.length, scanned: r.scanned }),
      r.indexed_since ? el("span", { id: "event-indexed" }, " · ", r.indexed_since.startsWith("1970-")
        ? t("indexed_all", { field: eventQuery.field }) : t("indexed_from", { field: eventQuery.field, since: r.indexed_since })) : ""),
    table([t("time"), t("q_source"), t("event")], rows), more);
}
