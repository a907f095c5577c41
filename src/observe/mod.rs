//! Read-only observers of a run: scenario expectations (`expect:`), model invariants, the
//! time-series sampler (`timeseries`, with its capacity columns in `capacity`), the components'
//! own metrics under upstream names (`components`), workloads'
//! replica levels (`workload_levels`) and the event-exact availability tracker
//! (`availability`).
//!
//! Architecture invariant: nothing here mutates simulation state; checkers live outside the
//! components they check.

pub mod availability;
pub mod capacity;
pub mod components;
pub mod expect;
pub mod invariants;
pub mod liveness;
pub mod objects;
pub mod pods;
pub mod timeseries;
pub mod workload_levels;

pub use expect::{ExpectationResult, TimedExpectation};
