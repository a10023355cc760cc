//! The two stages a batch's behaviour profiles go through on this node: judging (read the
//! profiles, observe the batch's events, build what is stored) and storing (one write
//! transaction). One batch judges at a time, and batches store one at a time in the order
//! they judged; a batch judges while the one before it stores, reading the profiles that
//! one is storing from memory rather than the older ones still in the database. So two
//! batches never update a profile from the same old state, as with one lock over both
//! stages, but the rules' and baselines' work of one batch overlaps the write of another.
//!
//! If a batch's write fails (or its cursor had moved), the batch after it may already have
//! built on its profiles and stores them: the failed batch's events are then counted in
//! the profiles once more when they are sent again. Profiles are statistics; nothing
//! acknowledged is lost.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use sekimori_core::TenantId;
use sekimori_detect::baseline::Profile;

/// The profiles of batches judged and not stored yet, by tenant and entity: the newest of
/// each and the number of the batch that made it.
type Unstored = HashMap<TenantId, HashMap<String, (u64, Arc<Profile>)>>;

/// The stages, shared by every batch of this node.
#[derive(Debug, Default)]
pub(crate) struct ProfileStages {
    /// Held while a batch judges; the next batch's number.
    judge: tokio::sync::Mutex<u64>,
    /// Held while a batch stores; taken before the judging lock is let go, so batches
    /// store in the order they judged (tokio's mutex is fair).
    store: tokio::sync::Mutex<()>,
    /// At most two batches' worth.
    unstored: Mutex<Unstored>,
}

impl ProfileStages {
    /// Waits for the judging stage.
    pub(crate) async fn judge(&self) -> Judging<'_> {
        let mut next = self.judge.lock().await;
        let ticket = *next;
        *next += 1;
        Judging { stages: self, _turn: next, ticket }
    }

    fn unstored(&self) -> std::sync::MutexGuard<'_, Unstored> {
        self.unstored.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A batch in the judging stage.
pub(crate) struct Judging<'a> {
    stages: &'a ProfileStages,
    _turn: tokio::sync::MutexGuard<'a, u64>,
    ticket: u64,
}

impl<'a> Judging<'a> {
    /// The profiles of `entities` that a batch before this one judged and has not stored
    /// yet, and the entities to read from the store.
    pub(crate) fn unstored(
        &self,
        tenant_id: &TenantId,
        entities: &[String],
    ) -> (BTreeMap<String, Profile>, Vec<String>) {
        let unstored = self.stages.unstored();
        let of_tenant = unstored.get(tenant_id);
        let mut found = BTreeMap::new();
        let mut missing = Vec::new();
        for entity in entities {
            match of_tenant.and_then(|m| m.get(entity)) {
                Some((_, profile)) => {
                    found.insert(entity.clone(), Profile::clone(profile));
                }
                None => missing.push(entity.clone()),
            }
        }
        (found, missing)
    }

    /// Makes `profiles` (this batch's, as it will store them) the newest for the batches
    /// after it, and waits for this batch's turn to store.
    pub(crate) async fn into_storing(self, tenant_id: &TenantId, profiles: BTreeMap<String, Profile>) -> Storing<'a> {
        let entities: Vec<String> = profiles.keys().cloned().collect();
        {
            let mut unstored = self.stages.unstored();
            let of_tenant = unstored.entry(tenant_id.clone()).or_default();
            for (entity, profile) in profiles {
                of_tenant.insert(entity, (self.ticket, Arc::new(profile)));
            }
        }
        let turn = self.stages.store.lock().await;
        // The judging lock goes only now (with `self`), so the next batch queues behind.
        Storing { stages: self.stages, _turn: turn, ticket: self.ticket, tenant_id: tenant_id.clone(), entities }
    }
}

/// A batch in the storing stage. When it ends (stored, failed or dropped), its profiles
/// are forgotten from memory unless a later batch replaced them: from then on they are read
/// from the store.
pub(crate) struct Storing<'a> {
    stages: &'a ProfileStages,
    _turn: tokio::sync::MutexGuard<'a, ()>,
    ticket: u64,
    tenant_id: TenantId,
    entities: Vec<String>,
}

impl Drop for Storing<'_> {
    fn drop(&mut self) {
        let mut unstored = self.stages.unstored();
        let Some(of_tenant) = unstored.get_mut(&self.tenant_id) else { return };
        for entity in &self.entities {
            if of_tenant.get(entity).is_some_and(|(ticket, _)| *ticket == self.ticket) {
                of_tenant.remove(entity);
            }
        }
        if of_tenant.is_empty() {
            unstored.remove(&self.tenant_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn profile(events: u64) -> Profile {
        Profile { events, ..Profile::default() }
    }

    #[tokio::test]
    async fn the_next_batch_reads_what_the_one_before_is_storing_and_stores_after_it() {
        let stages = Arc::new(ProfileStages::default());
        let t = TenantId::new("t1");
        let alice = vec!["alice".to_owned()];
        // A judges: nothing unstored, alice is read from the store.
        let a = stages.judge().await;
        assert_eq!(a.unstored(&t, &alice), (BTreeMap::new(), alice.clone()));
        let a = a.into_storing(&t, [("alice".to_owned(), profile(1))].into()).await;
        // B judges while A stores, from A's alice.
        let b = stages.judge().await;
        let (found, missing) = b.unstored(&t, &["alice".to_owned(), "bob".to_owned()]);
        assert_eq!(found.get("alice"), Some(&profile(1)));
        assert_eq!(missing, ["bob"]);
        assert!(b.unstored(&TenantId::new("t2"), &alice).0.is_empty(), "another tenant's alice");
        // B waits for A to finish storing.
        let order = Arc::new(Mutex::new(Vec::new()));
        let (s2, o2, t2) = (Arc::clone(&stages), Arc::clone(&order), t.clone());
        let b_store = tokio::spawn(async move {
            let b = s2.judge().await;
            let _b = b.into_storing(&t2, [("alice".to_owned(), profile(2))].into()).await;
            o2.lock().expect("order").push("b stores");
        });
        drop(b); // the first B only looked; the spawned one is the real next batch
        tokio::time::sleep(Duration::from_millis(20)).await;
        order.lock().expect("order").push("a stored");
        drop(a);
        b_store.await.expect("b");
        assert_eq!(*order.lock().expect("order"), ["a stored", "b stores"]);
        // A's end did not forget B's newer alice; B's end did.
        assert!(stages.unstored().is_empty(), "both stored: read from the store again");
    }

    #[tokio::test]
    async fn a_batch_that_ends_keeps_a_later_batchs_profile() {
        let stages = ProfileStages::default();
        let t = TenantId::new("t1");
        let a = stages.judge().await.into_storing(&t, [("alice".to_owned(), profile(1))].into()).await;
        // B judged before A ended (it cannot store before A, but it can publish).
        let b = stages.judge();
        drop(a);
        let b = b.await;
        let (found, _) = b.unstored(&t, &["alice".to_owned()]);
        assert!(found.is_empty(), "A ended: alice is read from the store");
        let b = b.into_storing(&t, [("alice".to_owned(), profile(2))].into()).await;
        let c = stages.judge().await;
        assert_eq!(c.unstored(&t, &["alice".to_owned()]).0.get("alice"), Some(&profile(2)));
        drop(b);
        assert!(c.unstored(&t, &["alice".to_owned()]).0.is_empty());
    }
}
