//! perouterd's router crate: the daemon and its CLI.
//!
//! * [`config`]: the YAML configuration, validated into typed values.
//! * [`daemon`]: the RIB actor, peers, listeners, reload, the API and metrics servers.
//! * [`api`]: the JSON shapes of the API, shared by the daemon and `perouterctl`.
//! * [`client`]: the small HTTP client `perouterctl` talks to the API socket with.
//! * [`decode`], [`text`]: `perouterctl decode` (captures and hex → JSON or text).

pub mod api;
pub mod client;
pub mod config;
pub mod daemon;
pub mod decode;
pub mod overlay;
pub mod show;
pub mod text;
pub mod unnumbered;
