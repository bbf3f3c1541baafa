//! Fuzz target `encode_model`: Arbitrary (Context, Message): encodes to a well-framed message; clean decodes are fixpoints.
//! The logic lives in `fuzz/src/lib.rs` (shared with conformance/tests/fuzz_regressions.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| perouterd_fuzz::encode_model(data));
