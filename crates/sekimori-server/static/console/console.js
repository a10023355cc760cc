// Sekimori console: pages over the admin API. Every request goes with the browser's session
// and the `sekimori-console` header, so the server authorises it exactly as a token of the
// signed-in person's console role (docs/protocol.md 9.5); the pages only hide what the role
// may not do, the server refuses it anyway.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const TEXT = {
    en: {
      title: "Sekimori console", skip: "Skip to content", nav_home: "Home", nav_users: "Users", nav_alerts: "Alerts",
      nav_audit: "Audit", logout: "Account", users: "Users", search: "Search users", username: "User", email: "Email",
      groups: "Groups", state: "State", disabled: "disabled", active: "active", devices: "Devices", environments: "Environments",
      disable: "Disable", enable: "Enable", end_sessions: "End sessions", enrol: "Enrol a device", enrol_hint: "Scan this code with the Sekimori app on the user's phone. It works once and expires soon.",
      audit: "Audit log", verify: "Verify the chain", verified: "The chain verifies: {n} events.", broken: "The chain is broken at {seq}.",
      time: "Time", action: "Action", outcome: "Outcome", who: "User", alerts: "Alerts", level: "Level", rule: "Rule",
      open_alerts: "Open alerts", users_count: "Users", role: "Signed in as {name} ({role})", none: "Nothing here.",
      done: "Done.", error: "Error: {msg}", ended: "{n} sessions ended.", name: "Name", created: "Created", last_seen: "Last seen",
      home_admin: "Everything at a glance", home_operator: "Your users", home_auditor: "What happened",
      range: "Time range", last_24h: "Last 24 hours", last_7d: "Last 7 days", last_30d: "Last 30 days",
      logins: "Logins by method and result", method: "Method", result: "Result", count: "Count",
      over_time: "Logins over time", succeeded: "Succeeded", failed: "Failed", outside_standby: "Refused outside standby",
      as_table: "As a table", acknowledge: "Acknowledge", resolve: "Resolve", comment: "Comment", comments: "Comments",
      matched: "Matched", event: "Event", q_action: "Action", q_user: "User", q_since: "From", q_until: "Until",
      search_events: "Search", export_ndjson: "Export NDJSON", export_csv: "Export CSV", next_page: "Next page",
      results: "{n} events", actor: "By",
      nav_detection: "Detection", detection: "Detection", sources: "Ingest sources", listeners: "Syslog listeners",
      rules: "Sigma rules", rules_loaded: "{d} detection, {c} correlation and {f} filter rules loaded from {files} files; {n} not loaded.",
      not_loaded: "Not loaded", file: "File", reason: "Reason", received: "Received", dropped: "Dropped", malformed: "Malformed",
      listener: "Listener", labels: "Labels",
      assignee: "Assignee", assign: "Assign", assign_me: "Assign to me", unassign: "Unassign", all_states: "All states",
      firing: "firing", acknowledged: "acknowledged", resolved: "resolved", filter: "Filter",
      nav_tuning: "Tuning", tuning: "Tuning", tuning_version: "Version {v} (0: none yet)", tuning_doc: "Tuning document (JSON)",
      backtest: "Back-test", save: "Save", versions: "Versions", version: "Version", author: "Author",
      backtest_result: "Replayed {events} stored events: {cur} alerts now, {prop} with this tuning.",
      appear: "Would appear", disappear: "Would disappear", not_json: "Not JSON: {msg}", saved: "Saved as version {v}.",
      stale: "Someone saved version {v} meanwhile: reload to see it before saving.",
      nav_settings: "Settings", settings: "Settings", tenant: "Tenant", standby_required: "Push needs an armed standby window",
      standby_seconds: "Standby window (seconds, 10–300)", password_policy: "Password policy level (1–4)", time_zone: "Time zone (IANA)",
      apps: "Apps and OIDC clients", kind: "Kind", origins: "Web origins", redirect_uris: "OIDC redirect URIs", revoked: "Revoked",
      revoke: "Revoke", new_app: "Add an app", add: "Add", app_key: "The app's key, shown once: {key}",
      rule_file: "The rule ({path})", factors: "Sign-in factors", password: "Password", passkeys: "Passkeys",
      totp: "Authenticator codes (TOTP)", recovery_left: "Recovery codes left", yes: "yes", no: "no",
      overrides: "Required level raised", expires: "Until", lift: "Lift", lift_reason: "Lifted from the console",
      recent_events: "Recent events", members: "Members", login_hours: "Login hours", new_group: "Add a group", add_member: "Add a member", group: "Group",
      alerts_about: "Alerts about this user", timeline: "Timeline of {kind} {value}", about: "About", this_alert: "this alert",
      kind_user: "user", kind_ip: "IP address", kind_host: "host", about_filter: "Alerts about {kind} {value}", clear: "Show all",
      risk: "Login risk verdicts", verdict: "Verdict", verdict_ok: "OK (signed in)", verdict_review: "REVIEW (asked for another factor)",
      verdict_ng: "NG (refused)", verdict_new_environments: "of which from a new environment", risk_review: "Risk REVIEW", risk_ng: "Risk NG", alerts_by_level: "Alerts by level",
      alerts_over_time: "Alerts over time", top_rules: "Rules that fired most", top_entities: "Most alerted about",
      ingest: "Ingest by source", events: "Events", dead_letters: "Unreadable",
      remove: "Remove", unconfirmed: "not confirmed yet", new_codes: "New recovery codes", codes_once: "Shown once: give them to the user; the old ones no longer work.",
      hours_groups: "none of their own (their groups' apply)", sessions: "Sessions", methods: "Methods",
      nav_events: "Events", events_title: "Stored events", q_source: "Source", all_sources: "All sources", q_entity: "About",
      q_field: "Field", q_value: "Value", found: "{n} events ({scanned} read)", more_like: "More like this",
      audit_chain: "Audit chain", chain_ok_short: "intact ({n})", chain_broken_short: "broken at {seq}",
      logout_uris: "OIDC post-logout redirect URIs", public_client: "Public OIDC client (no secret, PKCE)",
      app: "App", set_origins: "Set web origins", set_hours: "Set login hours", remove_member: "Remove {user} from {group}",
      bad_hours: "Not a login-hours window (days from-until, e.g. mon,tue 09:00-18:00): {window}",
    },
    ja: {
      title: "関守コンソール", skip: "本文へ移動", nav_home: "ホーム", nav_users: "ユーザー", nav_alerts: "アラート",
      nav_audit: "監査", logout: "アカウント", users: "ユーザー", search: "ユーザーを検索", username: "ユーザー", email: "メール",
      groups: "グループ", state: "状態", disabled: "無効", active: "有効", devices: "デバイス", environments: "環境",
      disable: "無効にする", enable: "有効にする", end_sessions: "セッションを終了", enrol: "デバイスを登録", enrol_hint: "ユーザーのスマートフォンの関守アプリでこのコードを読み取ってください。1回限りで、すぐに期限切れになります。",
      audit: "監査ログ", verify: "チェーンを検証", verified: "チェーンは正常です: {n} 件。", broken: "チェーンが {seq} で壊れています。",
      time: "時刻", action: "操作", outcome: "結果", who: "ユーザー", alerts: "アラート", level: "レベル", rule: "ルール",
      open_alerts: "未対応のアラート", users_count: "ユーザー数", role: "{name}（{role}）としてサインイン中", none: "ありません。",
      done: "完了しました。", error: "エラー: {msg}", ended: "{n} 件のセッションを終了しました。", name: "名前", created: "作成", last_seen: "最終確認",
      home_admin: "全体の概要", home_operator: "担当のユーザー", home_auditor: "起きたこと",
      range: "期間", last_24h: "過去24時間", last_7d: "過去7日間", last_30d: "過去30日間",
      logins: "方式・結果別のログイン", method: "方式", result: "結果", count: "件数",
      over_time: "ログインの推移", succeeded: "成功", failed: "失敗", outside_standby: "待ち受け外で拒否",
      as_table: "表で見る", acknowledge: "確認済みにする", resolve: "解決済みにする", comment: "コメント", comments: "コメント",
      matched: "一致した項目", event: "イベント", q_action: "操作", q_user: "ユーザー", q_since: "開始", q_until: "終了",
      search_events: "検索", export_ndjson: "NDJSONで書き出す", export_csv: "CSVで書き出す", next_page: "次のページ",
      results: "{n} 件", actor: "実行者",
      nav_detection: "検知", detection: "検知", sources: "取り込み元", listeners: "Syslog リスナー",
      rules: "Sigma ルール", rules_loaded: "{files} 個のファイルから検知ルール {d} 件、相関ルール {c} 件、フィルター {f} 件を読み込みました。読み込めなかったもの: {n} 件。",
      not_loaded: "読み込めなかったルール", file: "ファイル", reason: "理由", received: "受信", dropped: "破棄", malformed: "不正な形式",
      listener: "リスナー", labels: "ラベル",
      assignee: "担当者", assign: "割り当てる", assign_me: "自分に割り当てる", unassign: "割り当てを外す", all_states: "すべての状態",
      firing: "未対応", acknowledged: "確認済み", resolved: "解決済み", filter: "絞り込む",
      nav_tuning: "チューニング", tuning: "チューニング", tuning_version: "バージョン {v}（0: まだありません）", tuning_doc: "チューニング文書（JSON）",
      backtest: "バックテスト", save: "保存", versions: "バージョン", version: "バージョン", author: "作成者",
      backtest_result: "保存済みのイベント {events} 件を再生しました: 現在のアラート {cur} 件、このチューニングでは {prop} 件。",
      appear: "新たに出るアラート", disappear: "出なくなるアラート", not_json: "JSON ではありません: {msg}", saved: "バージョン {v} として保存しました。",
      stale: "その間に別の人がバージョン {v} を保存しました。再読み込みして確認してから保存してください。",
      nav_settings: "設定", settings: "設定", tenant: "テナント", standby_required: "プッシュには待ち受けの開始が必要",
      standby_seconds: "待ち受け時間（秒、10〜300）", password_policy: "パスワードポリシーのレベル（1〜4）", time_zone: "タイムゾーン（IANA）",
      apps: "アプリと OIDC クライアント", kind: "種類", origins: "Web オリジン", redirect_uris: "OIDC リダイレクト URI", revoked: "失効",
      revoke: "失効させる", new_app: "アプリを追加", add: "追加", app_key: "アプリの鍵（この一度だけ表示）: {key}",
      rule_file: "ルール（{path}）", factors: "認証要素", password: "パスワード", passkeys: "パスキー",
      totp: "認証コード（TOTP）", recovery_left: "残りのリカバリーコード", yes: "あり", no: "なし",
      overrides: "引き上げられた認証レベル", expires: "期限", lift: "解除", lift_reason: "コンソールから解除",
      recent_events: "最近のイベント", members: "メンバー", login_hours: "ログイン可能時間", new_group: "グループを追加", add_member: "メンバーを追加", group: "グループ",
      alerts_about: "このユーザーに関するアラート", timeline: "{kind} {value} のタイムライン", about: "対象", this_alert: "このアラート",
      kind_user: "ユーザー", kind_ip: "IP アドレス", kind_host: "ホスト", about_filter: "{kind} {value} に関するアラート", clear: "すべて表示",
      risk: "ログインのリスク判定", verdict: "判定", verdict_ok: "OK（ログイン）", verdict_review: "REVIEW（追加の認証を要求）",
      verdict_ng: "NG（拒否）", verdict_new_environments: "うち新しい環境から", risk_review: "リスク REVIEW", risk_ng: "リスク NG", alerts_by_level: "レベル別のアラート",
      alerts_over_time: "アラートの推移", top_rules: "多く検知したルール", top_entities: "アラートの多い対象",
      ingest: "取り込み元別の件数", events: "イベント", dead_letters: "読めなかったもの",
      remove: "削除", unconfirmed: "未確認", new_codes: "リカバリーコードを再発行", codes_once: "この一度だけ表示します。ユーザーに渡してください。以前のコードは使えなくなりました。",
      hours_groups: "個別の設定なし（グループの設定が適用）", sessions: "セッション", methods: "方式",
      nav_events: "イベント", events_title: "保存されたイベント", q_source: "取り込み元", all_sources: "すべての取り込み元", q_entity: "対象",
      q_field: "フィールド", q_value: "値", found: "{n} 件（{scanned} 件を確認）", more_like: "似たものを探す",
      audit_chain: "監査チェーン", chain_ok_short: "正常（{n} 件）", chain_broken_short: "{seq} で破損",
      logout_uris: "OIDC ログアウト後のリダイレクト URI", public_client: "公開 OIDC クライアント（シークレットなし、PKCE）",
      app: "アプリ", set_origins: "Web オリジンを設定", set_hours: "ログイン可能時間を設定", remove_member: "{group} から {user} を外す",
      bad_hours: "ログイン可能時間の書き方ではありません（曜日 開始-終了、例: mon,tue 09:00-18:00）: {window}",
    },
  };
  let lang = localStorage.getItem("sekimori.console.lang") || ((navigator.language || "en").toLowerCase().startsWith("ja") ? "ja" : "en");
  let me = null;

  function t(key, vars) {
    let s = (TEXT[lang] && TEXT[lang][key]) || TEXT.en[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
    return s;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "onclick") e.addEventListener("click", v);
      else if (v !== null && v !== undefined) e.setAttribute(k, v);
    }
    for (const c of children.flat()) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
    return e;
  }

  function say(text, kind) {
    $("status").textContent = text;
    $("status").dataset.kind = kind || "info";
    $("status").hidden = !text;
  }

  async function api(method, path, body, raw) {
    const resp = await fetch(path, {
      method,
      headers: Object.assign({ "sekimori-console": "1" }, body ? { "content-type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
      cache: "no-store",
    });
    if (!resp.ok) {
      const p = await resp.json().catch(() => ({}));
      const e = new Error(p.detail || p.title || "HTTP " + resp.status);
      e.code = p.code;
      e.problem = p;
      throw e;
    }
    if (raw) return resp;
    return resp.status === 204 ? null : resp.json();
  }

  // What the role may do, with the capability names of the server's table: an admin
  // everything, an auditor reads everything and changes nothing, an operator its capabilities.
  function hasCapability(c) {
    return ((me && me.scope && me.scope.capabilities) || []).includes(c);
  }
  const canRead = (c) => !!me && (me.role !== "operator" || hasCapability(c));
  const canWrite = (c) => !!me && (me.role === "admin" || (me.role === "operator" && hasCapability(c)));

  function translate() {
    for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
    document.documentElement.lang = lang;
    $("lang").textContent = lang === "ja" ? "English" : "日本語";
    document.title = t("title");
    for (const a of document.querySelectorAll("nav a[data-needs]")) a.hidden = !canRead(a.dataset.needs);
    if (me) $("me").textContent = t("role", { name: me.name, role: me.role });
  }

  function page(title, ...content) {
    const main = $("main");
    main.replaceChildren(el("h2", {}, title), ...content);
    main.focus();
  }

  function table(headers, rows) {
    if (!rows.length) return el("p", {}, t("none"));
    return el("div", { class: "scroll" }, el("table", {},
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))))));
  }

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
      // The audit chain's state, checked on demand (a full check reads every row).
      const result = el("div", { class: "n", id: "home-chain" }, "—");
      cards.push(el("div", { class: "card" }, el("div", {}, t("audit_chain")), result,
        el("button", { type: "button", id: "home-verify", class: "quiet", onclick: async () => {
          result.textContent = "…";
          try {
            const v = await api("GET", "/api/v1/admin/audit/verify");
            result.textContent = v.first_broken ? t("chain_broken_short", { seq: v.first_broken.seq }) : t("chain_ok_short", { n: v.rows_checked });
            result.dataset.state = v.first_broken ? "broken" : "ok";
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
      canRead("audit") ? api("GET", `/api/v1/events?user=${encodeURIComponent(name)}&limit=20&order=desc&format=json`) : null,
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
        recent.events.map((e) => [e["@timestamp"], el("span", { class: "recent-action" }, e.event.action), e.event.outcome]))] : []));
  }

  // Alerts as a table: time, level, the rule (a link to the alert), state and assignee.
  function alertTable(list, current) {
    return table([t("time"), t("level"), t("rule"), t("state"), t("assignee")], list.map((a) =>
      [a.created_at || "", a.level || "",
        a.id === current ? el("strong", { class: "this-alert" }, `${a.title} (${t("this_alert")})`)
          : el("a", { href: "#/alerts/" + encodeURIComponent(a.id), class: "alert-link" }, a.title || a.id),
        el("span", { class: "alert-row-state", "data-state": a.state }, t(a.state)), el("span", { class: "alert-row-assignee" }, a.assignee || "")]));
  }

  const ENTITY_KINDS = ["user", "ip", "host"];
  // What the server puts in place of personal data for the auditor (no timeline for it).
  const MASKED = "[masked]";

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
    const exportAs = (format) => el("button", { type: "button", id: "export-" + format, onclick: async () => {
      const resp = await api("GET", "/api/v1/events?" + auditParams({ limit: 10000, format: "ndjson" }), null, true);
      const text = await resp.text();
      let out = text;
      if (format === "csv") {
        const q = (v) => '"' + String(v ?? "").replace(/"/g, '""') + '"';
        out = "time,action,outcome,user,actor\n" + text.split("\n").filter(Boolean).map((l) => {
          const e = JSON.parse(l);
          return [e["@timestamp"], (e.event || {}).action, (e.event || {}).outcome, (e.user || {}).name, (e.sekimori || {}).actor].map(q).join(",");
        }).join("\n") + "\n";
      }
      const a = el("a", { href: URL.createObjectURL(new Blob([out], { type: format === "csv" ? "text/csv" : "application/x-ndjson" })),
        download: "sekimori-audit." + format });
      document.body.append(a);
      a.click();
      a.remove();
    } }, t("export_" + format));
    const last = events.length ? events[events.length - 1].sekimori.audit.seq : null;
    const more = events.length === 50 ? el("button", { type: "button", id: "next-page", onclick: () => audit(last) }, t("next_page")) : "";
    page(t("audit"), el("div", { class: "row" }, verify, exportAs("ndjson"), exportAs("csv")), form,
      el("p", { id: "result-count", "data-query": auditParams() }, t("results", { n: events.length })),
      table([t("time"), t("action"), t("outcome"), t("who"), t("actor")], rows), more);
  }

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
      kind === "user" && canRead("audit")
        ? api("GET", `/api/v1/events?user=${encodeURIComponent(value)}&limit=20&order=desc&format=json`).then((r) => r.events)
        : [],
      api("GET", "/api/v1/admin/ingested-events?" + around).then((r) => r.events),
    ]);
    const items = about.map((a) => ({ at: a.created_at, what: a.id === alert.id
      ? el("strong", { class: "this-alert" }, `${a.title} (${t("this_alert")})`)
      : el("a", { href: "#/alerts/" + encodeURIComponent(a.id), class: "timeline-alert" }, a.title), kind: t("alerts") }))
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
        sec.append(add);
        if (live.length) sec.append(set);
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
    const exportAs = (format) => el("button", { type: "button", id: "events-export-" + format, onclick: async () => {
      const resp = await api("GET", "/api/v1/admin/ingested-events?" + eventParams({ limit: 1000, format: "ndjson" }), null, true);
      const text = await resp.text();
      let out = text;
      if (format === "csv") {
        const q = (v) => '"' + String(v ?? "").replace(/"/g, '""') + '"';
        out = "seq,received_at,source,event\n" + text.split("\n").filter(Boolean).map((l) => {
          const e = JSON.parse(l);
          return [e.seq, e.received_at, names.get(e.source_id) || e.source_id, JSON.stringify(e.event)].map(q).join(",");
        }).join("\n") + "\n";
      }
      const a = el("a", { href: URL.createObjectURL(new Blob([out], { type: format === "csv" ? "text/csv" : "application/x-ndjson" })),
        download: "sekimori-events." + format });
      document.body.append(a);
      a.click();
      a.remove();
    } }, t("export_" + format));
    const more = r.next ? el("button", { type: "button", id: "events-next", onclick: () => eventsPage(r.next) }, t("next_page")) : "";
    page(t("events_title"), el("div", { class: "row" }, exportAs("ndjson"), exportAs("csv")), form,
      el("p", { id: "event-count", "data-query": String(eventParams()) }, t("found", { n: r.events.length, scanned: r.scanned })),
      table([t("time"), t("q_source"), t("event")], rows), more);
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

  async function route() {
    say("");
    const h = decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
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
})();
