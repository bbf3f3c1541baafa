//! Fuzz target `attributes`: (Context, attribute field): an UPDATE body with empty withdrawn/NLRI fields, decoded.
//! The logic lives in `fuzz/src/lib.rs` (shared with conformance/tests/fuzz_regressions.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| perouterd_fuzz::attributes(data));
