//! SQL for the tables this context owns.

pub mod runs;
