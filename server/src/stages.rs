//! What happens to a packet after intake: a durable queue of stages.
//!
//! Intake ([`crate::intake`], in the finalize request) verifies a packet, opens it, checks its
//! structure and stores it with its verdict; an accepted packet is stored with a job for
//! [`FIRST`], in the same transaction (the `jobs` table, in SQLite or PostgreSQL). Workers —
//! [`WORKERS`] tasks in every `enrollment-server serve`, on every replica — claim the oldest
//! waiting job for a lease of [`LEASE`], take the packet through the stage and record the
//! outcome: on to the next stage, done, or held with a reason for a person to look at. A
//! replica killed in the middle of a job leaves it claimed until its lease runs out; then
//! another worker takes it. Among replicas each job is worked by one worker at a time
//! (PostgreSQL's `FOR UPDATE SKIP LOCKED`); a stage's work is safe to do twice.
//!
//! The stages, in order:
//! 1. [`IMAGES`]: every image decoded in full — the face photo, the exception photo and each
//!    finger's WSQ or PNG — where intake read only their headers. A packet whose image does
//!    not decode is held (its station had signed it: a faulty station build or a damaged disk).
//!
//! A later stage (duplicate search, notifications, the offices' KPI roll-ups) is a constant
//! here, a branch in [`work`], and the previous stage's outcome naming it.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::data::{DataError, StageOutcome, Storage};

/// Decoding every image of the packet in full.
pub const IMAGES: &str = "images";
/// The stage an accepted packet enters at intake.
pub const FIRST: &str = IMAGES;
/// Every stage this build works, in order.
pub const STAGES: &[&str] = &[IMAGES];
/// The stage of a packet through every stage (and of a rejected one, which enters none).
pub const DONE: &str = "done";
/// The stage of a packet a stage stopped, with the reason beside it.
pub const HELD: &str = "held";

/// The stage a packet enters at intake: [`FIRST`] when accepted; a rejected packet enters
/// none and is [`DONE`].
pub fn entry(accepted: bool) -> &'static str {
    if accepted {
        FIRST
    } else {
        DONE
    }
}

/// How long a worker holds a job before another may take it.
pub const LEASE: Duration = Duration::from_secs(120);
/// Worker tasks per server process.
pub const WORKERS: usize = 2;
/// A job whose work failed this many times for want of storage is held.
pub const MAX_ATTEMPTS: u32 = 10;

/// Claims one waiting job and works it. `Ok(None)` when no job waits.
///
/// # Errors
/// When the storage cannot be reached: the job stays claimed until its lease runs out, then
/// is taken again (after [`MAX_ATTEMPTS`] it is held).
pub async fn work_one(
    data: &dyn Storage,
    worker: &str,
    now: OffsetDateTime,
) -> Result<Option<(Uuid, StageOutcome)>, DataError> {
    let Some(job) = data.claim_job(STAGES, worker, now, LEASE).await? else {
        return Ok(None);
    };
    let outcome = match work(data, &job.stage, job.packet_id).await {
        Ok(outcome) => outcome,
        Err(error) if job.attempts >= MAX_ATTEMPTS => StageOutcome::Held(format!(
            "stage {} failed {} times; last: {error}",
            job.stage, job.attempts
        )),
        Err(error) => return Err(error),
    };
    if data.finish_job(&job, worker, &outcome, now).await? {
        tracing::info!(packet = %job.packet_id, stage = %job.stage, outcome = ?outcome, "stage worked");
        Ok(Some((job.packet_id, outcome)))
    } else {
        // Our lease ran out and another worker took the job: its outcome will be recorded.
        Ok(None)
    }
}

/// Takes `packet_id` through `stage`.
async fn work(data: &dyn Storage, stage: &str, packet_id: Uuid) -> Result<StageOutcome, DataError> {
    match stage {
        IMAGES => images(data, packet_id).await,
        other => Ok(StageOutcome::Held(format!(
            "stage {other} is not known to this server"
        ))),
    }
}

async fn images(data: &dyn Storage, packet_id: Uuid) -> Result<StageOutcome, DataError> {
    let record = data
        .packet(packet_id)
        .await?
        .ok_or_else(|| DataError::Corrupt(format!("a job for packet {packet_id}, not stored")))?;
    let station = data
        .station(record.station_id)
        .await?
        .ok_or_else(|| DataError::Corrupt(format!("packet {packet_id} of an unknown station")))?;
    let bytes = data.packet_bytes(&record).await?;
    let identity = data.identity().clone();
    let decoded =
        in_background(move || crate::intake::decode_images(&identity, &bytes, &station)).await?;
    Ok(match decoded {
        Ok(()) => StageOutcome::Done,
        Err(reason) => StageOutcome::Held(reason),
    })
}

/// How much nicer a stage's threads are than the server's: Linux gives a thread 10 nice
/// values above another about a tenth of its CPU time when both want it, so a stage takes what
/// intake (which stations wait for) leaves idle, and all of an idle machine.
pub const BACKGROUND_NICE: i32 = 10;

/// Runs `work` on a thread of its own, [`BACKGROUND_NICE`] nicer than the caller. Not on
/// tokio's blocking pool: a thread's nice value cannot be lowered again without privileges,
/// and intake's checks run on that pool.
async fn in_background<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DataError> {
    let stopped = |detail: String| DataError::Io {
        context: "a stage's work stopped".into(),
        source: std::io::Error::other(detail),
    };
    // A new thread starts at its creator's nice value on Linux; this one's is relative to the
    // server's (a server already started nicer gets stages nicer still, up to 19).
    let nice = rustix::process::getpriority_process(None)
        .map_or(BACKGROUND_NICE, |ours| (ours + BACKGROUND_NICE).min(19));
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("stage".into())
        .spawn(move || {
            lower_priority(nice);
            // The receiver is gone only when the worker task was dropped: nothing waits.
            let _ = sender.send(work());
        })
        .map_err(|error| stopped(format!("no thread for it: {error}")))?;
    receiver
        .await
        .map_err(|_| stopped("its thread panicked".into()))
}

/// Sets the calling thread's nice value; when the system refuses, the work runs at the
/// server's priority (slower intake under load, nothing wrong).
fn lower_priority(nice: i32) {
    let thread = rustix::thread::gettid();
    if let Err(error) = rustix::process::setpriority_process(Some(thread), nice) {
        tracing::debug!(%error, "a stage thread keeps the normal CPU priority");
    }
}

/// Works jobs until the task is dropped: a job as soon as one waits, else a look every
/// `idle`. Storage errors are logged and retried.
pub async fn run(
    data: Arc<dyn Storage>,
    worker: String,
    now: fn() -> OffsetDateTime,
    idle: Duration,
) {
    loop {
        match work_one(&*data, &worker, now()).await {
            Ok(Some(_)) => {}
            Ok(None) => tokio::time::sleep(idle).await,
            Err(error) => {
                tracing::warn!(%worker, %error, "a stage could not be worked; trying again");
                tokio::time::sleep(idle * 10).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stage_works_at_a_lower_cpu_priority_than_intake() {
        let ours = rustix::process::getpriority_process(None).expect("our nice value");
        let stage = in_background(|| rustix::process::getpriority_process(None))
            .await
            .expect("the stage thread ran")
            .expect("its nice value");
        assert_eq!(stage, (ours + BACKGROUND_NICE).min(19));
        assert_eq!(
            rustix::process::getpriority_process(None).expect("our nice value"),
            ours,
            "the caller's priority is left as it was"
        );
    }
}
