//! Moving the underlay NIC into the router namespace and back, as OpenPERouter does for an
//! `Underlay` with a `NetworkDevice` NIC.
//!
//! # Moving in ([`move_in`])
//!
//! 1. Look the NIC up by name in the router namespace and in the host namespace (one
//!    `RTM_GETLINK` each). Then:
//!    - in the router namespace, in link group `group` and up: already moved, **nothing is
//!      written** ([`MoveOutcome::AlreadyThere`]). (If the host also has a link of that name
//!      — another device — a warning is logged and it is left alone.)
//!    - in the router namespace only, but in another group or down (a move interrupted by a
//!      crash, or a NIC moved in by hand): the group is set and the link set up, one
//!      `RTM_SETLINK` ([`MoveOutcome::Repaired`]); its addresses cannot be known any more and
//!      are not touched;
//!    - in both namespaces, the router's one in another group: [`UnderlayError::NameConflict`]
//!      (the move would fail with `EEXIST`);
//!    - in neither: [`UnderlayError::NotFound`].
//! 2. Record the NIC's addresses in the host namespace (an `RTM_GETADDR` dump): IPv4 and IPv6
//!    addresses of scope global or site. Skipped: link-local and host scope (the kernel makes
//!    `fe80::/64` again in the new namespace), and IPv6 temporary (privacy) addresses, which
//!    the kernel regenerates. Underlay IPs come from whatever the host configured; nothing
//!    here assigns one.
//! 3. Move the NIC with one `RTM_SETLINK` carrying `IFLA_NET_NS_FD` = the router namespace,
//!    `IFLA_GROUP` = `group` ([`UNDERLAY_LINK_GROUP`] = 4242 as in OpenPERouter) and `IFF_UP`.
//!    The kernel applies the namespace change first and the group and flags to the moved
//!    device, so a NIC is never in the router namespace without its group: a crash after this
//!    step still leaves it findable by [`move_out_all`]. (OpenPERouter sends the three as
//!    separate requests, group and up after the addresses; the resulting state is the same.)
//! 4. Look the NIC up again in the router namespace: its ifindex is kept unless it is taken
//!    there, in which case the kernel picks a new one.
//! 5. Re-add the recorded addresses there, in dump order (so an IPv4 primary stays primary),
//!    one `RTM_NEWADDR` each (`NLM_F_CREATE|NLM_F_EXCL`; `EEXIST` counts as done). Moving a
//!    device to another namespace removes all its IPv4 and IPv6 addresses, so this step is
//!    what carries them over. Kept: prefix length, local and peer address, IPv4 broadcast and
//!    label, scope, the prefix-route metric (`IFA_RT_PRIORITY`), `IFA_PROTO`, remaining finite
//!    lifetimes, and the flags `nodad`, `home`, `mngtmpaddr`, `autojoin`. Cleared:
//!    `noprefixroute` (as OpenPERouter clears `IFA_F_NOPREFIXROUTE`: the connected route is
//!    created), and the kernel-managed state flags (`secondary`, `permanent`, `tentative`,
//!    `deprecated`…).
//!
//! Preserved without any step: the MAC address, the MTU and everything else that belongs to
//! the device (driver, offloads, altnames, ethtool settings).
//!
//! **Not preserved** (OpenPERouter does not preserve them either): routes through the NIC
//! (kernel routes go with the addresses and come back from them, static routes of the host
//! are deleted by the kernel and are not re-added), neighbours, sysctls of the device
//! (`net.ipv{4,6}.conf.<nic>.*` are recreated from the target namespace's `default`), a
//! master (bridge, bond) the NIC had, qdiscs on some drivers, the admin state (the NIC is
//! always set up), and an address lost to a crash between steps 3 and 5 (the recorded list is
//! held in memory only; a later [`move_in`] sees a moved NIC and cannot restore it).
//!
//! # Moving out ([`move_out`], [`move_out_all`])
//!
//! The reverse: if the NIC is already in the host namespace and not in the router's, nothing
//! is written; otherwise its addresses are recorded in the router namespace, it is moved with
//! `IFLA_NET_NS_FD` = the host namespace, `IFLA_GROUP` = 0 (the default group) and `IFF_UP`,
//! and the addresses are re-added in the host namespace. [`move_out_all`] does this for every
//! link of a group in the router namespace: OpenPERouter's "when the Underlay is removed,
//! move group-4242 NICs back to the host netns with their addresses".
//!
//! # Runtime
//!
//! The functions are async and must run inside a tokio runtime (any flavour, I/O enabled).
//! They open one rtnetlink socket per namespace on a short-lived thread that joins it
//! ([`NetnsHandle::run`], which blocks the calling task for the duration of a `socket()`), and
//! drive both sockets on the caller's runtime. From synchronous code:
//! `NetnsHandle::current()?.run_async(|| move_in(nic, &host, &router, group))`.

use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use futures_util::StreamExt;
use ipnet::IpNet;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};
use rtnetlink::Handle;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::model::MacAddr;
use crate::netns::{NetnsError, NetnsHandle};
use crate::nlattr::{address_net, link_name};

/// Link group of the underlay NICs moved into the router namespace (OpenPERouter's
/// `underlayInterfaceGroup`; `ip link show group 4242`).
pub const UNDERLAY_LINK_GROUP: u32 = 4242;

/// The kernel's default link group (`ip link` prints it as `default`), set on NICs moved back.
pub const DEFAULT_LINK_GROUP: u32 = 0;

/// What a move did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveOutcome {
    /// The NIC was moved and its addresses re-added.
    Moved,
    /// The NIC was already where it should be, in the right group and up: nothing written.
    AlreadyThere,
    /// The NIC was already in the target namespace, but its group or admin state had to be
    /// fixed (its addresses could not be recovered).
    Repaired,
}

/// The result of one NIC move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveReport {
    /// NIC name.
    pub nic: String,
    /// What was done.
    pub outcome: MoveOutcome,
    /// Interface index in the target namespace.
    pub ifindex: u32,
    /// MAC address (unchanged by the move).
    pub mac: Option<MacAddr>,
    /// Addresses carried over (re-added in the target namespace), in order.
    pub addresses: Vec<IpNet>,
    /// Netlink write requests sent (0 when nothing had to change).
    pub writes: usize,
}

impl MoveReport {
    /// Whether nothing was written.
    pub fn is_noop(&self) -> bool {
        self.writes == 0
    }
}

/// A failed NIC move, naming the NIC and the step.
#[derive(Debug, thiserror::Error)]
pub enum UnderlayError {
    /// The NIC exists in neither namespace.
    #[error("underlay NIC {nic}: not found in the host namespace {host} nor in the router namespace {router}")]
    NotFound {
        /// NIC name.
        nic: String,
        /// Host namespace path.
        host: PathBuf,
        /// Router namespace path.
        router: PathBuf,
    },
    /// Not a valid interface name.
    #[error("underlay NIC {nic:?}: not a valid interface name")]
    InvalidName {
        /// The name given.
        nic: String,
    },
    /// The target namespace already has another link with the NIC's name.
    #[error("underlay NIC {nic}: {namespace} already has another link named {nic}; not moving")]
    NameConflict {
        /// NIC name.
        nic: String,
        /// The target namespace path.
        namespace: PathBuf,
    },
    /// Host and router handles are the same namespace.
    #[error("underlay NIC {nic}: host and router namespaces are the same ({path})")]
    SameNamespace {
        /// NIC name (or the group, for [`move_out_all`]).
        nic: String,
        /// Namespace path.
        path: PathBuf,
    },
    /// Called outside a tokio runtime.
    #[error("underlay NIC {nic}: must be called inside a tokio runtime")]
    NoRuntime {
        /// NIC name.
        nic: String,
    },
    /// A namespace could not be entered.
    #[error("underlay NIC {nic}: {step}: {source}")]
    Netns {
        /// NIC name.
        nic: String,
        /// The step.
        step: &'static str,
        /// The cause.
        #[source]
        source: NetnsError,
    },
    /// The kernel refused a request.
    #[error("underlay NIC {nic}: {step}: kernel error {errno}: {source}")]
    Kernel {
        /// NIC name.
        nic: String,
        /// The step, e.g. "move to /run/netns/perouter".
        step: String,
        /// Positive errno.
        errno: i32,
        /// The errno as an I/O error.
        #[source]
        source: io::Error,
    },
    /// A netlink request could not be made or answered (not a kernel errno).
    #[error("underlay NIC {nic}: {step}: netlink: {message}")]
    Netlink {
        /// NIC name.
        nic: String,
        /// The step.
        step: String,
        /// What went wrong.
        message: String,
    },
    /// The NIC was moved but some addresses could not be re-added in the target namespace.
    #[error("underlay NIC {nic}: moved to {namespace}, but addresses could not be re-added: {}", lost_list(.lost))]
    AddressesLost {
        /// NIC name.
        nic: String,
        /// Target namespace path.
        namespace: PathBuf,
        /// Each address not re-added, with the reason.
        lost: Vec<(IpNet, String)>,
    },
    /// [`move_out_all`]: some NICs could not be moved back (the others were).
    #[error("moving group {group} NICs back: {} failed (first: {})", failed.len(), first_of(.failed))]
    Incomplete {
        /// The link group.
        group: u32,
        /// Reports of the NICs that were moved.
        done: Vec<MoveReport>,
        /// The failures, one per NIC.
        failed: Vec<UnderlayError>,
    },
}

fn lost_list(lost: &[(IpNet, String)]) -> String {
    lost.iter()
        .map(|(a, why)| format!("{a} ({why})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn first_of(failed: &[UnderlayError]) -> String {
    failed.first().map(ToString::to_string).unwrap_or_default()
}

/// Moves `nic` from the `host` namespace into the `router` namespace with its addresses, puts
/// it in link group `group` and sets it up (see the module docs for every step).
///
/// Idempotent: a NIC already in the router namespace in `group` and up is left alone.
pub async fn move_in(
    nic: &str,
    host: &NetnsHandle,
    router: &NetnsHandle,
    group: u32,
) -> Result<MoveReport, UnderlayError> {
    check(nic, host, router)?;
    let pair = Pair::open(nic, host, router)?;
    transfer(nic, &pair.host, &pair.router, group, Direction::In).await
}

/// Moves `nic` from the `router` namespace back into the `host` namespace with its addresses,
/// in the default link group, up. Idempotent: a NIC already in the host namespace (and not in
/// the router's) is left alone.
pub async fn move_out(
    nic: &str,
    router: &NetnsHandle,
    host: &NetnsHandle,
) -> Result<MoveReport, UnderlayError> {
    check(nic, host, router)?;
    let pair = Pair::open(nic, host, router)?;
    transfer(
        nic,
        &pair.router,
        &pair.host,
        DEFAULT_LINK_GROUP,
        Direction::Out,
    )
    .await
}

/// Moves every link of link group `group` in the `router` namespace back to the `host`
/// namespace (as [`move_out`]), in ifindex order. Every NIC is attempted; if any fails,
/// [`UnderlayError::Incomplete`] carries the reports of the others and the failures.
pub async fn move_out_all(
    router: &NetnsHandle,
    host: &NetnsHandle,
    group: u32,
) -> Result<Vec<MoveReport>, UnderlayError> {
    let what = format!("group {group}");
    if host.same_as(router) {
        return Err(UnderlayError::SameNamespace {
            nic: what,
            path: host.path().to_path_buf(),
        });
    }
    let pair = Pair::open(&what, host, router)?;
    let links = request(
        &pair.router.handle,
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
        NLM_F_REQUEST | NLM_F_DUMP,
    )
    .await
    .map_err(|e| {
        e.into_error(&what, || {
            format!("list links in {}", router.path().display())
        })
    })?;
    let mut names: Vec<(u32, String)> = links
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) if link_group(&l) == group => {
                link_name(&l).map(|n| (l.header.index, n))
            }
            _ => None,
        })
        .collect();
    names.sort();
    info!(group, count = names.len(), router = %router.path().display(), "moving underlay NICs back to the host namespace");
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for (_, name) in names {
        match transfer(
            &name,
            &pair.router,
            &pair.host,
            DEFAULT_LINK_GROUP,
            Direction::Out,
        )
        .await
        {
            Ok(report) => done.push(report),
            Err(e) => {
                warn!(nic = %name, error = %e, "underlay NIC not moved back");
                failed.push(e);
            }
        }
    }
    if failed.is_empty() {
        Ok(done)
    } else {
        Err(UnderlayError::Incomplete {
            group,
            done,
            failed,
        })
    }
}

fn check(nic: &str, host: &NetnsHandle, router: &NetnsHandle) -> Result<(), UnderlayError> {
    if !valid_ifname(nic) {
        return Err(UnderlayError::InvalidName {
            nic: nic.to_owned(),
        });
    }
    if host.same_as(router) {
        return Err(UnderlayError::SameNamespace {
            nic: nic.to_owned(),
            path: host.path().to_path_buf(),
        });
    }
    Ok(())
}

/// The kernel's `dev_valid_name`.
fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name.contains(['/', ':', '\0'])
        && !name.chars().any(char::is_whitespace)
}

/// An rtnetlink socket opened in one namespace, driven on the caller's runtime.
struct Side<'a> {
    ns: &'a NetnsHandle,
    handle: Handle,
    task: JoinHandle<()>,
}

impl Drop for Side<'_> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<'a> Side<'a> {
    fn open(what: &str, ns: &'a NetnsHandle) -> Result<Self, UnderlayError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| UnderlayError::NoRuntime {
                nic: what.to_owned(),
            })?;
        let opened = ns
            .run(|| {
                // The socket is registered with the caller's reactor, and keeps this namespace.
                let _guard = runtime.enter();
                rtnetlink::new_connection()
            })
            .map_err(|source| UnderlayError::Netns {
                nic: what.to_owned(),
                step: "open netlink socket in namespace",
                source,
            })?;
        let (connection, handle, _messages) = opened.map_err(|source| UnderlayError::Kernel {
            nic: what.to_owned(),
            step: format!("open netlink socket in {}", ns.path().display()),
            errno: source.raw_os_error().unwrap_or(0),
            source,
        })?;
        let task = runtime.spawn(connection);
        Ok(Side { ns, handle, task })
    }

    fn path(&self) -> String {
        self.ns.path().display().to_string()
    }
}

/// Sockets in the host and router namespaces.
struct Pair<'a> {
    host: Side<'a>,
    router: Side<'a>,
}

impl<'a> Pair<'a> {
    fn open(
        what: &str,
        host: &'a NetnsHandle,
        router: &'a NetnsHandle,
    ) -> Result<Self, UnderlayError> {
        Ok(Pair {
            host: Side::open(what, host)?,
            router: Side::open(what, router)?,
        })
    }
}

/// Into the router namespace, or back to the host's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    In,
    Out,
}

/// Moves `nic` from `from` to `to` (both directions), setting `group` and up.
async fn transfer(
    nic: &str,
    from: &Side<'_>,
    to: &Side<'_>,
    group: u32,
    direction: Direction,
) -> Result<MoveReport, UnderlayError> {
    let at_target = find_link(to, nic).await?;
    let at_source = find_link(from, nic).await?;
    let link = match (at_source, at_target) {
        (None, None) => {
            let (host, router) = match direction {
                Direction::In => (from.ns, to.ns),
                Direction::Out => (to.ns, from.ns),
            };
            return Err(UnderlayError::NotFound {
                nic: nic.to_owned(),
                host: host.path().to_path_buf(),
                router: router.path().to_path_buf(),
            });
        }
        (Some(source), None) => source,
        (source, Some(target)) => {
            if source.is_some() {
                if link_group(&target) != group {
                    return Err(UnderlayError::NameConflict {
                        nic: nic.to_owned(),
                        namespace: to.ns.path().to_path_buf(),
                    });
                }
                warn!(
                    nic,
                    namespace = %from.path(),
                    "another link with the underlay NIC's name exists; leaving it alone"
                );
            }
            return settle(nic, to, &target, group, direction).await;
        }
    };

    // Record the addresses.
    let dump = request(
        &from.handle,
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        NLM_F_REQUEST | NLM_F_DUMP,
    )
    .await
    .map_err(|e| e.into_error(nic, || format!("record addresses in {}", from.path())))?;
    let addresses: Vec<AddressMessage> = dump
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a) if a.header.index == link.header.index => Some(a),
            _ => None,
        })
        .filter(|a| {
            let keep = carried(a);
            if !keep {
                debug!(nic, address = ?address_net(a), "address not carried over");
            }
            keep
        })
        .collect();
    let nets: Vec<IpNet> = addresses.iter().filter_map(address_net).collect();
    debug!(nic, addresses = ?nets, "recorded addresses");

    // Move, set the group and up in one request.
    let mut msg = LinkMessage::default();
    msg.header.index = link.header.index;
    msg.attributes
        .push(LinkAttribute::NetNsFd(to.ns.fd().as_raw_fd()));
    msg.attributes.push(LinkAttribute::Group(group));
    msg.header.flags |= LinkFlags::Up;
    msg.header.change_mask |= LinkFlags::Up;
    request(
        &from.handle,
        RouteNetlinkMessage::SetLink(msg),
        NLM_F_REQUEST | NLM_F_ACK,
    )
    .await
    .map_err(|e| {
        e.into_error(nic, || {
            format!("move from {} to {}", from.path(), to.path())
        })
    })?;
    let mut writes = 1;

    let moved = find_link(to, nic)
        .await?
        .ok_or_else(|| UnderlayError::Netlink {
            nic: nic.to_owned(),
            step: format!("find the moved NIC in {}", to.path()),
            message: "the link is not there after the move".into(),
        })?;
    let ifindex = moved.header.index;
    info!(
        nic,
        from = %from.path(),
        to = %to.path(),
        old_ifindex = link.header.index,
        ifindex,
        group,
        "moved underlay NIC"
    );

    // Re-add the addresses.
    let mut restored = Vec::new();
    let mut lost = Vec::new();
    for a in &addresses {
        let Some(net) = address_net(a) else { continue };
        let result = request(
            &to.handle,
            RouteNetlinkMessage::NewAddress(readd_message(a, ifindex)),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .await;
        match result {
            Ok(_) => {
                writes += 1;
                info!(nic, address = %net, namespace = %to.path(), "re-added address");
                restored.push(net);
            }
            Err(ReqError::Errno(libc::EEXIST)) => {
                writes += 1;
                debug!(nic, address = %net, "address already there");
                restored.push(net);
            }
            Err(e) => {
                warn!(nic, address = %net, error = %e, "address not re-added");
                lost.push((net, e.to_string()));
            }
        }
    }
    if !lost.is_empty() {
        return Err(UnderlayError::AddressesLost {
            nic: nic.to_owned(),
            namespace: to.ns.path().to_path_buf(),
            lost,
        });
    }
    Ok(MoveReport {
        nic: nic.to_owned(),
        outcome: MoveOutcome::Moved,
        ifindex,
        mac: link_mac(&moved),
        addresses: restored,
        writes,
    })
}

/// The NIC is already in the target namespace: make sure of its group and admin state.
async fn settle(
    nic: &str,
    to: &Side<'_>,
    link: &LinkMessage,
    group: u32,
    direction: Direction,
) -> Result<MoveReport, UnderlayError> {
    let up = link.header.flags.contains(LinkFlags::Up);
    let current = link_group(link);
    let mut report = MoveReport {
        nic: nic.to_owned(),
        outcome: MoveOutcome::AlreadyThere,
        ifindex: link.header.index,
        mac: link_mac(link),
        addresses: Vec::new(),
        writes: 0,
    };
    // Moving back to the host only asks for the NIC to be there: its group and state there
    // are the host's business.
    let fix = direction == Direction::In && (current != group || !up);
    if !fix {
        debug!(nic, namespace = %to.path(), "underlay NIC already in place");
        return Ok(report);
    }
    let mut msg = LinkMessage::default();
    msg.header.index = link.header.index;
    msg.attributes.push(LinkAttribute::Group(group));
    msg.header.flags |= LinkFlags::Up;
    msg.header.change_mask |= LinkFlags::Up;
    request(
        &to.handle,
        RouteNetlinkMessage::SetLink(msg),
        NLM_F_REQUEST | NLM_F_ACK,
    )
    .await
    .map_err(|e| e.into_error(nic, || format!("set group {group} and up in {}", to.path())))?;
    warn!(
        nic,
        namespace = %to.path(),
        old_group = current,
        was_up = up,
        group,
        "underlay NIC was already in the namespace: set its group and up; its addresses are not restored"
    );
    report.outcome = MoveOutcome::Repaired;
    report.writes = 1;
    Ok(report)
}

/// Whether an address is carried over: global or site scope, not an IPv6 temporary address.
fn carried(a: &AddressMessage) -> bool {
    let scope_ok = matches!(a.header.scope, AddressScope::Universe | AddressScope::Site);
    // IFA_F_TEMPORARY (IPv6 privacy address) has the value of IFA_F_SECONDARY.
    let temporary =
        a.header.family == AddressFamily::Inet6 && flags_of(a).contains(AddressFlags::Secondary);
    let family_ok = matches!(a.header.family, AddressFamily::Inet | AddressFamily::Inet6);
    scope_ok && family_ok && !temporary && address_net(a).is_some()
}

fn flags_of(a: &AddressMessage) -> AddressFlags {
    a.attributes
        .iter()
        .find_map(|x| match x {
            AddressAttribute::Flags(f) => Some(*f),
            _ => None,
        })
        .unwrap_or_else(|| AddressFlags::from_bits_retain(u32::from(a.header.flags.bits())))
}

/// The `RTM_NEWADDR` re-creating `a` on `index` (see the module docs for what is kept).
fn readd_message(a: &AddressMessage, index: u32) -> AddressMessage {
    let keep = AddressFlags::Nodad
        | AddressFlags::Homeaddress
        | AddressFlags::Managetempaddr
        | AddressFlags::Mcautojoin;
    let flags = flags_of(a) & keep;
    let mut msg = AddressMessage::default();
    msg.header.family = a.header.family;
    msg.header.prefix_len = a.header.prefix_len;
    msg.header.scope = a.header.scope;
    msg.header.index = index;
    msg.header.flags = AddressHeaderFlags::from_bits_truncate((flags.bits() & 0xff) as u8);
    for attr in &a.attributes {
        let copy = match attr {
            AddressAttribute::Local(_)
            | AddressAttribute::Address(_)
            | AddressAttribute::Broadcast(_)
            | AddressAttribute::Label(_)
            | AddressAttribute::RoutePriority(_)
            | AddressAttribute::Protocol(_) => Some(attr.clone()),
            // Remaining lifetimes, if finite (a dump reports what is left).
            AddressAttribute::CacheInfo(ci) if ci.ifa_valid != u32::MAX && ci.ifa_valid > 0 => {
                let mut ci = *ci;
                ci.ifa_preferred = ci.ifa_preferred.min(ci.ifa_valid);
                ci.cstamp = 0;
                ci.tstamp = 0;
                Some(AddressAttribute::CacheInfo(ci))
            }
            _ => None,
        };
        msg.attributes.extend(copy);
    }
    msg.attributes.push(AddressAttribute::Flags(flags));
    msg
}

async fn find_link(side: &Side<'_>, nic: &str) -> Result<Option<LinkMessage>, UnderlayError> {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(nic.to_owned()));
    match request(
        &side.handle,
        RouteNetlinkMessage::GetLink(msg),
        NLM_F_REQUEST,
    )
    .await
    {
        Ok(v) => Ok(v.into_iter().find_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(l),
            _ => None,
        })),
        Err(ReqError::Errno(libc::ENODEV)) => Ok(None),
        Err(e) => Err(e.into_error(nic, || format!("look up in {}", side.path()))),
    }
}

fn link_group(l: &LinkMessage) -> u32 {
    l.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::Group(g) => Some(*g),
            _ => None,
        })
        .unwrap_or(DEFAULT_LINK_GROUP)
}

fn link_mac(l: &LinkMessage) -> Option<MacAddr> {
    l.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(m) => MacAddr::from_slice(m),
        _ => None,
    })
}

/// A failed request, before it is given its NIC and step.
#[derive(Debug)]
enum ReqError {
    Errno(i32),
    Other(String),
}

impl fmt::Display for ReqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReqError::Errno(e) => write!(f, "{}", io::Error::from_raw_os_error(*e)),
            ReqError::Other(m) => f.write_str(m),
        }
    }
}

impl ReqError {
    fn into_error(self, nic: &str, step: impl FnOnce() -> String) -> UnderlayError {
        match self {
            ReqError::Errno(errno) => UnderlayError::Kernel {
                nic: nic.to_owned(),
                step: step(),
                errno,
                source: io::Error::from_raw_os_error(errno),
            },
            ReqError::Other(message) => UnderlayError::Netlink {
                nic: nic.to_owned(),
                step: step(),
                message,
            },
        }
    }
}

/// Sends one request and collects the answers (all parts of a dump); the first kernel error
/// is returned as its positive errno.
async fn request(
    handle: &Handle,
    msg: RouteNetlinkMessage,
    flags: u16,
) -> Result<Vec<RouteNetlinkMessage>, ReqError> {
    let mut req = NetlinkMessage::from(msg);
    req.header.flags = flags;
    let mut resp = handle
        .clone()
        .request(req)
        .map_err(|e| ReqError::Other(e.to_string()))?;
    let mut out = Vec::new();
    while let Some(m) = resp.next().await {
        match m.payload {
            NetlinkPayload::InnerMessage(inner) => out.push(inner),
            NetlinkPayload::Error(e) => {
                if let Some(code) = e.code {
                    return Err(ReqError::Errno(code.get().saturating_abs()));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::address::CacheInfo;

    fn v6(addr: &str, prefix: u8, flags: AddressFlags, scope: AddressScope) -> AddressMessage {
        let mut a = AddressMessage::default();
        a.header.family = AddressFamily::Inet6;
        a.header.prefix_len = prefix;
        a.header.scope = scope;
        a.header.index = 3;
        if let Ok(ip) = addr.parse::<std::net::IpAddr>() {
            a.attributes.push(AddressAttribute::Address(ip));
        }
        a.attributes.push(AddressAttribute::Flags(flags));
        a
    }

    fn cache_info(preferred: u32, valid: u32) -> CacheInfo {
        let mut c = CacheInfo::default();
        c.ifa_preferred = preferred;
        c.ifa_valid = valid;
        c.cstamp = 1;
        c.tstamp = 2;
        c
    }

    #[test]
    fn names() {
        assert!(valid_ifname("toswitch1"));
        assert!(valid_ifname("a23456789012345"));
        for bad in ["", ".", "..", "a2345678901234567", "a/b", "a b", "a:1"] {
            assert!(!valid_ifname(bad), "{bad:?}");
        }
    }

    #[test]
    fn which_addresses_are_carried() {
        let global = v6(
            "2001:db8::4",
            64,
            AddressFlags::Permanent | AddressFlags::Noprefixroute,
            AddressScope::Universe,
        );
        assert!(carried(&global));
        let site = v6("fec0::1", 64, AddressFlags::Permanent, AddressScope::Site);
        assert!(carried(&site));
        let link_local = v6("fe80::1", 64, AddressFlags::Permanent, AddressScope::Link);
        assert!(!carried(&link_local));
        let temporary = v6(
            "2001:db8::99",
            64,
            AddressFlags::Secondary,
            AddressScope::Universe,
        );
        assert!(!carried(&temporary));
    }

    #[test]
    fn readd_clears_noprefixroute_and_state_flags() {
        let mut a = v6(
            "2001:db8::4",
            64,
            AddressFlags::Permanent
                | AddressFlags::Noprefixroute
                | AddressFlags::Nodad
                | AddressFlags::Tentative,
            AddressScope::Universe,
        );
        a.attributes
            .push(AddressAttribute::CacheInfo(cache_info(u32::MAX, u32::MAX)));
        let m = readd_message(&a, 9);
        assert_eq!(m.header.index, 9);
        assert_eq!(m.header.prefix_len, 64);
        assert_eq!(flags_of(&m), AddressFlags::Nodad);
        assert_eq!(address_net(&m), "2001:db8::4/64".parse().ok());
        assert!(!m
            .attributes
            .iter()
            .any(|x| matches!(x, AddressAttribute::CacheInfo(_))));

        let mut finite = v6(
            "2001:db8::5",
            64,
            AddressFlags::empty(),
            AddressScope::Universe,
        );
        finite
            .attributes
            .push(AddressAttribute::CacheInfo(cache_info(500, 300)));
        let m = readd_message(&finite, 9);
        assert!(m.attributes.iter().any(|x| matches!(
            x,
            AddressAttribute::CacheInfo(c)
                if c.ifa_preferred == 300 && c.ifa_valid == 300 && c.cstamp == 0
        )));
    }
}
