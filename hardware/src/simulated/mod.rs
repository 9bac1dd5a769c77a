//! A simulated camera and fingerprint scanner.
//!
//! Both are deterministic: the same seed gives the same face and the same prints, so a test or
//! a demo sees a stable "applicant". Faults are scripted with [`SimulatedFault`]: each scripted
//! fault makes the next call fail as a real device would, after which the device works again.
//! Unplugging is a state that lasts until the device is plugged back in.

mod camera;
mod degrade;
mod face;
mod fingerprint;
mod host;
mod rng;
mod scanner;

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

pub use camera::SimulatedCamera;
pub use degrade::{degrade, Degradation};
pub use fingerprint::{
    render_empty_platen, render_empty_slap_platen, render_fingerprint, render_fingerprint_with,
    render_slap, render_slap_without, Conditions,
};
pub use host::SimulatedHost;
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
    /// A camera's stream repeats one frame for the next 30 frames (a hung driver).
    Freeze,
    /// A camera delivers black frames for the next 10 frames (covered lens, failed exposure).
    BlackFrames,
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
        if matches!(
            state.queued.front(),
            Some(SimulatedFault::Freeze | SimulatedFault::BlackFrames)
        ) {
            // Picture faults wait for a stream to show them.
            return Ok(());
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
            // Picture faults change frames rather than fail calls; a device that does not
            // stream takes them as no fault.
            Some(SimulatedFault::Freeze | SimulatedFault::BlackFrames) => Ok(()),
        }
    }

    fn is_unplugged(&self) -> bool {
        self.lock().unplugged
    }

    /// Takes the first queued picture fault, leaving call faults queued.
    fn take_picture_fault(&self) -> Option<SimulatedFault> {
        let mut state = self.lock();
        let at = state
            .queued
            .iter()
            .position(|f| matches!(f, SimulatedFault::Freeze | SimulatedFault::BlackFrames))?;
        state.queued.remove(at)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        // The state stays consistent whatever a panicking holder was doing.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
