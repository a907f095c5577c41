//! The YAML reader every scenario and manifest document goes through: a [`Deserializer`]
//! adapter over serde_yaml's that never reads YAML `null` (`null`, `~`, `Null`, `NULL` or an
//! empty value) as text.
//!
//! serde_yaml hands a plain `null` to a `String` field as the text `"null"` (a zone called
//! "null"). Here every request for text (`deserialize_str`, `deserialize_string`,
//! `deserialize_char`) asks serde_yaml what the value is instead: null is an error at its own
//! line and column, with the field path. `Option` fields are untouched — null there means
//! "unset", as Kubernetes' API reads null for an optional field (`encoding/json` leaves a
//! pointer nil) — and so are numbers, durations and lists, which serde_yaml already rejects
//! as null (an empty list or map written as nothing, `labels:`, is empty, as in Kubernetes).
//!
//! The reader can also skip list items (`workloads[3]`, `cluster.nodePools[1]`, see
//! [`LISTS`]): `scenario::load_str` parses again without an item that had an error, to
//! report every independent error of a file at once.
//!
//! Invariant: a value reached through [`Strict`] is text only if the YAML wrote text (or a
//! whole number or boolean, kept as written); everything else is forwarded unchanged, so a
//! document without null and without a fractional number where text is expected parses
//! exactly as before, and skipping no items reads every item.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde::Deserialize;

/// The message of a null where text is required.
pub const NULL_MESSAGE: &str =
    "a value is required here, found YAML null (quote it, \"null\", if you mean the text)";

/// The lists of a scenario whose items are independent: an error in one item does not stop
/// the others from being checked.
pub const LISTS: &[&str] = &[
    "cluster.nodePools",
    "cluster.nodes",
    "workloads",
    "timeline",
    "failureModels",
    "traffic",
    "expect",
    "arrivals",
];

/// `T` from one YAML document, with null never read as text.
pub fn from_str<'de, T: Deserialize<'de>>(text: &'de str) -> Result<T, serde_yaml::Error> {
    from_str_skipping(text, &Skip::default())
}

/// As [`from_str`], without the list items in `skip`.
pub fn from_str_skipping<'de, T: Deserialize<'de>>(
    text: &'de str,
    skip: &Skip,
) -> Result<T, serde_yaml::Error> {
    T::deserialize(Strict::new(serde_yaml::Deserializer::from_str(text), skip))
}

/// The list items to leave out, as (list path, index in the file), and where the reader is.
#[derive(Debug, Default)]
pub struct Skip {
    pub items: BTreeSet<(String, usize)>,
    /// The keys from the document's root to the value being read (`[]` for a list item).
    path: RefCell<Vec<String>>,
    /// The last map key read.
    key: RefCell<String>,
}

impl Skip {
    /// The index in the file of the `k`-th item of `list` that was read.
    pub fn original(&self, list: &str, k: usize) -> usize {
        (0..)
            .filter(|i| !self.items.contains(&(list.to_string(), *i)))
            .nth(k)
            .unwrap_or(k)
    }
}

/// A deserializer whose text values are never YAML null (see the module header).
pub struct Strict<'c, D> {
    d: D,
    ctx: &'c Skip,
    /// Reading a map key: its text is recorded as [`Skip::key`].
    key: bool,
}

impl<'c, D> Strict<'c, D> {
    pub fn new(d: D, ctx: &'c Skip) -> Self {
        Strict { d, ctx, key: false }
    }
}

macro_rules! forward {
    ($($name:ident $(($($arg:ident: $ty:ty),*))?),* $(,)?) => {
        $(fn $name<V: Visitor<'de>>(self, $($($arg: $ty,)*)? v: V) -> Result<V::Value, D::Error> {
            let w = Wrap { v, ctx: self.ctx, key: self.key };
            self.d.$name($($($arg,)*)? w)
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<'_, D> {
    type Error = D::Error;

    forward! {
        deserialize_any, deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32,
        deserialize_i64, deserialize_i128, deserialize_u8, deserialize_u16, deserialize_u32,
        deserialize_u64, deserialize_u128, deserialize_f32, deserialize_f64, deserialize_bytes,
        deserialize_byte_buf, deserialize_option, deserialize_unit, deserialize_seq,
        deserialize_map, deserialize_identifier, deserialize_ignored_any,
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        let t = Text(Wrap {
            v,
            ctx: self.ctx,
            key: self.key,
        });
        self.d.deserialize_any(t)
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.deserialize_str(v)
    }
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.deserialize_str(v)
    }
    fn is_human_readable(&self) -> bool {
        self.d.is_human_readable()
    }
}

/// A visitor (or a map, list or enum access) whose nested deserializers are [`Strict`] too.
struct Wrap<'c, V> {
    v: V,
    ctx: &'c Skip,
    key: bool,
}

impl<'c, V> Wrap<'c, V> {
    fn strict<D>(&self, d: D) -> Strict<'c, D> {
        Strict::new(d, self.ctx)
    }
    fn inner<A>(&self, v: A) -> Wrap<'c, A> {
        Wrap {
            v,
            ctx: self.ctx,
            key: false,
        }
    }
    fn record(&self, s: &str) {
        if self.key {
            *self.ctx.key.borrow_mut() = s.to_string();
        }
    }
}

macro_rules! visit {
    ($($name:ident($ty:ty)),* $(,)?) => {
        $(fn $name<E: de::Error>(self, x: $ty) -> Result<Self::Value, E> {
            self.v.$name(x)
        })*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.v.expecting(f)
    }
    visit! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64),
        visit_i128(i128), visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64),
        visit_u128(u128), visit_f32(f32), visit_f64(f64), visit_char(char),
        visit_bytes(&[u8]), visit_borrowed_bytes(&'de [u8]), visit_byte_buf(Vec<u8>),
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        self.record(s);
        self.v.visit_str(s)
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        self.record(s);
        self.v.visit_borrowed_str(s)
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        self.record(&s);
        self.v.visit_string(s)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.v.visit_none()
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.v.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let d = self.strict(d);
        self.v.visit_some(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let d = self.strict(d);
        self.v.visit_newtype_struct(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        let list = self.ctx.path.borrow().join(".");
        let a = Items {
            a,
            ctx: self.ctx,
            list,
            index: 0,
        };
        self.v.visit_seq(a)
    }
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        let a = self.inner(a);
        self.v.visit_map(a)
    }
    fn visit_enum<A: EnumAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        let a = self.inner(a);
        self.v.visit_enum(a)
    }
}

/// A seed that deserializes through [`Strict`] (a map key's text is recorded).
struct Seed<'c, S> {
    s: S,
    ctx: &'c Skip,
    key: bool,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        let d = Strict {
            d,
            ctx: self.ctx,
            key: self.key,
        };
        self.s.deserialize(d)
    }
}

/// The items of a list, the ones in [`Skip::items`] read and dropped.
struct Items<'c, A> {
    a: A,
    ctx: &'c Skip,
    /// The list's path (`cluster.nodePools`).
    list: String,
    index: usize,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Items<'_, A> {
    type Error = A::Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        while self.ctx.items.contains(&(self.list.clone(), self.index)) {
            self.index += 1;
            if self.a.next_element::<de::IgnoredAny>()?.is_none() {
                return Ok(None);
            }
        }
        self.index += 1;
        self.ctx.path.borrow_mut().push("[]".to_string());
        let seed = Seed {
            s: seed,
            ctx: self.ctx,
            key: false,
        };
        let out = self.a.next_element_seed(seed);
        self.ctx.path.borrow_mut().pop();
        out
    }
    fn size_hint(&self) -> Option<usize> {
        self.a.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Wrap<'_, A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.ctx.key.borrow_mut().clear();
        let seed = Seed {
            s: seed,
            ctx: self.ctx,
            key: true,
        };
        self.v.next_key_seed(seed)
    }
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        let key = self.ctx.key.borrow().clone();
        self.ctx.path.borrow_mut().push(key);
        let seed = Seed {
            s: seed,
            ctx: self.ctx,
            key: false,
        };
        let out = self.v.next_value_seed(seed);
        self.ctx.path.borrow_mut().pop();
        out
    }
    fn size_hint(&self) -> Option<usize> {
        self.v.size_hint()
    }
}

impl<'de, 'c, A: EnumAccess<'de>> EnumAccess<'de> for Wrap<'c, A> {
    type Error = A::Error;
    type Variant = Wrap<'c, A::Variant>;
    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let ctx = self.ctx;
        self.v
            .variant_seed(seed)
            .map(|(x, v)| (x, Wrap { v, ctx, key: false }))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Wrap<'_, A> {
    type Error = A::Error;
    fn unit_variant(self) -> Result<(), A::Error> {
        self.v.unit_variant()
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        let seed = Seed {
            s: seed,
            ctx: self.ctx,
            key: false,
        };
        self.v.newtype_variant_seed(seed)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, A::Error> {
        let v = self.inner(v);
        self.v.tuple_variant(len, v)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, A::Error> {
        let v = self.inner(v);
        self.v.struct_variant(fields, v)
    }
}

/// The visitor of a text value: null is an error; a whole number or a boolean is its text
/// (serde_yaml's own reading); a fractional number is an error, since its text (`1.30`) is
/// not recoverable and Kubernetes rejects a number where it expects a string.
struct Text<'c, V>(Wrap<'c, V>);

impl<'de, V: Visitor<'de>> Visitor<'de> for Text<'_, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        Err(E::custom(NULL_MESSAGE))
    }
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        Err(E::custom(NULL_MESSAGE))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<V::Value, E> {
        self.0.visit_str(s)
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<V::Value, E> {
        self.0.visit_borrowed_str(s)
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<V::Value, E> {
        self.0.visit_string(s)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<V::Value, E> {
        self.0.visit_str(if b { "true" } else { "false" })
    }
    fn visit_i64<E: de::Error>(self, x: i64) -> Result<V::Value, E> {
        self.0.visit_str(&x.to_string())
    }
    fn visit_u64<E: de::Error>(self, x: u64) -> Result<V::Value, E> {
        self.0.visit_str(&x.to_string())
    }
    fn visit_f64<E: de::Error>(self, x: f64) -> Result<V::Value, E> {
        Err(E::custom(format!(
            "expected text, found the number {x}: quote it (\"{x}\") if you mean the text"
        )))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(a)
    }
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(a)
    }
    fn visit_enum<A: EnumAccess<'de>>(self, a: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(a)
    }
}

#[cfg(test)]
mod tests;
