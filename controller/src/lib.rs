//! Kubernetes controller turning OpenPERouter CRDs into per-node perouterd configuration.
//!
//! Not implemented yet: this crate is reserved by the workspace layout (DESIGN.md). It holds
//! no code so that nothing here can be mistaken for a feature.
