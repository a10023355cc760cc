//! End-to-end tests: the real Sekimori server, started in-process on 127.0.0.1:0 with a
//! test clock, driven over HTTP by the same client code the CLI uses.

mod harness;

mod access;
mod api_errors;
mod app_browser;
mod audit;
mod baselines;
mod browser;
mod closed_loop;
mod console_access;
mod console_browser;
mod delivery;
mod device_auth;
mod environments;
mod event_search;
mod factors;
mod forward_auth;
mod ingest;
mod login;
mod oidc;
mod oidc_browser;
mod oidc_clients;
mod overrides;
mod passkeys;
mod passwords;
mod push;
mod qr;
mod raw;
mod respond;
mod risk;
mod risk_browser;
mod roles;
mod tickets;
mod tuning;
mod web_push;
