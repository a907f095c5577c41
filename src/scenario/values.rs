//! Scalar value types parsed *during* deserialisation, so that a bad quantity or duration is
//! reported at its own line and column.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::model::duration::parse_go_duration;
use crate::model::quantity::Quantity;
use crate::sim::SimDuration;

/// A Go duration string ("50s", "1m30s").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationValue(pub SimDuration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"50s\", \"1m30s\" or \"100ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationValue, E> {
                parse_go_duration(v).map(DurationValue).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationValue, E> {
                if v == 0 {
                    Ok(DurationValue(SimDuration::ZERO))
                } else {
                    Err(E::custom(format!(
                        "invalid duration {v}: missing unit (ns, us, ms, s, m, h), e.g. \"{v}s\""
                    )))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationValue, E> {
                Err(E::custom(format!(
                    "invalid duration {v}: missing unit (ns, us, ms, s, m, h), e.g. \"{v}s\""
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurationValue, E> {
                Err(E::custom(format!(
                    "invalid duration {v}: missing unit (ns, us, ms, s, m, h), e.g. \"{v}s\""
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// A Kubernetes resource quantity, given as a string or a plain number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantityValue(pub Quantity);

impl<'de> Deserialize<'de> for QuantityValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = QuantityValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a resource quantity such as \"500m\", \"2\" or \"1Gi\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<QuantityValue, E> {
                Quantity::parse(v)
                    .map(QuantityValue)
                    .map_err(|e| E::custom(format!("invalid quantity {v:?}: {e}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<QuantityValue, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<QuantityValue, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<QuantityValue, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

/// Any YAML scalar, kept as text (flag values are parsed by the flag table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalarText(pub String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ScalarText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string that must be given: YAML `null` (`~`, `null`, or nothing) is an error at its
/// position instead of the text "null". Numbers and booleans are kept as their text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequiredText(pub String);

impl<'de> Deserialize<'de> for RequiredText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RequiredText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string (not null)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RequiredText, E> {
                Ok(RequiredText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RequiredText, E> {
                Ok(RequiredText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RequiredText, E> {
                Ok(RequiredText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RequiredText, E> {
                Ok(RequiredText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RequiredText, E> {
                Ok(RequiredText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RequiredText, E> {
                Err(E::custom(
                    "a value is required here, found YAML null (quote it, \"null\", if you mean the text)",
                ))
            }
        }
        d.deserialize_any(V)
    }
}

/// `deserialize_with` for a required `String`.
pub fn required<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    RequiredText::deserialize(d).map(|t| t.0)
}

/// `deserialize_with` for a list of required strings.
pub fn required_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Vec::<RequiredText>::deserialize(d).map(|v| v.into_iter().map(|t| t.0).collect())
}

/// `deserialize_with` for an optional string that, when present, is not null.
pub fn required_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    RequiredText::deserialize(d).map(|t| Some(t.0))
}

/// `deserialize_with` for a label map whose values are required (`{zone: null}` is an error).
pub fn required_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<std::collections::BTreeMap<String, String>, D::Error> {
    std::collections::BTreeMap::<String, RequiredText>::deserialize(d)
        .map(|m| m.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// A string or a list of strings (`fromDump: a.yaml` or `fromDump: [a.yaml, b.yaml]`).
pub fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}
