//! The names Sekimori writes into its audit events (ECS documents): every field name and
//! every `event.action` in one place, so a name is written once and a reader can see them
//! all (docs/protocol.md lists what each action means).

/// Field names (dotted ECS paths; Sekimori's own under `sekimori.`).
pub mod field {
    /// `error.message`
    pub const ERROR_MESSAGE: &str = "error.message";
    /// `event.reason`
    pub const EVENT_REASON: &str = "event.reason";
    /// `group.name`
    pub const GROUP_NAME: &str = "group.name";
    /// `sekimori.actor`
    pub const ACTOR: &str = "sekimori.actor";
    /// `sekimori.admin_token.id`
    pub const ADMIN_TOKEN_ID: &str = "sekimori.admin_token.id";
    /// `sekimori.admin_token.name`
    pub const ADMIN_TOKEN_NAME: &str = "sekimori.admin_token.name";
    /// `sekimori.admin_token.role`
    pub const ADMIN_TOKEN_ROLE: &str = "sekimori.admin_token.role";
    /// `sekimori.amr`
    pub const AMR: &str = "sekimori.amr";
    /// `sekimori.app.id`
    pub const APP_ID: &str = "sekimori.app.id";
    /// `sekimori.app.kind`
    pub const APP_KIND: &str = "sekimori.app.kind";
    /// `sekimori.app.name`
    pub const APP_NAME: &str = "sekimori.app.name";
    /// `sekimori.app.origins`
    pub const APP_ORIGINS: &str = "sekimori.app.origins";
    /// `sekimori.audit_archive.files`
    /// `sekimori.audit_chain.rows_checked`: rows a verification of the chain read.
    pub const AUDIT_CHAIN_ROWS_CHECKED: &str = "sekimori.audit_chain.rows_checked";
    /// `sekimori.audit_chain.first_broken`: the first row that did not verify.
    pub const AUDIT_CHAIN_FIRST_BROKEN: &str = "sekimori.audit_chain.first_broken";
    /// `sekimori.audit_chain.reason`: what is wrong with it.
    pub const AUDIT_CHAIN_REASON: &str = "sekimori.audit_chain.reason";
    /// `sekimori.audit_chain.by`: who asked (an admin token's id, `console:<user>`, or
    /// `schedule`).
    pub const AUDIT_CHAIN_BY: &str = "sekimori.audit_chain.by";
    pub const AUDIT_ARCHIVE_FILES: &str = "sekimori.audit_archive.files";
    /// `sekimori.audit_archive.from_seq`
    pub const AUDIT_ARCHIVE_FROM_SEQ: &str = "sekimori.audit_archive.from_seq";
    /// `sekimori.audit_archive.last_hash`
    pub const AUDIT_ARCHIVE_LAST_HASH: &str = "sekimori.audit_archive.last_hash";
    /// `sekimori.audit_archive.to_seq`
    pub const AUDIT_ARCHIVE_TO_SEQ: &str = "sekimori.audit_archive.to_seq";
    /// `sekimori.auth.level`
    pub const AUTH_LEVEL: &str = "sekimori.auth.level";
    /// `sekimori.cause`
    pub const CAUSE: &str = "sekimori.cause";
    /// `sekimori.changed`
    pub const CHANGED: &str = "sekimori.changed";
    /// `sekimori.credential.id`
    pub const CREDENTIAL_ID: &str = "sekimori.credential.id";
    /// `sekimori.device.id`
    pub const DEVICE_ID: &str = "sekimori.device.id";
    /// `sekimori.device.name`
    pub const DEVICE_NAME: &str = "sekimori.device.name";
    /// `sekimori.enrollment.id`
    pub const ENROLLMENT_ID: &str = "sekimori.enrollment.id";
    /// `sekimori.environment.key`
    pub const ENVIRONMENT_KEY: &str = "sekimori.environment.key";
    /// `sekimori.environment.known`
    pub const ENVIRONMENT_KNOWN: &str = "sekimori.environment.known";
    /// Since when a known environment has been seen (RFC 3339).
    pub const ENVIRONMENT_KNOWN_SINCE: &str = "sekimori.environment.known_since";
    /// `sekimori.environment.trusted`
    pub const ENVIRONMENT_TRUSTED: &str = "sekimori.environment.trusted";
    /// `sekimori.ingest.retention_days`
    pub const INGEST_RETENTION_DAYS: &str = "sekimori.ingest.retention_days";
    /// `sekimori.ingest_source.id`
    pub const INGEST_SOURCE_ID: &str = "sekimori.ingest_source.id";
    /// `sekimori.ingest_source.name`
    pub const INGEST_SOURCE_NAME: &str = "sekimori.ingest_source.name";
    /// `sekimori.level`
    pub const LEVEL: &str = "sekimori.level";
    /// `sekimori.lock.failures`
    pub const LOCK_FAILURES: &str = "sekimori.lock.failures";
    /// `sekimori.lock.until`
    pub const LOCK_UNTIL: &str = "sekimori.lock.until";
    /// `sekimori.login.id`
    pub const LOGIN_ID: &str = "sekimori.login.id";
    /// `sekimori.method`
    pub const METHOD: &str = "sekimori.method";
    /// `sekimori.oidc.alg`
    pub const OIDC_ALG: &str = "sekimori.oidc.alg";
    /// `sekimori.oidc.kid`
    pub const OIDC_KID: &str = "sekimori.oidc.kid";
    /// `sekimori.oidc.public`
    pub const OIDC_PUBLIC: &str = "sekimori.oidc.public";
    /// `sekimori.oidc.post_logout_redirect_uris`
    pub const OIDC_POST_LOGOUT_REDIRECT_URIS: &str = "sekimori.oidc.post_logout_redirect_uris";
    /// `sekimori.oidc.redirect_uris`
    pub const OIDC_REDIRECT_URIS: &str = "sekimori.oidc.redirect_uris";
    /// `sekimori.passkey.id`
    pub const PASSKEY_ID: &str = "sekimori.passkey.id";
    /// `sekimori.reason`
    pub const REASON: &str = "sekimori.reason";
    /// `sekimori.session.id`
    pub const SESSION_ID: &str = "sekimori.session.id";
    /// `sekimori.settings.password_policy`
    pub const SETTINGS_PASSWORD_POLICY: &str = "sekimori.settings.password_policy";
    /// `sekimori.settings.standby_required`
    pub const SETTINGS_STANDBY_REQUIRED: &str = "sekimori.settings.standby_required";
    /// `sekimori.settings.standby_seconds`
    pub const SETTINGS_STANDBY_SECONDS: &str = "sekimori.settings.standby_seconds";
    /// `sekimori.settings.time_zone`
    pub const SETTINGS_TIME_ZONE: &str = "sekimori.settings.time_zone";
    /// `sekimori.standby.seconds`
    pub const STANDBY_SECONDS: &str = "sekimori.standby.seconds";
    /// `sekimori.ticket.entitlement`
    pub const TICKET_ENTITLEMENT: &str = "sekimori.ticket.entitlement";
    /// `sekimori.ticket.id`
    pub const TICKET_ID: &str = "sekimori.ticket.id";
    /// `sekimori.tuning.version`
    pub const TUNING_VERSION: &str = "sekimori.tuning.version";
    /// ECS `source.geo.country_iso_code`, from the geo database.
    pub const SOURCE_GEO_COUNTRY: &str = "source.geo.country_iso_code";
    /// ECS `source.geo.location.lat`.
    pub const SOURCE_GEO_LAT: &str = "source.geo.location.lat";
    /// ECS `source.geo.location.lon`.
    pub const SOURCE_GEO_LON: &str = "source.geo.location.lon";
    /// ECS `source.as.number`.
    pub const SOURCE_AS_NUMBER: &str = "source.as.number";
    /// A login's risk decision: `OK`, `REVIEW` or `NG` (issue 19).
    pub const RISK_DECISION: &str = "sekimori.risk.decision";
    /// Its score.
    pub const RISK_SCORE: &str = "sekimori.risk.score";
    /// The signals present, by name.
    pub const RISK_REASONS: &str = "sekimori.risk.reasons";
    /// Each signal's points and what was seen.
    pub const RISK_CONTRIBUTIONS: &str = "sekimori.risk.contributions";
    /// The explicit rule that decided, if one did.
    pub const RISK_RULE: &str = "sekimori.risk.rule";
    /// False when the tenant's policy is in dry-run mode.
    pub const RISK_ENFORCED: &str = "sekimori.risk.enforced";
    /// The login method judged (`password`, `push`, …).
    pub const RISK_METHOD: &str = "sekimori.risk.method";
    /// The version of the policy that judged.
    pub const RISK_POLICY_VERSION: &str = "sekimori.risk.policy_version";
    /// What each external risk provider answered (or how it failed).
    pub const RISK_PROVIDERS: &str = "sekimori.risk.providers";
    /// The review id the login page kept in its cookie and sent with its signals.
    pub const RISK_REVIEW_ID: &str = "sekimori.risk.review_id";
    /// What the browser reported (`navigator.webdriver`, pasted, …), as sent.
    pub const RISK_BROWSER: &str = "sekimori.risk.browser";
    /// A routing document's version.
    pub const ROUTING_VERSION: &str = "sekimori.routing.version";
    /// An alert's id.
    pub const ALERT_ID: &str = "sekimori.alert.id";
    /// Who an alert is assigned to.
    pub const ALERT_ASSIGNEE: &str = "sekimori.alert.assignee";
    /// How many alerts a change touched.
    pub const ALERT_COUNT: &str = "sekimori.alert.count";
    /// A required-level override's id.
    pub const OVERRIDE_ID: &str = "sekimori.override.id";
    /// What an override does (`raise_level`, `suspend_push`, `block`).
    pub const OVERRIDE_ACTION: &str = "sekimori.override.action";
    /// The level an override requires.
    pub const OVERRIDE_LEVEL: &str = "sekimori.override.level";
    /// When an override ends.
    pub const OVERRIDE_EXPIRES_AT: &str = "sekimori.override.expires_at";
    /// The response policy that acted.
    pub const POLICY: &str = "sekimori.policy";
    /// Which step of its policy's escalation an override is (1: first offence).
    pub const ESCALATION_STEP: &str = "sekimori.escalation.step";
    /// An alert silence's id.
    pub const SILENCE_ID: &str = "sekimori.silence.id";
    /// `sekimori.user.known`
    pub const USER_KNOWN: &str = "sekimori.user.known";
    /// `source.ip`
    pub const SOURCE_IP: &str = "source.ip";
    /// `source.network`
    pub const SOURCE_NETWORK: &str = "source.network";
    /// `user.name`
    pub const USER_NAME: &str = "user.name";
    /// `user_agent.original`
    pub const USER_AGENT_ORIGINAL: &str = "user_agent.original";
}

/// `event.action` values.
pub mod action {
    /// `admin.console_role.granted`
    pub const ADMIN_CONSOLE_ROLE_GRANTED: &str = "admin.console_role.granted";
    /// `admin.console_role.revoked`
    pub const ADMIN_CONSOLE_ROLE_REVOKED: &str = "admin.console_role.revoked";
    /// `admin.app.created`
    pub const ADMIN_APP_CREATED: &str = "admin.app.created";
    /// `admin.app.origins_updated`
    pub const ADMIN_APP_ORIGINS_UPDATED: &str = "admin.app.origins_updated";
    /// `admin.app.revoked`
    pub const ADMIN_APP_REVOKED: &str = "admin.app.revoked";
    /// An OIDC client's redirect URIs replaced.
    pub const ADMIN_OIDC_CLIENT_UPDATED: &str = "admin.oidc_client.updated";
    /// `admin.ingest_settings.updated`
    pub const ADMIN_INGEST_SETTINGS_UPDATED: &str = "admin.ingest_settings.updated";
    /// `admin.ingest_source.created`
    pub const ADMIN_INGEST_SOURCE_CREATED: &str = "admin.ingest_source.created";
    /// `admin.ingest_source.revoked`
    pub const ADMIN_INGEST_SOURCE_REVOKED: &str = "admin.ingest_source.revoked";
    /// An ingest source's routing labels set.
    pub const ADMIN_INGEST_SOURCE_LABELLED: &str = "admin.ingest_source.labelled";
    /// `admin.tenant.password_policy`
    pub const ADMIN_TENANT_PASSWORD_POLICY: &str = "admin.tenant.password_policy";
    /// `admin.tenant.time_zone`
    pub const ADMIN_TENANT_TIME_ZONE: &str = "admin.tenant.time_zone";
    /// `admin.tenant.updated`
    pub const ADMIN_TENANT_UPDATED: &str = "admin.tenant.updated";
    /// `admin.token.created`
    pub const ADMIN_TOKEN_CREATED: &str = "admin.token.created";
    /// `admin.token.revoked`
    pub const ADMIN_TOKEN_REVOKED: &str = "admin.token.revoked";
    /// `admin.tuning.updated`
    pub const ADMIN_TUNING_UPDATED: &str = "admin.tuning.updated";
    /// A tenant's login risk policy was written.
    pub const ADMIN_RISK_POLICY_UPDATED: &str = "admin.risk_policy.updated";
    /// A new version of a tenant's alert routing document.
    pub const ADMIN_ROUTING_UPDATED: &str = "admin.routing.updated";
    /// An alert acknowledged.
    pub const ALERT_ACKNOWLEDGED: &str = "alert.acknowledged";
    /// An alert resolved (by hand, or because its rule's condition did not recur).
    pub const ALERT_RESOLVED: &str = "alert.resolved";
    /// An alert assigned.
    pub const ALERT_ASSIGNED: &str = "alert.assigned";
    /// A comment on an alert.
    pub const ALERT_COMMENTED: &str = "alert.commented";
    /// A required-level override set on a user (by a response policy or an admin).
    pub const RESPONSE_OVERRIDE_SET: &str = "response.override.set";
    /// A required-level override lifted early.
    pub const RESPONSE_OVERRIDE_LIFTED: &str = "response.override.lifted";
    /// A user's sessions ended by a response policy.
    pub const RESPONSE_REAUTHENTICATE: &str = "response.reauthenticate";
    /// A test notification sent to a receiver's channels.
    pub const ADMIN_RECEIVER_TESTED: &str = "admin.receiver.tested";
    /// An alert silence made.
    pub const ADMIN_SILENCE_CREATED: &str = "admin.silence.created";
    /// An alert silence ended early.
    pub const ADMIN_SILENCE_EXPIRED: &str = "admin.silence.expired";
    /// `audit.archived`
    pub const AUDIT_ARCHIVED: &str = "audit.archived";
    /// `audit.chain.verified`: the chain was walked; success when it verified, failure with
    /// the first broken row.
    pub const AUDIT_CHAIN_VERIFIED: &str = "audit.chain.verified";
    /// `auth.assertion.rejected_already_used`
    pub const AUTH_ASSERTION_REJECTED_ALREADY_USED: &str = "auth.assertion.rejected_already_used";
    /// `auth.assertion.verified`
    pub const AUTH_ASSERTION_VERIFIED: &str = "auth.assertion.verified";
    /// `auth.device.invalid_signature`
    pub const AUTH_DEVICE_INVALID_SIGNATURE: &str = "auth.device.invalid_signature";
    /// `auth.device.replayed`
    pub const AUTH_DEVICE_REPLAYED: &str = "auth.device.replayed";
    /// `auth.login.not_allowed`
    pub const AUTH_LOGIN_NOT_ALLOWED: &str = "auth.login.not_allowed";
    /// `auth.passkey.failed`
    pub const AUTH_PASSKEY_FAILED: &str = "auth.passkey.failed";
    /// `auth.passkey.succeeded`
    pub const AUTH_PASSKEY_SUCCEEDED: &str = "auth.passkey.succeeded";
    /// `auth.password.failed`
    pub const AUTH_PASSWORD_FAILED: &str = "auth.password.failed";
    /// `auth.password.locked`
    pub const AUTH_PASSWORD_LOCKED: &str = "auth.password.locked";
    /// `auth.password.throttled`
    pub const AUTH_PASSWORD_THROTTLED: &str = "auth.password.throttled";
    /// `auth.password.verified`
    pub const AUTH_PASSWORD_VERIFIED: &str = "auth.password.verified";
    /// A login attempt was judged by the risk policy.
    pub const AUTH_RISK_ASSESSED: &str = "auth.risk.assessed";
    /// `auth.push.approved`
    pub const AUTH_PUSH_APPROVED: &str = "auth.push.approved";
    /// `auth.push.denied`
    /// The user denied a push login and reported it as not theirs ("not me").
    pub const AUTH_PUSH_REPORTED: &str = "auth.push.reported";
    /// The user reported a new-environment warning as a sign-in that was not theirs.
    pub const AUTH_ENVIRONMENT_REPORTED: &str = "auth.environment.reported";
    /// Push approvals were suspended after denials in a row (push fatigue).
    pub const AUTH_PUSH_FATIGUE: &str = "auth.push.fatigue";
    pub const AUTH_PUSH_DENIED: &str = "auth.push.denied";
    /// `auth.push.rejected_number_mismatch`
    pub const AUTH_PUSH_REJECTED_NUMBER_MISMATCH: &str = "auth.push.rejected_number_mismatch";
    /// `auth.push.rejected_outside_standby`
    pub const AUTH_PUSH_REJECTED_OUTSIDE_STANDBY: &str = "auth.push.rejected_outside_standby";
    /// `auth.push.started`
    pub const AUTH_PUSH_STARTED: &str = "auth.push.started";
    /// `auth.qr.redeemed`
    pub const AUTH_QR_REDEEMED: &str = "auth.qr.redeemed";
    /// `auth.qr.rejected_already_used`
    pub const AUTH_QR_REJECTED_ALREADY_USED: &str = "auth.qr.rejected_already_used";
    /// `auth.qr.rejected_expired`
    pub const AUTH_QR_REJECTED_EXPIRED: &str = "auth.qr.rejected_expired";
    /// `auth.qr.rejected_unknown`
    pub const AUTH_QR_REJECTED_UNKNOWN: &str = "auth.qr.rejected_unknown";
    /// `auth.recovery.used`
    pub const AUTH_RECOVERY_USED: &str = "auth.recovery.used";
    /// `auth.recovery_code.failed`
    pub const AUTH_RECOVERY_CODE_FAILED: &str = "auth.recovery_code.failed";
    /// `auth.recovery_code.used`
    pub const AUTH_RECOVERY_CODE_USED: &str = "auth.recovery_code.used";
    /// `auth.session.created`
    pub const AUTH_SESSION_CREATED: &str = "auth.session.created";
    /// `auth.session.logout`
    pub const AUTH_SESSION_LOGOUT: &str = "auth.session.logout";
    /// `auth.session.logout_everywhere`
    pub const AUTH_SESSION_LOGOUT_EVERYWHERE: &str = "auth.session.logout_everywhere";
    /// `auth.session.revoked`
    pub const AUTH_SESSION_REVOKED: &str = "auth.session.revoked";
    /// `auth.session.revoked_all`
    pub const AUTH_SESSION_REVOKED_ALL: &str = "auth.session.revoked_all";
    /// `auth.session.revoked_by_admin`
    pub const AUTH_SESSION_REVOKED_BY_ADMIN: &str = "auth.session.revoked_by_admin";
    /// `auth.standby.opened`
    pub const AUTH_STANDBY_OPENED: &str = "auth.standby.opened";
    /// `auth.totp.failed`
    pub const AUTH_TOTP_FAILED: &str = "auth.totp.failed";
    /// `auth.totp.locked`
    pub const AUTH_TOTP_LOCKED: &str = "auth.totp.locked";
    /// `auth.totp.replayed`
    pub const AUTH_TOTP_REPLAYED: &str = "auth.totp.replayed";
    /// `auth.totp.verified`
    pub const AUTH_TOTP_VERIFIED: &str = "auth.totp.verified";
    /// `credential.passkey.deleted`
    pub const CREDENTIAL_PASSKEY_DELETED: &str = "credential.passkey.deleted";
    /// `credential.passkey.registered`
    pub const CREDENTIAL_PASSKEY_REGISTERED: &str = "credential.passkey.registered";
    /// `credential.password.deleted`
    pub const CREDENTIAL_PASSWORD_DELETED: &str = "credential.password.deleted";
    /// `credential.password.set`
    pub const CREDENTIAL_PASSWORD_SET: &str = "credential.password.set";
    /// `credential.recovery.generated`
    pub const CREDENTIAL_RECOVERY_GENERATED: &str = "credential.recovery.generated";
    /// `credential.recovery_codes.generated`
    pub const CREDENTIAL_RECOVERY_CODES_GENERATED: &str = "credential.recovery_codes.generated";
    /// `credential.totp.confirm_failed`
    pub const CREDENTIAL_TOTP_CONFIRM_FAILED: &str = "credential.totp.confirm_failed";
    /// `credential.totp.confirmed`
    pub const CREDENTIAL_TOTP_CONFIRMED: &str = "credential.totp.confirmed";
    /// `credential.totp.deleted`
    pub const CREDENTIAL_TOTP_DELETED: &str = "credential.totp.deleted";
    /// `credential.totp.enrolled`
    pub const CREDENTIAL_TOTP_ENROLLED: &str = "credential.totp.enrolled";
    /// `iam.device.enrolled`
    pub const IAM_DEVICE_ENROLLED: &str = "iam.device.enrolled";
    /// `iam.device.enrollment_created`
    pub const IAM_DEVICE_ENROLLMENT_CREATED: &str = "iam.device.enrollment_created";
    /// `iam.device.push_subscribed`
    pub const IAM_DEVICE_PUSH_SUBSCRIBED: &str = "iam.device.push_subscribed";
    /// `iam.device.removed`
    pub const IAM_DEVICE_REMOVED: &str = "iam.device.removed";
    /// `iam.device.renamed`
    pub const IAM_DEVICE_RENAMED: &str = "iam.device.renamed";
    /// `iam.environment.revoked`
    pub const IAM_ENVIRONMENT_REVOKED: &str = "iam.environment.revoked";
    /// `iam.environment.trust_changed`
    pub const IAM_ENVIRONMENT_TRUST_CHANGED: &str = "iam.environment.trust_changed";
    /// `iam.environment.trusted`
    pub const IAM_ENVIRONMENT_TRUSTED: &str = "iam.environment.trusted";
    /// `iam.group.created`
    pub const IAM_GROUP_CREATED: &str = "iam.group.created";
    /// `iam.group.deleted`
    pub const IAM_GROUP_DELETED: &str = "iam.group.deleted";
    /// `iam.group.member_added`
    pub const IAM_GROUP_MEMBER_ADDED: &str = "iam.group.member_added";
    /// `iam.group.member_removed`
    pub const IAM_GROUP_MEMBER_REMOVED: &str = "iam.group.member_removed";
    /// `iam.group.updated`
    pub const IAM_GROUP_UPDATED: &str = "iam.group.updated";
    /// `iam.ingest_source.created`
    pub const IAM_INGEST_SOURCE_CREATED: &str = "iam.ingest_source.created";
    /// `iam.ingest_source.revoked`
    pub const IAM_INGEST_SOURCE_REVOKED: &str = "iam.ingest_source.revoked";
    /// `iam.user.created`
    pub const IAM_USER_CREATED: &str = "iam.user.created";
    /// `iam.user.deleted`
    pub const IAM_USER_DELETED: &str = "iam.user.deleted";
    /// `iam.user.disabled`
    pub const IAM_USER_DISABLED: &str = "iam.user.disabled";
    /// `iam.user.enabled`
    pub const IAM_USER_ENABLED: &str = "iam.user.enabled";
    /// `iam.user.updated`
    pub const IAM_USER_UPDATED: &str = "iam.user.updated";
    /// `oidc.code.issued`
    pub const OIDC_CODE_ISSUED: &str = "oidc.code.issued";
    /// `oidc.code.replayed`
    pub const OIDC_CODE_REPLAYED: &str = "oidc.code.replayed";
    /// `oidc.key.created`
    pub const OIDC_KEY_CREATED: &str = "oidc.key.created";
    /// `oidc.refresh.reused`
    pub const OIDC_REFRESH_REUSED: &str = "oidc.refresh.reused";
    /// `oidc.refresh.revoked`
    pub const OIDC_REFRESH_REVOKED: &str = "oidc.refresh.revoked";
    /// `oidc.token.issued`
    pub const OIDC_TOKEN_ISSUED: &str = "oidc.token.issued";
    /// `oidc.token.refreshed`
    pub const OIDC_TOKEN_REFRESHED: &str = "oidc.token.refreshed";
}

/// A login step's method and result from its audit action (`auth.password.failed` →
/// `("password", "failure")`), for metrics and dashboards; `None` for other actions.
pub fn login_of(action: &str) -> Option<(&'static str, &'static str)> {
    Some(match action {
        "auth.password.verified" => ("password", "success"),
        "auth.password.failed" => ("password", "failure"),
        "auth.password.locked" => ("password", "locked"),
        "auth.password.throttled" => ("password", "throttled"),
        "auth.push.approved" => ("push", "success"),
        "auth.push.denied" => ("push", "denied"),
        "auth.push.reported" => ("push", "reported"),
        "auth.push.rejected_number_mismatch" => ("push", "number_mismatch"),
        "auth.push.rejected_outside_standby" => ("push", "outside_standby"),
        "auth.qr.redeemed" => ("qr", "success"),
        "auth.qr.rejected_already_used" => ("qr", "already_used"),
        "auth.qr.rejected_expired" => ("qr", "expired"),
        "auth.qr.rejected_unknown" => ("qr", "unknown"),
        "auth.passkey.succeeded" => ("passkey", "success"),
        "auth.passkey.failed" => ("passkey", "failure"),
        "auth.totp.verified" => ("totp", "success"),
        "auth.totp.failed" => ("totp", "failure"),
        "auth.totp.locked" => ("totp", "locked"),
        "auth.totp.replayed" => ("totp", "replayed"),
        "auth.recovery_code.used" => ("recovery_code", "success"),
        "auth.recovery_code.failed" => ("recovery_code", "failure"),
        "auth.login.not_allowed" => ("risk", "refused"),
        _ => return None,
    })
}

/// What a roll-up label adds after a risk decision when the login came from an
/// environment new to the user.
const NEW_ENVIRONMENT: &str = " new";

/// The label that divides an audit event's roll-up count further, for the actions whose
/// dashboards need it: for `auth.risk.assessed`, the risk decision (`OK`, `REVIEW`, `NG`),
/// followed by ` new` when the login came from an environment the user had not used
/// (`sekimori.environment.known` false). `""` for every other action. Read back with
/// [`risk_of_label`].
pub fn rollup_label(event: &crate::event::NewEvent) -> String {
    if event.action != action::AUTH_RISK_ASSESSED {
        return String::new();
    }
    let decision = event.fields.get(field::RISK_DECISION).and_then(serde_json::Value::as_str).unwrap_or("");
    if event.fields.get(field::ENVIRONMENT_KNOWN) == Some(&serde_json::Value::Bool(false)) {
        format!("{decision}{NEW_ENVIRONMENT}")
    } else {
        decision.to_owned()
    }
}

/// A risk assessment's roll-up label read back: (the decision as written, whether the
/// environment was new).
pub fn risk_of_label(label: &str) -> (&str, bool) {
    match label.strip_suffix(NEW_ENVIRONMENT) {
        Some(decision) => (decision, true),
        None => (label, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{NewEvent, Outcome};
    use crate::Timestamp;

    fn assessed(decision: &str, known: Option<bool>) -> NewEvent {
        let e = NewEvent::new(Timestamp(0), "t", "authentication", action::AUTH_RISK_ASSESSED, Outcome::Success)
            .field(field::RISK_DECISION, decision);
        match known {
            Some(k) => e.field(field::ENVIRONMENT_KNOWN, k),
            None => e,
        }
    }

    #[test]
    fn a_risk_label_reads_back_as_its_decision_and_environment() {
        for (event, label, read) in [
            (assessed("OK", Some(true)), "OK", ("OK", false)),
            (assessed("REVIEW", Some(false)), "REVIEW new", ("REVIEW", true)),
            (assessed("NG", None), "NG", ("NG", false)),
        ] {
            assert_eq!(rollup_label(&event), label);
            assert_eq!(risk_of_label(label), read);
        }
        let other = NewEvent::new(Timestamp(0), "t", "authentication", "auth.password.failed", Outcome::Failure)
            .field(field::RISK_DECISION, "OK");
        assert_eq!(rollup_label(&other), "", "only risk assessments are labelled");
    }
}
