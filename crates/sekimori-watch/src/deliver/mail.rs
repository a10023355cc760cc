//! Email over SMTP with lettre: STARTTLS that must succeed (587), implicit TLS (465), or a
//! plain connection to a relay on this machine; AUTH when configured (never without TLS);
//! a private CA in place of the public roots when `tls_ca_file` is set. A permanent SMTP
//! reply (5xx) is a refusal and is not retried; a transient one (4xx), a timeout or a
//! broken connection is.

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sekimori_respond::delivery::Outcome;
use sekimori_respond::email::Email;
use sekimori_respond::{EmailConfig, SmtpTls};

/// Why an email channel's transport cannot be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    /// `smarthost` is not host:port.
    #[error("smarthost {0:?} is not host:port")]
    Smarthost(String),
    /// The CA file cannot be read or holds no certificate.
    #[error("tls_ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
    /// The TLS settings are refused by the TLS stack.
    #[error("tls: {0}")]
    Tls(lettre::transport::smtp::Error),
}

/// The message: multipart/alternative, text and HTML.
pub(crate) fn message(cfg: &EmailConfig, email: &Email) -> Result<Message, lettre::error::Error> {
    let from: Mailbox = cfg.from.parse().map_err(|_| lettre::error::Error::MissingFrom)?;
    let mut builder = Message::builder().from(from).subject(email.subject.clone());
    for to in &cfg.to {
        let mailbox: Mailbox = to.parse().map_err(|_| lettre::error::Error::MissingTo)?;
        builder = builder.to(mailbox);
    }
    builder.multipart(
        MultiPart::alternative()
            .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(email.text.clone()))
            .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(email.html.clone())),
    )
}

/// The transport for `cfg`, each command timed out after `timeout`.
pub(crate) fn transport(
    cfg: &EmailConfig,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, SetupError> {
    let (host, port) = cfg.host_port().ok_or_else(|| SetupError::Smarthost(cfg.smarthost.clone()))?;
    let mut params = TlsParameters::builder(host.to_owned());
    if let Some(path) = &cfg.tls_ca_file {
        let pem = std::fs::read(path).map_err(|e| SetupError::CaFile { path: path.clone(), reason: e.to_string() })?;
        let ca = Certificate::from_pem(&pem)
            .map_err(|e| SetupError::CaFile { path: path.clone(), reason: e.to_string() })?;
        params = params.certificate_store(CertificateStore::None).add_root_certificate(ca);
    }
    let tls = match cfg.tls {
        SmtpTls::Starttls => Tls::Required(params.build_rustls().map_err(SetupError::Tls)?),
        SmtpTls::Tls => Tls::Wrapper(params.build_rustls().map_err(SetupError::Tls)?),
        SmtpTls::None => Tls::None,
    };
    let mut builder =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port).tls(tls).timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&cfg.auth_username, &cfg.auth_password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// One attempt: the outcome for the retry policy and its text for the record.
pub(crate) async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    message: Message,
) -> (Outcome, Option<Duration>, String) {
    match transport.send(message).await {
        Ok(reply) => {
            let code = reply.code().to_string();
            (Outcome::Delivered, None, format!("delivered (smtp {code})"))
        }
        Err(e) => {
            let code = e.status().map(|c| c.to_string()).unwrap_or_default();
            if e.is_permanent() {
                // Refused as a request would be with a 4xx: not retried.
                (Outcome::Status(400), None, format!("smtp {code} refused"))
            } else if e.is_transient() {
                (Outcome::Status(503), None, format!("smtp {code} try later"))
            } else if e.is_timeout() {
                (Outcome::Timeout, None, "timeout".to_owned())
            } else if e.is_tls() {
                (Outcome::Connection, None, format!("tls: {e}"))
            } else {
                (Outcome::Connection, None, format!("connection: {e}"))
            }
        }
    }
}
