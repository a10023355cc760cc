//! The hosted pages' languages: English or Japanese, chosen from `Accept-Language`, and
//! their texts.

use axum::http::header::{self, HeaderMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Ja,
}

pub(crate) fn lang(headers: &HeaderMap) -> Lang {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    // The first language with the highest weight that we have.
    let mut best = (Lang::En, -1.0f32);
    for part in accept.split(',') {
        let mut it = part.trim().split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0);
        let l = if tag.starts_with("ja") {
            Some(Lang::Ja)
        } else if tag.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        };
        if let Some(l) = l {
            if q > best.1 {
                best = (l, q);
            }
        }
    }
    best.0
}

/// The page texts.
pub(crate) fn t(lang: Lang, key: &str) -> &'static str {
    match (lang, key) {
        (Lang::En, "title") => "Sign in",
        (Lang::Ja, "title") => "ログイン",
        (Lang::En, "username") => "Username",
        (Lang::Ja, "username") => "ユーザー名",
        (Lang::En, "password") => "Password",
        (Lang::Ja, "password") => "パスワード",
        (Lang::En, "submit") => "Sign in",
        (Lang::Ja, "submit") => "ログイン",
        (Lang::En, "factor") => "Enter the 6-digit code from your authenticator app, or a recovery code.",
        (Lang::Ja, "factor") => "認証アプリの6桁のコード、またはリカバリーコードを入力してください。",
        (Lang::En, "code") => "Code",
        (Lang::Ja, "code") => "コード",
        (Lang::En, "verify") => "Verify",
        (Lang::Ja, "verify") => "確認",
        (Lang::En, "qr") => "Or sign in by scanning a QR code with your Sekimori authenticator",
        (Lang::Ja, "qr") => "関守認証アプリでQRコードを読み取ってログインすることもできます",
        (Lang::En, "wrong") => "The username or password is wrong.",
        (Lang::Ja, "wrong") => "ユーザー名またはパスワードが違います。",
        (Lang::En, "wrong_code") => "The code is wrong or was already used.",
        (Lang::Ja, "wrong_code") => "コードが違うか、すでに使われています。",
        (Lang::En, "locked") => "Too many failed attempts. Try again later.",
        (Lang::Ja, "locked") => "失敗が多すぎます。しばらくしてからお試しください。",
        (Lang::En, "busy") => "The service is busy. Try again in a moment.",
        (Lang::Ja, "busy") => "混み合っています。少し待ってからお試しください。",
        (Lang::En, "not_allowed") => "This account may not sign in now.",
        (Lang::Ja, "not_allowed") => "このアカウントは現在ログインできません。",
        (Lang::En, "no_factor") => {
            "This page needs a second factor, and this account has none. Ask your administrator."
        }
        (Lang::Ja, "no_factor") => {
            "このページには2要素目が必要ですが、このアカウントには登録がありません。管理者に連絡してください。"
        }
        (Lang::En, "expired") => "The sign-in took too long. Start again.",
        (Lang::Ja, "expired") => "時間切れです。最初からやり直してください。",
        (Lang::En, "push") => "Or approve on your authenticator (arm login on it first)",
        (Lang::Ja, "push") => "または認証アプリで承認（先にアプリでログインを待機状態にしてください）",
        (Lang::En, "push_second") => "Or approve on your authenticator instead (arm login on it first)",
        (Lang::Ja, "push_second") => "または代わりに認証アプリで承認（先にアプリでログインを待機状態にしてください）",
        (Lang::En, "push_send") => "Send a request",
        (Lang::Ja, "push_send") => "承認リクエストを送る",
        (Lang::En, "push_number") => "Approve on your authenticator and enter this number:",
        (Lang::Ja, "push_number") => "認証アプリで承認し、この番号を入力してください:",
        (Lang::En, "push_failed") => "No request could be sent. Arm login on your authenticator, then try again.",
        (Lang::Ja, "push_failed") => {
            "リクエストを送れませんでした。認証アプリでログインを待機状態にしてから再試行してください。"
        }
        (Lang::En, "push_denied") => "The request was denied or expired.",
        (Lang::Ja, "push_denied") => "リクエストは拒否されたか、期限切れです。",
        (Lang::En, "needs_device") => "This page needs a sign-in with your Sekimori authenticator.",
        (Lang::Ja, "needs_device") => "このページには関守認証アプリでのログインが必要です。",
        (Lang::En, "csrf") => "The form expired. Reload the page and try again.",
        (Lang::Ja, "csrf") => "フォームの有効期限が切れました。再読み込みしてください。",
        (Lang::En, "signed_in_as") => "Signed in as",
        (Lang::Ja, "signed_in_as") => "ログイン中:",
        (Lang::En, "logout") => "Sign out",
        (Lang::Ja, "logout") => "ログアウト",
        (Lang::En, "logout_all") => "Sign out everywhere",
        (Lang::Ja, "logout_all") => "すべての端末からログアウト",
        (Lang::En, "passkey_sign_in") => "Sign in with a passkey",
        (Lang::Ja, "passkey_sign_in") => "パスキーでログイン",
        (Lang::En, "passkey_add") => "Add a passkey",
        (Lang::Ja, "passkey_add") => "パスキーを追加",
        (Lang::En, "passkey_added") => "Passkey added.",
        (Lang::Ja, "passkey_added") => "パスキーを追加しました。",
        (Lang::En, "passkey_failed") => "The passkey did not work",
        (Lang::Ja, "passkey_failed") => "パスキーを使えませんでした",
        _ => "",
    }
}
