//! kubesim's integration tests: one binary, one module per concern.

mod batch;
mod bench;
mod bounds;
mod cli;
mod determinism;
mod disruption;
mod docs;
mod errors;
mod expectations;
mod faults;
mod fidelity;
mod fields;
mod kubelet;
mod layers;
mod manifests;
mod resultdir;
mod scenarios;
mod scheduling;
mod services;
mod support;
mod swarm;
mod workloads;
