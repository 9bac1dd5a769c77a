//! A simulated camera and fingerprint scanner.
//!
//! Both are deterministic: the same seed gives the same face and the same prints, so a test or
//! a demo sees a stable "applicant". Faults are scripted with [`SimulatedFault`]: each scripted
//! fault makes the next call fail as a real device would, after which the device works again.
//! Unplugging is a state that lasts until the device is plugged back in.

mod camera;
mod face;
mod fingerprint;
mod rng;
mod scanner;

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

pub use camera::SimulatedCamera;
pub use fingerprint::render_fingerprint;
pub use scanner::SimulatedScanner;

use crate::DeviceError;

/// A fault a simulated device can be told to produce on its next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimulatedFault {
    /// The next call finds the device busy.
    Busy,
    /// The next call times out.
    Timeout,
    /// The device reports an internal fault on the next call.
    Fault,
}

/// Scripted faults and plug state, shared by both simulated devices.
#[derive(Debug, Default)]
struct FaultScript {
    state: Mutex<FaultState>,
}

#[derive(Debug, Default)]
struct FaultState {
    queued: VecDeque<SimulatedFault>,
    unplugged: bool,
}

impl FaultScript {
    fn push(&self, fault: SimulatedFault) {
        self.lock().queued.push_back(fault);
    }

    fn set_unplugged(&self, unplugged: bool) {
        self.lock().unplugged = unplugged;
    }

    /// Returns the error the next call must fail with, if any.
    fn next_error(&self, device: &str) -> Result<(), DeviceError> {
        let mut state = self.lock();
        let device = device.to_owned();
        if state.unplugged {
            return Err(DeviceError::Disconnected { device });
        }
        match state.queued.pop_front() {
            None => Ok(()),
            Some(SimulatedFault::Busy) => Err(DeviceError::Busy { device }),
            Some(SimulatedFault::Timeout) => Err(DeviceError::Timeout {
                device,
                after: Duration::from_secs(10),
            }),
            Some(SimulatedFault::Fault) => Err(DeviceError::Fault {
                device,
                reason: "simulated sensor fault".into(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        // The state stays consistent whatever a panicking holder was doing.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
