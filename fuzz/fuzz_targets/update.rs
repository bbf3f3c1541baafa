//! Fuzz target `update`: (Context, UPDATE body): Update::decode and the RFC 7606 verdict invariants.
//! The logic lives in `fuzz/src/lib.rs` (shared with conformance/tests/fuzz_regressions.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| perouterd_fuzz::update(data));
