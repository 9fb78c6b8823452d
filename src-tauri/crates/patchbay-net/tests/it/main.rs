//! patchbay-net's integration tests: one binary, real servers on loopback
//! addresses only, injected resolvers.

mod canary;
mod catalog;
mod discovery;
mod egress;
mod limits;
mod probe_outcomes;
mod proxy;
mod support;
mod tls;
