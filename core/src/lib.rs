//! The enrollment station's core, shared by the desktop app, the `station` command-line tool
//! and the tests. It knows nothing of the UI toolkit.
//!
//! - [`actions`]: what people do at the station, one function per action (accounts, settings,
//!   setup, login, the enrollment at the desk, approvals, self-test, uploads, unlock), each
//!   checking its permission and writing its audit entry; front ends only adapt them. The
//!   modules below are the building blocks they use.
//! - [`station`]: a provisioned station opened from its data directory (config, key vault,
//!   database), and [`provision`] to register a new one with the central server.
//! - [`vault`]: the station's data key and signing key, sealed under the station passphrase
//!   with Argon2id; [`drafts`]: enrollments in progress, encrypted at rest.
//! - [`officers`]: officer accounts, roles and offline login with Argon2id password hashes and
//!   lockout; [`session`]: the logged-in officer, with idle logout.
//! - [`enrollment`]: an enrollment draft filled from the devices, validated, sealed into a
//!   packet and stored with its outbox row in one transaction.
//! - [`quality`]: fingerprint quality computed on the station.
//! - [`receipt`]: the applicant's receipt: enrollment id as a QR code, photo, finger quality; as a PDF.
//! - [`approval`]: enrollments with exceptions held until a supervisor approves them.
//! - [`store`]: the SQLite database, one module per table.
//! - [`link`]: HTTPS to the server with its certificate pinned; plain HTTP only for loopback or
//!   by explicit opt-in.
//! - [`sync`]: the background loop that uploads pending packets and records the server's answers.
//! - [`retention`]: sealed packets deleted a configurable period after the server's verdict.
//! - [`selftest`]: the technician's self-test of storage, crypto and the audit log.
//! - [`audit`]: the hash-chained, checkpoint-signed audit log and its verification.
//! - [`clock`]: the injected source of time.
#![deny(missing_docs)]

pub mod actions;
pub mod approval;
pub mod audit;
pub mod clock;
pub mod devices;
pub mod drafts;
pub mod enrollment;
pub mod imaging;
pub mod keyring;
pub mod link;
pub mod officers;
pub mod provision;
pub mod quality;
pub mod receipt;
pub mod report;
pub mod retention;
pub mod selftest;
pub mod session;
pub mod station;
pub mod store;
pub mod sync;
pub mod vault;
