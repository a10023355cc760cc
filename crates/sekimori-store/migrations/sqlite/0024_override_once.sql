-- A policy acts once per alert: two nodes taking in the same alert set one override.
CREATE UNIQUE INDEX user_overrides_policy_source ON user_overrides (policy, source) WHERE policy IS NOT NULL;
