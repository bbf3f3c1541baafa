//! EVPN and L3VPN semantics (VRF and MAC-VRF tables, RD/RT import and export, type 2/3/5 and
//! VPNv4/v6 translation between host sessions and the fabric). Sans I/O: the daemon feeds it
//! routes and kernel events and applies what it returns (BGP routes to originate or withdraw,
//! `dataplane` desired-state fragments).
//!
//! Issue 5, in progress: [`rt`] (route distinguishers and targets), [`config`] (the node's
//! VTEP, L3VNIs and L2VNIs), [`type5`] (IP prefix routes of L3VNIs), [`type3`] (inclusive
//! multicast with ingress replication), [`type2`] (MAC tables, MAC/IP routes, MAC mobility),
//! [`l3vpn`] (SRv6 VPN-IPv4/VPN-IPv6 routes, per-VRF End.DT46 SIDs). Not wired to the daemon's
//! RIB yet.

pub mod config;
pub mod l3vpn;
pub mod rt;
pub mod type2;
pub mod type3;
pub mod type5;
