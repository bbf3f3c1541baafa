//! EVPN and L3VPN semantics (VRF and MAC-VRF tables, RD/RT import and export, type 2/3/5 and
//! VPNv4/v6 translation between host sessions and the fabric).
//!
//! Not implemented yet: this crate is reserved by the workspace layout (DESIGN.md) and is
//! built under issue 5. It holds no code so that nothing here can be mistaken for a feature.
