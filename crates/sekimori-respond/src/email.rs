//! What an email notification says: subject, text and HTML bodies rendered with minijinja
//! from the notification's fields, with default templates in English and Japanese (a
//! receiver may replace each). HTML is escaped; nothing here sends.
//!
//! The templates see `status` (`firing` or `resolved`), `receiver`, `group_labels`,
//! `common_labels`, `external_url`, `count`, and `alerts`, each with `status`, `labels`,
//! `annotations`, `summary`, `severity`, `rule`, `entity`, `source`, `starts_at`,
//! `ends_at` and `url`.

use minijinja::{context, Environment, Value};

use crate::payload::{AlertView, Notification};
use crate::receiver::{EmailConfig, Language};

const EN_SUBJECT: &str =
    "[{{ status|upper }}] {{ alerts[0].summary if alerts else group_key }}{% if count > 1 %} (+{{ count - 1 }}){% endif %}";
const EN_TEXT: &str = "\
Sekimori: {{ count }} alert{{ 's' if count != 1 }} {{ 'resolved' if status == 'resolved' else 'firing' }} for {{ receiver }}.
{% for a in alerts %}
[{{ a.status|upper }}] {{ a.summary }}
  severity: {{ a.severity }}
  rule:     {{ a.rule }}
  entity:   {{ a.entity }}
  source:   {{ a.source }}
  since:    {{ a.starts_at }}{% if a.ends_at %}
  resolved: {{ a.ends_at }}{% endif %}
  {{ a.url }}
{% endfor %}";
const EN_HTML: &str = "\
<!doctype html><html lang=\"en\"><body>
<p>Sekimori: {{ count }} alert{{ 's' if count != 1 }} {{ 'resolved' if status == 'resolved' else 'firing' }} for {{ receiver }}.</p>
<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">
<tr><th>Status</th><th>Alert</th><th>Severity</th><th>Rule</th><th>Entity</th><th>Source</th><th>Since</th></tr>
{% for a in alerts %}<tr><td>{{ a.status }}</td><td><a href=\"{{ a.url }}\">{{ a.summary }}</a></td><td>{{ a.severity }}</td><td>{{ a.rule }}</td><td>{{ a.entity }}</td><td>{{ a.source }}</td><td>{{ a.starts_at }}</td></tr>
{% endfor %}</table></body></html>";

const JA_SUBJECT: &str = "[{{ '解決' if status == 'resolved' else '発生中' }}] {{ alerts[0].summary if alerts else group_key }}{% if count > 1 %}（ほか{{ count - 1 }}件）{% endif %}";
const JA_TEXT: &str = "\
関守: {{ receiver }} 宛てのアラート {{ count }} 件が{{ '解決しました' if status == 'resolved' else '発生しています' }}。
{% for a in alerts %}
[{{ '解決' if a.status == 'resolved' else '発生中' }}] {{ a.summary }}
  重要度:   {{ a.severity }}
  ルール:   {{ a.rule }}
  対象:     {{ a.entity }}
  送信元:   {{ a.source }}
  発生:     {{ a.starts_at }}{% if a.ends_at %}
  解決:     {{ a.ends_at }}{% endif %}
  {{ a.url }}
{% endfor %}";
const JA_HTML: &str = "\
<!doctype html><html lang=\"ja\"><body>
<p>関守: {{ receiver }} 宛てのアラート {{ count }} 件が{{ '解決しました' if status == 'resolved' else '発生しています' }}。</p>
<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">
<tr><th>状態</th><th>アラート</th><th>重要度</th><th>ルール</th><th>対象</th><th>送信元</th><th>発生</th></tr>
{% for a in alerts %}<tr><td>{{ '解決' if a.status == 'resolved' else '発生中' }}</td><td><a href=\"{{ a.url }}\">{{ a.summary }}</a></td><td>{{ a.severity }}</td><td>{{ a.rule }}</td><td>{{ a.entity }}</td><td>{{ a.source }}</td><td>{{ a.starts_at }}</td></tr>
{% endfor %}</table></body></html>";

/// An email, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// One line.
    pub subject: String,
    /// The text body.
    pub text: String,
    /// The HTML body (values escaped).
    pub html: String,
}

/// Whether `template` compiles.
pub(crate) fn check_template(template: &str) -> Result<(), minijinja::Error> {
    Environment::new().template_from_str(template).map(|_| ())
}

fn alert_value(a: &AlertView) -> Value {
    let get = |k: &str| a.labels.get(k).cloned().unwrap_or_else(|| "-".to_owned());
    let entity = a.labels.get("user").or_else(|| a.labels.get("address")).cloned().unwrap_or_else(|| "-".to_owned());
    let summary =
        a.annotations.get("summary").or_else(|| a.labels.get("title")).cloned().unwrap_or_else(|| get("rule"));
    context! {
        status => if a.ends_at.is_some() { "resolved" } else { "firing" },
        labels => a.labels.clone(),
        annotations => a.annotations.clone(),
        summary => summary,
        severity => get("severity"),
        rule => get("rule"),
        entity => entity,
        source => get("source"),
        starts_at => a.starts_at.clone(),
        ends_at => a.ends_at.clone(),
        url => a.url.clone(),
    }
}

/// Renders `n` for the email channel `cfg`: its templates, else the defaults in its
/// language. A template that fails to render (e.g. a filter misused) is an error.
pub fn render(n: &Notification, cfg: &EmailConfig) -> Result<Email, minijinja::Error> {
    let (subject, text, html) = match cfg.language {
        Language::En => (EN_SUBJECT, EN_TEXT, EN_HTML),
        Language::Ja => (JA_SUBJECT, JA_TEXT, JA_HTML),
    };
    let mut env = Environment::new();
    env.add_template("subject.txt", cfg.subject_template.as_deref().unwrap_or(subject))?;
    env.add_template("body.txt", cfg.text_template.as_deref().unwrap_or(text))?;
    // Escaped by name: minijinja escapes templates whose name ends in `.html`.
    env.add_template("body.html", cfg.html_template.as_deref().unwrap_or(html))?;
    let ctx = context! {
        status => n.status(),
        receiver => n.receiver.clone(),
        group_key => n.group_key(),
        group_labels => n.group.labels.clone(),
        common_labels => n.common_labels(),
        external_url => n.external_url.clone(),
        count => n.alerts.len(),
        alerts => n.alerts.iter().map(alert_value).collect::<Vec<_>>(),
    };
    let subject = env.get_template("subject.txt")?.render(&ctx)?;
    Ok(Email {
        // A subject is one line, whatever a template or a label holds.
        subject: subject.replace(['\r', '\n'], " ").trim().to_owned(),
        text: env.get_template("body.txt")?.render(&ctx)?,
        html: env.get_template("body.html")?.render(&ctx)?,
    })
}

/// A notice to a user that a response changed what their logins need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNotice {
    /// The user.
    pub username: String,
    /// Their address.
    pub email: String,
    /// `raise_level`, `suspend_push`, `block` or `reauthenticate`.
    pub action: String,
    /// The level required (`raise_level`).
    pub level: Option<u8>,
    /// Until when (RFC 3339), for a lasting action.
    pub until: Option<String>,
    /// Why (the alert's title).
    pub reason: String,
}

/// The email telling a user what happened and what to do, in `language`.
pub fn render_user_notice(n: &UserNotice, language: Language) -> Email {
    let until = n.until.clone().unwrap_or_default();
    let (subject, what) = match (language, n.action.as_str()) {
        (Language::Ja, "raise_level") => (
            "関守: ログインに追加の確認が必要になりました",
            format!("セキュリティ上の検知を受けて、{until} まで、ログインにはパスキーまたは関守認証アプリが必要です。"),
        ),
        (Language::Ja, "suspend_push") => (
            "関守: プッシュ承認を一時停止しました",
            format!("セキュリティ上の検知を受けて、{until} までプッシュ承認によるログインを停止しました。別の方法でログインしてください。"),
        ),
        (Language::Ja, "block") => (
            "関守: アカウントへのログインを停止しました",
            format!("セキュリティ上の検知を受けて、{until} までアカウントへのログインを停止しました。管理者に連絡してください。"),
        ),
        (Language::Ja, _) => (
            "関守: すべての端末からログアウトしました",
            "セキュリティ上の検知を受けて、すべての端末からログアウトしました。もう一度ログインしてください。".to_owned(),
        ),
        (Language::En, "raise_level") => (
            "Sekimori: your logins need an extra check",
            format!("After a security alert, your logins need a passkey or your Sekimori authenticator until {until}."),
        ),
        (Language::En, "suspend_push") => (
            "Sekimori: push approvals are paused",
            format!("After a security alert, push approvals are off until {until}; log in another way."),
        ),
        (Language::En, "block") => (
            "Sekimori: logins to your account are blocked",
            format!("After a security alert, logins to your account are blocked until {until}. Contact your administrator."),
        ),
        (Language::En, _) => (
            "Sekimori: you were signed out everywhere",
            "After a security alert, you were signed out everywhere. Sign in again.".to_owned(),
        ),
    };
    let (hello, why, not_you) = match language {
        Language::Ja => (format!("{} 様", n.username), "理由", "心当たりがない場合は、管理者に連絡してください。"),
        Language::En => (format!("Hello {},", n.username), "Why", "If this was not you, tell your administrator."),
    };
    let text = format!("{hello}\n\n{what}\n\n{why}: {}\n\n{not_you}\n", n.reason);
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let lang = if language == Language::Ja { "ja" } else { "en" };
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><body><p>{}</p><p>{}</p><p>{}: {}</p><p>{}</p></body></html>",
        esc(&hello),
        esc(&what),
        esc(why),
        esc(&n.reason),
        esc(not_you)
    );
    Email { subject: subject.to_owned(), text, html }
}

/// The email warning a user that a login was attempted from an environment they have not
/// logged in from (the gate's own notice, sent beside the authenticator's warning).
pub fn render_environment_warning(username: &str, relying_party: &str, environment: &str, language: Language) -> Email {
    let (subject, hello, what, not_you) = match language {
        Language::Ja => (
            "関守: 新しい環境からのログインの試み",
            format!("{username} 様"),
            format!("{relying_party} へのログインが、これまでログインしたことのない環境（{environment}）から試みられました。"),
            "心当たりがない場合は、認証アプリで拒否し、管理者に連絡してください。",
        ),
        Language::En => (
            "Sekimori: a login from a new environment",
            format!("Hello {username},"),
            format!("A login to {relying_party} was attempted from {environment}, where you have not logged in before."),
            "If this was not you, deny it on your authenticator and tell your administrator.",
        ),
    };
    let text = format!("{hello}\n\n{what}\n\n{not_you}\n");
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let lang = if language == Language::Ja { "ja" } else { "en" };
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><body><p>{}</p><p>{}</p><p>{}</p></body></html>",
        esc(&hello),
        esc(&what),
        esc(not_you)
    );
    Email { subject: subject.to_owned(), text, html }
}
