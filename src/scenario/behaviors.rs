//! The scenario's `runtime:` section: container behaviour models, images and registries, and
//! machine download bandwidth — the parts of a node that no Kubernetes manifest describes.
//! Raw serde structs (errors at their line and column) and their resolution into
//! [`RuntimeConfig`] fields.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::error::InputError;
use super::values::{DurationValue, QuantityValue};
use crate::model::duration::parse_go_duration;
use crate::runtime::behavior::{Behavior, Crash, Dist};
use crate::runtime::images::{ImageCatalog, Registry};
use crate::sim::SimDuration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRuntime {
    /// A machine's download bandwidth per second (a quantity of bytes).
    pub node_bandwidth: Option<QuantityValue>,
    /// Size of images not listed in `images`.
    pub default_image_size: Option<QuantityValue>,
    /// Latency of a pull from a registry not listed in `registries`.
    pub default_registry_latency: Option<DurationValue>,
    #[serde(default)]
    pub registries: Vec<RawRegistry>,
    #[serde(default)]
    pub images: Vec<RawImage>,
    #[serde(default)]
    pub behaviors: Vec<RawBehavior>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRegistry {
    pub host: String,
    pub bandwidth: Option<QuantityValue>,
    pub latency: Option<DurationValue>,
    #[serde(default)]
    pub pull_secrets: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawImage {
    pub name: String,
    pub size: QuantityValue,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawBehavior {
    pub name: String,
    pub image: Option<String>,
    pub startup_time: Option<DistValue>,
    pub ready_after: Option<DistValue>,
    /// `forever` (the default), a duration, or a distribution.
    pub run: Option<RunValue>,
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub exit_codes: Vec<i32>,
    pub crash: Option<RawCrash>,
    #[serde(default)]
    pub not_ready: Vec<RawWindow>,
    pub hang_after: Option<DistValue>,
    pub memory: Option<QuantityValue>,
    /// Memory growth per second (a leak).
    pub memory_growth: Option<QuantityValue>,
    /// Ephemeral storage written at start, and per second.
    pub disk: Option<QuantityValue>,
    pub disk_growth: Option<QuantityValue>,
    /// Processes the container runs (default 1).
    pub pids: Option<i64>,
    pub stop_time: Option<DurationValue>,
    pub pre_stop_time: Option<DurationValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCrash {
    pub probability: f64,
    pub after: DistValue,
    pub exit_code: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawWindow {
    pub after: DurationValue,
    #[serde(rename = "for")]
    pub length: DurationValue,
}

/// A duration (`30s`), `{uniform: [1s, 5s]}` or `{exponential: 10m}` (the mean).
#[derive(Debug, Clone, PartialEq)]
pub struct DistValue(pub Dist);

/// `forever` or a [`DistValue`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunValue(pub Option<Dist>);

struct DistVisitor {
    allow_forever: bool,
}

impl<'de> Visitor<'de> for DistVisitor {
    type Value = Option<Dist>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.allow_forever {
            f.write_str(
                "`forever`, a duration such as \"30s\", {uniform: [1s, 5s]} or {exponential: 10m}",
            )
        } else {
            f.write_str("a duration such as \"30s\", {uniform: [1s, 5s]} or {exponential: 10m}")
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Dist>, E> {
        if self.allow_forever && v == "forever" {
            return Ok(None);
        }
        parse_go_duration(v)
            .map(|d| Some(Dist::Fixed(d)))
            .map_err(E::custom)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Dist>, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom("expected `uniform` or `exponential`"));
        };
        let dist = match key.as_str() {
            "uniform" => {
                let [lo, hi]: [DurationValue; 2] = map.next_value()?;
                if lo.0 > hi.0 {
                    return Err(de::Error::custom("uniform: min must not exceed max"));
                }
                Dist::Uniform(lo.0, hi.0)
            }
            "exponential" => {
                let mean: DurationValue = map.next_value()?;
                // A draw is capped at 50 means, which must still fit Go's maximum duration.
                let max = SimDuration(SimDuration::MAX_INPUT.as_nanos() / 50);
                if mean.0 > max {
                    return Err(de::Error::custom(format!(
                        "exponential: the mean must be at most {max} (50 means, the longest \
                         draw, must fit Go's maximum duration), got {}",
                        mean.0
                    )));
                }
                Dist::Exponential(mean.0)
            }
            other => {
                let hint = super::suggest::closest(other, ["uniform", "exponential"])
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(de::Error::custom(format!(
                    "unknown distribution `{other}`{hint}: expected `uniform` or `exponential`"
                )));
            }
        };
        if map.next_key::<String>()?.is_some() {
            return Err(de::Error::custom("a distribution has exactly one key"));
        }
        Ok(Some(dist))
    }
}

impl<'de> Deserialize<'de> for DistValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = d.deserialize_any(DistVisitor {
            allow_forever: false,
        })?;
        v.map(DistValue)
            .ok_or_else(|| de::Error::custom("`forever` is only allowed for `run`"))
    }
}

impl<'de> Deserialize<'de> for RunValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(RunValue(d.deserialize_any(DistVisitor {
            allow_forever: true,
        })?))
    }
}

/// Bytes of a quantity, or an error at `path` if it is negative.
fn bytes(q: &QuantityValue, file: &Path, path: &str) -> Result<i64, InputError> {
    if q.0.is_negative() {
        return Err(InputError::at_path(file, path, "must not be negative"));
    }
    Ok(q.0.value())
}

/// Resolves the section into behaviours and an image catalog.
pub fn resolve(
    raw: &RawRuntime,
    file: &Path,
) -> Result<(Vec<Arc<Behavior>>, ImageCatalog), InputError> {
    let mut catalog = ImageCatalog::default();
    if let Some(q) = &raw.node_bandwidth {
        catalog.node_bandwidth = bytes(q, file, "runtime.nodeBandwidth")? as u64;
    }
    if let Some(q) = &raw.default_image_size {
        catalog.default_size = bytes(q, file, "runtime.defaultImageSize")?;
    }
    if let Some(d) = raw.default_registry_latency {
        catalog.default_latency = d.0;
    }
    for (i, r) in raw.registries.iter().enumerate() {
        let path = format!("runtime.registries[{i}]");
        let reg = Registry {
            host: r.host.clone(),
            bandwidth: match &r.bandwidth {
                Some(q) => bytes(q, file, &format!("{path}.bandwidth"))? as u64,
                None => 0,
            },
            latency: r.latency.map(|d| d.0).unwrap_or(catalog.default_latency),
            pull_secrets: r.pull_secrets.clone(),
        };
        if catalog.registries.insert(r.host.clone(), reg).is_some() {
            return Err(InputError::at_path(
                file,
                format!("{path}.host"),
                format!("registry {:?} is listed twice", r.host),
            ));
        }
    }
    let mut sizes = BTreeMap::new();
    for (i, im) in raw.images.iter().enumerate() {
        let size = bytes(&im.size, file, &format!("runtime.images[{i}].size"))?;
        sizes.insert(im.name.clone(), size);
    }
    catalog.sizes = sizes;
    let mut behaviors = Vec::new();
    for (i, b) in raw.behaviors.iter().enumerate() {
        let path = format!("runtime.behaviors[{i}]");
        if raw.behaviors[..i].iter().any(|o| o.name == b.name) {
            return Err(InputError::at_path(
                file,
                format!("{path}.name"),
                format!("behavior {:?} is defined twice", b.name),
            ));
        }
        let codes = b.exit_code.iter().map(|c| ("exitCode".to_string(), *c));
        let codes = codes.chain(
            b.exit_codes
                .iter()
                .enumerate()
                .map(|(j, c)| (format!("exitCodes[{j}]"), *c)),
        );
        let codes = codes.chain(
            b.crash
                .iter()
                .filter_map(|c| c.exit_code)
                .map(|c| ("crash.exitCode".to_string(), c)),
        );
        for (field, code) in codes {
            if !(0..=255).contains(&code) {
                return Err(InputError::at_path(
                    file,
                    format!("{path}.{field}"),
                    format!("must be between 0 and 255 (a process exit status), got {code}"),
                ));
            }
        }
        let crash = match &b.crash {
            None => None,
            Some(c) => {
                if !(0.0..=1.0).contains(&c.probability) {
                    return Err(InputError::at_path(
                        file,
                        format!("{path}.crash.probability"),
                        "must be between 0 and 1",
                    ));
                }
                Some(Crash {
                    probability: c.probability,
                    after: c.after.0.clone(),
                    exit_code: c.exit_code.unwrap_or(1),
                })
            }
        };
        behaviors.push(Arc::new(Behavior {
            name: b.name.clone(),
            image: b.image.clone(),
            startup_time: b.startup_time.clone().map(|d| d.0).unwrap_or(Dist::ZERO),
            ready_after: b.ready_after.clone().map(|d| d.0),
            run: b.run.clone().and_then(|r| r.0),
            exit_code: b.exit_code.unwrap_or(0),
            exit_codes: b.exit_codes.clone(),
            crash,
            not_ready: b
                .not_ready
                .iter()
                .map(|w| (w.after.0, w.length.0))
                .collect(),
            hang_after: b.hang_after.clone().map(|d| d.0),
            memory: match &b.memory {
                Some(q) => Some(bytes(q, file, &format!("{path}.memory"))?),
                None => None,
            },
            memory_growth_per_sec: match &b.memory_growth {
                Some(q) => bytes(q, file, &format!("{path}.memoryGrowth"))?,
                None => 0,
            },
            disk: match &b.disk {
                Some(q) => bytes(q, file, &format!("{path}.disk"))?,
                None => 0,
            },
            disk_growth_per_sec: match &b.disk_growth {
                Some(q) => bytes(q, file, &format!("{path}.diskGrowth"))?,
                None => 0,
            },
            pids: match b.pids {
                Some(n) if n < 0 => {
                    return Err(InputError::at_path(
                        file,
                        format!("{path}.pids"),
                        "must not be negative",
                    ))
                }
                Some(n) => n,
                None => 1,
            },
            stop_time: b.stop_time.map(|d| d.0),
            pre_stop_time: b.pre_stop_time.map(|d| d.0).unwrap_or(SimDuration::ZERO),
        }));
    }
    Ok((behaviors, catalog))
}
