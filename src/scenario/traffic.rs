//! The `kubeProxy:` and `traffic:` sections (docs/traffic.md): kube-proxy's sync periods and
//! the synthetic clients of Services. Either section turns the proxies on; without both, a
//! run has no proxy and no proxy event.
//!
//! Invariant: every error names the field path; a client names a Service of the scenario and
//! at least one node.

use std::path::Path;

use serde::Deserialize;

use super::error::InputError;
use super::raw::RawNodeSet;
use super::values::DurationValue;
use crate::cluster::spec::Workload;
use crate::model::Node;
use crate::proxy::traffic::TrafficClient;
use crate::proxy::ProxyConfig;

/// The highest `requestsPerSecond` (one request per microsecond per node).
pub const MAX_REQUESTS_PER_SECOND: u64 = 1_000_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawKubeProxy {
    /// `iptables` (default) or `nftables`: the same sync defaults.
    pub mode: Option<String>,
    pub min_sync_period: Option<DurationValue>,
    pub sync_period: Option<DurationValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTrafficClient {
    /// `name` (namespace `default`) or `namespace/name`.
    pub service: String,
    pub requests_per_second: u64,
    /// The origin nodes; absent: every node.
    pub from: Option<RawNodeSet>,
    /// When the first request is sent (default 0).
    pub start: Option<DurationValue>,
}

/// The proxies' configuration (None when neither section is present) and the clients.
pub fn resolve(
    file: &Path,
    kube_proxy: Option<&RawKubeProxy>,
    clients: &[RawTrafficClient],
    nodes: &[Node],
    workloads: &[Workload],
) -> Result<(Option<ProxyConfig>, Vec<TrafficClient>), InputError> {
    let config = match kube_proxy {
        Some(k) => Some(proxy_config(file, k)?),
        None if !clients.is_empty() => Some(ProxyConfig::default()),
        None => None,
    };
    let services: Vec<String> = workloads
        .iter()
        .filter_map(|w| match w {
            Workload::Service(s) => Some(s.key()),
            _ => None,
        })
        .collect();
    let mut out = Vec::with_capacity(clients.len());
    for (i, c) in clients.iter().enumerate() {
        let path = format!("traffic[{i}]");
        let key = if c.service.contains('/') {
            c.service.clone()
        } else {
            format!("default/{}", c.service)
        };
        if !services.contains(&key) {
            return Err(InputError::at_path(
                file,
                format!("{path}.service"),
                format!("no Service {key:?} among the workloads"),
            )
            .suggest(&key, services.iter().map(|s| s.as_str())));
        }
        if !(1..=MAX_REQUESTS_PER_SECOND).contains(&c.requests_per_second) {
            return Err(InputError::at_path(
                file,
                format!("{path}.requestsPerSecond"),
                format!(
                    "must be between 1 and {MAX_REQUESTS_PER_SECOND} (got {})",
                    c.requests_per_second
                ),
            ));
        }
        let origins = match &c.from {
            Some(set) => super::resolve::node_set(set, file, &format!("{path}.from"), nodes)?.0,
            None => (0..nodes.len() as u32).collect(),
        };
        out.push(TrafficClient {
            service: key,
            requests_per_second: c.requests_per_second,
            origins,
            start: c.start.as_ref().map(|d| d.0).unwrap_or_default(),
        });
    }
    Ok((config, out))
}

fn proxy_config(file: &Path, k: &RawKubeProxy) -> Result<ProxyConfig, InputError> {
    if let Some(m) = &k.mode {
        if m != "iptables" && m != "nftables" {
            return Err(InputError::at_path(
                file,
                "kubeProxy.mode",
                format!("unsupported mode {m:?}; kubesim models iptables (default) and nftables"),
            )
            .suggest(m, ["iptables", "nftables"]));
        }
    }
    let mut c = ProxyConfig::default();
    if let Some(d) = &k.min_sync_period {
        if d.0 > c.full_sync_period {
            return Err(InputError::at_path(
                file,
                "kubeProxy.minSyncPeriod",
                format!(
                    "must be at most the periodic full sync, {} (upstream's runner refuses a \
                     longer one)",
                    c.full_sync_period
                ),
            ));
        }
        c.min_sync_period = d.0;
    }
    if let Some(d) = &k.sync_period {
        if d.0 < c.min_sync_period || d.0.as_nanos() == 0 {
            return Err(InputError::at_path(
                file,
                "kubeProxy.syncPeriod",
                format!(
                    "must be greater than 0 and at least minSyncPeriod ({})",
                    c.min_sync_period
                ),
            ));
        }
        c.sync_period = d.0;
    }
    Ok(c)
}
