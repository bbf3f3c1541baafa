//! Fuzz target `roundtrip`: (Context, message): decode -> encode -> decode is stable (message and verdict).
//! The logic lives in `fuzz/src/lib.rs` (shared with conformance/tests/fuzz_regressions.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| perouterd_fuzz::roundtrip(data));
