//! Scripted key ceremonies: roles, witnesses and signed transcripts
//! (docs/ceremonies.md).
//!
//! - [`script`]: the TOML scripts in `ceremonies/`, checked whole before a
//!   ceremony starts.
//! - [`check`]: what the tool verifies by itself, before and during.
//! - [`room`]: the people answering, on the terminal or from an answers
//!   file.
//! - [`run`]: the step-by-step walk, against a [`staging`] copy of the
//!   store that is swapped into place only when every step is confirmed.
//! - [`transcript`]: the root-signed record of what happened, linked into
//!   the ledger, and its verification.
//! - [`words`]: fingerprints as people read them aloud.

pub mod check;
pub mod room;
pub mod run;
pub mod script;
pub mod staging;
pub mod transcript;
pub mod words;
