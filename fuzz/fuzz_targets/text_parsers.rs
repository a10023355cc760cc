//! Every parser of untrusted text must return, never panic: bearer keys, names,
//! timestamps, user agents, enrolment links, ticket payloads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = sekimori_core::token::PrefixedKey::parse("skadm", text);
    let _ = sekimori_core::token::PrefixedKey::parse("skapp", text);
    let _ = sekimori_core::names::Username::parse(text);
    let _ = sekimori_core::names::Label::parse(text);
    let _ = sekimori_core::names::Entitlement::parse(text);
    let _ = sekimori_core::Timestamp::parse(text);
    let env = sekimori_core::environment::Environment::from_client(None, Some(text));
    let _ = env.key();
    let _ = sekimori_client::authenticator::parse_enrollment_link(text);
    let _ = sekimori_client::percent_decode(text);
    if let Some((id, mac)) = sekimori_gate::tickets::parse_ticket_payload(text) {
        assert_eq!(id.len(), 32);
        assert_eq!(mac.len(), 32);
    }
});
