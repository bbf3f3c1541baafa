//! Typed desired state of the router namespace: links, addresses, routes, neighbours and
//! VXLAN FDB entries.
//!
//! Everything is keyed and stored in ordered maps/sets, so iterating a [`DesiredState`] (and
//! therefore the order of the writes a reconciler makes) is deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// A 48-bit Ethernet MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// Parses the 6 bytes of a kernel `IFLA_ADDRESS`; `None` if it is not 6 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 6]>::try_from(bytes).ok().map(MacAddr)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// The kind of a link and its kind-specific, creation-time parameters.
///
/// A difference in kind (or in the parameters compared by [`LinkKind::matches`]) cannot be
/// fixed in place: the reconciler deletes and recreates the link (only if it owns it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LinkKind {
    /// A veth pair; this link is one leg, `peer` the other, created in `peer_netns`
    /// (a name under `/run/netns`, or an absolute path; `None` = the same namespace).
    Veth {
        /// Name of the other leg.
        peer: String,
        /// Namespace of the other leg.
        peer_netns: Option<String>,
    },
    /// A Linux bridge with default attributes.
    Bridge,
    /// A VXLAN device (`learning` is false for EVPN: the control plane fills the FDB).
    Vxlan {
        /// VXLAN network identifier.
        vni: u32,
        /// Local tunnel endpoint address.
        local: Option<IpAddr>,
        /// Underlay device name (`lo` in OpenPERouter).
        dev: Option<String>,
        /// UDP destination port (4789).
        dstport: u16,
        /// Data-plane MAC learning.
        learning: bool,
    },
    /// A VRF device bound to a routing table.
    Vrf {
        /// Routing table id.
        table: u32,
    },
    /// A kind this crate does not create (loopback, NIC, macvlan…), as observed; the string is
    /// the kernel's `IFLA_INFO_KIND` (empty for devices without one, like `lo`).
    Other(String),
    /// Desired only: a device that exists and is not ours (`lo`, an underlay NIC). Its state,
    /// MTU, master, MAC and IPv6 address generation are reconciled; it is never created,
    /// marked, recreated or deleted. A missing one is [`crate::DataplaneError::MissingLink`].
    External,
}

impl LinkKind {
    /// Short kind name as `ip -d link` prints it.
    pub fn name(&self) -> &'static str {
        match self {
            LinkKind::Veth { .. } => "veth",
            LinkKind::Bridge => "bridge",
            LinkKind::Vxlan { .. } => "vxlan",
            LinkKind::Vrf { .. } => "vrf",
            LinkKind::Other(_) => "other",
            LinkKind::External => "external",
        }
    }

    /// Whether an existing link of kind `observed` satisfies this desired kind.
    ///
    /// A veth's peer lives in another namespace and cannot be read back from this one, so only
    /// the kind itself is compared for veths; the peer's name and namespace are creation-time.
    pub fn matches(&self, observed: &LinkKind) -> bool {
        match (self, observed) {
            (LinkKind::Veth { .. }, LinkKind::Veth { .. }) | (LinkKind::External, _) => true,
            (a, b) => a == b,
        }
    }
}

/// How the kernel generates a link's IPv6 link-local address (`IFLA_INET6_ADDR_GEN_MODE`,
/// `ip link set … addrgenmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddrGenMode {
    /// From the MAC address (the kernel default).
    Eui64,
    /// No link-local address: OpenPERouter's `addr_gen_mode=1` on L3VNI bridges and VXLANs.
    None,
    /// RFC 7217 stable privacy.
    StablePrivacy,
    /// Random.
    Random,
}

/// Bridge-port options of a link enslaved to a bridge (`ip link set … type bridge_slave`);
/// `None` leaves the kernel's value alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BridgePort {
    /// `learning`: the bridge learns source MACs on this port.
    pub learning: Option<bool>,
    /// `neigh_suppress`: ARP/ND from this port are answered from the neighbour table and not
    /// flooded (EVPN ARP/ND suppression on the VXLAN port).
    pub neigh_suppress: Option<bool>,
}

impl BridgePort {
    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        self.learning.is_none() && self.neigh_suppress.is_none()
    }

    /// The options of `self` that `have` does not already satisfy.
    pub fn missing_from(&self, have: &BridgePort) -> BridgePort {
        BridgePort {
            learning: self.learning.filter(|v| have.learning != Some(*v)),
            neigh_suppress: self
                .neigh_suppress
                .filter(|v| have.neigh_suppress != Some(*v)),
        }
    }
}

/// A network device we want to exist.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Link {
    /// Interface name (at most 15 bytes).
    pub name: String,
    /// Kind and kind-specific parameters.
    pub kind: LinkKind,
    /// MTU; `None` leaves the kernel's choice alone.
    pub mtu: Option<u32>,
    /// Name of the master device (bridge or VRF); `None` means "no master".
    pub master: Option<String>,
    /// Administrative state.
    pub up: bool,
    /// MAC address; `None` leaves the kernel's choice alone.
    pub mac: Option<MacAddr>,
    /// IPv6 link-local generation; `None` leaves the kernel's choice alone. Set before the
    /// link first goes up, so `AddrGenMode::None` never lets a link-local address appear.
    pub addr_gen_mode: Option<AddrGenMode>,
    /// Bridge-port options (meaningful when the master is a bridge).
    pub port: BridgePort,
}

impl Link {
    /// A link of `kind`, down, with no master and kernel-chosen MTU and MAC.
    pub fn new(name: impl Into<String>, kind: LinkKind) -> Self {
        Link {
            name: name.into(),
            kind,
            mtu: None,
            master: None,
            up: false,
            mac: None,
            addr_gen_mode: None,
            port: BridgePort::default(),
        }
    }

    /// A device that exists and is not ours (`lo`, an underlay NIC): see [`LinkKind::External`].
    pub fn external(name: impl Into<String>) -> Self {
        Link::new(name, LinkKind::External)
    }

    /// Sets the IPv6 link-local address generation mode.
    pub fn with_addr_gen_mode(mut self, mode: AddrGenMode) -> Self {
        self.addr_gen_mode = Some(mode);
        self
    }

    /// Sets bridge-port options.
    pub fn with_port(mut self, port: BridgePort) -> Self {
        self.port = port;
        self
    }

    /// Sets the MTU.
    pub fn with_mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// Sets the master device.
    pub fn with_master(mut self, master: impl Into<String>) -> Self {
        self.master = Some(master.into());
        self
    }

    /// Sets the link administratively up.
    pub fn up(mut self) -> Self {
        self.up = true;
        self
    }

    /// Sets the MAC address.
    pub fn with_mac(mut self, mac: MacAddr) -> Self {
        self.mac = Some(mac);
        self
    }

    /// Names of other links this one needs to exist first (master, VXLAN underlay device).
    pub fn dependencies(&self) -> impl Iterator<Item = &str> {
        let dev = match &self.kind {
            LinkKind::Vxlan { dev, .. } => dev.as_deref(),
            _ => None,
        };
        self.master.as_deref().into_iter().chain(dev)
    }
}

/// An address on a link (the `IpNet` keeps the host bits: `192.0.2.1/24`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// Link name.
    pub link: String,
    /// Address and prefix length.
    pub addr: IpNet,
}

impl Address {
    /// An address on `link`.
    pub fn new(link: impl Into<String>, addr: IpNet) -> Self {
        Address {
            link: link.into(),
            addr,
        }
    }
}

/// One next hop of a route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NextHop {
    /// Gateway address.
    pub via: Option<IpAddr>,
    /// Output device name.
    pub dev: Option<String>,
    /// Gateway is on-link even if no connected route covers it (EVPN VTEP next hops).
    pub onlink: bool,
}

impl NextHop {
    /// A next hop through `dev` without gateway.
    pub fn dev(dev: impl Into<String>) -> Self {
        NextHop {
            via: None,
            dev: Some(dev.into()),
            onlink: false,
        }
    }

    /// A next hop through gateway `via`, optionally pinned to `dev`.
    pub fn via(via: IpAddr, dev: Option<String>) -> Self {
        NextHop {
            via: Some(via),
            dev,
            onlink: false,
        }
    }
}

/// Route type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteKind {
    /// Forward to the next hops.
    Unicast,
    /// Silently drop.
    Blackhole,
    /// Drop with ICMP unreachable.
    Unreachable,
}

/// The identity of a route: one route per destination, table and metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteKey {
    /// Routing table id (254 = main).
    pub table: u32,
    /// Destination prefix (host bits cleared).
    pub dst: IpNet,
    /// Metric (`RTA_PRIORITY`); `None` = the kernel's default for the family (0 for IPv4, 1024
    /// for IPv6).
    pub metric: Option<u32>,
}

/// A `seg6local` behaviour (`ip -6 route add SID encap seg6local action …`): what this node
/// does with packets whose IPv6 destination is the SID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg6LocalAction {
    /// `End`: next segment.
    End,
    /// `End.DT4 vrftable T`: decapsulate, IPv4 lookup in the VRF bound to table T.
    EndDt4 {
        /// Table of the VRF.
        vrf_table: u32,
    },
    /// `End.DT6 table T` (legacy mode: a plain table lookup, no VRF device needed).
    EndDt6 {
        /// Routing table.
        table: u32,
    },
    /// `End.DT6 vrftable T`: decapsulate, IPv6 lookup in the VRF bound to table T.
    EndDt6Vrf {
        /// Table of the VRF.
        vrf_table: u32,
    },
    /// `End.DT46 vrftable T` (kernel ≥ 5.14): decapsulate, IPv4 or IPv6 lookup in the VRF —
    /// what FRR installs for a per-VRF SRv6 L3VPN SID.
    EndDt46 {
        /// Table of the VRF.
        vrf_table: u32,
    },
}

/// A lightweight tunnel encapsulation on a route (`RTA_ENCAP`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encap {
    /// `encap seg6 mode encap segs S1,S2…` (H.Encaps): the packet goes into an outer IPv6
    /// header whose segment routing header lists `segments` in travel order; SRv6 L3VPN
    /// routes carry one segment, the remote PE's service SID.
    Seg6 {
        /// Segments in the order the packet visits them.
        segments: Vec<std::net::Ipv6Addr>,
    },
    /// `encap seg6local action …` on a local SID.
    Seg6Local(Seg6LocalAction),
}

/// A route installed with our protocol id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    /// Routing table id (254 = main).
    pub table: u32,
    /// Destination prefix; host bits are cleared by [`Route::new`].
    pub dst: IpNet,
    /// Next hops, kept sorted (the kernel does not preserve order meaningfully for ECMP).
    pub next_hops: Vec<NextHop>,
    /// Route type.
    pub kind: RouteKind,
    /// Metric; `None` = the family's default (see [`RouteKey::metric`]).
    pub metric: Option<u32>,
    /// Lightweight tunnel encapsulation (SRv6), applied to every next hop.
    pub encap: Option<Encap>,
}

impl Route {
    /// A unicast route with the given next hops (sorted; host bits of `dst` cleared).
    pub fn unicast(table: u32, dst: IpNet, mut next_hops: Vec<NextHop>) -> Self {
        next_hops.sort();
        next_hops.dedup();
        Route {
            table,
            dst: dst.trunc(),
            next_hops,
            kind: RouteKind::Unicast,
            metric: None,
            encap: None,
        }
    }

    /// A route of `kind` without next hops (blackhole, unreachable).
    pub fn new(table: u32, dst: IpNet, kind: RouteKind) -> Self {
        Route {
            table,
            dst: dst.trunc(),
            next_hops: Vec::new(),
            kind,
            metric: None,
            encap: None,
        }
    }

    /// Whether the kernel's route `have` (same key) is what this desired route asks for: equal,
    /// or equal once the devices the kernel chose are forgotten for the next hops this route
    /// leaves the device open on (`via` only: the kernel resolves and reports the device).
    pub fn satisfied_by(&self, have: &Route) -> bool {
        if self == have {
            return true;
        }
        if self.next_hops.len() != have.next_hops.len()
            || self.next_hops.iter().all(|n| n.dev.is_some())
        {
            return false;
        }
        let mut h = have.clone();
        for nh in &mut h.next_hops {
            let open = self
                .next_hops
                .iter()
                .any(|w| w.dev.is_none() && w.via == nh.via && w.onlink == nh.onlink);
            if open {
                nh.dev = None;
            }
        }
        h.next_hops.sort();
        h == *self
    }

    /// Sets the metric; the family's default metric is stored as `None`, as it reads back.
    pub fn with_metric(mut self, metric: u32) -> Self {
        let default = if self.dst.addr().is_ipv4() { 0 } else { 1024 };
        self.metric = (metric != default).then_some(metric);
        self
    }

    /// Sets the encapsulation.
    pub fn with_encap(mut self, encap: Encap) -> Self {
        self.encap = Some(encap);
        self
    }

    /// The route's identity.
    pub fn key(&self) -> RouteKey {
        RouteKey {
            table: self.table,
            dst: self.dst,
            metric: self.metric,
        }
    }

    /// Link names the next hops go through.
    pub fn devices(&self) -> impl Iterator<Item = &str> {
        self.next_hops.iter().filter_map(|nh| nh.dev.as_deref())
    }
}

impl MacAddr {
    /// The all-zero MAC: a VXLAN FDB entry with it is the flood (BUM) list, one per remote VTEP.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// Whether this is the all-zero MAC.
    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }
}

/// The identity of a neighbour entry: one MAC per IP per link.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NeighKey {
    /// Link name.
    pub link: String,
    /// IP address.
    pub ip: IpAddr,
}

/// A neighbour (ARP/ND) entry, of one of two kinds:
///
/// - static (the default, [`Neigh::new`]), programmed as zebra does for EVPN:
///   `nud noarp extern_learn` (`NTF_EXT_LEARNED`, which also marks it as ours together with
///   `NDA_PROTOCOL`);
/// - managed ([`Neigh::managed`]): `ip neigh replace <ip> dev <link> managed` with our
///   `NDA_PROTOCOL` and without `extern_learn` (`NTF_EXT_MANAGED` in `NDA_FLAGS_EXT`, kernel
///   ≥ 5.16). The kernel resolves the entry itself and keeps re-probing it, so it stays a
///   locally learned binding for the watchers ([`crate::watch::NeighEvent::is_local_binding`])
///   while being ours for the reconciler (`NTF_EXT_MANAGED` + `NDA_PROTOCOL`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Neigh {
    /// Link name (the bridge / SVI of the VNI).
    pub link: String,
    /// IP address.
    pub ip: IpAddr,
    /// MAC address. For a managed entry it is informational only: it is not written (the
    /// kernel resolves the address) and not compared with the kernel's; the zero MAC when the
    /// kernel has none (incomplete or failed).
    pub mac: MacAddr,
    /// A managed entry (`NTF_EXT_MANAGED`) instead of a static `noarp extern_learn` one.
    pub managed: bool,
}

impl Neigh {
    /// A static neighbour entry `ip lladdr mac dev link nud noarp extern_learn`.
    pub fn new(link: impl Into<String>, ip: IpAddr, mac: MacAddr) -> Self {
        Neigh {
            link: link.into(),
            ip,
            mac,
            managed: false,
        }
    }

    /// A managed neighbour entry `ip dev link managed` for a host currently bound to `mac`
    /// (see [`Neigh::mac`]): the kernel probes it periodically (every
    /// `neigh/<link>/interval_probe_time_ms` once it is stale), which keeps the host's
    /// neighbour and bridge FDB entries fresh while the host is silent.
    pub fn managed(link: impl Into<String>, ip: IpAddr, mac: MacAddr) -> Self {
        Neigh {
            managed: true,
            ..Neigh::new(link, ip, mac)
        }
    }

    /// Whether the entry `have` (as read from the kernel) already is what `self` asks for: the
    /// same entry, or for a managed one any managed entry (the kernel owns its MAC and state).
    pub fn satisfied_by(&self, have: &Neigh) -> bool {
        if self.managed {
            have.managed && have.link == self.link && have.ip == self.ip
        } else {
            have == self
        }
    }

    /// The entry's identity.
    pub fn key(&self) -> NeighKey {
        NeighKey {
            link: self.link.clone(),
            ip: self.ip,
        }
    }
}

/// Which forwarding database an FDB entry belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FdbTable {
    /// The device's own table (`bridge fdb ... self`, `NTF_SELF`): a VXLAN device's remote
    /// VTEPs.
    #[default]
    Device,
    /// The table of the bridge the device is a port of (`bridge fdb ... master`,
    /// `NTF_MASTER`): which port the bridge forwards a MAC to.
    Bridge,
}

/// The identity of an FDB entry: `(link, mac, table)` for a unicast MAC (one remote VTEP per
/// MAC, changed in place; one bridge port per MAC), `(link, 00:00:00:00:00:00, dst)` for each
/// member of the flood list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FdbKey {
    /// VXLAN device name (for a [`FdbTable::Bridge`] entry: the bridge port).
    pub link: String,
    /// MAC address.
    pub mac: MacAddr,
    /// Remote VTEP, only for flood-list (zero MAC) entries.
    pub dst: Option<IpAddr>,
    /// The table holding the entry.
    pub table: FdbTable,
}

/// An FDB entry: a VXLAN device's own (`bridge fdb ... dev vxlanN dst VTEP self`), or the
/// bridge's entry for a MAC behind one of its ports (`bridge fdb ... dev vxlanN master`).
///
/// Unicast MACs (EVPN type-2 MACs, type-5 router MACs) are written `extern_learn`
/// (`NTF_EXT_LEARNED`: never aged, and our ownership mark), in both tables. Zero-MAC flood
/// entries (EVPN type-3) share one kernel entry whose flags cannot carry a per-remote mark, so
/// they are written `permanent` and counted as ours when they are on a VXLAN device we own.
///
/// A bridge entry ([`Fdb::bridge`]) takes over the bridge's dynamically learned entry for the
/// same MAC on another port at once (the kernel lets an `extern_learn` entry replace a learned
/// one), and is never aged; a frame from the MAC on another port moves it back (the kernel
/// then clears `extern_learn`: the entry is a learned one again, no longer ours). Bridge
/// entries are read back on the ports of bridges (VLAN 0 only: our bridges do not filter
/// VLANs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fdb {
    /// VXLAN device name (for a [`FdbTable::Bridge`] entry: the bridge port).
    pub link: String,
    /// MAC address ([`MacAddr::ZERO`] for a flood-list entry).
    pub mac: MacAddr,
    /// Remote VTEP (`None` in the bridge's table: not written there).
    pub dst: Option<IpAddr>,
    /// VNI to send with, when it is not the device's own (`None` = the device's VNI; always
    /// `None` in the bridge's table: not written there).
    pub vni: Option<u32>,
    /// The table holding the entry.
    pub table: FdbTable,
}

impl Fdb {
    /// A unicast entry of a VXLAN device: `mac` is behind remote VTEP `dst`.
    pub fn unicast(link: impl Into<String>, mac: MacAddr, dst: IpAddr) -> Self {
        Fdb {
            link: link.into(),
            mac,
            dst: Some(dst),
            vni: None,
            table: FdbTable::Device,
        }
    }

    /// A flood-list entry of a VXLAN device: BUM traffic is also sent to remote VTEP `dst`.
    pub fn flood(link: impl Into<String>, dst: IpAddr) -> Self {
        Fdb {
            link: link.into(),
            mac: MacAddr::ZERO,
            dst: Some(dst),
            vni: None,
            table: FdbTable::Device,
        }
    }

    /// An entry of the bridge's FDB: the bridge forwards frames for `mac` to its port `port`
    /// (`bridge fdb add MAC dev PORT master extern_learn`).
    pub fn bridge(port: impl Into<String>, mac: MacAddr) -> Self {
        Fdb {
            link: port.into(),
            mac,
            dst: None,
            vni: None,
            table: FdbTable::Bridge,
        }
    }

    /// Whether this is a flood-list (zero MAC) entry of a VXLAN device.
    pub fn is_flood(&self) -> bool {
        self.table == FdbTable::Device && self.mac.is_zero()
    }

    /// Whether this is an entry of the bridge's FDB ([`Fdb::bridge`]).
    pub fn is_bridge(&self) -> bool {
        self.table == FdbTable::Bridge
    }

    /// The entry's identity.
    pub fn key(&self) -> FdbKey {
        FdbKey {
            link: self.link.clone(),
            mac: self.mac,
            dst: if self.is_flood() { self.dst } else { None },
            table: self.table,
        }
    }
}

/// The whole desired state of one network namespace, as far as we own it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredState {
    /// Links by name.
    pub links: BTreeMap<String, Link>,
    /// Addresses on links (links should be in `links`, or exist and not be ours).
    pub addresses: BTreeSet<Address>,
    /// Routes by identity.
    pub routes: BTreeMap<RouteKey, Route>,
    /// Neighbour entries by identity.
    pub neighbours: BTreeMap<NeighKey, Neigh>,
    /// FDB entries (VXLAN devices' and bridges') by identity.
    pub fdb: BTreeMap<FdbKey, Fdb>,
    /// Sysctls of the namespace: key relative to `/proc/sys` (`net/ipv4/conf/all/forwarding`)
    /// → value.
    pub sysctls: BTreeMap<String, String>,
}

impl DesiredState {
    /// An empty desired state: applying it deletes everything we own.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a link.
    pub fn add_link(&mut self, link: Link) -> &mut Self {
        self.links.insert(link.name.clone(), link);
        self
    }

    /// Adds an address.
    pub fn add_address(&mut self, address: Address) -> &mut Self {
        self.addresses.insert(address);
        self
    }

    /// Adds (or replaces) a route.
    pub fn add_route(&mut self, route: Route) -> &mut Self {
        self.routes.insert(route.key(), route);
        self
    }

    /// Adds (or replaces) a neighbour entry.
    pub fn add_neigh(&mut self, neigh: Neigh) -> &mut Self {
        self.neighbours.insert(neigh.key(), neigh);
        self
    }

    /// Adds (or replaces) an FDB entry.
    pub fn add_fdb(&mut self, fdb: Fdb) -> &mut Self {
        self.fdb.insert(fdb.key(), fdb);
        self
    }

    /// Sets a sysctl: `key` relative to `/proc/sys`, either `/`-separated
    /// (`net/ipv4/conf/eth0.100/rp_filter`, kept as is) or in `sysctl`'s dotted form without
    /// any `/` (`net.ipv4.conf.all.forwarding`, dots become `/`). A value with several fields
    /// is written with single spaces (the kernel reads them back tab-separated).
    pub fn set_sysctl(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        let key = if key.contains('/') {
            key.to_owned()
        } else {
            key.replace('.', "/")
        };
        self.sysctls.insert(key, value.into());
        self
    }
}

/// A link as it exists in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedLink {
    /// Its attributes, in the desired-state vocabulary (veth peer fields are empty: unreadable).
    pub link: Link,
    /// Kernel interface index (stable as long as the link is not recreated).
    pub index: u32,
    /// Whether it carries our ownership mark.
    pub owned: bool,
}

/// What a [`crate::Dataplane`] sees in the kernel.
///
/// [`crate::Dataplane::current`] returns only owned objects; internally the reconciler also
/// sees unowned links (so it can adopt a link with a desired name, or refuse to clobber one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedState {
    /// Links by name.
    pub links: BTreeMap<String, ObservedLink>,
    /// Addresses on the links in `links`, each with whether it carries our protocol mark.
    pub addresses: BTreeMap<Address, bool>,
    /// Routes with our protocol id.
    pub routes: BTreeMap<RouteKey, Route>,
    /// Neighbour entries on the links in `links`, each with whether it carries our mark.
    pub neighbours: BTreeMap<NeighKey, (Neigh, bool)>,
    /// `self` FDB entries of the VXLAN devices in `links` and `master` entries on the ports of
    /// the bridges in `links`, each with whether it is ours.
    pub fdb: BTreeMap<FdbKey, (Fdb, bool)>,
    /// Current values of the sysctls a desired state names (empty in
    /// [`crate::Dataplane::current`]: a sysctl has no owner).
    pub sysctls: BTreeMap<String, String>,
}

impl ObservedState {
    /// Restricts the view to owned objects (links we own, addresses and routes we marked).
    pub fn owned_only(mut self) -> Self {
        self.links.retain(|_, l| l.owned);
        self.addresses.retain(|_, owned| *owned);
        self.neighbours.retain(|_, (_, owned)| *owned);
        self.fdb.retain(|_, (_, owned)| *owned);
        self.sysctls.clear();
        self
    }
}
