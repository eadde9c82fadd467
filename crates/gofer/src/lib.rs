//! The gofer: the only process of a sandbox that opens host paths.
//!
//! The sentry asks for host files over a unix `SOCK_SEQPACKET` socket pair
//! with the compact binary protocol of [`proto`] (defined once, here, for
//! both sides): stat a path, open it (the host descriptor is donated with
//! `SCM_RIGHTS`, so data then moves by `pread`/`mmap` with no round trip),
//! read a symlink, and read a whole directory with every entry's
//! attributes in large batches. [`server`] answers on the gofer's side,
//! opening one path at a time beneath its root with `openat2`
//! (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`): the
//! sentry resolves symlinks itself, so a symlink swapped in during a walk
//! leads nowhere. [`client`] is the sentry's side.

pub mod client;
pub mod proto;
pub mod server;
mod sock;

pub use client::{Client, Listing, Listings, Record};
pub use proto::{Attr, DirEntry};
