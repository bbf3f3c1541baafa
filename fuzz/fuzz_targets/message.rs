//! Fuzz target `message`: (Context, bytes): decode_message, frame and Framer never panic and agree.
//! The logic lives in `fuzz/src/lib.rs` (shared with conformance/tests/fuzz_regressions.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| perouterd_fuzz::message(data));
