//! Images: the registries a scenario knows, and one machine's image store and puller.
//!
//! A pull takes the registry's latency plus the image size over the slower of the registry's
//! and the machine's bandwidth; an image already in the store (pulled again under
//! `imagePullPolicy: Always`) costs the latency only. Pulls run one at a time by default
//! (`serializeImagePulls: true`), or up to `maxParallelImagePulls` at once; queued pulls start
//! in request order. A private registry refuses a pull unless the pod lists one of its pull
//! secrets; a registry in an outage refuses every pull (after its latency).
//!
//! Architecture invariant: knows image names and pod keys only, no API objects; decides a
//! pull's outcome when it starts, from the registry state at that instant.
//!
//! Kept answer: the store keeps its last `status.images` list ([`ImageStore::node_images_kept`])
//! until an image lands, since the kubelet's status loop asks for it at every tick; a test
//! compares it with the plain [`ImageStore::node_images`] after every pull.

use std::collections::{BTreeMap, VecDeque};

use crate::model::{image_registry, ContainerImage};
use crate::sim::{SimDuration, SimTime};

/// A registry the scenario describes (`runtime.registries`); unlisted hosts use the defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Registry {
    pub host: String,
    /// Bytes per second (0: unlimited).
    pub bandwidth: u64,
    pub latency: SimDuration,
    /// Non-empty: private; a pull needs one of these names in the pod's `imagePullSecrets`.
    pub pull_secrets: Vec<String>,
}

/// What the runtime knows of images and registries (shared by all machines).
#[derive(Clone, Debug)]
pub struct ImageCatalog {
    pub registries: BTreeMap<String, Registry>,
    /// Sizes of known images, in bytes.
    pub sizes: BTreeMap<String, i64>,
    pub default_size: i64,
    pub default_latency: SimDuration,
    /// A machine's download bandwidth in bytes per second (0: unlimited).
    pub node_bandwidth: u64,
}

impl Default for ImageCatalog {
    fn default() -> Self {
        ImageCatalog {
            registries: BTreeMap::new(),
            sizes: BTreeMap::new(),
            default_size: 0,
            default_latency: SimDuration::ZERO,
            node_bandwidth: 0,
        }
    }
}

/// A registry's condition under faults (`registryOutage`, `registrySlow`).
#[derive(Clone, Debug, Default)]
pub struct RegistryFaults {
    /// Hosts in an outage, with how many outages are active ("*" for all registries).
    pub down: BTreeMap<String, u32>,
    /// Hosts slowed, with the factor applied to pull durations.
    pub slow: BTreeMap<String, Vec<u32>>,
}

impl RegistryFaults {
    fn is_down(&self, host: &str) -> bool {
        self.down.get(host).is_some_and(|n| *n > 0) || self.down.get("*").is_some_and(|n| *n > 0)
    }
    fn slowdown(&self, host: &str) -> u64 {
        let f = |h: &str| {
            self.slow
                .get(h)
                .and_then(|v| v.last().copied())
                .unwrap_or(1)
        };
        f(host).max(f("*")) as u64
    }
}

/// The result of a pull, as the kubelet reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullOutcome {
    Pulled,
    /// The runtime's error text (after "Failed to pull image \"x\": ").
    Failed(String),
}

#[derive(Clone, Debug)]
pub struct PullRequest {
    pub image: String,
    pub pod: String,
    pub container: String,
    pub secrets: Vec<String>,
    pub requested: SimTime,
}

/// A pull in flight: done at `done`, with its outcome decided at its start.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub id: u64,
    pub request: PullRequest,
    pub started: SimTime,
    pub done: SimTime,
    pub outcome: PullOutcome,
    pub size: i64,
}

/// One machine's image store and puller.
#[derive(Clone, Debug, Default)]
pub struct ImageStore {
    /// Present images and their sizes.
    present: BTreeMap<String, i64>,
    queue: VecDeque<PullRequest>,
    in_flight: Vec<InFlight>,
    /// Pulls at once (1 when `serializeImagePulls`).
    max_parallel: usize,
    next_id: u64,
    pulled: bool,
    /// The last `node_images(max)` answer with its `max`, forgotten whenever `present` changes.
    listed: Option<(usize, Vec<ContainerImage>)>,
}

impl ImageStore {
    pub fn new(preloaded: &[ContainerImage], max_parallel: usize) -> ImageStore {
        let mut present = BTreeMap::new();
        for i in preloaded {
            for n in &i.names {
                present.insert(n.clone(), i.size_bytes);
            }
        }
        ImageStore {
            present,
            max_parallel: max_parallel.max(1),
            ..ImageStore::default()
        }
    }

    /// Whether any image was pulled since boot (the node's reported images may differ from
    /// its template's).
    pub fn pulled_any(&self) -> bool {
        self.pulled
    }

    /// Bytes the present images take on the node's filesystem.
    pub fn total_size(&self) -> i64 {
        self.present.values().map(|s| (*s).max(0)).sum()
    }

    pub fn is_present(&self, image: &str) -> bool {
        self.present.contains_key(image)
    }

    /// The machine reboots: pulls in progress are lost; images on disk stay.
    pub fn reset_pulls(&mut self) {
        self.queue.clear();
        self.in_flight.clear();
    }

    /// `status.images` as the kubelet reports it: largest first (then by name), at most
    /// `max` entries (`nodeStatusMaxImages`, default 50).
    pub fn node_images(&self, max: usize) -> Vec<ContainerImage> {
        let mut v: Vec<ContainerImage> = self
            .present
            .iter()
            .map(|(n, s)| ContainerImage {
                names: vec![n.clone()],
                size_bytes: *s,
            })
            .collect();
        v.sort_by(|a, b| b.size_bytes.cmp(&a.size_bytes).then(a.names.cmp(&b.names)));
        v.truncate(max);
        v
    }

    /// [`ImageStore::node_images`], built again only after an image landed.
    pub fn node_images_kept(&mut self, max: usize) -> &[ContainerImage] {
        if !matches!(&self.listed, Some((m, _)) if *m == max) {
            self.listed = Some((max, self.node_images(max)));
        }
        &self.listed.as_ref().expect("just listed").1
    }

    /// Queues a pull; returns the pulls that start now (at most `max_parallel` run at once).
    pub fn request(
        &mut self,
        req: PullRequest,
        now: SimTime,
        catalog: &ImageCatalog,
        faults: &RegistryFaults,
    ) -> Vec<InFlight> {
        self.queue.push_back(req);
        self.start_ready(now, catalog, faults)
    }

    /// A pull finished: applies it and returns it with the pulls that start next.
    pub fn complete(
        &mut self,
        id: u64,
        now: SimTime,
        catalog: &ImageCatalog,
        faults: &RegistryFaults,
    ) -> Option<(InFlight, Vec<InFlight>)> {
        let i = self.in_flight.iter().position(|p| p.id == id)?;
        let done = self.in_flight.remove(i);
        if done.outcome == PullOutcome::Pulled {
            self.present.insert(done.request.image.clone(), done.size);
            self.pulled = true;
            self.listed = None;
        }
        Some((done, self.start_ready(now, catalog, faults)))
    }

    fn start_ready(
        &mut self,
        now: SimTime,
        catalog: &ImageCatalog,
        faults: &RegistryFaults,
    ) -> Vec<InFlight> {
        let mut started = Vec::new();
        // Bounded by the queue length.
        while self.in_flight.len() < self.max_parallel {
            let Some(req) = self.queue.pop_front() else {
                break;
            };
            let flight = self.begin(req, now, catalog, faults);
            self.in_flight.push(flight.clone());
            started.push(flight);
        }
        started
    }

    fn begin(
        &mut self,
        req: PullRequest,
        now: SimTime,
        catalog: &ImageCatalog,
        faults: &RegistryFaults,
    ) -> InFlight {
        self.next_id += 1;
        let host = image_registry(&req.image);
        let reg = catalog.registries.get(host);
        let latency = reg.map(|r| r.latency).unwrap_or(catalog.default_latency);
        let size = catalog
            .sizes
            .get(&req.image)
            .copied()
            .unwrap_or(catalog.default_size);
        let slow = faults.slowdown(host);
        let outcome = if faults.is_down(host) {
            PullOutcome::Failed(format!(
                "rpc error: code = Unavailable desc = failed to pull and unpack image \"{}\": \
                 failed to resolve reference \"{}\": failed to do request: dial tcp {host}:443: \
                 connect: connection refused",
                req.image, req.image
            ))
        } else if reg.is_some_and(|r| {
            !r.pull_secrets.is_empty() && !r.pull_secrets.iter().any(|s| req.secrets.contains(s))
        }) {
            PullOutcome::Failed(format!(
                "rpc error: code = Unknown desc = failed to pull and unpack image \"{}\": \
                 failed to resolve reference \"{}\": pull access denied, repository does not \
                 exist or may require authorization: authorization failed: no basic auth \
                 credentials",
                req.image, req.image
            ))
        } else {
            PullOutcome::Pulled
        };
        let mut d = latency;
        if outcome == PullOutcome::Pulled && !self.present.contains_key(&req.image) {
            let bw = [
                reg.map(|r| r.bandwidth).unwrap_or(0),
                catalog.node_bandwidth,
            ]
            .into_iter()
            .filter(|b| *b > 0)
            .min();
            if let Some(bw) = bw {
                // size / bandwidth seconds, in whole nanoseconds.
                let ns = (size.max(0) as u128 * 1_000_000_000u128) / bw as u128;
                d = d + SimDuration::from_nanos(ns.min(u64::MAX as u128 / 4) as u64);
            }
        }
        let d = SimDuration::from_nanos(d.as_nanos().saturating_mul(slow));
        InFlight {
            id: self.next_id,
            request: req,
            started: now,
            done: now + d,
            outcome,
            size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> ImageCatalog {
        let mut c = ImageCatalog::default();
        c.registries.insert(
            "registry.example.com".into(),
            Registry {
                host: "registry.example.com".into(),
                bandwidth: 10 << 20,
                latency: SimDuration::from_millis(500),
                pull_secrets: vec!["regcred".into()],
            },
        );
        c.sizes
            .insert("registry.example.com/app:v1".into(), 100 << 20);
        c
    }

    fn req(image: &str, secrets: &[&str]) -> PullRequest {
        PullRequest {
            image: image.into(),
            pod: "default/p".into(),
            container: "c".into(),
            secrets: secrets.iter().map(|s| s.to_string()).collect(),
            requested: SimTime::ZERO,
        }
    }

    #[test]
    fn private_registry_needs_a_listed_secret_and_pull_time_is_latency_plus_size_over_bandwidth() {
        let c = catalog();
        let f = RegistryFaults::default();
        let mut s = ImageStore::new(&[], 1);
        let denied = s.request(
            req("registry.example.com/app:v1", &[]),
            SimTime::ZERO,
            &c,
            &f,
        );
        assert!(matches!(denied[0].outcome, PullOutcome::Failed(_)));
        assert_eq!(
            denied[0].done,
            SimTime::ZERO + SimDuration::from_millis(500)
        );
        let (_, next) = s.complete(denied[0].id, denied[0].done, &c, &f).unwrap();
        assert!(next.is_empty());
        let ok = s.request(
            req("registry.example.com/app:v1", &["regcred"]),
            SimTime::ZERO,
            &c,
            &f,
        );
        assert_eq!(ok[0].outcome, PullOutcome::Pulled);
        // 0.5 s + 100 MiB / 10 MiB/s = 10.5 s.
        assert_eq!(ok[0].done, SimTime::ZERO + SimDuration::from_millis(10_500));
    }

    #[test]
    fn serialized_pulls_queue_in_request_order() {
        let c = catalog();
        let f = RegistryFaults::default();
        let mut s = ImageStore::new(&[], 1);
        let a = s.request(
            req("registry.example.com/app:v1", &["regcred"]),
            SimTime::ZERO,
            &c,
            &f,
        );
        let b = s.request(req("nginx:1.25", &[]), SimTime::ZERO, &c, &f);
        assert_eq!(a.len(), 1);
        assert!(b.is_empty(), "the second pull waits");
        let (done, next) = s.complete(a[0].id, a[0].done, &c, &f).unwrap();
        assert_eq!(done.request.image, "registry.example.com/app:v1");
        assert_eq!(next[0].request.image, "nginx:1.25");
        assert_eq!(next[0].started, a[0].done);
        assert!(s.is_present("registry.example.com/app:v1"));
    }

    #[test]
    fn kept_image_list_is_the_plain_one_after_every_pull() {
        let c = catalog();
        let f = RegistryFaults::default();
        let preloaded = [ContainerImage {
            names: vec!["pause:3.9".into()],
            size_bytes: 700_000,
        }];
        let mut s = ImageStore::new(&preloaded, 1);
        for max in [1, 50] {
            let plain = s.node_images(max);
            assert_eq!(s.node_images_kept(max), plain.as_slice());
        }
        let mut next = s.request(
            req("registry.example.com/app:v1", &["regcred"]),
            SimTime::ZERO,
            &c,
            &f,
        );
        next.extend(s.request(req("nginx:1.25", &[]), SimTime::ZERO, &c, &f));
        // Asked before the pulls land: the list must not stay stale afterwards.
        assert_eq!(s.node_images_kept(50).len(), 1);
        let mut landed = 0;
        while let Some(p) = next.pop() {
            let (_, more) = s.complete(p.id, p.done, &c, &f).unwrap();
            next.extend(more);
            landed += 1;
            for max in [50, 1, 2, 50] {
                let plain = s.node_images(max);
                assert_eq!(s.node_images_kept(max), plain.as_slice());
            }
        }
        assert_eq!(landed, 2);
        assert_eq!(s.node_images_kept(50).len(), 3);
    }
}
