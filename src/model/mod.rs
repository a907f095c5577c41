//! Plain data: Kubernetes objects, quantities and durations.
//!
//! Architecture invariant: data and pure helpers only — no simulation state, no I/O.

pub mod batch;
pub mod container;
pub mod duration;
pub mod objects;
pub mod policy;
pub mod predicates;
pub mod quantity;
pub mod service;
pub mod suggest;

pub use batch::*;
pub use container::*;
pub use objects::*;
pub use policy::*;
pub use service::*;
