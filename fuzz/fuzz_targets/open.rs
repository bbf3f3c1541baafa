//! Fuzz target `open`: OPEN body: decode, validate, needs_extended_params, encode_body, decode again: equal.
//! The logic lives in `fuzz/src/lib.rs` (shared with conformance/tests/fuzz_regressions.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| perouterd_fuzz::open(data));
