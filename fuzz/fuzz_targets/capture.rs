//! Fuzz target `capture`: Capture file bytes: bgp_capture::read_capture never panics or hangs.
//! The logic lives in `fuzz/src/lib.rs` (shared with conformance/tests/fuzz_regressions.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| perouterd_fuzz::capture(data));
