//! The live face step: auto-capture over a run of good frames, and the watch of a camera's
//! stream with the checks on their own thread.

use formats::image::RgbFrame;

use super::{FaceAssessment, FaceChecker, ModelError, WatchEnd};

/// Auto-capture: takes the photo once every check has passed on `required` consecutive frames,
/// keeping the sharpest of them. A failing frame starts the count again.
#[derive(Debug)]
pub struct AutoCapture {
    required: usize,
    streak: usize,
    best: Option<(RgbFrame, FaceAssessment)>,
}

impl AutoCapture {
    /// Needs `required` good frames in a row (at least 1).
    pub fn new(required: usize) -> Self {
        AutoCapture {
            required: required.max(1),
            streak: 0,
            best: None,
        }
    }

    /// Good frames in a row so far.
    pub fn streak(&self) -> usize {
        self.streak
    }

    /// Good frames in a row needed.
    pub fn required(&self) -> usize {
        self.required
    }

    /// Feeds one frame and its assessment; returns the chosen frame and its assessment when the
    /// streak is long enough (and starts over).
    pub fn feed(
        &mut self,
        frame: &RgbFrame,
        assessment: &FaceAssessment,
    ) -> Option<(RgbFrame, FaceAssessment)> {
        if !assessment.compliant() {
            self.streak = 0;
            self.best = None;
            return None;
        }
        self.streak += 1;
        if self
            .best
            .as_ref()
            .is_none_or(|(_, best)| assessment.sharpness > best.sharpness)
        {
            self.best = Some((frame.clone(), assessment.clone()));
        }
        if self.streak >= self.required {
            self.streak = 0;
            return self.best.take();
        }
        None
    }
}

/// Watches `camera`'s live stream, telling `on_frame` each frame, the latest assessment and
/// the auto-capture streak, until `required` consecutive checked frames have passed (returns the
/// sharpest of them, a frame that was itself checked; the frame on which that happens is not
/// shown), `stop` is set, or `limit` passes.
///
/// The checks run on their own thread, on the newest frame each time they are free, so the
/// preview keeps the camera's pace whatever they cost: each preview frame carries the latest
/// assessment, at most a frame or two older than the picture (the first frame is checked
/// before it is shown, so no frame goes out unassessed).
///
/// # Errors
/// The camera's error when the stream cannot open or breaks; a fault when the face models are
/// damaged (before the camera is opened) or the checks fail.
pub fn watch(
    camera: &dyn hardware::Camera,
    required: usize,
    limit: std::time::Duration,
    stop: &std::sync::atomic::AtomicBool,
    mut on_frame: impl FnMut(&RgbFrame, &FaceAssessment, &AutoCapture),
) -> Result<Result<(RgbFrame, FaceAssessment), WatchEnd>, hardware::DeviceError> {
    use std::sync::mpsc::{TryRecvError, TrySendError};
    let fault = |reason: String| hardware::DeviceError::Fault {
        device: "face checks".into(),
        reason,
    };
    // The checker itself cannot move to another thread (its detector is not `Send`): this one
    // is made to find a damaged model before the camera is switched on, the thread makes its own.
    FaceChecker::new().map_err(|error| fault(error.to_string()))?;
    let mut stream = camera.open_stream()?;
    let mut auto = AutoCapture::new(required);
    let deadline = std::time::Instant::now() + limit;
    std::thread::scope(|scope| {
        // One frame waits for the checker at most; the results come back with their frame.
        let (to_checker, inbox) = std::sync::mpsc::sync_channel::<RgbFrame>(1);
        let (to_watch, results) = std::sync::mpsc::channel();
        let checker = scope.spawn(move || {
            let mut checker = match FaceChecker::new() {
                Ok(checker) => checker,
                Err(error) => {
                    let _ = to_watch.send(Err(error));
                    return;
                }
            };
            for frame in inbox {
                let assessment = checker.assess(&frame);
                if to_watch.send(Ok((frame, assessment))).is_err() {
                    break;
                }
            }
        });
        let stopped = || fault("the face checks stopped working".into());
        let checked = |result: Result<_, ModelError>| result.map_err(|e| fault(e.to_string()));
        let mut watching = || {
            let first = stream.next_frame()?;
            to_checker.send(first.clone()).map_err(|_| stopped())?;
            let (_, mut latest) = checked(results.recv().map_err(|_| stopped())?)?;
            if let Some(taken) = auto.feed(&first, &latest) {
                return Ok(Ok(taken));
            }
            on_frame(&first, &latest, &auto);
            let mut checking = false;
            loop {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return Ok(Err(WatchEnd::Stopped));
                }
                if std::time::Instant::now() >= deadline {
                    return Ok(Err(WatchEnd::TimedOut));
                }
                let frame = stream.next_frame()?;
                loop {
                    match results.try_recv() {
                        Ok(result) => {
                            let (frame, assessment) = checked(result)?;
                            checking = false;
                            let taken = auto.feed(&frame, &assessment);
                            latest = assessment;
                            if let Some(taken) = taken {
                                return Ok(Ok(taken));
                            }
                        }
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => return Err(stopped()),
                    }
                }
                if !checking {
                    match to_checker.try_send(frame.clone()) {
                        Ok(()) => checking = true,
                        Err(TrySendError::Full(_)) => {}
                        Err(TrySendError::Disconnected(_)) => return Err(stopped()),
                    }
                }
                on_frame(&frame, &latest, &auto);
            }
        };
        let outcome = watching();
        // Closing the channel ends the checker's loop; a checker that panicked is a fault of
        // the checks, reported as such rather than taking the caller down with it.
        drop(to_checker);
        match checker.join() {
            Ok(()) => outcome,
            Err(_) => Err(fault("the face checks failed on a frame".into())),
        }
    })
}
