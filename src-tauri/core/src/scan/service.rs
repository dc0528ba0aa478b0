//! The scanners a counter has, running: the serial reader while it is enabled, the camera while
//! it is enabled *and* a payment waits for a code (a camera decoding all day would cost a core of
//! the till for nothing). Settings can be changed while running.

use super::camera::{CameraState, CameraWorker, Preview};
use super::serial::{SerialScanner, SerialState};
use super::ScanHub;
use crate::config::Scanners;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScannerStates {
    pub serial: SerialState,
    pub camera: CameraState,
}

struct Inner {
    hub: ScanHub,
    base_dir: PathBuf,
    settings: Mutex<Scanners>,
    serial: Mutex<Option<SerialScanner>>,
    camera: Mutex<Option<CameraWorker>>,
    states: watch::Sender<ScannerStates>,
    previews: watch::Sender<Option<Arc<Preview>>>,
}

/// Cheap to clone; every clone is the same set of scanners.
#[derive(Clone)]
pub struct ScannerService {
    inner: Arc<Inner>,
}

impl ScannerService {
    /// Starts what `settings` enables. Call inside the runtime (it spawns the state forwarders).
    /// `base_dir` resolves a relative `files:` camera device (the config file's directory).
    pub fn start(hub: ScanHub, settings: Scanners, base_dir: PathBuf) -> ScannerService {
        let states = watch::channel(ScannerStates { serial: SerialState::Off, camera: CameraState::Off }).0;
        let service = ScannerService {
            inner: Arc::new(Inner {
                hub,
                base_dir,
                settings: Mutex::new(settings.clone()),
                serial: Mutex::new(None),
                camera: Mutex::new(None),
                states,
                previews: watch::channel(None).0,
            }),
        };
        service.apply(settings);
        service.follow_armed();
        service
    }

    pub fn hub(&self) -> &ScanHub {
        &self.inner.hub
    }

    pub fn settings(&self) -> Scanners {
        self.inner.settings.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn states(&self) -> watch::Receiver<ScannerStates> {
        self.inner.states.subscribe()
    }

    pub fn previews(&self) -> watch::Receiver<Option<Arc<Preview>>> {
        self.inner.previews.subscribe()
    }

    /// Takes new settings: the serial reader restarts when its settings changed; the camera
    /// restarts with the new ones if it is running.
    pub fn apply(&self, new: Scanners) {
        let _in_runtime = self.inner.hub.runtime.enter();
        let old = std::mem::replace(&mut *self.inner.settings.lock().unwrap_or_else(|p| p.into_inner()), new.clone());
        self.inner.hub.set_dedupe_window(new.dedupe_window_ms);
        let mut serial = self.inner.serial.lock().unwrap_or_else(|p| p.into_inner());
        if serial.is_none() || old.serial != new.serial {
            // Stop the old reader first: it holds the port.
            drop(serial.take());
            self.inner.states.send_modify(|s| s.serial = SerialState::Off);
            if new.serial.enabled {
                let hub = self.inner.hub.clone();
                let reader = SerialScanner::start(new.serial.clone(), move |scan| {
                    hub.submit(scan);
                });
                self.forward(reader.state(), |s, v| s.serial = v);
                *serial = Some(reader);
            }
        }
        drop(serial);
        if old.camera != new.camera {
            self.set_camera(false);
            self.set_camera(*self.inner.hub.watch_armed().borrow());
        }
    }

    fn forward<T: Clone + Send + Sync + 'static>(&self, mut from: watch::Receiver<T>, put: fn(&mut ScannerStates, T)) {
        let states = self.inner.states.clone();
        tokio::spawn(async move {
            loop {
                let v = from.borrow_and_update().clone();
                states.send_if_modified(|s| {
                    let before = s.clone();
                    put(s, v);
                    *s != before
                });
                // Ends when the reader is dropped (its sender goes with it).
                if from.changed().await.is_err() {
                    break;
                }
            }
        });
    }

    fn follow_armed(&self) {
        let mut armed = self.inner.hub.watch_armed();
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            while armed.changed().await.is_ok() {
                let on = *armed.borrow_and_update();
                let Some(inner) = weak.upgrade() else { break };
                let service = ScannerService { inner };
                // Stopping joins the camera threads: keep that off the runtime's workers.
                let _ = tokio::task::spawn_blocking(move || service.set_camera(on)).await;
            }
        });
    }

    fn set_camera(&self, on: bool) {
        let settings = self.settings().camera;
        let mut camera = self.inner.camera.lock().unwrap_or_else(|p| p.into_inner());
        let want = on && settings.enabled;
        if want == camera.is_some() {
            return;
        }
        if !want {
            drop(camera.take());
            self.inner.previews.send_replace(None);
            self.inner.states.send_modify(|s| s.camera = CameraState::Off);
            return;
        }
        let hub = self.inner.hub.clone();
        let worker = CameraWorker::start(settings, self.inner.base_dir.clone(), move |scan| {
            hub.submit(scan);
        });
        let _in_runtime = self.inner.hub.runtime.enter();
        self.forward(worker.state(), |s, v| s.camera = v);
        let mut previews = worker.preview();
        let out = self.inner.previews.clone();
        tokio::spawn(async move {
            while previews.changed().await.is_ok() {
                let p = previews.borrow_and_update().clone();
                out.send_replace(p);
            }
        });
        *camera = Some(worker);
    }
}
