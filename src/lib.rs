//! kubesim: a deterministic discrete-event simulator of a whole Kubernetes cluster.
//!
//! The code map, the layers and one architecture invariant per module are in ARCHITECTURE.md.
//! Bottom to top: `sim` (the engine; knows nothing of Kubernetes) → `model` (plain data) →
//! `network` (who reaches the API server) → `api` (the one store of objects) → `client`
//! (client-go analogues) and `runtime` (the container runtime) → the components `kubelet`,
//! `proxy` (kube-proxy and synthetic traffic), `controllers` and `scheduler` → `cluster` (wires them to the engine, injects faults) →
//! `observe` (expectations, invariants, sampling; read-only) → `scenario` (input) → `run` (one
//! run) → `study` (many runs: the swarm) → `output` (result files) → `cli` (the binary). A module imports only lower layers
//! (tests/integration/layers.rs).

pub mod api;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod controllers;
pub mod kubelet;
pub mod model;
pub mod network;
pub mod observe;
pub mod output;
pub mod proxy;
pub mod run;
pub mod runtime;
pub mod scenario;
pub mod scheduler;
pub mod sim;
pub mod study;
