//! Netlink programming of the router namespace: desired-state model, reconciler, watchers.
//!
//! Not implemented yet: this crate is reserved by the workspace layout (DESIGN.md) and is
//! built under issue 4. It holds no code so that nothing here can be mistaken for a feature.
