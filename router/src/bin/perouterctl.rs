//! `perouterctl`: the operator's tool for perouterd: `show`, `reload` and `neighbor` talk to
//! the daemon's API socket; `decode` reads captures offline.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use bgp_wire::{Context, Family, FamilySet, Framer, PeerType};
use clap::{Args, Parser, Subcommand};
use router::decode::{parse_hex, with_header, Decoder, Record};

#[derive(Parser, Debug)]
#[command(name = "perouterctl", version, about = "Operate and inspect perouterd")]
struct Cli {
    /// The daemon's API socket.
    #[arg(
        long,
        global = true,
        env = "PEROUTERD_API_SOCKET",
        default_value = "/run/perouterd/api.sock"
    )]
    api_socket: PathBuf,
    /// Print the daemon's JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show the daemon's state.
    Show {
        #[command(subcommand)]
        what: Show,
    },
    /// Reload the configuration file (only neighbours whose identity changed are reset).
    Reload,
    /// Act on one neighbour.
    Neighbor {
        /// The neighbour's address (or its configured listen range / interface).
        addr: String,
        #[command(subcommand)]
        action: NeighborAction,
    },
    /// Decode BGP messages from a capture (pcap/pcapng, incl. BMP) or from hex, one JSON
    /// object per line (or readable text with --text).
    Decode(DecodeArgs),
}

#[derive(Subcommand, Debug)]
enum Show {
    /// BGP state.
    Bgp {
        #[command(subcommand)]
        what: ShowBgp,
    },
}

#[derive(Subcommand, Debug)]
enum ShowBgp {
    /// One line per neighbour, and table sizes.
    Summary,
    /// Neighbour details.
    Neighbors {
        /// Only this neighbour.
        addr: Option<String>,
    },
    /// Routes of one family.
    Routes {
        /// ipv4-unicast, ipv6-unicast, ipv4-vpn, ipv6-vpn or l2vpn-evpn.
        #[arg(long, default_value = "ipv4-unicast")]
        afi: String,
        /// The VRF instance: `default` (the underlay) or an L3VNI's or L3VPN's VRF.
        #[arg(long, default_value = "default")]
        vrf: String,
        /// Only destinations inside this prefix (or containing this address's /32 or /128).
        prefix: Option<String>,
    },
}

#[derive(Subcommand, Debug, Clone, Copy)]
enum NeighborAction {
    /// Restart the session (Cease / Administrative Reset); re-enables a shut-down neighbour.
    Reset,
    /// Stop the session (Cease / Administrative Shutdown) until reset.
    Shutdown,
}

#[derive(Args, Debug)]
struct DecodeArgs {
    /// A pcap or pcapng file.
    #[arg(long, conflicts_with = "hex")]
    pcap: Option<PathBuf>,
    /// Hex of one or more whole messages (with the 16-octet marker), or of one message body
    /// when --body is given. Whitespace and colons are ignored.
    #[arg(long)]
    hex: Option<String>,
    /// The hex is a message body without header, of this type.
    #[arg(long, value_parser = ["open", "update", "notification", "keepalive", "route-refresh"])]
    body: Option<String>,
    /// Readable text instead of JSON lines.
    #[arg(long)]
    text: bool,
    #[command(flatten)]
    ctx: ContextArgs,
}

/// The session context used until OPENs are seen (and always for --hex).
#[derive(Args, Debug)]
struct ContextArgs {
    /// AS numbers are 2 octets (no 4-octet AS capability on both sides).
    #[arg(long)]
    as2: bool,
    /// Families whose NLRI carry ADD-PATH path identifiers (comma separated:
    /// ipv4-unicast, ipv6-unicast, ipv4-vpn, ipv6-vpn, l2vpn-evpn, or all).
    #[arg(long, value_delimiter = ',')]
    add_path: Vec<String>,
    /// Extended messages (RFC 8654) were negotiated.
    #[arg(long)]
    extended_message: bool,
    /// Families that may carry an IPv6 next hop for IPv4 NLRI (RFC 8950).
    #[arg(long, value_delimiter = ',')]
    extended_next_hop: Vec<String>,
    /// The peer is internal (iBGP); forces it even when OPENs say otherwise.
    #[arg(long, conflicts_with = "ebgp")]
    ibgp: bool,
    /// The peer is external (eBGP); forces it even when OPENs say otherwise.
    #[arg(long)]
    ebgp: bool,
    /// Labels per VPN NLRI (RFC 8277 multiple labels).
    #[arg(long, default_value_t = 1)]
    vpn_labels: u8,
}

fn families(names: &[String]) -> Result<FamilySet> {
    let mut set = FamilySet::EMPTY;
    for n in names {
        if n == "all" {
            return Ok(FamilySet::all());
        }
        let f = Family::from_name(n).with_context(|| {
            format!("unknown family {n:?}: expected one of ipv4-unicast, ipv6-unicast, ipv4-vpn, ipv6-vpn, l2vpn-evpn, all")
        })?;
        set.insert(f);
    }
    Ok(set)
}

impl ContextArgs {
    fn build(&self) -> Result<(Context, Option<PeerType>)> {
        if self.vpn_labels == 0 {
            bail!("--vpn-labels must be at least 1");
        }
        let peer = match (self.ibgp, self.ebgp) {
            (true, _) => Some(PeerType::Internal),
            (_, true) => Some(PeerType::External),
            _ => None,
        };
        let ctx = Context {
            four_octet_as: !self.as2,
            add_path: families(&self.add_path).context("--add-path")?,
            extended_message: self.extended_message,
            extended_next_hop: families(&self.extended_next_hop).context("--extended-next-hop")?,
            peer: peer.unwrap_or_default(),
            vpn_labels: self.vpn_labels,
        };
        Ok((ctx, peer))
    }
}

fn emit(out: &mut impl Write, rec: &Record, text: bool) -> Result<()> {
    if text {
        out.write_all(router::text::render(rec).as_bytes())?;
    } else {
        serde_json::to_writer(&mut *out, rec)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn decode(args: &DecodeArgs) -> Result<()> {
    let (ctx, peer) = args.ctx.build()?;
    let mut decoder = Decoder::new(ctx, peer);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut warnings = Vec::new();
    match (&args.pcap, &args.hex) {
        (Some(path), _) => {
            let data =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let cap = bgp_capture::read_capture(&data)
                .with_context(|| format!("decoding {}", path.display()))?;
            for m in &cap.messages {
                emit(&mut out, &decoder.captured(m), args.text)?;
            }
            warnings = cap.warnings;
        }
        (None, Some(h)) => {
            let bytes = parse_hex(h).context("--hex is not valid hexadecimal")?;
            let messages: Vec<Vec<u8>> = match &args.body {
                Some(kind) => {
                    let ty = match kind.as_str() {
                        "open" => 1,
                        "update" => 2,
                        "notification" => 3,
                        "keepalive" => 4,
                        _ => 5,
                    };
                    vec![with_header(ty, &bytes)]
                }
                None => {
                    if bytes.get(..16) != Some(&[0xff; 16][..]) {
                        bail!("the hex does not start with a BGP marker (16 x ff); pass --body update (or another type) to decode a message body");
                    }
                    let mut framer = Framer::new(
                        &bytes,
                        Context {
                            extended_message: true,
                            ..ctx
                        },
                    );
                    let mut v = Vec::new();
                    for m in framer.by_ref() {
                        match m {
                            Ok(m) => v.push(m.to_vec()),
                            Err(_) => {
                                // Let the decoder report the header error in full.
                                v.push(bytes.clone());
                                break;
                            }
                        }
                    }
                    if !framer.remainder().is_empty() {
                        warnings.push(format!(
                            "{} trailing octets do not form a whole message",
                            framer.remainder().len()
                        ));
                    }
                    v
                }
            };
            for m in &messages {
                emit(&mut out, &decoder.bytes(m), args.text)?;
            }
        }
        (None, None) => bail!("give --pcap FILE or --hex HEX"),
    }
    out.flush()?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let s = decoder.summary;
    eprintln!(
        "{} messages decoded, {} undecodable, {} malformed UPDATEs ({} session resets), {} unknown EVPN routes skipped",
        s.messages, s.errors, s.malformed_updates, s.resets, s.skipped_routes
    );
    Ok(())
}

/// Calls the API and prints the answer as JSON or with `render`.
fn call<T: serde::de::DeserializeOwned>(
    cli: &Cli,
    method: &str,
    path: &str,
    render: impl Fn(&T) -> String,
) -> Result<()> {
    let answer = router::client::request(&cli.api_socket, method, path)?;
    if answer.status != 200 {
        let msg = serde_json::from_str::<router::api::ApiError>(&answer.body)
            .map(|e| e.error)
            .unwrap_or(answer.body);
        bail!("perouterd answered {}: {msg}", answer.status);
    }
    if cli.json {
        println!("{}", answer.body);
        return Ok(());
    }
    let value: T = serde_json::from_str(&answer.body).context("decoding the daemon's answer")?;
    print!("{}", render(&value));
    Ok(())
}

/// Percent-encodes a path segment or query value (addresses and prefixes: `/` and `:`).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn run(cli: &Cli) -> Result<()> {
    use router::api;
    match &cli.command {
        Command::Decode(args) => decode(args),
        Command::Show {
            what: Show::Bgp { what },
        } => match what {
            ShowBgp::Summary => call(cli, "GET", "/v1/bgp/summary", router::show::summary),
            ShowBgp::Neighbors { addr: None } => {
                call(cli, "GET", "/v1/bgp/neighbors", |v: &Vec<api::Neighbor>| {
                    router::show::neighbors(v)
                })
            }
            ShowBgp::Neighbors { addr: Some(a) } => call(
                cli,
                "GET",
                &format!("/v1/bgp/neighbors/{}", enc(a)),
                |v: &api::Neighbor| router::show::neighbors(std::slice::from_ref(v)),
            ),
            ShowBgp::Routes { afi, vrf, prefix } => {
                if Family::from_name(afi).is_none() {
                    bail!("unknown family {afi:?}: expected one of ipv4-unicast, ipv6-unicast, ipv4-vpn, ipv6-vpn, l2vpn-evpn");
                }
                let mut path = format!("/v1/bgp/routes?family={}", enc(afi));
                if let Some(p) = prefix {
                    path.push_str(&format!("&prefix={}", enc(p)));
                }
                if vrf != "default" {
                    path.push_str(&format!("&vrf={}", enc(vrf)));
                }
                call(cli, "GET", &path, |v: &Vec<api::Route>| {
                    router::show::routes(v)
                })
            }
        },
        Command::Reload => call(cli, "POST", "/v1/reload", |r: &api::ReloadReport| {
            if r.unchanged {
                return "configuration unchanged\n".to_string();
            }
            format!(
                "added: {:?}\nremoved: {:?}\nreset: {:?}\nupdated in place: {:?}\n",
                r.added, r.removed, r.reset, r.updated
            )
        }),
        Command::Neighbor { addr, action } => {
            let verb = match action {
                NeighborAction::Reset => "reset",
                NeighborAction::Shutdown => "shutdown",
            };
            call(
                cli,
                "POST",
                &format!("/v1/bgp/neighbors/{}/{verb}", enc(addr)),
                |a: &api::Ack| format!("{}\n", a.message),
            )
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = run(&cli);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The whole cause chain on one line, without a backtrace: these are user errors.
            eprintln!("perouterctl: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
