//! SQL for the tables this context owns.

pub mod dead_letters;
pub mod runs;
