//! Prints what `read_capture` finds in each capture file given on the
//! command line: message counts by BGP type and carrier, and warnings.
//!
//! `cargo run -p bgp-capture --example summary -- FILE...` (add `-v` to
//! print every message and warning).

use std::collections::BTreeMap;
use std::process::ExitCode;

use bgp_capture::{read_capture, Carrier};

fn type_name(t: u8) -> String {
    match t {
        1 => "OPEN".to_owned(),
        2 => "UPDATE".to_owned(),
        3 => "NOTIFICATION".to_owned(),
        4 => "KEEPALIVE".to_owned(),
        5 => "ROUTE-REFRESH".to_owned(),
        other => format!("type-{other}"),
    }
}

fn main() -> ExitCode {
    let mut verbose = false;
    let mut status = ExitCode::SUCCESS;
    for arg in std::env::args().skip(1) {
        if arg == "-v" {
            verbose = true;
            continue;
        }
        let data = match std::fs::read(&arg) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{arg}: {e}");
                status = ExitCode::FAILURE;
                continue;
            }
        };
        let capture = match read_capture(&data) {
            Ok(c) => c,
            Err(e) => {
                println!("{arg}: error: {e}");
                status = ExitCode::FAILURE;
                continue;
            }
        };
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for m in &capture.messages {
            let carrier = match m.carrier {
                Carrier::Tcp => "",
                Carrier::Bmp { .. } => " (BMP)",
            };
            let name = m.msg_type().map(type_name).unwrap_or_default();
            *counts.entry(format!("{name}{carrier}")).or_default() += 1;
        }
        let counts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        println!(
            "{arg}: {} packets, {} messages [{}], {} warnings",
            capture.packets,
            capture.messages.len(),
            counts.join(", "),
            capture.warnings.len()
        );
        if verbose {
            for m in &capture.messages {
                println!(
                    "  packet {} {} -> {} {:?} len {} type {:?}",
                    m.packet,
                    m.src,
                    m.dst,
                    m.carrier,
                    m.bytes.len(),
                    m.msg_type()
                );
            }
            for w in &capture.warnings {
                println!("  warning: {w}");
            }
        }
    }
    status
}
