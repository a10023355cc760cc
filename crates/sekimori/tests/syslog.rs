//! Syslog through the front door: the built binary with `[[syslog.listeners]]` on UDP, TCP
//! and TLS (with and without client certificates), messages sent by the real `logger`
//! command of util-linux, by a TLS client and relayed by a real rsyslogd, SigmaHQ's Linux
//! rules judging them, and the results read back over the admin API.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

mod common;
use common::{start_with, terminate, Server};

const SSHD_RULE: &str = "e76b413a-83d0-4b94-8e4c-85db4a5b8bdc"; // Suspicious OpenSSH Daemon Error
const DISABLING_RULE: &str = "49f5dfc1-f92e-4d34-96fa-feba3f6acf36"; // Disabling Security Tools

struct Pki {
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "Sekimori test CA");
        let ca = params.self_signed(&ca_key).expect("ca");
        Pki { ca, ca_key }
    }

    /// A leaf for `names`, signed by the CA: (certificate PEM, key PEM, DER for clients).
    fn leaf(&self, names: &[&str], client: bool) -> (String, String, rcgen::Certificate, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).expect("params");
        params.extended_key_usages = vec![if client {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        }];
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).expect("sign");
        (cert.pem(), key.serialize_pem(), cert, key)
    }
}

fn logger(port: u16, args: &[&str], message: &str) {
    let out = Command::new("logger")
        .args(["--server", "127.0.0.1", "--port", &port.to_string()])
        .args(args)
        .arg(message)
        .output()
        .expect("util-linux logger is installed");
    assert!(out.status.success(), "logger {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Sends `payload` over TLS, with a client certificate when given; Err when the handshake fails.
async fn send_tls(
    port: u16,
    pki: &Pki,
    client: Option<(&rcgen::Certificate, &rcgen::KeyPair)>,
    payload: &[u8],
) -> std::io::Result<()> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der().clone()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("key der"),
            )
            .expect("client auth"),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(payload).await?;
    tls.flush().await?;
    // TLS 1.3 reports a refused client certificate only on the first read after the handshake.
    tls.shutdown().await?;
    let mut rest = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut tls, &mut rest).await.map(|_| ())
}

fn port_of(stdout: &str, scheme: &str, nth: usize) -> u16 {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("syslog listening on "))
        .filter(|l| l.starts_with(&format!("{scheme}://")))
        .nth(nth)
        .and_then(|l| l.split_whitespace().next()?.rsplit(':').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {scheme} listener #{nth} in:\n{stdout}"))
}

async fn get(server: &Server, path: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.expect("json")
}

/// A configuration loading `rules` with one listener on `listen`, named `source`.
fn one_listener(rules: &Path, listen: &str, source: &str) -> String {
    let rules = rules.display();
    format!("[detect]\nrules = [\"{rules}\"]\n\n[[syslog.listeners]]\nlisten = \"{listen}\"\nsource = \"{source}\"\n")
}

/// The messages every listener accepted, in all, and the listeners as the API lists them.
async fn accepted(server: &Server) -> (u64, Value) {
    let listeners = get(server, "/api/v1/admin/listeners").await;
    let accepted = listeners.as_array().expect("listeners").iter().map(|l| l["accepted"].as_u64().unwrap_or(0)).sum();
    (accepted, listeners)
}

/// The server started with `config` (its `sekimori.toml`), the temporary directory it runs
/// in (kept while the test runs) and what it printed on start (the listeners' ports).
async fn start_configured(config: &str) -> (tempfile::TempDir, Server, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("sekimori.toml");
    std::fs::write(&config_path, config).expect("config");
    let data = dir.path().join("data");
    let server = start_with(&data, &["--config", &config_path.display().to_string()], &[]).await;
    let stdout = std::fs::read_to_string(data.with_extension("stdout")).expect("stdout");
    (dir, server, stdout)
}

/// Polls the alerts until `want` of them exist (the listener's writer runs asynchronously).
async fn alerts_until(server: &Server, want: usize) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..100 {
        last = get(server, "/api/v1/admin/alerts").await.as_array().cloned().unwrap_or_default();
        if last.len() >= want {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected {want} alerts, have {}: {last:?}", last.len());
}

fn sigma_linux_rules() -> std::path::PathBuf {
    common::sigma_data("rules/linux/builtin")
}

#[tokio::test]
async fn syslog_over_udp_tcp_and_tls_is_judged_by_sigma_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Pki::new();
    let (cert, key, _, _) = pki.leaf(&["localhost", "127.0.0.1"], false);
    let (_, _, client_cert, client_key) = pki.leaf(&["sender.example"], true);
    for (name, text) in [("server.pem", &cert), ("server.key", &key), ("ca.pem", &pki.ca.pem())] {
        std::fs::write(dir.path().join(name), text).expect("write pem");
    }
    let p = |name: &str| dir.path().join(name).display().to_string();
    let config = format!(
        r#"
[detect]
rules = ["{rules}"]

[[syslog.listeners]]
listen = "udp://127.0.0.1:0"
source = "edge-syslog"

[[syslog.listeners]]
listen = "tcp://127.0.0.1:0"
source = "edge-syslog"

[[syslog.listeners]]
listen = "tls://127.0.0.1:0"
source = "tls-syslog"
tls_cert = "{cert}"
tls_key = "{key}"

[[syslog.listeners]]
listen = "tls://127.0.0.1:0"
source = "mtls-syslog"
tls_cert = "{cert}"
tls_key = "{key}"
tls_client_ca = "{ca}"
"#,
        rules = sigma_linux_rules().display(),
        cert = p("server.pem"),
        key = p("server.key"),
        ca = p("ca.pem"),
    );
    std::fs::write(dir.path().join("sekimori.toml"), config).expect("config");
    let data = dir.path().join("data");
    let config_path = p("sekimori.toml");
    let server = start_with(&data, &["--config", &config_path], &[]).await;
    let stdout = std::fs::read_to_string(data.with_extension("stdout")).expect("stdout");
    let (udp, tcp, tls, mtls) = (
        port_of(&stdout, "udp", 0),
        port_of(&stdout, "tcp", 0),
        port_of(&stdout, "tls", 0),
        port_of(&stdout, "tls", 1),
    );

    // RFC 5424 over UDP from sshd: the SigmaHQ sshd rule fires.
    logger(udp, &["--udp", "--rfc5424", "-t", "sshd", "-p", "auth.err"], "error: Corrupted MAC on input");
    // The same words from cron do not: the rule is for service sshd only.
    logger(udp, &["--udp", "--rfc5424", "-t", "cron"], "Corrupted MAC on input");
    // RFC 3164 over TCP, newline framing (logger's default), and RFC 5424 octet-counted.
    logger(tcp, &["--tcp", "--rfc3164", "-t", "systemd"], "stopping firewalld");
    logger(tcp, &["--tcp", "--octet-count", "--rfc5424", "-t", "sshd"], "fatal: buffer_get_string: bad string");
    // TLS, octet-counted, with a line that is not syslog at all after it.
    let msg = "<38>1 2026-11-23T10:00:00Z bastion sshd 4242 - - incorrect signature";
    let payload = format!("{} {msg}not syslog at all\n", msg.len());
    send_tls(tls, &pki, None, payload.as_bytes()).await.expect("tls send");
    // Mutual TLS: without a client certificate the handshake fails; with one it is read.
    let msg = "<38>1 2026-11-23T10:00:01Z bastion sshd 4243 - - error in libcrypto";
    assert!(send_tls(mtls, &pki, None, format!("{msg}\n").as_bytes()).await.is_err(), "no client certificate");
    send_tls(mtls, &pki, Some((&client_cert, &client_key)), format!("{msg}\n").as_bytes()).await.expect("mtls");

    let alerts = alerts_until(&server, 5).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alerts_now = get(&server, "/api/v1/admin/alerts").await;
    assert_eq!(alerts_now.as_array().map(Vec::len), Some(5), "exactly five alerts: {alerts_now}");
    let rule = |a: &Value| a["rule_id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(alerts.iter().filter(|a| rule(a) == SSHD_RULE).count(), 4, "{alerts:?}");
    assert_eq!(alerts.iter().filter(|a| rule(a) == DISABLING_RULE).count(), 1, "{alerts:?}");
    let sources = get(&server, "/api/v1/admin/ingest-sources").await;
    let from = |source_name: &str| {
        let id = sources_by_name(&sources, source_name);
        alerts.iter().filter(|a| a["source_id"] == id.as_str()).count()
    };
    assert_eq!((from("edge-syslog"), from("tls-syslog"), from("mtls-syslog")), (3, 1, 1), "{alerts:?}");

    // The line that was not syslog is a dead letter, with its reason and a sample.
    let dead = get(&server, "/api/v1/admin/dead-letters").await;
    let dead = dead.as_array().expect("list");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["reason"], "does not start with <PRI>");
    assert_eq!(dead[0]["sample"], "not syslog at all");

    // Listener counters, and the sources the listeners created.
    let listeners = get(&server, "/api/v1/admin/listeners").await;
    let by_port = |port: u16| {
        listeners
            .as_array()
            .and_then(|l| l.iter().find(|x| x["url"].as_str().is_some_and(|u| u.ends_with(&format!(":{port}")))))
            .cloned()
            .unwrap_or_else(|| panic!("listener on {port}: {listeners}"))
    };
    assert_eq!((by_port(udp)["received"].as_u64(), by_port(udp)["accepted"].as_u64()), (Some(2), Some(2)));
    assert_eq!((by_port(tcp)["received"].as_u64(), by_port(tcp)["alerts"].as_u64()), (Some(2), Some(2)));
    let t = by_port(tls);
    assert_eq!((t["received"].as_u64(), t["accepted"].as_u64(), t["malformed"].as_u64()), (Some(2), Some(1), Some(1)));
    let m = by_port(mtls);
    assert_eq!(
        (m["failed_handshakes"].as_u64(), m["accepted"].as_u64(), m["dropped"].as_u64()),
        (Some(1), Some(1), Some(0))
    );
    let names: Vec<&str> = sources.as_array().expect("list").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names.len(), 3, "two listeners share edge-syslog: {names:?}");
    for n in ["edge-syslog", "tls-syslog", "mtls-syslog"] {
        assert!(names.contains(&n), "{names:?}");
    }

    // A revoked source: its listener refuses (and counts) what arrives.
    let edge = sources.as_array().expect("list").iter().find(|s| s["name"] == "edge-syslog").expect("edge");
    let del = reqwest::Client::new()
        .delete(format!("{}/api/v1/admin/ingest-sources/{}", server.url, edge["id"].as_str().expect("id")))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("delete");
    assert_eq!(del.status(), 204);
    logger(udp, &["--udp", "--rfc5424", "-t", "sshd"], "Corrupted MAC on input");
    for _ in 0..50 {
        if by_port_refused(&server, udp).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(by_port_refused(&server, udp).await, 1);
    assert_eq!(get(&server, "/api/v1/admin/alerts").await.as_array().map(Vec::len), Some(5));
}

fn sources_by_name(sources: &Value, name: &str) -> String {
    let list = sources.as_array().expect("list");
    list.iter().find(|s| s["name"] == name).and_then(|s| s["id"].as_str()).expect("source").to_owned()
}

async fn by_port_refused(server: &Server, port: u16) -> u64 {
    let listeners = get(server, "/api/v1/admin/listeners").await;
    listeners
        .as_array()
        .and_then(|l| l.iter().find(|x| x["url"].as_str().is_some_and(|u| u.ends_with(&format!(":{port}")))))
        .and_then(|x| x["refused_revoked"].as_u64())
        .unwrap_or(0)
}

#[test]
fn bad_syslog_configuration_is_refused_with_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("sekimori.toml");
    let intel = dir.path().join("intel.txt");
    std::fs::write(&intel, "# feed\n10.0.0.0/33\n").expect("write");
    let baselines = dir.path().join("baselines.yml");
    std::fs::write(&baselines, "learning_days: 7\n").expect("write");
    let intel_cfg = format!("[detect]\nthreat_intel = [\"{}\"]\n", intel.display());
    let baselines_cfg = format!("[detect]\nbaselines = \"{}\"\n", baselines.display());
    for (text, key, reason) in [
        (intel_cfg.as_str(), "detect.threat_intel", "intel.txt:2: not an IP address or CIDR"),
        (baselines_cfg.as_str(), "detect.baselines", "baselines.yml"),
        ("[[syslog.listeners]]\nlisten = \"http://127.0.0.1:514\"\n", "syslog.listeners[0].listen", "unknown scheme"),
        (
            "[[syslog.listeners]]\nlisten = \"udp://127.0.0.1:0\"\n[[syslog.listeners]]\nlisten = \"tls://127.0.0.1:0\"\n",
            "syslog.listeners[1].tls_cert",
            "required",
        ),
        ("[[syslog.listeners]]\nlisten = \"tcp://127.0.0.1:0\"\nmax_message_bytes = 10\n", "max_message_bytes", "between"),
        ("[[syslog.listeners]]\nlisten = \"tcp://127.0.0.1:0\"\nport = 5\n", "port", "unknown field"),
        (
            "[[syslog.listeners]]\nlisten = \"udp://127.0.0.1:0\"\nlogsource = { product = \"Cisco IOS\" }\n",
            "syslog.listeners[0].logsource.product",
            "must be 1 to 64 of a-z",
        ),
        (
            "[[syslog.listeners]]\nlisten = \"udp://127.0.0.1:0\"\nlabels = { user = \"x\" }\n",
            "syslog.listeners[0].labels",
            "set by Sekimori itself",
        ),
    ] {
        std::fs::write(&cfg, text).expect("write");
        let out = Command::new(common::BIN).arg("serve").arg("--config").arg(&cfg).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("sekimori.toml") && err.contains(key) && err.contains(reason), "{text}: {err}");
    }
}

/// A network device's syslog, declared by its listener: a Cisco switch's command
/// accounting (`%PARSER-5-CFGLOG_LOGGEDCMD`) fires SigmaHQ's Cisco AAA rule; the same
/// message on an undeclared listener is generic syslog, which Cisco's rules are not for.
#[tokio::test]
async fn a_listener_declares_what_its_messages_are() {
    let config = format!(
        r#"
[detect]
rules = ["{rules}"]

[[syslog.listeners]]
listen = "udp://127.0.0.1:0"
source = "switches"
logsource = {{ product = "cisco", service = "aaa" }}

[[syslog.listeners]]
listen = "udp://127.0.0.1:0"
source = "other"
"#,
        rules = common::sigma_data("rules/network/cisco/aaa").display(),
    );
    let (_dir, server, stdout) = start_configured(&config).await;
    let (switches, other) = (port_of(&stdout, "udp", 0), port_of(&stdout, "udp", 1));
    let message = "%PARSER-5-CFGLOG_LOGGEDCMD: User:netadmin  logged command:clear logging";
    logger(other, &["--udp", "--rfc3164", "-t", "core-sw1"], message);
    logger(switches, &["--udp", "--rfc3164", "-t", "core-sw1"], message);
    alerts_until(&server, 1).await;
    // The undeclared message was sent first; give its writer time to have judged it too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alerts = get(&server, "/api/v1/admin/alerts").await.as_array().cloned().unwrap_or_default();
    let titles: Vec<&str> = alerts.iter().filter_map(|a| a["title"].as_str()).collect();
    // Not `Cisco Local Accounts`, whose keyword `aaa` is only in the declaration Sekimori
    // keeps in the event (`sekimori.logsource.service`): keyword searches do not see it.
    assert_eq!(titles, ["Cisco Clear Logs"], "{alerts:?}");
    let sources = get(&server, "/api/v1/admin/ingest-sources").await;
    let switches = sources_by_name(&sources, "switches");
    assert!(alerts.iter().all(|a| a["source_id"].as_str() == Some(switches.as_str())), "{alerts:?}");
    let (accepted, listeners) = accepted(&server).await;
    assert_eq!(accepted, 2, "both messages were stored: {listeners}");
}

/// A FortiGate logging to a syslog server: FortiOS's default format is a bare `<PRI>` and
/// `key=value` pairs (sent here as a raw datagram), its RFC 5424 format puts them after a
/// header (sent by `logger`). The pairs become fields and the fields place the message as
/// `fortigate`, so SigmaHQ's FortiGate rules fire on it; the same pairs from a device
/// without a FortiGate's fields stay generic syslog, which those rules are not for.
#[tokio::test]
async fn fortigate_key_value_messages_fire_sigmahq_fortigate_rules() {
    let config = one_listener(&common::sigma_data("rules/network/fortinet"), "udp://127.0.0.1:0", "firewalls");
    let (_dir, server, stdout) = start_configured(&config).await;
    let port = port_of(&stdout, "udp", 0);
    let fortios = |action: &str, cfgpath: &str| {
        format!(
            r#"date=2025-11-01 time=10:12:01 devname="FGT-edge" devid="FG100FTK00000001" eventtime=1761991921000000000 tz="+0100" logid="0100044547" type="event" subtype="system" level="information" vd="root" logdesc="Object attribute configured" user="admin" ui="GUI(10.0.0.5)" action="{action}" cfgtid=1234 cfgpath="{cfgpath}" cfgobj="backdoor" msg="{action} {cfgpath} backdoor""#
        )
    };
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let raw = format!("<189>{}", fortios("Add", "system.admin"));
    socket.send_to(raw.as_bytes(), ("127.0.0.1", port)).expect("send");
    logger(port, &["--udp", "--rfc5424", "-t", "FGT-edge"], &fortios("Edit", "user.group"));
    // Another device's pairs, without `devid`, `logid` and `subtype`.
    logger(port, &["--udp", "--rfc3164", "-t", "edge"], r#"type="event" action="Add" cfgpath="system.admin""#);
    alerts_until(&server, 2).await;
    // The third message was sent last; give its writer time to have judged it too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alerts = get(&server, "/api/v1/admin/alerts").await.as_array().cloned().unwrap_or_default();
    let mut titles: Vec<&str> = alerts.iter().filter_map(|a| a["title"].as_str()).collect();
    titles.sort_unstable();
    assert_eq!(titles, ["FortiGate - New Administrator Account Created", "FortiGate - User Group Modified"]);
    let (accepted, listeners) = accepted(&server).await;
    assert_eq!(accepted, 3, "all three messages were stored: {listeners}");
}

/// auditd's records relayed by syslog (audispd's syslog plugin logs them with the tag
/// `audispd`): their `key=value` pairs are fields, so SigmaHQ's auditd rules fire on them.
#[tokio::test]
async fn auditd_records_relayed_by_syslog_fire_sigmahq_auditd_rules() {
    let config = one_listener(&common::sigma_data("rules/linux/auditd"), "tcp://127.0.0.1:0", "hosts");
    let (_dir, server, stdout) = start_configured(&config).await;
    let port = port_of(&stdout, "tcp", 0);
    let tag = ["--tcp", "--rfc3164", "-t", "audispd", "-p", "authpriv.info"];
    logger(port, &tag, r#"type=EXECVE msg=audit(1764556800.123:42): argc=2 a0="ls" a1="-la""#);
    logger(port, &tag, r#"type=EXECVE msg=audit(1764556800.123:43): argc=3 a0="arecord" a1="-vv" a2="-fdat""#);
    alerts_until(&server, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alerts = get(&server, "/api/v1/admin/alerts").await.as_array().cloned().unwrap_or_default();
    let titles: Vec<&str> = alerts.iter().filter_map(|a| a["title"].as_str()).collect();
    assert_eq!(titles, ["Audio Capture"], "{alerts:?}");
}

/// Stops the rsyslogd it holds when dropped.
struct Rsyslogd(std::process::Child);

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// rsyslog as a relay would run it: local programs log to its socket (imuxsock), and it
/// forwards everything to Sekimori over TCP twice, RFC 5424 octet-counted and in its
/// traditional forwarding format (RFC 3164 with an RFC 3339 time) newline-framed.
#[tokio::test]
async fn rsyslog_forwards_to_sekimori_over_tcp() {
    let rsyslogd = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("rsyslogd is installed (scripts/test installs Debian's rsyslog)");
    let config = one_listener(&sigma_linux_rules(), "tcp://127.0.0.1:0", "relay");
    let (dir, server, stdout) = start_configured(&config).await;
    let tcp = port_of(&stdout, "tcp", 0);

    let socket = dir.path().join("log.sock");
    let work = dir.path().join("rsyslog");
    std::fs::create_dir(&work).expect("work dir");
    let conf = format!(
        r#"global(workDirectory="{work}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{socket}" CreatePath="on")
action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp" template="RSYSLOG_ForwardFormat")
"#,
        work = work.display(),
        socket = socket.display(),
    );
    let conf_path = dir.path().join("rsyslog.conf");
    std::fs::write(&conf_path, conf).expect("rsyslog.conf");
    let check = Command::new(rsyslogd).args(["-N1", "-f"]).arg(&conf_path).output().expect("rsyslogd -N1");
    assert!(check.status.success(), "rsyslog.conf: {}", String::from_utf8_lossy(&check.stderr));
    let _relay = Rsyslogd(
        Command::new(rsyslogd)
            .args(["-n", "-f"])
            .arg(&conf_path)
            .arg("-i")
            .arg(dir.path().join("rsyslogd.pid"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start rsyslogd"),
    );
    for _ in 0..100 {
        if socket.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(socket.exists(), "rsyslogd did not create {}", socket.display());

    // sshd's error through the relay: one alert per forwarded copy.
    let out = Command::new("logger")
        .arg("-u")
        .arg(&socket)
        .args(["-t", "sshd", "-p", "auth.err", "error: Corrupted MAC on input"])
        .output()
        .expect("logger");
    assert!(out.status.success(), "logger: {}", String::from_utf8_lossy(&out.stderr));
    alerts_until(&server, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let alerts = get(&server, "/api/v1/admin/alerts").await.as_array().cloned().unwrap_or_default();
    assert_eq!(alerts.len(), 2, "one alert per forwarded copy: {alerts:?}");
    assert!(alerts.iter().all(|a| a["rule_id"] == SSHD_RULE), "{alerts:?}");
    // Both copies were read as syslog from sshd on this host, nothing was a dead letter.
    let dead = get(&server, "/api/v1/admin/dead-letters").await;
    assert_eq!(dead.as_array().map(Vec::len), Some(0), "{dead}");
    for a in &alerts {
        let seq = a["event_seq"].as_i64().expect("event link");
        let event = get(&server, &format!("/api/v1/admin/ingested-events/{seq}")).await;
        assert_eq!(event["log"]["syslog"]["appname"], "sshd", "{event}");
        assert_eq!(event["log"]["syslog"]["facility"]["name"], "auth", "{event}");
    }
}

/// A TCP flood, then SIGTERM: reading stops, the queue drains into the store, and the
/// counters the server prints as it stops balance (received = accepted + malformed +
/// dropped + refused) with what the database holds after it stopped. (Before, some 10,000
/// messages already read were lost uncounted when the process stopped.)
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_tcp_flood_stores_or_counts_every_message() {
    flood_then_sigterm("").await;
}

/// The same with no grace at all, so the shutdown deadline passes while batches are being
/// stored: the batch in hand still finishes and counts as accepted, the rest of the queue
/// counts as dropped, and nothing is counted twice (before, a batch stored at the deadline
/// was counted as dropped too).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_deadline_cuts_between_batches_and_still_balances() {
    flood_then_sigterm("[server]\nshutdown_grace_seconds = 0\n").await;
}

#[cfg(unix)]
async fn flood_then_sigterm(extra: &str) {
    let config = format!(
        "{extra}[[syslog.listeners]]\nlisten = \"tcp://127.0.0.1:0\"\nsource = \"flood\"\nqueue_messages = 100000\n"
    );
    let (dir, mut server, stdout) = start_configured(&config).await;
    let port = port_of(&stdout, "tcp", 0);
    let flood = tokio::spawn(async move {
        let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        let mut i = 0u64;
        loop {
            let mut chunk = Vec::new();
            for _ in 0..500 {
                chunk.extend_from_slice(format!("<13>1 - host app - - - flood message {i}\n").as_bytes());
                i += 1;
            }
            if conn.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = terminate(&mut server).await;
    flood.abort();
    assert!(status.success(), "{status:?}");
    let out = std::fs::read_to_string(dir.path().join("data.stdout")).expect("stdout");
    let line =
        out.lines().find(|l| l.contains(" stopped: received ")).unwrap_or_else(|| panic!("final counters in {out}"));
    let num = |key: &str| -> u64 {
        let at = line.find(&format!(" {key} ")).unwrap_or_else(|| panic!("{key} in {line}")) + key.len() + 2;
        line[at..].split_whitespace().next().and_then(|n| n.parse().ok()).expect("number")
    };
    let (received, accepted) = (num("received"), num("accepted"));
    assert!(received > 1_000, "{line}");
    assert_eq!(received, accepted + num("malformed") + num("dropped") + num("refused"), "{line}");
    let db = rusqlite::Connection::open(dir.path().join("data/sekimori.db")).expect("db");
    let stored: u64 = db
        .query_row(
            "SELECT COUNT(*) FROM ingested_events WHERE source_id = (SELECT id FROM ingest_sources WHERE name = 'flood')",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(stored, accepted, "every accepted message is in the database: {line}");
}
