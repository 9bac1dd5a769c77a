//! Devices across every enabled backend, and their comings and goings.
//!
//! [`DeviceRegistry::refresh`] asks every [`Host`] for its devices and publishes what changed
//! since the last look (a device appeared, disappeared, or a backend could not be asked) to
//! every subscriber; [`DeviceRegistry::watch`] does that periodically on a thread of its own, so
//! a reader plugged in mid-shift shows up without a restart.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{Camera, DeviceError, DeviceInfo, FingerprintScanner, Host};

/// A change in the set of devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// A device is present that was not before.
    Appeared(DeviceInfo),
    /// A device that was present is gone.
    Disappeared(DeviceInfo),
    /// A present device's status changed (e.g. ready → not registered); it carries the new
    /// information.
    StatusChanged(DeviceInfo),
    /// A backend could not be asked; its devices are kept as last seen.
    HostFailed {
        /// The backend.
        host: &'static str,
        /// Why, for a technician.
        reason: String,
    },
}

/// Every device of every enabled backend.
pub struct DeviceRegistry {
    hosts: Vec<Arc<dyn Host>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    known: BTreeMap<(&'static str, String), DeviceInfo>,
    subscribers: Vec<Sender<DeviceEvent>>,
    failing: Vec<&'static str>,
}

impl DeviceRegistry {
    /// A registry over `hosts`; nothing is known until the first [`refresh`](Self::refresh).
    pub fn new(hosts: Vec<Arc<dyn Host>>) -> Self {
        Self {
            hosts,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Receives every event from now on.
    pub fn subscribe(&self) -> Receiver<DeviceEvent> {
        let (sender, receiver) = mpsc::channel();
        self.lock().subscribers.push(sender);
        receiver
    }

    /// The devices known now, cameras first.
    pub fn devices(&self) -> Vec<DeviceInfo> {
        let mut devices: Vec<DeviceInfo> = self.lock().known.values().cloned().collect();
        devices.sort_by_key(|device| {
            (
                device.kind != crate::DeviceKind::Camera,
                device.name.clone(),
            )
        });
        devices
    }

    /// Asks every backend, publishes the changes and returns them.
    pub fn refresh(&self) -> Vec<DeviceEvent> {
        let answers: Vec<_> = self
            .hosts
            .iter()
            .map(|host| (host.name(), host.devices()))
            .collect();
        let mut state = self.lock();
        let mut events = Vec::new();
        for (host, answer) in answers {
            match answer {
                Ok(devices) => {
                    state.failing.retain(|&failing| failing != host);
                    let gone: Vec<_> = state
                        .known
                        .iter()
                        .filter(|((backend, id), _)| {
                            *backend == host && !devices.iter().any(|device| &device.id == id)
                        })
                        .map(|(key, _)| key.clone())
                        .collect();
                    for key in gone {
                        if let Some(device) = state.known.remove(&key) {
                            events.push(DeviceEvent::Disappeared(device));
                        }
                    }
                    for device in devices {
                        let key = (device.backend, device.id.clone());
                        match state.known.entry(key) {
                            std::collections::btree_map::Entry::Vacant(slot) => {
                                slot.insert(device.clone());
                                events.push(DeviceEvent::Appeared(device));
                            }
                            std::collections::btree_map::Entry::Occupied(mut slot)
                                if slot.get().status != device.status =>
                            {
                                slot.insert(device.clone());
                                events.push(DeviceEvent::StatusChanged(device));
                            }
                            std::collections::btree_map::Entry::Occupied(_) => {}
                        }
                    }
                }
                Err(error) if !state.failing.contains(&host) => {
                    state.failing.push(host);
                    events.push(DeviceEvent::HostFailed {
                        host,
                        reason: error.to_string(),
                    });
                }
                Err(_) => {}
            }
        }
        state.subscribers.retain(|subscriber| {
            events
                .iter()
                .all(|event| subscriber.send(event.clone()).is_ok())
        });
        events
    }

    fn host(&self, backend: &str) -> Result<&Arc<dyn Host>, DeviceError> {
        self.hosts
            .iter()
            .find(|host| host.name() == backend)
            .ok_or_else(|| DeviceError::NotFound {
                what: format!("{backend} backend"),
            })
    }

    /// Opens a camera the registry listed.
    ///
    /// # Errors
    /// As [`Host::open_camera`].
    pub fn open_camera(&self, device: &DeviceInfo) -> Result<Box<dyn Camera>, DeviceError> {
        self.host(device.backend)?.open_camera(&device.id)
    }

    /// Opens a fingerprint reader the registry listed.
    ///
    /// # Errors
    /// As [`Host::open_reader`].
    pub fn open_reader(
        &self,
        device: &DeviceInfo,
    ) -> Result<Box<dyn FingerprintScanner>, DeviceError> {
        self.host(device.backend)?.open_reader(&device.id)
    }

    /// Whether any backend is enabled (a registry without one never lists a device).
    pub fn has_backends(&self) -> bool {
        !self.hosts.is_empty()
    }

    /// Refreshes every `every` on a thread of its own until the returned handle is dropped.
    pub fn watch(self: &Arc<Self>, every: Duration) -> Watch {
        let registry = Arc::clone(self);
        Watch::every(every, move || {
            registry.refresh();
        })
    }
}

/// Keeps a thread looking at the devices periodically ([`DeviceRegistry::watch`],
/// [`Watch::every`]); dropping it stops the thread.
pub struct Watch {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watch {
    /// Runs `look` now and then every `every` on a thread of its own until the returned handle
    /// is dropped.
    pub fn every(every: Duration, mut look: impl FnMut() + Send + 'static) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("device-watch".into())
            .spawn(move || loop {
                look();
                match stopped.recv_timeout(every) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => break,
                }
            })
            .ok();
        Self {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulated::SimulatedHost;
    use crate::DeviceKind;

    #[test]
    fn plugging_and_unplugging_a_reader_is_published_once_each() {
        let host = Arc::new(SimulatedHost::new(1));
        let registry = DeviceRegistry::new(vec![host.clone()]);
        let events = registry.subscribe();
        let first = registry.refresh();
        assert_eq!(first.len(), 2, "a camera and a reader appear: {first:?}");
        assert!(
            registry.refresh().is_empty(),
            "nothing changed, nothing published"
        );

        host.set_present(DeviceKind::FingerprintReader, false);
        let gone = registry.refresh();
        assert!(
            matches!(&gone[..], [DeviceEvent::Disappeared(d)] if d.kind == DeviceKind::FingerprintReader)
        );
        host.set_present(DeviceKind::FingerprintReader, true);
        let back = registry.refresh();
        assert!(
            matches!(&back[..], [DeviceEvent::Appeared(d)] if d.kind == DeviceKind::FingerprintReader)
        );
        assert_eq!(events.try_iter().count(), 4, "subscribers see every change");
        assert_eq!(registry.devices()[0].kind, DeviceKind::Camera);
    }

    #[test]
    fn the_watch_thread_notices_a_device_arriving() {
        let host = Arc::new(SimulatedHost::new(1));
        host.set_present(DeviceKind::Camera, false);
        let registry = Arc::new(DeviceRegistry::new(vec![host.clone()]));
        let events = registry.subscribe();
        let _watch = registry.watch(Duration::from_millis(20));
        assert!(matches!(
            events.recv_timeout(Duration::from_secs(5)),
            Ok(DeviceEvent::Appeared(_))
        ));
        host.set_present(DeviceKind::Camera, true);
        let arrived = events
            .recv_timeout(Duration::from_secs(5))
            .expect("an event");
        assert!(matches!(arrived, DeviceEvent::Appeared(d) if d.kind == DeviceKind::Camera));
    }
}
