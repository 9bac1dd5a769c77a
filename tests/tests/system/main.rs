//! System tests: the station core against a real central server over loopback HTTP.

mod delivery;
mod faults;
mod sealing;
