//! Pure ALB routing decisions, with no I/O: which rule a request matches
//! ([`rules`]), where a redirect points ([`redirect`]), which target gets a request
//! ([`balance`]), how probe results move a target between health states
//! ([`health`]) and how stickiness cookies pin a client ([`sticky`]).
//!
//! The data plane calls these on every request; the control plane uses the same
//! parsers to validate what the API accepts, so both agree by construction.

pub mod balance;
pub mod health;
pub mod redirect;
pub mod rules;
pub mod sticky;
pub mod wildcard;
