//! perouterd's BGP protocol library.
//!
//! * [`wire`]: the codec (the `bgp-wire` crate, kept separate so it depends on nothing else
//!   of ours — ARCHITECTURE.md invariant 1).
//! * [`fsm`]: the RFC 4271 session state machine, sans I/O.
//! * [`negotiation`]: what two OPENs agree on (families, refresh, restart, roles, contexts).
//!
//! * [`session`]: the tokio driver of one session around the FSM.
//! * [`transport`]: the TCP sockets under a session: TCP-MD5, TTL and GTSM, update-source,
//!   bind-to-device.
//!
//! * [`rib`]: Adj-RIB-In / Loc-RIB / Adj-RIB-Out, interned attributes, best path, update
//!   generation (sans I/O).

#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

pub use bgp_wire as wire;

pub mod fsm;
pub mod negotiation;
pub mod policy;
pub mod rib;
pub mod session;
pub mod transport;
