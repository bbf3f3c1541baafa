//! perouterd's BGP protocol library.
//!
//! Today it is the wire layer ([`wire`], the `bgp-wire` crate). The sans-IO FSM, the tokio
//! session driver, the RIB and policy join it as separate modules (issue 3); `wire` stays a
//! crate of its own so that it depends on nothing else of ours (ARCHITECTURE.md invariant 1).

pub use bgp_wire as wire;
