//! The kernel task: programs this node's layout (`crate::overlay::node_layout`) into the
//! router namespace (the one perouterd runs in) and the host namespace, with
//! `dataplane::netlink::NetlinkDataplane`, at start and after every configuration change.
//!
//! It owns its dataplanes and receives configurations and the EVPN routes imported from the
//! fabric on two `watch` channels (only the latest of each matters); the imports become
//! routes, neighbours and FDB entries on top of the layout (`overlay::import_objects`). An apply that fails is logged and retried every [`RETRY`] until it succeeds or
//! a new configuration arrives. A restart adopts what the previous run left (the reconciler
//! writes nothing when nothing changed), so forwarding is not disturbed.
//!
//! # Underlay NICs (`nics`)
//!
//! Each apply first moves the configured underlay NICs from the host namespace into the router
//! namespace (`dataplane::underlay::move_in`: with their addresses, link group 4242, up), as
//! OpenPERouter does before the rest of its layout (reference §2.5.2). A NIC already there is
//! left alone, so a restarted perouterd finds its NICs in place and writes nothing. NICs that
//! an earlier configuration of this run listed and the current one does not are moved back to
//! the host namespace first (`move_out`: addresses carried back, default group).
//!
//! A NIC that cannot be moved (missing from both namespaces, a name conflict…) is logged as an
//! error and does not hold the layout back: the rest is applied, and the NIC is tried again
//! every [`RETRY`] (OpenPERouter reports the whole Underlay as failed instead).
//!
//! perouterd stopping never moves NICs back (forwarding must survive a restart). What is moved
//! back is known from this run's configurations only: a NIC dropped from the file while
//! perouterd was not running stays in the router namespace (`ip -n <router> link show group
//! 4242` lists it).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use dataplane::layout::Namespaces;
use dataplane::netlink::NetlinkDataplane;
use dataplane::netns::NetnsHandle;
use dataplane::underlay::{self, MoveOutcome, MoveReport, UnderlayError, UNDERLAY_LINK_GROUP};
use dataplane::{ApplyReport, Dataplane, DesiredState};
use tokio::sync::watch;

use crate::config::Config;
use crate::overlay::{import_objects, node_layout, FabricImports};

/// Delay before an apply that failed is tried again.
pub const RETRY: Duration = Duration::from_secs(5);

/// Where the kernel task programs.
#[derive(Debug, Clone)]
pub struct KernelOptions {
    /// The host namespace (a name under `/run/netns` or a path such as `/proc/1/ns/net`):
    /// where the host legs of the veths go.
    pub host_netns: String,
    /// The underlay MTU (veth MTUs are this − 50 when above 1280); `None`: the smallest MTU of
    /// the configured `nics`, or, without them, the veths are left alone.
    pub underlay_mtu: Option<u32>,
}

/// What one apply did, for the log.
#[derive(Debug, Clone, Copy)]
struct Applied {
    router: ApplyReport,
    host: ApplyReport,
}

/// The kernel task's inputs: the configuration (the layout) and the EVPN routes imported
/// from the fabric (routes, neighbours and FDB entries on top of the layout).
#[derive(Debug)]
pub struct KernelHandle {
    /// The configuration.
    pub config: watch::Sender<Arc<Config>>,
    /// The imported EVPN routes.
    pub imports: watch::Sender<Arc<FabricImports>>,
}

/// Starts the task in the current (router) namespace.
pub fn spawn(opts: KernelOptions, first: Arc<Config>) -> KernelHandle {
    let (config, config_rx) = watch::channel(first);
    let (imports, imports_rx) = watch::channel(Arc::new(FabricImports::default()));
    tokio::spawn(run(opts, config_rx, imports_rx));
    KernelHandle { config, imports }
}

fn host_path(name: &str) -> String {
    if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/run/netns/{name}")
    }
}

async fn run(
    opts: KernelOptions,
    mut rx: watch::Receiver<Arc<Config>>,
    mut imports_rx: watch::Receiver<Arc<FabricImports>>,
) {
    let mut router = match NetlinkDataplane::new() {
        Ok(dp) => dp,
        Err(e) => {
            tracing::error!(error = %e, "kernel task: cannot open netlink; the layout is not programmed");
            return;
        }
    };
    // The NICs this run has been configured with (and may have moved in), until moved back.
    let mut nics = BTreeSet::new();
    loop {
        let config = rx.borrow_and_update().clone();
        let imports = imports_rx.borrow_and_update().clone();
        // The underlay NICs first: the layout may reference them (reference §2.5).
        let nic_failures = sync_nics(&host_path(&opts.host_netns), &config, &mut nics).await;
        let result = apply(&opts, &mut router, &config, &imports).await;
        let retry = match result {
            Ok(a) => {
                if a.router.is_noop() && a.host.is_noop() {
                    tracing::info!("kernel layout already in place");
                } else {
                    tracing::info!(
                        router_writes = a.router.writes,
                        host_writes = a.host.writes,
                        links_created = a.router.links.created + a.host.links.created,
                        links_changed = a.router.links.updated + a.host.links.updated,
                        links_deleted = a.router.links.deleted + a.host.links.deleted,
                        routes = a.router.routes.created
                            + a.router.routes.updated
                            + a.router.routes.deleted,
                        fdb = a.router.fdb.created + a.router.fdb.updated + a.router.fdb.deleted,
                        imported_type5 = imports.type5.len(),
                        imported_type3 = imports.type3.len(),
                        "kernel layout applied"
                    );
                }
                (nic_failures > 0).then_some(RETRY)
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?RETRY, "kernel layout not applied");
                Some(RETRY)
            }
        };
        let wait = async {
            match retry {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            changed = imports_rx.changed() => if changed.is_err() { return },
            () = wait => {}
        }
    }
}

/// Moves back the NICs of `moved` the configuration no longer lists, then moves in the NICs
/// it lists (adding them to `moved`). Every NIC is attempted; returns how many failed (each is
/// logged).
async fn sync_nics(host: &str, config: &Config, moved: &mut BTreeSet<String>) -> usize {
    let wanted: BTreeSet<&str> = config.nics.iter().map(String::as_str).collect();
    let stale: Vec<String> = moved
        .iter()
        .filter(|n| !wanted.contains(n.as_str()))
        .cloned()
        .collect();
    if config.nics.is_empty() && stale.is_empty() {
        return 0;
    }
    let (host_ns, router_ns) = match (NetnsHandle::open(host), NetnsHandle::current()) {
        (Ok(h), Ok(r)) => (h, r),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, host_netns = %host, retry_in = ?RETRY, "underlay NICs not moved: cannot open the namespaces");
            return config.nics.len() + stale.len();
        }
    };
    let mut failures = 0;
    for nic in stale {
        match underlay::move_out(&nic, &router_ns, &host_ns).await {
            Ok(report) => {
                log_move(&report, "underlay NIC moved back to the host namespace");
                moved.remove(&nic);
            }
            Err(UnderlayError::NotFound { .. }) => {
                // Gone from both sides (a NIC that never existed, or was deleted): nothing to
                // move back.
                tracing::warn!(nic = %nic, "underlay NIC no longer configured and found in neither namespace; forgotten");
                moved.remove(&nic);
            }
            Err(e) => {
                tracing::error!(nic = %nic, error = %e, retry_in = ?RETRY, "underlay NIC not moved back to the host namespace");
                failures += 1;
            }
        }
    }
    for nic in &config.nics {
        moved.insert(nic.clone());
        match underlay::move_in(nic, &host_ns, &router_ns, UNDERLAY_LINK_GROUP).await {
            Ok(report) => log_move(&report, "underlay NIC moved into the router namespace"),
            Err(e) => {
                tracing::error!(nic = %nic, error = %e, retry_in = ?RETRY, "underlay NIC not moved into the router namespace");
                failures += 1;
            }
        }
    }
    failures
}

/// Logs a move: at info when something was written, at debug when the NIC was in place.
fn log_move(r: &MoveReport, what: &str) {
    let addresses: Vec<String> = r.addresses.iter().map(ToString::to_string).collect();
    let mac = r.mac.map(|m| m.to_string()).unwrap_or_default();
    match r.outcome {
        MoveOutcome::AlreadyThere => tracing::debug!(
            nic = %r.nic,
            ifindex = r.ifindex,
            outcome = "already there",
            "{what}"
        ),
        MoveOutcome::Moved | MoveOutcome::Repaired => tracing::info!(
            nic = %r.nic,
            ifindex = r.ifindex,
            %mac,
            outcome = ?r.outcome,
            addresses = ?addresses,
            writes = r.writes,
            "{what}"
        ),
    }
}

async fn apply(
    opts: &KernelOptions,
    router: &mut NetlinkDataplane,
    config: &Config,
    imports: &FabricImports,
) -> anyhow::Result<Applied> {
    let host = host_path(&opts.host_netns);
    let in_use = router.vrf_tables().await?;
    let ns = Namespaces {
        host: Some(host.clone()),
        router: None,
    };
    // The VXLAN overhead is taken from the underlay: `--underlay-mtu`, else the smallest MTU
    // of the underlay NICs (moved in before this), as OpenPERouter does; else left alone.
    let underlay_mtu = match opts.underlay_mtu {
        Some(m) => Some(m),
        None if !config.nics.is_empty() => {
            let mtus = router.link_mtus().await?;
            config
                .nics
                .iter()
                .filter_map(|n| mtus.get(n).copied())
                .min()
        }
        None => None,
    };
    let layout = node_layout(config, &in_use, &ns, underlay_mtu)?;
    let mut desired = layout.fragment.router.clone();
    let objects = import_objects(&layout, imports);
    desired.routes.extend(objects.routes);
    desired.neighbours.extend(objects.neighbours);
    desired.fdb.extend(objects.fdb);
    // Router side first: it creates the veths, with their host legs in the host namespace.
    let r = router.apply(&desired).await?;
    let h = apply_in(host, layout.fragment.host).await?;
    Ok(Applied { router: r, host: h })
}

/// Applies `desired` from a thread inside namespace `path`.
async fn apply_in(path: String, desired: DesiredState) -> anyhow::Result<ApplyReport> {
    let report = tokio::task::spawn_blocking(move || {
        let ns = NetnsHandle::open(&path)?;
        let r = ns.run_async(|| async move {
            let mut dp = NetlinkDataplane::new()?;
            dp.apply(&desired).await
        })?;
        anyhow::Ok(r?)
    })
    .await??;
    Ok(report)
}

/// Starts the kernel watcher in the current (router) namespace: bridge FDB and neighbour
/// changes (local MAC and MAC/IP learning, the source of EVPN type-2 routes) go to the actor
/// as [`super::Input::Kernel`]. An `Overrun` is passed on too: the actor logs it (a full
/// re-read of the bridge tables is not done yet).
pub fn spawn_watcher(tx: tokio::sync::mpsc::Sender<super::Input>) {
    tokio::spawn(async move {
        let mut watcher = match dataplane::watch::Watcher::new() {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "kernel watcher: cannot subscribe; no local MAC learning");
                return;
            }
        };
        // Subscribed first, then read: nothing learned in between is missed.
        snapshot(&tx, "start").await;
        loop {
            let event = match watcher.recv().await {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(error = %e, "kernel watcher stopped");
                    return;
                }
            };
            if !matches!(
                event,
                dataplane::watch::DataplaneEvent::Fdb(_)
                    | dataplane::watch::DataplaneEvent::Neigh(_)
                    | dataplane::watch::DataplaneEvent::Overrun(_)
            ) {
                continue;
            }
            let overrun = matches!(event, dataplane::watch::DataplaneEvent::Overrun(_));
            if tx.send(super::Input::Kernel(event)).await.is_err() {
                return;
            }
            if overrun {
                // Notifications were lost: read the tables again.
                snapshot(&tx, "overrun").await;
            }
        }
    });
}

/// Reads the bridge FDB and neighbour tables and hands them to the actor (the MAC tables
/// resynchronise with them). A failure is logged; the next overrun tries again.
async fn snapshot(tx: &tokio::sync::mpsc::Sender<super::Input>, why: &'static str) {
    match dataplane::watch::snapshot(None).await {
        Ok(events) => {
            tracing::debug!(entries = events.len(), reason = why, "kernel tables read");
            let _ = tx.send(super::Input::KernelSnapshot(events)).await;
        }
        Err(e) => {
            tracing::warn!(error = %e, reason = why, "kernel tables not read; local MACs resynchronise at the next overrun")
        }
    }
}
