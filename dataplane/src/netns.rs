//! Handles to network namespaces, and running code inside one.
//!
//! A [`NetnsHandle`] is an open file descriptor of a namespace file (`/run/netns/<name>`,
//! `/proc/<pid>/ns/net`, `/proc/thread-self/ns/net`…). Holding it keeps the namespace alive
//! even if its bind mount is removed.
//!
//! The network namespace is a property of a *thread*, and a netlink (or any) socket keeps the
//! namespace of the thread that opened it for its whole life, whichever thread uses it later.
//! So code that must act in another namespace only needs to *open its sockets* there:
//! [`NetnsHandle::run`] runs a closure on a fresh scoped thread that first joins the namespace
//! (`setns(fd, CLONE_NEWNET)`); the calling thread never changes namespace, so nothing else
//! (tokio workers included) is ever affected, and the thread dies with its namespace.
//! [`NetnsHandle::run_async`] does the same with a current-thread tokio runtime on that thread.
//!
//! Both block the calling thread until the closure returns; from async code, keep the closure
//! short (open a socket and return it) or call them through `spawn_blocking`.

use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::sched::{setns, CloneFlags};

/// Directory of named namespaces, as `ip netns` manages them.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// A failure to open or enter a network namespace.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// The namespace file could not be opened or examined.
    #[error("network namespace {path}: {what}: {source}")]
    Open {
        /// Path of the namespace file.
        path: PathBuf,
        /// What failed ("open", "stat").
        what: &'static str,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A relative name that is not a plain `ip netns` name.
    #[error("network namespace {name:?}: not a name under {NETNS_RUN_DIR} nor an absolute path")]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// `setns(CLONE_NEWNET)` failed (not a network namespace, or missing `CAP_SYS_ADMIN`).
    #[error("network namespace {path}: setns: {source}")]
    Enter {
        /// Path of the namespace file.
        path: PathBuf,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// The thread to run in the namespace could not be started.
    #[error("network namespace {path}: spawn thread: {source}")]
    Spawn {
        /// Path of the namespace file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The tokio runtime of [`NetnsHandle::run_async`] could not be built.
    #[error("network namespace {path}: build tokio runtime: {source}")]
    Runtime {
        /// Path of the namespace file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// An open network namespace.
pub struct NetnsHandle {
    fd: OwnedFd,
    path: PathBuf,
    /// `(st_dev, st_ino)` of the namespace file: the namespace's identity.
    id: (u64, u64),
}

impl fmt::Debug for NetnsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetnsHandle")
            .field("path", &self.path)
            .field("inode", &self.id.1)
            .finish()
    }
}

impl NetnsHandle {
    /// The network namespace of the calling thread (`/proc/thread-self/ns/net`).
    pub fn current() -> Result<Self, NetnsError> {
        Self::open_path(PathBuf::from("/proc/thread-self/ns/net"))
    }

    /// Opens a namespace by `ip netns` name (`/run/netns/<name>`) or by absolute path (used as
    /// is, e.g. `/proc/1/ns/net` or `/var/run/netns/perouter`).
    pub fn open(path_or_name: &str) -> Result<Self, NetnsError> {
        Self::open_path(Self::resolve(path_or_name)?)
    }

    /// The path [`NetnsHandle::open`] opens for `path_or_name`.
    pub fn resolve(path_or_name: &str) -> Result<PathBuf, NetnsError> {
        let path = Path::new(path_or_name);
        if path.is_absolute() {
            return Ok(path.to_path_buf());
        }
        let plain = !path_or_name.is_empty()
            && path_or_name != "."
            && path_or_name != ".."
            && !path_or_name.contains('/')
            && !path_or_name.contains('\0');
        if !plain {
            return Err(NetnsError::InvalidName {
                name: path_or_name.to_owned(),
            });
        }
        Ok(Path::new(NETNS_RUN_DIR).join(path_or_name))
    }

    fn open_path(path: PathBuf) -> Result<Self, NetnsError> {
        let file = File::open(&path).map_err(|source| NetnsError::Open {
            path: path.clone(),
            what: "open",
            source,
        })?;
        let meta = file.metadata().map_err(|source| NetnsError::Open {
            path: path.clone(),
            what: "stat",
            source,
        })?;
        Ok(NetnsHandle {
            fd: OwnedFd::from(file),
            path,
            id: (meta.dev(), meta.ino()),
        })
    }

    /// The namespace file's descriptor (e.g. for `IFLA_NET_NS_FD`).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The path this handle was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The inode of the namespace file (what `ip netns identify` and `lsns` compare; the
    /// number in `readlink /proc/self/ns/net`).
    pub fn inode(&self) -> u64 {
        self.id.1
    }

    /// Whether both handles refer to the same namespace (same `st_dev` and `st_ino`, as the
    /// kernel documents for comparing namespace files).
    pub fn same_as(&self, other: &NetnsHandle) -> bool {
        self.id == other.id
    }

    /// Another handle to the same namespace (the descriptor is duplicated).
    pub fn try_clone(&self) -> Result<Self, NetnsError> {
        let fd = self.fd.try_clone().map_err(|source| NetnsError::Open {
            path: self.path.clone(),
            what: "dup",
            source,
        })?;
        Ok(NetnsHandle {
            fd,
            path: self.path.clone(),
            id: self.id,
        })
    }

    /// Runs `f` on a new scoped thread that has joined this namespace, and returns its result.
    ///
    /// The calling thread is not affected. Sockets opened by `f` stay in this namespace after
    /// it returns. A panic in `f` is resumed in the caller.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, NetnsError> {
        std::thread::scope(|scope| {
            let thread = std::thread::Builder::new()
                .name("netns".into())
                .spawn_scoped(scope, || {
                    setns(&self.fd, CloneFlags::CLONE_NEWNET).map_err(|source| {
                        NetnsError::Enter {
                            path: self.path.clone(),
                            source,
                        }
                    })?;
                    Ok(f())
                })
                .map_err(|source| NetnsError::Spawn {
                    path: self.path.clone(),
                    source,
                })?;
            match thread.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Runs the future made by `f` to completion on a current-thread tokio runtime (I/O and
    /// timers enabled) on a new thread inside this namespace; see [`NetnsHandle::run`].
    ///
    /// Tasks the future spawns run on that runtime and are dropped with it when the future
    /// completes.
    pub fn run_async<F, Fut, T>(&self, f: F) -> Result<T, NetnsError>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = T>,
        T: Send,
    {
        self.run(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|source| NetnsError::Runtime {
                    path: self.path.clone(),
                    source,
                })?;
            Ok(runtime.block_on(f()))
        })?
    }
}

impl AsFd for NetnsHandle {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_and_paths() {
        assert_eq!(
            NetnsHandle::resolve("perouter").ok(),
            Some(PathBuf::from("/run/netns/perouter"))
        );
        assert_eq!(
            NetnsHandle::resolve("/proc/1/ns/net").ok(),
            Some(PathBuf::from("/proc/1/ns/net"))
        );
        for bad in ["", ".", "..", "a/b", "../x"] {
            assert!(
                matches!(
                    NetnsHandle::resolve(bad),
                    Err(NetnsError::InvalidName { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn current_is_same_as_itself_and_run_stays_there() {
        let Ok(a) = NetnsHandle::current() else {
            panic!("open /proc/thread-self/ns/net");
        };
        let Ok(b) = NetnsHandle::current() else {
            panic!("open /proc/thread-self/ns/net");
        };
        assert!(a.same_as(&b));
        let Ok(inner) = a.run(NetnsHandle::current) else {
            panic!("run in own namespace");
        };
        assert!(matches!(inner, Ok(ref h) if h.same_as(&a)));
        let Ok(v) = a.run_async(|| async { 7 }) else {
            panic!("run_async");
        };
        assert_eq!(v, 7);
    }

    #[test]
    fn missing_namespace_is_an_open_error() {
        assert!(matches!(
            NetnsHandle::open("perouterd-test-does-not-exist"),
            Err(NetnsError::Open { what: "open", .. })
        ));
    }
}
