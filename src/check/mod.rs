//! Read-only checks on a run: scenario expectations (`expect:`) and model invariants.
//!
//! Architecture invariant: nothing here mutates simulation state; checkers live outside the
//! components they check.

pub mod expect;
pub mod invariants;
pub mod objects;

pub use expect::{ExpectationResult, TimedExpectation};
