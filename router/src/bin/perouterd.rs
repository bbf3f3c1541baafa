//! perouterd: the BGP/EVPN speaker daemon.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use router::daemon::{self, Options};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// perouterd: a BGP/EVPN speaker for OpenPERouter's router pod.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The configuration file (YAML, docs/config.md).
    #[arg(long)]
    config: PathBuf,
    /// Unix socket of the API that perouterctl talks to.
    #[arg(long, default_value = "/run/perouterd/api.sock")]
    api_socket: PathBuf,
    /// Serve Prometheus metrics on this TCP address (e.g. 127.0.0.1:9473).
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Run inside this network namespace (a name under /run/netns, or a path).
    #[arg(long)]
    netns: Option<String>,
    /// Seconds between checks of the configuration file for changes (0: only SIGHUP and
    /// the API reload).
    #[arg(long, default_value_t = 2)]
    watch_seconds: u64,
    /// Directory for state kept across restarts (the graceful-restart marker).
    #[arg(long, default_value = "/run/perouterd")]
    state_dir: PathBuf,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log filter when RUST_LOG is unset (e.g. info, debug, bgp=debug).
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Program this node's kernel layout (VTEP, VRFs, bridges, VXLANs, veths, sysctls) in the
    /// namespace perouterd runs in, with the host legs of the veths in this namespace (a name
    /// under /run/netns, or a path such as /proc/1/ns/net). Without it perouterd leaves the
    /// kernel alone.
    #[arg(long)]
    host_netns: Option<String>,
    /// The underlay MTU: host veths get this − 50 (OpenPERouter's rule) when above 1280.
    /// Default: the smallest MTU of the configured `nics`; without them veths are left alone.
    #[arg(long, requires = "host_netns")]
    underlay_mtu: Option<u32>,
}

fn enter_netns(name: &str) -> anyhow::Result<()> {
    let path = if name.contains('/') {
        PathBuf::from(name)
    } else {
        PathBuf::from("/run/netns").join(name)
    };
    let file =
        std::fs::File::open(&path).with_context(|| format!("opening netns {}", path.display()))?;
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
        .with_context(|| format!("entering netns {}", path.display()))?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&args.log_level))
        .context("--log-level")?;
    // Colours only on a terminal: logs sent to files or journald stay plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    // Before the runtime starts threads: setns applies to the calling thread, and every
    // thread the runtime spawns inherits it.
    if let Some(ns) = &args.netns {
        enter_netns(ns)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let opts = Options {
        config_path: args.config,
        api_socket: Some(args.api_socket),
        metrics: args.metrics,
        watch_interval: (args.watch_seconds > 0).then(|| Duration::from_secs(args.watch_seconds)),
        state_dir: args.state_dir,
        kernel: args
            .host_netns
            .map(|host_netns| daemon::kernel::KernelOptions {
                host_netns,
                underlay_mtu: args.underlay_mtu,
            }),
    };
    // SIGTERM and SIGINT are handled by the daemon, which closes sessions as configured
    // (graceful restart or Cease) before `run` returns.
    runtime.block_on(daemon::run(opts))
}
