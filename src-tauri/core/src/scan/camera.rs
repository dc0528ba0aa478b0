//! The camera scanner: a capture thread takes frames from a [`FrameSource`] (a real camera
//! through nokhwa, or image files), keeps only the newest one for each decoder (so a slow decode
//! skips frames instead of queueing them), and publishes a small JPEG preview for the window.
//! Two decode threads: the cheap pass on every frame it can take, the costlier ones in turn at
//! most every [`decode::SECOND_PASS_EVERY`], so a slow or stuck pass never stops the first. Codes go to
//! the scan stream, which counts a code held in view once.

use super::decode::{self, GrayFrame};
use super::{sleep_unless_stopped, Scan, ScanSource};
use crate::config::CameraSettings;
use crate::ledger::now_ms;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Where frames come from. Not required to be `Send`: it lives on the capture thread.
pub trait FrameSource {
    /// The next frame, at the source's own pace (blocks until it arrives).
    fn next_frame(&mut self) -> Result<GrayFrame, String>;
    fn describe(&self) -> String;
}

/// Image files replayed as camera frames, in name order, looping, at `fps`.
pub struct FileFrames {
    files: Vec<PathBuf>,
    next: usize,
    interval: Duration,
    due: Instant,
}

impl FileFrames {
    pub fn open(dir: &Path, fps: u32) -> Result<FileFrames, String> {
        let files = image_files(dir)?;
        if files.is_empty() {
            return Err(format!("no PNG or JPEG files in {}", dir.display()));
        }
        let interval = Duration::from_secs(1) / fps.max(1);
        Ok(FileFrames { files, next: 0, interval, due: Instant::now() })
    }
}

/// The PNG and JPEG files directly in `dir`, sorted by name.
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
            matches!(ext.as_str(), "png" | "jpg" | "jpeg")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Loads one picture as a camera frame would arrive: greyscale.
pub fn load_frame(path: &Path) -> Result<GrayFrame, String> {
    let img = image::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(GrayFrame::from_image(&img))
}

impl FrameSource for FileFrames {
    fn next_frame(&mut self) -> Result<GrayFrame, String> {
        let wait = self.due.saturating_duration_since(Instant::now());
        std::thread::sleep(wait);
        self.due = Instant::now().max(self.due) + self.interval;
        let path = &self.files[self.next % self.files.len()];
        self.next = (self.next + 1) % self.files.len();
        load_frame(path)
    }

    fn describe(&self) -> String {
        format!("{} image files", self.files.len())
    }
}

/// A real camera (Video4Linux on Linux) through nokhwa.
pub struct NokhwaCamera {
    camera: nokhwa::Camera,
}

impl NokhwaCamera {
    pub fn open(device: &str, width: u32, height: u32, fps: u32) -> Result<NokhwaCamera, String> {
        use nokhwa::pixel_format::LumaFormat;
        use nokhwa::utils::{CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution};
        let index = match device.trim() {
            "" => CameraIndex::Index(0),
            d => d.parse::<u32>().map(CameraIndex::Index).unwrap_or_else(|_| CameraIndex::String(d.to_owned())),
        };
        let wanted = CameraFormat::new(Resolution::new(width, height), FrameFormat::MJPEG, fps);
        let format = RequestedFormat::new::<LumaFormat>(RequestedFormatType::Closest(wanted));
        let mut camera = nokhwa::Camera::new(index, format).map_err(|e| e.to_string())?;
        camera.open_stream().map_err(|e| e.to_string())?;
        Ok(NokhwaCamera { camera })
    }
}

impl FrameSource for NokhwaCamera {
    fn next_frame(&mut self) -> Result<GrayFrame, String> {
        use nokhwa::pixel_format::LumaFormat;
        let buffer = self.camera.frame().map_err(|e| e.to_string())?;
        let luma = buffer.decode_image::<LumaFormat>().map_err(|e| e.to_string())?;
        let (w, h) = luma.dimensions();
        GrayFrame::new(w, h, luma.into_raw()).ok_or_else(|| "the camera sent a frame of the wrong size".into())
    }

    fn describe(&self) -> String {
        self.camera.info().human_name()
    }
}

impl Drop for NokhwaCamera {
    fn drop(&mut self) {
        let _ = self.camera.stop_stream();
    }
}

/// Opens the source the settings name: `files:<dir>` (relative to `base_dir`) or a camera.
pub fn open_source(settings: &CameraSettings, base_dir: &Path) -> Result<Box<dyn FrameSource>, String> {
    match settings.device.strip_prefix("files:") {
        Some(dir) => {
            let dir = Path::new(dir);
            let dir = if dir.is_absolute() { dir.to_path_buf() } else { base_dir.join(dir) };
            Ok(Box::new(FileFrames::open(&dir, settings.fps)?))
        }
        None => Ok(Box::new(NokhwaCamera::open(&settings.device, settings.width, settings.height, settings.fps)?)),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CameraInfo {
    /// What to put in `scanners.camera.device`.
    pub device: String,
    pub name: String,
}

/// The cameras this machine has, for the settings screen (none is not an error).
pub fn list_cameras() -> Vec<CameraInfo> {
    // The camera stack is C underneath: a panic there means "no cameras", never a dead window.
    let query = || nokhwa::query(nokhwa::utils::ApiBackend::Auto).unwrap_or_default();
    std::panic::catch_unwind(query)
        .unwrap_or_default()
        .into_iter()
        .map(|c| CameraInfo { device: c.index().to_string(), name: c.human_name() })
        .collect()
}

/// A downscaled JPEG of a recent frame, for the window's live preview.
#[derive(Clone)]
pub struct Preview {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The frame's own size (the framing box is drawn in these proportions).
    pub frame_width: u32,
    pub frame_height: u32,
}

const PREVIEW_WIDTH: u32 = 320;
const PREVIEW_EVERY: Duration = Duration::from_millis(125);
const REOPEN_AFTER: Duration = Duration::from_secs(2);

fn preview_of(frame: &GrayFrame) -> Option<Preview> {
    let img = image::GrayImage::from_raw(frame.width, frame.height, frame.pixels.clone())?;
    let width = PREVIEW_WIDTH.min(frame.width);
    let height = (u64::from(frame.height) * u64::from(width) / u64::from(frame.width)).max(1) as u32;
    let small = image::imageops::resize(&img, width, height, image::imageops::FilterType::Triangle);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 70).encode_image(&small).ok()?;
    Some(Preview { jpeg, width, height, frame_width: frame.width, frame_height: frame.height })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CameraState {
    Starting,
    Running {
        source: String,
    },
    /// The camera could not be opened or stopped sending; tried again every couple of seconds.
    Failed {
        reason: String,
    },
    Off,
}

type ThreadBody = Box<dyn FnOnce() + Send>;

/// The newest frame not yet taken by one decoder.
#[derive(Default)]
struct Slot {
    frame: Mutex<Option<GrayFrame>>,
    ready: Condvar,
}

/// A running camera scanner. Dropping it stops both threads.
pub struct CameraWorker {
    stop: Arc<AtomicBool>,
    slots: Arc<[Slot; 2]>,
    threads: Vec<JoinHandle<()>>,
    preview: watch::Receiver<Option<Arc<Preview>>>,
    state: watch::Receiver<CameraState>,
}

impl CameraWorker {
    /// Opens the source the settings name (on the capture thread) and sends every code read to `sink`.
    pub fn start(
        settings: CameraSettings,
        base_dir: PathBuf,
        sink: impl Fn(Scan) + Send + Sync + 'static,
    ) -> CameraWorker {
        let stop = Arc::new(AtomicBool::new(false));
        let slots = Arc::new([Slot::default(), Slot::default()]);
        let sink: Arc<dyn Fn(Scan) + Send + Sync> = Arc::new(sink);
        let (preview_tx, preview) = watch::channel(None);
        let (state_tx, state) = watch::channel(CameraState::Starting);
        let mut threads = Vec::new();
        let (s, sl) = (stop.clone(), slots.clone());
        let capture = move || capture_loop(&settings, &base_dir, &s, &sl, &preview_tx, &state_tx);
        let (s, sl, out) = (stop.clone(), slots.clone(), sink.clone());
        let every_frame = |f: &GrayFrame| decode::read(f, decode::CAMERA_EVERY_FRAME);
        let first = move || decode_loop(&s, &sl[0], Duration::ZERO, every_frame, &*out);
        let (s, sl, out) = (stop.clone(), slots.clone(), sink);
        let mut turn = 0;
        let in_turn = move |f: &GrayFrame| {
            let pass = decode::CAMERA_IN_TURN[turn % decode::CAMERA_IN_TURN.len()];
            turn += 1;
            decode::read(f, pass)
        };
        let second = move || decode_loop(&s, &sl[1], decode::SECOND_PASS_EVERY, in_turn, &*out);
        let bodies: [(&str, ThreadBody); 3] = [
            ("camera-capture", Box::new(capture)),
            ("camera-every-frame", Box::new(first)),
            ("camera-in-turn", Box::new(second)),
        ];
        for (name, body) in bodies {
            match std::thread::Builder::new().name(name.into()).spawn(body) {
                Ok(t) => threads.push(t),
                Err(e) => tracing::error!(error = %e, "cannot start the {name} thread"),
            }
        }
        CameraWorker { stop, slots, threads, preview, state }
    }

    pub fn preview(&self) -> watch::Receiver<Option<Arc<Preview>>> {
        self.preview.clone()
    }

    pub fn state(&self) -> watch::Receiver<CameraState> {
        self.state.clone()
    }
}

impl Drop for CameraWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for slot in self.slots.iter() {
            slot.ready.notify_all();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn capture_loop(
    settings: &CameraSettings,
    base_dir: &Path,
    stop: &AtomicBool,
    slots: &[Slot; 2],
    preview: &watch::Sender<Option<Arc<Preview>>>,
    state: &watch::Sender<CameraState>,
) {
    while !stop.load(Ordering::Relaxed) {
        let failure = match open_source(settings, base_dir) {
            Ok(mut source) => {
                state.send_replace(CameraState::Running { source: source.describe() });
                tracing::info!(source = %source.describe(), "camera scanner running");
                let mut last_preview: Option<Instant> = None;
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break None;
                    }
                    let frame = match source.next_frame() {
                        Ok(f) => f,
                        Err(e) => break Some(e),
                    };
                    if last_preview.is_none_or(|t| t.elapsed() >= PREVIEW_EVERY) {
                        last_preview = Some(Instant::now());
                        if let Some(p) = preview_of(&frame) {
                            preview.send_replace(Some(Arc::new(p)));
                        }
                    }
                    {
                        // The second pass takes a frame only when it is free for one.
                        let mut second = slots[1].frame.lock().unwrap_or_else(|p| p.into_inner());
                        if second.is_none() {
                            *second = Some(frame.clone());
                            slots[1].ready.notify_one();
                        }
                    }
                    // A frame the decoder has not taken yet is replaced: a slow decode skips frames.
                    *slots[0].frame.lock().unwrap_or_else(|p| p.into_inner()) = Some(frame);
                    slots[0].ready.notify_one();
                }
            }
            Err(e) => Some(e),
        };
        let Some(reason) = failure else { break };
        tracing::warn!(%reason, "camera scanner: no frames; trying again");
        state.send_replace(CameraState::Failed { reason });
        if sleep_unless_stopped(REOPEN_AFTER, stop) {
            break;
        }
    }
    state.send_replace(CameraState::Off);
}

fn decode_loop(
    stop: &AtomicBool,
    slot: &Slot,
    at_most_every: Duration,
    mut read: impl FnMut(&GrayFrame) -> Option<decode::Decoded>,
    sink: &(dyn Fn(Scan) + Send + Sync),
) {
    loop {
        let started = Instant::now();
        let frame = {
            let mut newest = slot.frame.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                if let Some(f) = newest.take() {
                    break f;
                }
                newest = slot
                    .ready
                    .wait_timeout(newest, Duration::from_millis(100))
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
        };
        if let Some(d) = read(&frame) {
            sink(Scan { code: d.text, source: ScanSource::Camera, at_ms: now_ms() });
        }
        // Clear what came in meanwhile so the next read is of a frame that is due, not stale.
        let rest = at_most_every.saturating_sub(started.elapsed());
        if !rest.is_zero() {
            std::thread::sleep(rest);
            slot.frame.lock().unwrap_or_else(|p| p.into_inner()).take();
        }
    }
}
