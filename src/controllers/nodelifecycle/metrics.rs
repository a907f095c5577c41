//! The node lifecycle controller's own Prometheus figures, as upstream's
//! pkg/controller/nodelifecycle/metrics.go defines them (v1.27–v1.34): per zone, the gauges
//! `node_collector_zone_size`, `node_collector_zone_health` and
//! `node_collector_unhealthy_nodes_in_zone` that `handleDisruption` sets on every monitor pass,
//! and the counter `node_collector_evictions_total` that `doNoExecuteTaintingPass` increments
//! when it has tainted a node NoExecute.
//!
//! Invariant: written only by the controller at the points upstream sets them and read only by
//! observers; nothing the controller decides reads them.

use std::collections::BTreeMap;

/// One zone's figures (the zone key is the controller's, `region:\0:zone`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ZoneFigures {
    /// `node_collector_zone_size`: nodes of the zone the pass saw.
    pub size: usize,
    /// `node_collector_unhealthy_nodes_in_zone`: those whose Ready condition is not True.
    pub unhealthy: usize,
    /// `node_collector_zone_health`: `100 × (size − unhealthy) / size` (100 for an empty zone).
    pub health: f64,
    /// `node_collector_evictions_total`: NoExecute taints the tainting pass added.
    pub evictions_total: u64,
}

#[derive(Clone, Debug, Default)]
pub struct ZoneMetrics {
    zones: BTreeMap<String, ZoneFigures>,
}

impl ZoneMetrics {
    /// `handleDisruption`'s gauges: each zone of the pass gets its size, unhealthy count and
    /// health; a zone the controller knew that has no node any more is set to 0, 100 and 0
    /// (upstream keeps the series at those values rather than deleting it).
    pub fn observe_pass<'a>(
        &mut self,
        zone_conds: &BTreeMap<String, (usize, usize)>,
        known: impl Iterator<Item = &'a String>,
    ) {
        // Per zone (Ready nodes, nodes): unhealthy is every node whose Ready is not True.
        for (zone, &(ready, size)) in zone_conds {
            let unhealthy = size - ready;
            let f = self.zones.entry(zone.clone()).or_default();
            f.size = size;
            f.unhealthy = unhealthy;
            f.health = if size == 0 {
                100.0
            } else {
                (100 * (size - unhealthy)) as f64 / size as f64
            };
        }
        for zone in known {
            if !zone_conds.contains_key(zone) {
                let f = self.zones.entry(zone.clone()).or_default();
                f.size = 0;
                f.unhealthy = 0;
                f.health = 100.0;
            }
        }
    }

    /// `evictionsTotal.WithLabelValues(zone).Inc()` after a successful NoExecute taint.
    pub fn count_eviction(&mut self, zone: &str) {
        self.zones
            .entry(zone.to_string())
            .or_default()
            .evictions_total += 1;
    }

    /// Every zone with a series, by zone key.
    pub fn zones(&self) -> &BTreeMap<String, ZoneFigures> {
        &self.zones
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// handleDisruption: `zoneHealth = 100*(len(v)-unhealthy)/len(v)` with unhealthy the
    /// nodes whose Ready is not True (missing counts as not ready, as in ComputeZoneState).
    #[test]
    fn health_is_the_percentage_of_ready_nodes() {
        let mut m = ZoneMetrics::default();
        let mut conds = BTreeMap::new();
        // Ready True, Unknown, missing, True: 2 Ready of 4 (the pass counts them per zone).
        conds.insert("a".to_string(), (2, 4));
        let known = ["a".to_string(), "gone".to_string()];
        m.observe_pass(&conds, known.iter());
        m.count_eviction("a");
        let a = m.zones()["a"];
        assert_eq!(
            (a.size, a.unhealthy, a.health, a.evictions_total),
            (4, 2, 50.0, 1)
        );
        let gone = m.zones()["gone"];
        assert_eq!((gone.size, gone.unhealthy, gone.health), (0, 0, 100.0));
    }
}
