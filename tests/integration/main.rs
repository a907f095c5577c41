//! kubesim's integration tests: one binary, one module per concern.

mod batch;
mod bounds;
mod cli;
mod determinism;
mod diff;
mod disruption;
mod docs;
mod errors;
mod expectations;
mod failure_models;
mod faults;
mod fidelity;
mod fields;
mod kubelet;
mod layers;
mod manifests;
mod metrics;
mod resultdir;
mod scenarios;
mod scheduling;
mod services;
mod support;
mod swarm;
mod workloads;
