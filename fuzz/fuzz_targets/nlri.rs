//! Fuzz target `nlri`: (family byte, Context, bytes): decode_nlri for a family of Family::ALL, decode_evpn; re-encode fixpoints.
//! The logic lives in `fuzz/src/lib.rs` (shared with conformance/tests/fuzz_regressions.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| perouterd_fuzz::nlri(data));
