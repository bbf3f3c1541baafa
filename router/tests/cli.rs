//! `perouterctl decode` as an operator runs it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn corpus() -> PathBuf {
    let dir = std::env::var_os("PEROUTER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
        });
    assert!(
        dir.join("pcaps").is_dir(),
        "conformance corpus not found at {}: set PEROUTER_CORPUS",
        dir.display()
    );
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_perouterctl"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn decodes_a_capture_to_json_lines_with_negotiated_contexts() {
    let pcap = corpus().join("pcaps/lab/gobgp_frr_evpn.pcap");
    let out = run(&["decode", "--pcap", pcap.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 21);
    let updates: Vec<_> = lines
        .iter()
        .filter(|l| l["message"]["type"] == "update")
        .collect();
    assert!(!updates.is_empty());
    assert!(updates.iter().all(|u| u["context_source"] == "negotiated"));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("21 messages decoded, 0 undecodable"),
        "{stderr}"
    );
}

#[test]
fn text_output_shows_evpn_routes() {
    let pcap = corpus().join("pcaps/tcpdump/bgp-encap.pcap");
    let out = run(&["decode", "--pcap", pcap.to_str().unwrap(), "--text"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("type-2 RD 4.4.4.4:4"), "{text}");
    assert!(text.contains("MAC 02:06:0a:0e:fa:f3"), "{text}");
    assert!(text.contains("RT:65000:101 ET:8"), "{text}");
}

#[test]
fn hex_body_with_unknown_evpn_type_reports_the_skip() {
    let hex_text = std::fs::read_to_string(corpus().join("exabgp/bgp-evpn-1.hex")).unwrap();
    let out = run(&["decode", "--body", "update", "--hex", hex_text.trim()]);
    assert!(out.status.success());
    let rec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rec["verdict"]["skipped"][0]["route_type"], 8);
    assert!(rec["verdict"].get("action").is_none());
}

#[test]
fn malformed_input_gives_a_verdict_and_bad_arguments_a_clear_error() {
    // A KEEPALIVE with length 20: a header error, reported with its NOTIFICATION; exit 0.
    let out = run(&["decode", "--hex", "ffffffffffffffffffffffffffffffff001404"]);
    assert!(out.status.success());
    let rec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rec["notification"].as_str().unwrap().starts_with("1/2"));

    // An UPDATE whose attribute length overruns it: session reset 3/1.
    let out = run(&["decode", "--body", "update", "--hex", "0000ffff"]);
    let rec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rec["verdict"]["action"], "session-reset");

    for bad in [
        vec!["decode", "--hex", "zz"],
        vec!["decode", "--hex", "0001"],
        vec!["decode", "--pcap", "/nonexistent/file.pcap"],
        vec!["decode", "--hex", "ff", "--add-path", "ipv5"],
    ] {
        let out = run(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("perouterctl: "), "{bad:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
