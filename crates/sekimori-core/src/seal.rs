//! Sealing secrets for storage: a seam so a service that keeps secrets (e.g. the routing
//! document's webhook URLs) encrypts them under the server's key without knowing the key.

/// Encrypts and opens values under the server's secret key. `context` (e.g. the tenant
/// and purpose) is authenticated, so a value sealed for one context does not open in
/// another.
pub trait Sealer: Send + Sync {
    /// `plaintext`, encrypted and authenticated (a fresh random nonce each time).
    fn seal(&self, context: &[u8], plaintext: &[u8]) -> Vec<u8>;
    /// What [`Sealer::seal`] sealed under the same `context`; `None` when it was altered,
    /// sealed under another key, or for another context.
    fn open(&self, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>>;
}
