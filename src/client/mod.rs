//! client-go analogues that several components share: leader election (`leader`), the
//! controllers' creation expectations (`expectations`), the rate-limited timed queue with its
//! token bucket (`ratelimit`) and the client-side request rate limiter (`tokenbucket`,
//! `clientConnection.qps` / `burst`).
//!
//! Architecture invariant: a client talks to the API server only through requests that carry
//! its `Caller` (so the network model may refuse them) and knows no component: kubelet,
//! controllers and scheduler use it, never the other way round.

pub mod expectations;
pub mod leader;
pub mod ratelimit;
pub mod tokenbucket;
pub mod workqueue;
