//! Records of Web Push subscriptions (RFC 8030): where a device's browser receives pushes.

use sekimori_core::{DeviceId, TenantId, Timestamp, UserId};

/// A device's Web Push subscription: the push service's endpoint and the browser's
/// RFC 8291 keys. One per device; subscribing again replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscription {
    /// The device it wakes.
    pub device_id: DeviceId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The device's user.
    pub user_id: UserId,
    /// The push service's URL for this subscription (https, or http on loopback).
    pub endpoint: String,
    /// The browser's P-256 public key, base64url of the 65-byte uncompressed point.
    pub p256dh: String,
    /// The browser's 16-byte authentication secret, base64url.
    pub auth: String,
    /// When it was stored, ms.
    pub created_at: Timestamp,
}
