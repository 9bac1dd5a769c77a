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
    let decoded = tokio::task::spawn_blocking(move || {
        crate::intake::decode_images(&identity, &bytes, &station)
    })
    .await
    .map_err(|error| DataError::Io {
        context: "decoding a packet's images stopped".into(),
        source: std::io::Error::other(error.to_string()),
    })?;
    Ok(match decoded {
        Ok(()) => StageOutcome::Done,
        Err(reason) => StageOutcome::Held(reason),
    })
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
