//! System tests: the station core against a real central server over loopback HTTP.

mod capture;
mod delivery;
mod devices;
mod faults;
mod sealing;
mod setup;
mod trust;
