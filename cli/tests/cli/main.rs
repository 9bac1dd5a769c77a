//! Tests of the `station` command-line tool, run as a real process against a real data
//! directory.

mod audit;
