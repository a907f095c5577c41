//! kubesim: a deterministic discrete-event simulator of a whole Kubernetes cluster.
//!
//! The code map and one architecture invariant per module are in ARCHITECTURE.md. In short:
//! `sim` is the engine (knows nothing of Kubernetes); `model` is plain data; `api` is the one
//! store of objects; `kubelet`, `runtime`, `controllers` and `scheduler` are the components;
//! `network` decides who reaches the API server; `cluster` wires them to the engine; `scenario`
//! reads input; `run` drives one run; `check` and `output` observe it; `cli` is the binary.

pub mod api;
pub mod check;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod controllers;
pub mod kubelet;
pub mod model;
pub mod network;
pub mod output;
pub mod run;
pub mod runtime;
pub mod scenario;
pub mod scheduler;
pub mod sim;
