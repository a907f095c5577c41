//! Plain data: Kubernetes objects, quantities and durations.
//!
//! Architecture invariant: data and pure helpers only — no simulation state, no I/O.

pub mod batch;
pub mod container;
pub mod duration;
pub mod meta;
pub mod node;
pub mod pod;
pub mod policy;
pub mod predicates;
pub mod quantity;
pub mod selectors;
pub mod service;
pub mod suggest;
pub mod taints;
pub mod workloads;

pub use batch::*;
pub use container::*;
pub use meta::*;
pub use node::*;
pub use pod::*;
pub use policy::*;
pub use selectors::*;
pub use service::*;
pub use taints::*;
pub use workloads::*;
