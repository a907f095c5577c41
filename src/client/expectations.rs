//! `ControllerExpectations` as the ReplicaSet and DaemonSet controllers use it (upstream
//! pkg/controller/controller_utils.go): pods an owner created and has not yet seen in the
//! informer cache, and writes still waiting for a client token. An owner with outstanding
//! creations is not synced into creating more.
//!
//! Invariant: a name leaves only when the cache shows the pod (or the owner is forgotten).

use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub struct CreateExpectations {
    by_owner: BTreeMap<String, BTreeSet<String>>,
    /// Writes decided but still waiting for the client's token (upstream counts them in
    /// `ExpectCreations`/`ExpectDeletions` before the requests leave).
    pending: BTreeMap<String, usize>,
}

impl CreateExpectations {
    /// The owner created `pod`; expect to see it.
    pub fn expect(&mut self, owner: String, pod: &str) {
        self.by_owner
            .entry(owner)
            .or_default()
            .insert(pod.to_string());
    }

    /// The cache showed `pod` of `owner`.
    pub fn observe(&mut self, owner: &str, pod: &str) {
        if let Some(exp) = self.by_owner.get_mut(owner) {
            exp.remove(pod);
            if exp.is_empty() {
                self.by_owner.remove(owner);
            }
        }
    }

    /// The owner decided a write that waits for a client token.
    pub fn expect_later(&mut self, owner: &str) {
        *self.pending.entry(owner.to_string()).or_default() += 1;
    }

    /// A write announced by `expect_later` has been sent (or given up).
    pub fn sent(&mut self, owner: &str) {
        if let Some(n) = self.pending.get_mut(owner) {
            *n -= 1;
            if *n == 0 {
                self.pending.remove(owner);
            }
        }
    }

    /// The owner is gone: nothing to wait for.
    pub fn forget(&mut self, owner: &str) {
        self.by_owner.remove(owner);
        self.pending.remove(owner);
    }

    /// Every creation of the owner has been seen and none is still waiting to be sent.
    pub fn satisfied(&self, owner: &str) -> bool {
        !self.by_owner.contains_key(owner) && !self.pending.contains_key(owner)
    }
}
