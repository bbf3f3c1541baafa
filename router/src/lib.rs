//! perouterd's router crate. Today it holds the capture/hex decoder behind
//! `perouterctl decode`; the daemon (configuration, wiring, API) joins it under issue 3.

pub mod decode;
pub mod text;
