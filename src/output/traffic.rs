//! `summary.json`'s synthetic-traffic figures (docs/traffic.md): per Service over the run
//! (`traffic`), and per Service in each fault's attribution window (`faults[i].traffic`):
//! requests sent and failed, the first and last failing request (simulated seconds) and the
//! blackhole window between them. Every figure is a number or a decimal string, so
//! `kubesim sweep` flattens them into metrics (`traffic.default/web.failed`).
//!
//! Invariant: reads the run's counts only; a run without `traffic:` adds no key.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::proxy::traffic::Outcome;
use crate::run::RunOutput;
use crate::sim::time::format_secs;

#[derive(Serialize)]
pub(super) struct ServiceTraffic {
    requests: u64,
    failed: u64,
    first_failed_s: Option<String>,
    last_failed_s: Option<String>,
    /// `last_failed_s − first_failed_s`.
    blackhole_window_s: Option<String>,
}

impl From<&Outcome> for ServiceTraffic {
    fn from(o: &Outcome) -> Self {
        let secs = |t: crate::sim::SimTime| format_secs(t.as_nanos(), 3);
        ServiceTraffic {
            requests: o.sent,
            failed: o.failed,
            first_failed_s: o.first_failed.map(secs),
            last_failed_s: o.last_failed.map(secs),
            blackhole_window_s: o.window().map(|d| format_secs(d.as_nanos(), 3)),
        }
    }
}

/// Per Service, the whole run (None without `traffic:`).
pub(super) fn totals(out: &RunOutput) -> Option<BTreeMap<String, ServiceTraffic>> {
    let r = out.traffic.as_ref()?;
    Some(
        r.totals
            .iter()
            .map(|(k, o)| (k.clone(), o.into()))
            .collect(),
    )
}

/// Per Service, the requests of fault number `ordinal`'s attribution window (empty without
/// `traffic:`).
pub(super) fn of_fault(out: &RunOutput, ordinal: usize) -> BTreeMap<String, ServiceTraffic> {
    let Some(r) = &out.traffic else {
        return BTreeMap::new();
    };
    r.totals
        .keys()
        .map(|k| {
            let o = r
                .per_fault
                .get(&(k.clone(), Some(ordinal)))
                .cloned()
                .unwrap_or_default();
            (k.clone(), (&o).into())
        })
        .collect()
}
