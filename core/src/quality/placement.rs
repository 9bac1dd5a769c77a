//! The live check of a slap reader's preview, frame by frame, while the applicant places a set
//! of fingers: every finger asked for on the glass, the right hand, nothing extra, lying still.
//! When the check has passed on enough frames in a row the station captures the set itself
//! ([`watch`]); the captured fingers are then scored by [`super::finger`].
//!
//! The preview is cut with [`super::slap::segment`]. Its resolution is not part of a stream's
//! format, so it is taken from the width of a 4-4-2 platen, 3.2 inches (800 pixels: 250 ppi).

use protocol::form::Label;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use formats::image::{FingerprintImage, RgbFrame};
use formats::FingerPosition;
use hardware::{DeviceError, FingerSet, FingerprintScanner};

use super::slap::{self, SlapError};
use super::WatchEnd;

/// Width of a 4-4-2 slap platen, in hundredths of an inch.
const PLATEN_WIDTH_CENTI_INCHES: u32 = 320;
/// How far a finger may move between two frames and still lie still: 0.3 mm.
const STILL_MM: f64 = 0.3;

/// Where one finger of the set is.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnGlass {
    /// On the glass.
    Placed,
    /// Asked for but not on the glass.
    Absent,
    /// Declared missing or unusable: not asked for.
    Excused,
}

/// One finger of the set on a preview frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerOnGlass {
    /// Which finger.
    pub position: FingerPosition,
    /// Where it is.
    pub state: OnGlass,
    /// Its box on the preview (left, top, width, height) when placed.
    pub bounds: Option<(u32, u32, u32, u32)>,
}

/// Why a preview frame is not ready to capture, with what the officer tells the applicant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementProblem {
    /// Nothing on the glass.
    Empty,
    /// More fingers than the set has.
    TooManyFingers,
    /// The other hand.
    WrongHand {
        /// The hand asked for.
        expected: &'static str,
    },
    /// Fingers asked for that are not on the glass.
    Absent(Vec<FingerPosition>),
    /// The fingers are still moving.
    Moving,
}

impl PlacementProblem {
    /// What to tell the applicant, in English and Bahasa Indonesia.
    pub fn advice(&self) -> Label {
        match self {
            Self::Empty => Label::new(
                "place the fingers flat on the glass",
                "letakkan jari-jari rata di atas kaca",
            ),
            Self::TooManyFingers => Label::new(
                "only the fingers asked for on the glass",
                "hanya jari yang diminta di atas kaca",
            ),
            Self::WrongHand { expected } => Label::new(
                format!("wrong hand: place the {expected} hand"),
                format!(
                    "tangan salah: letakkan tangan {}",
                    if *expected == "left" { "kiri" } else { "kanan" }
                ),
            ),
            Self::Absent(fingers) => {
                let (en, id): (Vec<String>, Vec<String>) = fingers
                    .iter()
                    .map(|f| (finger_name(*f), f.names().1.to_lowercase()))
                    .unzip();
                Label::new(
                    format!("{} not on the glass", en.join(", ")),
                    format!("{} tidak di atas kaca", id.join(", ")),
                )
            }
            Self::Moving => Label::new("hold still", "tahan, jangan bergerak"),
        }
    }
}

/// A finger's name in words ("left index").
pub fn finger_name(finger: FingerPosition) -> String {
    finger.names().0.to_lowercase()
}

/// A set's name in words ("left slap").
pub fn set_name(set: FingerSet) -> &'static str {
    match set {
        FingerSet::LeftSlap => "left slap",
        FingerSet::RightSlap => "right slap",
        FingerSet::Thumbs => "thumbs",
    }
}

/// The live check of one preview frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The set asked for.
    pub set: FingerSet,
    /// Each finger of the set, left to right on the glass.
    pub fingers: Vec<FingerOnGlass>,
    /// Why the frame is not ready; `None` when it is.
    pub problem: Option<PlacementProblem>,
}

impl Placement {
    /// Every finger asked for lies still on the glass, and nothing else.
    pub fn ready(&self) -> bool {
        self.problem.is_none()
    }
}

/// A preview frame as a grey platen image at the resolution its width implies; `None` for a
/// frame whose pixels do not match its size.
pub fn platen_image(frame: &RgbFrame) -> Option<FingerprintImage> {
    let pixels: Vec<u8> = frame
        .pixels()
        .chunks_exact(3)
        .map(|rgb| ((u16::from(rgb[0]) + u16::from(rgb[1]) + u16::from(rgb[2])) / 3) as u8)
        .collect();
    let ppi = (frame.width() * 100 / PLATEN_WIDTH_CENTI_INCHES).clamp(100, 1000) as u16;
    FingerprintImage::new(frame.width(), frame.height(), ppi, pixels)
}

/// Checks the preview `platen` of `set`, the fingers in `excused` not asked for. `previous` is
/// the check of the frame before: the fingers lie still when none moved more than 0.3 mm since.
pub fn check(
    platen: &FingerprintImage,
    set: FingerSet,
    excused: &[FingerPosition],
    previous: Option<&Placement>,
) -> Placement {
    let mut fingers: Vec<FingerOnGlass> = set
        .fingers()
        .iter()
        .map(|&position| FingerOnGlass {
            position,
            state: if excused.contains(&position) {
                OnGlass::Excused
            } else {
                OnGlass::Absent
            },
            bounds: None,
        })
        .collect();
    let segmentation = match slap::segment(platen, set) {
        Ok(segmentation) => segmentation,
        Err(error) => {
            let problem = match error {
                SlapError::NoFingers => PlacementProblem::Empty,
                SlapError::TooManyFingers { .. } => PlacementProblem::TooManyFingers,
                SlapError::WrongHand { expected, .. } => PlacementProblem::WrongHand { expected },
            };
            return Placement {
                set,
                fingers,
                problem: Some(problem),
            };
        }
    };
    for found in &segmentation.fingers {
        if let Some(finger) = fingers.iter_mut().find(|f| f.position == found.position) {
            finger.bounds = Some(found.bounds);
            if finger.state == OnGlass::Absent {
                finger.state = OnGlass::Placed;
            }
        }
    }
    let absent: Vec<FingerPosition> = fingers
        .iter()
        .filter(|f| f.state == OnGlass::Absent)
        .map(|f| f.position)
        .collect();
    let still = f64::from(platen.resolution_ppi()) * STILL_MM / 25.4;
    let moved = |finger: &FingerOnGlass| {
        let before = previous
            .and_then(|p| p.fingers.iter().find(|f| f.position == finger.position))
            .and_then(|f| f.bounds);
        match (finger.bounds, before) {
            (Some(now), Some(then)) => {
                let d = |a: u32, b: u32| f64::from(a.abs_diff(b));
                d(now.0, then.0)
                    .max(d(now.1, then.1))
                    .max(d(now.2, then.2))
                    .max(d(now.3, then.3))
                    > still
            }
            (Some(_), None) => true,
            (None, _) => false,
        }
    };
    let problem = if !absent.is_empty() {
        Some(PlacementProblem::Absent(absent))
    } else if fingers.iter().any(moved) {
        Some(PlacementProblem::Moving)
    } else {
        None
    };
    Placement {
        set,
        fingers,
        problem,
    }
}

/// Watches `scanner`'s preview of `set` (the fingers in `excused` not asked for), telling
/// `on_frame` each frame, its check and how many ready frames in a row there have been, until
/// `required` ready frames in a row (the station then captures the set), `stop` is set, or
/// `limit` passes.
///
/// # Errors
/// The reader's error when the preview cannot open or breaks; [`DeviceError::Unsupported`] for
/// a reader without a preview (the officer then captures by hand).
pub fn watch(
    scanner: &dyn FingerprintScanner,
    set: FingerSet,
    excused: &[FingerPosition],
    required: usize,
    limit: Duration,
    stop: &AtomicBool,
    mut on_frame: impl FnMut(&RgbFrame, &Placement, usize),
) -> Result<Result<(), WatchEnd>, DeviceError> {
    let mut stream = scanner.preview(set)?;
    let deadline = Instant::now() + limit;
    let mut previous: Option<Placement> = None;
    let mut streak = 0;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(Err(WatchEnd::Stopped));
        }
        if Instant::now() >= deadline {
            return Ok(Err(WatchEnd::TimedOut));
        }
        let frame = stream.next_frame()?;
        let platen = platen_image(&frame).ok_or_else(|| DeviceError::Fault {
            device: scanner.info().name,
            reason: "a preview frame whose pixels do not match its size".into(),
        })?;
        let placement = check(&platen, set, excused, previous.as_ref());
        streak = if placement.ready() { streak + 1 } else { 0 };
        on_frame(&frame, &placement, streak);
        if streak >= required {
            return Ok(Ok(()));
        }
        previous = Some(placement);
    }
}

/// Why a set was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The station saw every finger asked for lie still on the glass.
    Placed,
    /// The officer asked for it (`capture_now` with `stop`).
    ByHand,
    /// The reader waits for the fingers itself ([`FingerprintScanner::captures_when_placed`]).
    Reader,
    /// The reader shows no preview; its capture waits for the fingers.
    NoPreview,
}

impl Trigger {
    /// How the capture came about, in words for the audit log.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Placed => "automatically: every finger lay still on the glass",
            Self::ByHand => "by hand",
            Self::Reader => "by the reader once the fingers were placed",
            Self::NoPreview => "by a reader without a preview",
        }
    }
}

/// Runs one set's live step: shows `on_frame` the preview with its checks, and calls `capture`
/// when the set should be captured — when the fingers lie still for `required` frames, at
/// once for a reader that waits for the fingers itself (the preview is then shown while the
/// capture runs), at once for a reader without a preview, or when the officer sets
/// `capture_now` and `stop`. `Ok(None)` when stopped without capturing or after `limit`.
///
/// # Errors
/// The reader's error when its preview fails (a capture's own errors are `capture`'s result).
#[allow(clippy::too_many_arguments)] // each is one independent knob of the live step
pub fn live_set<T: Send>(
    scanner: &dyn FingerprintScanner,
    set: FingerSet,
    excused: &[FingerPosition],
    required: usize,
    limit: Duration,
    stop: &AtomicBool,
    capture_now: &AtomicBool,
    on_frame: impl FnMut(&RgbFrame, &Placement, usize) + Send,
    capture: impl FnOnce(Trigger) -> T,
) -> Result<Option<T>, DeviceError> {
    if scanner.captures_when_placed() {
        return Ok(Some(std::thread::scope(|scope| {
            scope.spawn(|| {
                // The preview only informs here; its end or failure changes nothing.
                let _ = watch(scanner, set, excused, usize::MAX, limit, stop, on_frame);
            });
            let outcome = capture(Trigger::Reader);
            stop.store(true, Ordering::Relaxed);
            outcome
        })));
    }
    let trigger = match watch(scanner, set, excused, required, limit, stop, on_frame) {
        Ok(Ok(())) => Trigger::Placed,
        Ok(Err(WatchEnd::Stopped)) if capture_now.load(Ordering::Relaxed) => Trigger::ByHand,
        Ok(Err(_)) => return Ok(None),
        Err(DeviceError::Unsupported { .. }) => Trigger::NoPreview,
        Err(error) => return Err(error),
    };
    Ok(Some(capture(trigger)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hardware::simulated::SimulatedScanner;
    use hardware::simulated::{render_empty_platen, render_slap, render_slap_without};

    fn platen(frame: &RgbFrame) -> FingerprintImage {
        platen_image(frame).expect("a whole frame")
    }

    #[test]
    fn a_slap_platen_preview_is_read_at_250_ppi() {
        let frame = render_slap(1, FingerSet::LeftSlap, 0);
        assert_eq!(platen(&frame).resolution_ppi(), 250);
    }

    #[test]
    fn fingers_lying_still_in_place_are_ready_to_capture() {
        for set in FingerSet::ALL {
            let frame = platen(&render_slap(2, set, 0));
            let first = check(&frame, set, &[], None);
            assert_eq!(
                first.problem,
                Some(PlacementProblem::Moving),
                "one frame is not still"
            );
            let second = check(&frame, set, &[], Some(&first));
            assert!(second.ready(), "{set:?}: {:?}", second.problem);
            assert!(second.fingers.iter().all(|f| f.state == OnGlass::Placed));
        }
    }

    #[test]
    fn sliding_fingers_are_told_to_hold_still() {
        let set = FingerSet::RightSlap;
        let before = check(&platen(&render_slap(2, set, 30)), set, &[], None);
        let after = check(&platen(&render_slap(2, set, 20)), set, &[], Some(&before));
        assert_eq!(after.problem, Some(PlacementProblem::Moving));
        assert_eq!(
            after.problem.map(|p| p.advice().en).as_deref(),
            Some("hold still")
        );
    }

    #[test]
    fn an_empty_platen_asks_for_the_fingers() {
        let frame = platen(&render_empty_platen(800, 520, None, 4));
        let placement = check(&frame, FingerSet::Thumbs, &[], None);
        assert_eq!(placement.problem, Some(PlacementProblem::Empty));
    }

    #[test]
    fn a_finger_not_on_the_glass_is_named_unless_it_was_declared_missing() {
        let set = FingerSet::LeftSlap;
        let frame = platen(&render_slap_without(3, set, 0, &[FingerPosition::LeftRing]));
        let placement = check(&frame, set, &[], None);
        assert_eq!(
            placement.problem,
            Some(PlacementProblem::Absent(vec![FingerPosition::LeftRing]))
        );
        assert_eq!(
            placement.problem.map(|p| p.advice().en).as_deref(),
            Some("left ring not on the glass")
        );
        let first = check(&frame, set, &[FingerPosition::LeftRing], None);
        let excused = check(&frame, set, &[FingerPosition::LeftRing], Some(&first));
        assert!(excused.ready(), "{:?}", excused.problem);
        let ring = excused
            .fingers
            .iter()
            .find(|f| f.position == FingerPosition::LeftRing)
            .map(|f| f.state);
        assert_eq!(ring, Some(OnGlass::Excused));
    }

    #[test]
    fn the_other_hand_is_refused_with_advice() {
        let frame = platen(&render_slap(5, FingerSet::RightSlap, 0));
        let placement = check(&frame, FingerSet::LeftSlap, &[], None);
        assert_eq!(
            placement.problem,
            Some(PlacementProblem::WrongHand { expected: "left" })
        );
        assert_eq!(
            placement.problem.map(|p| p.advice().en).as_deref(),
            Some("wrong hand: place the left hand")
        );
    }

    #[test]
    fn the_watch_waits_for_the_fingers_to_settle_then_says_capture() {
        let scanner = SimulatedScanner::new(6);
        let stop = AtomicBool::new(false);
        let mut seen = Vec::new();
        let outcome = watch(
            &scanner,
            FingerSet::Thumbs,
            &[],
            3,
            Duration::from_secs(20),
            &stop,
            |_, placement, streak| seen.push((placement.problem.clone(), streak)),
        )
        .expect("preview");
        assert_eq!(outcome, Ok(()));
        assert_eq!(
            seen.first().map(|s| s.0.clone()),
            Some(Some(PlacementProblem::Empty))
        );
        assert!(seen.iter().any(|s| s.0 == Some(PlacementProblem::Moving)));
        assert_eq!(
            seen.last().map(|s| s.1),
            Some(3),
            "three ready frames in a row"
        );
    }

    #[test]
    fn the_live_step_captures_once_the_fingers_settle_or_at_once_when_asked() {
        let scanner = SimulatedScanner::new(6);
        let (stop, now) = (AtomicBool::new(false), AtomicBool::new(false));
        let mut frames = 0;
        let captured = live_set(
            &scanner,
            FingerSet::RightSlap,
            &[],
            3,
            Duration::from_secs(20),
            &stop,
            &now,
            |_, _, _| frames += 1,
            |trigger| trigger,
        )
        .expect("preview");
        assert_eq!(captured, Some(Trigger::Placed));
        assert!(frames >= 3, "the preview was shown first");

        let (stop, now) = (AtomicBool::new(true), AtomicBool::new(true));
        let by_hand = live_set(
            &scanner,
            FingerSet::Thumbs,
            &[],
            3,
            Duration::from_secs(5),
            &stop,
            &now,
            |_, _, _| {},
            |trigger| trigger,
        );
        assert_eq!(by_hand.expect("preview"), Some(Trigger::ByHand));
        let now = AtomicBool::new(false);
        let left = live_set(
            &scanner,
            FingerSet::Thumbs,
            &[],
            3,
            Duration::from_secs(5),
            &stop,
            &now,
            |_, _, _| {},
            |trigger| trigger,
        );
        assert_eq!(
            left.expect("preview"),
            None,
            "leaving the step captures nothing"
        );
    }

    #[test]
    fn the_watch_stops_when_told_and_fails_on_an_unplugged_reader() {
        let scanner = SimulatedScanner::new(6);
        let stop = AtomicBool::new(true);
        let outcome = watch(
            &scanner,
            FingerSet::Thumbs,
            &[],
            3,
            Duration::from_secs(5),
            &stop,
            |_, _, _| {},
        );
        assert_eq!(outcome.expect("preview"), Err(WatchEnd::Stopped));
        scanner.set_unplugged(true);
        let stop = AtomicBool::new(false);
        let outcome = watch(
            &scanner,
            FingerSet::Thumbs,
            &[],
            3,
            Duration::from_secs(5),
            &stop,
            |_, _, _| {},
        );
        assert!(
            matches!(outcome, Err(DeviceError::Disconnected { .. })),
            "{outcome:?}"
        );
    }
}
