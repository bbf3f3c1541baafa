//! Errors of the dataplane, with the object and operation they concern.

use std::io;

/// A dataplane failure.
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    /// The kernel refused a request.
    #[error("{op} {object}: kernel error {errno}: {source}")]
    Kernel {
        /// Operation, e.g. "create link".
        op: &'static str,
        /// The object, e.g. "link br-pe-100".
        object: String,
        /// Positive errno the kernel answered.
        errno: i32,
        /// The errno as an I/O error.
        #[source]
        source: io::Error,
    },
    /// The netlink request could not be made or answered (not a kernel errno).
    #[error("{op} {object}: netlink: {message}")]
    Netlink {
        /// Operation.
        op: &'static str,
        /// The object.
        object: String,
        /// What went wrong.
        message: String,
    },
    /// A link with a desired name exists, is not ours, and has another kind.
    #[error(
        "link {link}: exists as {found} and is not ours; refusing to replace it with a {wanted}"
    )]
    Conflict {
        /// Link name.
        link: String,
        /// Kind found in the kernel.
        found: &'static str,
        /// Kind desired.
        wanted: &'static str,
    },
    /// An object refers to a link that does not exist.
    #[error("{object}: link {link} does not exist")]
    MissingLink {
        /// The object.
        object: String,
        /// Missing link name.
        link: String,
    },
    /// Desired links depend on each other in a cycle (master/underlay device).
    #[error("desired links form a dependency cycle: {0}")]
    Cycle(String),
    /// Reading or writing a sysctl failed.
    #[error("sysctl {key}: {source}")]
    Sysctl {
        /// Key relative to `/proc/sys`.
        key: String,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// Entering the dataplane's network namespace failed.
    #[error(transparent)]
    Netns(#[from] crate::netns::NetnsError),
    /// Opening the netlink socket or a namespace failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: io::Error,
    },
}
