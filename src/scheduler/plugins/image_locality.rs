//! ImageLocality (reference scheduler §2.5, v1.29+ form): prefer nodes that already hold the
//! pod's images (init and regular containers), weighted by how widely each image is spread.

use std::collections::BTreeMap;

use super::{NodeInfo, Snapshot, MAX_NODE_SCORE};
use crate::model::Pod;

pub const NAME: &str = "ImageLocality";

const MB: i64 = 1024 * 1024;
const MIN_THRESHOLD: i64 = 23 * MB;
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// Appends `:latest` when the last path component carries no tag (`normalizedImageName`).
pub fn normalized_image_name(name: &str) -> String {
    let colon = name.rfind(':').map_or(-1, |i| i as i64);
    let slash = name.rfind('/').map_or(-1, |i| i as i64);
    if colon <= slash {
        format!("{name}:latest")
    } else {
        name.to_string()
    }
}

/// PreScore: the pod's normalised image names (init containers first, as upstream), each
/// with its spread — the share of all nodes holding it — computed once per cycle.
#[derive(Clone, Debug, PartialEq)]
pub struct Images {
    pub names: Vec<String>,
    /// Per name: nodes with the image / all nodes (None without nodes: every score is the
    /// floor).
    pub spread: Option<Vec<f64>>,
    /// Per name on some node, in order: its [`ImageSizes`] column and spread (None without
    /// the columns or without nodes: `score` reads the node's image map).
    pub dense: Option<Vec<(u32, f64)>>,
    /// The score of a node with none of the images (`score_of_sum(0, len)`), once per cycle.
    pub floor: i64,
    /// `score_at`'s last (sum, score): the nodes holding the pod's images mostly hold them at
    /// the same sizes, so their sums repeat and the division is done once.
    pub last: LastScore,
}

/// A one-entry memo of `score_of_sum` for one `Images` (its image count is fixed). Not part of
/// the value: any two compare equal.
#[derive(Clone, Debug)]
pub struct LastScore(std::cell::Cell<(i64, i64)>);

impl Default for LastScore {
    fn default() -> Self {
        // No sum is negative: the first lookup misses.
        LastScore(std::cell::Cell::new((-1, 0)))
    }
}

impl PartialEq for LastScore {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Images {
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

pub fn pre_score(pod: &Pod, snap: &Snapshot) -> Images {
    let names: Vec<String> = pod
        .spec
        .init_containers
        .iter()
        .chain(&pod.spec.containers)
        .map(|c| normalized_image_name(&c.image))
        .collect();
    let total = snap.len();
    let spread = (total > 0).then(|| {
        names
            .iter()
            .map(|img| {
                let with = snap.image_nodes.get(img).copied().unwrap_or(0);
                with as f64 / total as f64
            })
            .collect()
    });
    let dense = match (snap.image_sizes, &spread) {
        (Some(sizes), Some(spread)) => Some(
            names
                .iter()
                .zip(spread)
                .filter_map(|(img, &s)| sizes.column(img).map(|c| (c, s)))
                .collect(),
        ),
        _ => None,
    };
    Images {
        floor: score_of_sum(0, names.len()),
        last: LastScore::default(),
        names,
        spread,
        dense,
    }
}

/// A pure function of the node's images and the cycle's spreads, so the scheduler may keep
/// it in a node's score memo until some node's images or the node count change.
pub fn score(images: &Images, node: &NodeInfo) -> i64 {
    let mut sum = 0i64;
    if let Some(spread) = &images.spread {
        for (img, spread) in images.names.iter().zip(spread) {
            if let Some(size) = node.images.get(img) {
                sum += (*size as f64 * spread) as i64;
            }
        }
    }
    score_of_sum(sum, images.len())
}

/// `score` of the node in slot `slot` from the size columns (each name's column holds the
/// node's size for it, 0 where absent; a name on no node adds nothing to any node's sum);
/// None when PreScore had no columns.
#[inline]
pub fn score_at(images: &Images, sizes: &ImageSizes, slot: usize) -> Option<i64> {
    let dense = images.dense.as_ref()?;
    let mut sum = 0i64;
    for &(c, spread) in dense {
        let size = sizes.size(c, slot);
        if size != 0 {
            sum += (size as f64 * spread) as i64;
        }
    }
    let (last_sum, last) = images.last.0.get();
    if sum == last_sum {
        return Some(last);
    }
    let v = score_of_sum(sum, images.len());
    images.last.0.set((sum, v));
    Some(v)
}

/// Per image name some node has, a dense column of each slot's size for it (0 where the node
/// does not have it): ImageLocality's per-node lookups as array reads. Kept by the scheduler's
/// cache beside the image counts, changed with every node info's images.
#[derive(Clone, Debug, Default)]
pub struct ImageSizes {
    /// Name → column, while some node has the image.
    index: BTreeMap<String, u32>,
    /// Columns by number, each as long as the highest slot written + 1.
    cols: Vec<Vec<i64>>,
    /// Column numbers no name holds (their columns are all 0).
    free: Vec<u32>,
    /// Slots written per column, so a column is freed when no node has its image.
    nodes: Vec<usize>,
}

impl ImageSizes {
    pub fn column(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    #[inline]
    pub fn size(&self, col: u32, slot: usize) -> i64 {
        self.cols[col as usize].get(slot).copied().unwrap_or(0)
    }

    /// Writes (`add`) or clears the node info's sizes in slot `slot`'s row.
    pub fn set(&mut self, info: &NodeInfo, slot: usize, add: bool) {
        for (name, &size) in &info.images {
            if add {
                let c = match self.index.get(name) {
                    Some(&c) => c,
                    None => {
                        let c = self.free.pop().unwrap_or_else(|| {
                            self.cols.push(Vec::new());
                            self.nodes.push(0);
                            (self.cols.len() - 1) as u32
                        });
                        self.index.insert(name.clone(), c);
                        c
                    }
                };
                let col = &mut self.cols[c as usize];
                if col.len() <= slot {
                    col.resize(slot + 1, 0);
                }
                col[slot] = size;
                self.nodes[c as usize] += 1;
            } else if let Some(&c) = self.index.get(name) {
                let col = &mut self.cols[c as usize];
                if let Some(v) = col.get_mut(slot) {
                    *v = 0;
                }
                let n = &mut self.nodes[c as usize];
                *n -= 1;
                if *n == 0 {
                    self.index.remove(name);
                    col.clear();
                    self.free.push(c);
                }
            }
        }
    }
}

/// The score from the spread-weighted size sum of the pod's images present on the node.
pub fn score_of_sum(sum: i64, image_count: usize) -> i64 {
    let max_threshold = MAX_CONTAINER_THRESHOLD * image_count as i64;
    let sum = sum.clamp(MIN_THRESHOLD, max_threshold.max(MIN_THRESHOLD));
    if max_threshold <= MIN_THRESHOLD {
        return 0;
    }
    MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max_threshold - MIN_THRESHOLD)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::model::{Container, ContainerImage, Node, Pod};

    fn image_node(name: &str, images: &[(&[&str], i64)]) -> Node {
        let mut n = node(name, 0, 0, &[]);
        n.status.images = images
            .iter()
            .map(|(names, mb)| ContainerImage {
                names: names.iter().map(|s| s.to_string()).collect(),
                size_bytes: mb * MB,
            })
            .collect();
        n
    }
    fn image_pod(images: &[&str], init: &[&str]) -> Pod {
        let c = |i: &&str| Container {
            name: "c".into(),
            image: i.to_string(),
            ..Container::default()
        };
        let mut p = pod("p", &[]);
        p.spec.containers = images.iter().map(c).collect();
        p.spec.init_containers = init.iter().map(c).collect();
        p
    }
    fn scores(nodes: Vec<Node>, p: &Pod) -> Vec<i64> {
        let snap = OwnedSnapshot::new(nodes, vec![]);
        let v = snap.view();
        let imgs = pre_score(p, &v);
        let plain: Vec<i64> = v.iter().map(|n| score(&imgs, n)).collect();
        // The size columns, through `score_at`'s one-entry memo, give each slot's plain score
        // in any order of slots.
        let mut sizes = ImageSizes::default();
        for (slot, ni) in snap.slots.iter().enumerate() {
            if let Some(ni) = ni {
                sizes.set(ni, slot, true);
            }
        }
        let mut fast = snap.view();
        fast.image_sizes = Some(&sizes);
        let dense = pre_score(p, &fast);
        let n = snap.slots.len();
        for slot in (0..n).chain((0..n).rev()).chain(0..n) {
            let want = snap.slots[slot].as_ref().map(|ni| score(&imgs, ni));
            assert_eq!(score_at(&dense, &sizes, slot), want, "slot {slot}");
        }
        plain
    }

    // image_locality_test.go (TestImageLocalityPriority, v1.29+ thresholds).
    #[test]
    fn image_locality_upstream_table() {
        let n403002000 = |name| {
            image_node(
                name,
                &[
                    (&["gcr.io/40:latest", "gcr.io/40:v1", "gcr.io/40:v1"], 40),
                    (&["gcr.io/300:latest", "gcr.io/300:v1"], 300),
                    (&["gcr.io/2000:latest"], 2000),
                ],
            )
        };
        let n25010 = |name| {
            image_node(
                name,
                &[
                    (&["gcr.io/250:latest"], 250),
                    (&["gcr.io/10:latest", "gcr.io/10:v1"], 10),
                ],
            )
        };
        let n60040900 = |name| {
            image_node(
                name,
                &[
                    (&["gcr.io/600:latest"], 600),
                    (&["gcr.io/40:latest"], 40),
                    (&["gcr.io/900:latest"], 900),
                ],
            )
        };
        let n300600900 = |name| {
            image_node(
                name,
                &[
                    (&["gcr.io/300:latest"], 300),
                    (&["gcr.io/600:latest"], 600),
                    (&["gcr.io/900:latest"], 900),
                ],
            )
        };
        let n400030 = |name| {
            image_node(
                name,
                &[(&["gcr.io/4000:latest"], 4000), (&["gcr.io/30:latest"], 30)],
            )
        };
        let n203040 = |name| {
            image_node(
                name,
                &[
                    (&["gcr.io/20:latest"], 20),
                    (&["gcr.io/30:latest"], 30),
                    (&["gcr.io/40:latest"], 40),
                ],
            )
        };
        let none = |name| image_node(name, &[]);
        // "two images spread on two nodes, prefer the larger image one"
        assert_eq!(
            scores(
                vec![n403002000("node1"), n25010("node2")],
                &image_pod(&["gcr.io/40", "gcr.io/250"], &[])
            ),
            vec![0, 5]
        );
        // "two images on one node, prefer this node"
        assert_eq!(
            scores(
                vec![n403002000("node1"), n25010("node2")],
                &image_pod(&["gcr.io/40", "gcr.io/300"], &[])
            ),
            vec![7, 0]
        );
        // "if exceed limit, use limit"
        assert_eq!(
            scores(
                vec![n400030("node1"), n25010("node2")],
                &image_pod(&["gcr.io/10", "gcr.io/4000"], &[])
            ),
            vec![100, 0]
        );
        // "if exceed limit, use limit (with node which has no images present)"
        assert_eq!(
            scores(
                vec![n400030("node1"), n25010("node2"), none("node3")],
                &image_pod(&["gcr.io/10", "gcr.io/4000"], &[])
            ),
            vec![66, 0, 0]
        );
        // "pod with multiple large images, node2 is preferred"
        assert_eq!(
            scores(
                vec![n60040900("node1"), n300600900("node2"), none("node3")],
                &image_pod(&["gcr.io/300", "gcr.io/600", "gcr.io/900"], &[])
            ),
            vec![32, 36, 0]
        );
        // "pod with multiple small images"
        assert_eq!(
            scores(
                vec![n203040("node1"), n400030("node2")],
                &image_pod(&["gcr.io/30", "gcr.io/40"], &[])
            ),
            vec![1, 0]
        );
        // "include InitContainers: two images spread on two nodes, prefer the larger image one"
        assert_eq!(
            scores(
                vec![n403002000("node1"), n203040("node2")],
                &image_pod(&["gcr.io/30"], &["gcr.io/300"])
            ),
            vec![6, 0]
        );
    }

    // TestNormalizedImageName.
    #[test]
    fn normalized_image_name_upstream_cases() {
        assert_eq!(normalized_image_name("root"), "root:latest");
        assert_eq!(
            normalized_image_name("gcr.io:5000/root"),
            "gcr.io:5000/root:latest"
        );
        assert_eq!(normalized_image_name("root:tag"), "root:tag");
        assert_eq!(normalized_image_name("root@sha256:abc"), "root@sha256:abc");
    }
}
