//! Studies across many runs: the swarm (`kubesim swarm`), random valid scenarios checked for
//! safety, liveness and determinism; the capacity plan (`kubesim plan`), the fewest nodes
//! that keep the workloads available under failure cases; and sweeps (`kubesim sweep`), flag
//! values × seeds with their tables and the Indexed Job that shards them.
//!
//! Architecture invariant: above `run`, below `output` and `cli`; no I/O and no wall clock
//! (the CLI writes reproducers and times the study); threads only across runs (`rayon`),
//! never inside one, and results in seed (or cell) order whatever the thread count.

pub mod generate;
pub mod plan;
pub mod swarm;
pub mod sweep;
