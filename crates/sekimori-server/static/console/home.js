// The home page: counts, the audit chain's state and the dashboards from the roll-ups.

async function home() {
  const cards = [];
  if (canRead("users.read")) {
    const users = await api("GET", "/api/v1/admin/users");
    cards.push(el("div", { class: "card" }, el("div", {}, t("users_count")), el("div", { class: "n", id: "count-users" }, users.length)));
  }
  if (canRead("detection.read")) {
    const list = await api("GET", "/api/v1/admin/alerts?state=firing&limit=500");
    cards.push(el("div", { class: "card" }, el("div", {}, t("open_alerts")), el("div", { class: "n", id: "count-alerts" }, list.length)));
  }
  if (canRead("audit")) {
    // The audit chain's state: the last walk recorded in the log (scheduled or asked for;
    // a walk reads every row), and a button to walk it now.
    const result = el("div", { class: "n", id: "home-chain" }, "—");
    const when = el("div", { id: "home-chain-at", class: "muted" });
    const show = (broken, n, at, fresh) => {
      result.textContent = broken ? t("chain_broken_short", { seq: broken }) : t("chain_ok_short", { n });
      result.dataset.state = broken ? "broken" : "ok";
      result.dataset.fresh = fresh ? "yes" : "no";
      when.textContent = t("chain_checked_at", { at });
    };
    const last = (await api("GET", "/api/v1/events?action=audit.chain.verified&order=desc&limit=1&format=json")).events[0];
    if (last) {
      const chain = (last.sekimori || {}).audit_chain || {};
      show(chain.first_broken, chain.rows_checked, last["@timestamp"], false);
    } else {
      when.textContent = t("chain_never");
    }
    cards.push(el("div", { class: "card" }, el("div", {}, t("audit_chain")), result, when,
      el("button", { type: "button", id: "home-verify", class: "quiet", onclick: async () => {
        result.textContent = "…";
        try {
          const v = await api("GET", "/api/v1/admin/audit/verify");
          show(v.first_broken && v.first_broken.seq, v.rows_checked, new Date().toISOString(), true);
        } catch (e) {
          result.textContent = t("error", { msg: e.message });
        }
      } }, t("verify"))));
  }
  const heading = me.role === "admin" ? "home_admin" : me.role === "auditor" ? "home_auditor" : "home_operator";
  page(t(heading), el("div", { class: "cards" }, cards));
  if (canRead("audit") || canRead("detection.read")) $("main").append(await dashboard());
}

let rangeHours = 24;

// The dashboards over a range, from the server's roll-ups (the same numbers the API
// gives): logins and risk verdicts (with `audit`), alerts and ingest (with `detection.read`).
async function dashboard() {
  const holder = el("section", { id: "dashboard", "aria-labelledby": "dash-title" });
  const select = el("select", { id: "range", "aria-label": t("range") },
    [[24, "last_24h"], [168, "last_7d"], [720, "last_30d"]].map(([h, k]) =>
      el("option", { value: h, selected: h === rangeHours ? "selected" : null }, t(k))));
  select.addEventListener("change", async () => {
    rangeHours = Number(select.value);
    holder.replaceWith(await dashboard());
  });
  const until = new Date(me.now).getTime() + 1000;
  const since = until - rangeHours * 3600 * 1000;
  const range = `since=${new Date(since).toISOString()}&until=${new Date(until).toISOString()}`;
  holder.append(el("h3", { id: "dash-title" }, t("range")), el("div", { class: "row" }, select));
  if (canRead("audit")) holder.append(...loginCharts(await api("GET", "/api/v1/admin/dashboard?" + range)));
  if (canRead("detection.read")) holder.append(...detectionCharts(await api("GET", "/api/v1/admin/dashboard/detection?" + range)));
  return holder;
}

// Bars for a series: each point's parts (class, value) stacked, scaled to the largest.
function bars(label, points, parts) {
  const total = (p) => parts(p).reduce((n, [, v]) => n + v, 0);
  const max = Math.max(1, ...points.map(total));
  return el("div", { class: "chart", role: "img", "aria-label": label },
    points.map((p) => {
      const bar = el("div", { class: "bar", title: `${p.at}: ${parts(p).map(([, v]) => v).join(" / ")}` });
      for (const [cls, v] of parts(p)) {
        const part = el("span", { class: cls });
        part.style.height = (100 * v / max) + "%";
        bar.append(part);
      }
      return bar;
    }));
}

function loginCharts(d) {
  const logins = table([t("method"), t("result"), t("count")],
    d.logins.map((c) => [c.key, c.result, el("span", { id: `n-${c.key}-${c.result}` }, c.n)]));
  const chart = bars(t("over_time"), d.series, (p) => [["ok", p.logins_succeeded], ["bad", p.logins_failed]]);
  const series = el("details", {}, el("summary", {}, t("as_table")),
    table([t("time"), t("succeeded"), t("failed"), t("outside_standby"), t("risk_review"), t("risk_ng"), t("verdict_new_environments")],
      d.series.filter((p) => p.logins_succeeded + p.logins_failed + p.risk_review + p.risk_ng > 0)
        .map((p) => [p.at, p.logins_succeeded, p.logins_failed, p.pushes_refused_outside_standby, p.risk_review, p.risk_ng, p.new_environments])));
  const risk = table([t("verdict"), t("count")], ["ok", "review", "ng", "new_environments"].map((k) =>
    [t("verdict_" + k), el("span", { id: "risk-" + k }, d.risk[k])]));
  return [el("h3", {}, t("logins")), logins, el("h3", {}, t("over_time")), chart, series, el("h3", {}, t("risk")), risk];
}

const LEVELS = ["critical", "high", "medium", "low", "informational"];

function detectionCharts(d) {
  const levels = Object.keys(d.alerts).sort((a, b) => LEVELS.indexOf(a) - LEVELS.indexOf(b));
  const byLevel = table([t("level"), t("count")], levels.map((l) => [l, el("span", { id: "alerts-" + l }, d.alerts[l])]));
  const chart = bars(t("alerts_over_time"), d.series, (p) => [["bad", (p.alerts.critical || 0) + (p.alerts.high || 0)],
    ["warn", Object.entries(p.alerts).filter(([l]) => l !== "critical" && l !== "high").reduce((n, [, v]) => n + v, 0)]]);
  const series = el("details", {}, el("summary", {}, t("as_table")),
    table([t("time"), ...LEVELS.map((l) => l), t("events"), t("dead_letters")],
      d.series.filter((p) => p.events + p.dead_letters + Object.keys(p.alerts).length > 0)
        .map((p) => [p.at, ...LEVELS.map((l) => p.alerts[l] || 0), p.events, p.dead_letters])));
  const rules = table([t("rule"), t("level"), t("count")], d.top_rules.map((r) => [el("span", { class: "top-rule" }, r.title), r.level, r.n]));
  const entities = table([t("kind"), t("about"), t("count")], d.top_entities.map((e) =>
    [t("kind_" + e.kind), el("a", { href: `#/alerts?${e.kind}=${encodeURIComponent(e.value)}`, class: "top-entity" }, e.value), e.n]));
  const sources = table([t("name"), t("events"), t("dead_letters")], d.sources.map((x) =>
    [el("span", { class: "dash-source" }, x.name || x.source_id), el("span", { class: "dash-events" }, x.events), x.dead_letters]));
  return [el("h3", {}, t("alerts_by_level")), byLevel, el("h3", {}, t("alerts_over_time")), chart, series,
    el("h3", {}, t("top_rules")), rules, el("h3", {}, t("top_entities")), entities, el("h3", {}, t("ingest")), sources];
}
