//! The HTTP API (see [`protocol::api`] for the table of routes and bodies).
//!
//! Every failure answers JSON [`ApiError`] with a stable code. Routes for stations are signed
//! requests ([`protocol::request`]): [`authenticate`] checks the station, its key, the clock,
//! the nonce and the station's rate before any handler runs.

// Handlers return a finished `Response` as their error: built once per refused request, never
// propagated far, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::net::{IpAddr, SocketAddr};
use time::OffsetDateTime;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use protocol::api::{
    Announce, ApiError, Health, RegisterStationRequest, RegisterStationResponse, StatusAnswer,
    StatusQuery, HEALTH_PATH, MAX_CHUNK_BYTES, MAX_STATUS_QUERY, METRICS_PATH, OPENAPI_PATH,
    STATIONS_PATH, STATUSES_PATH, UPLOADS_PATH,
};
use protocol::approval::FinalizeRequest;
use protocol::request::{
    RequestSignature, MAX_CLOCK_SKEW_SECS, NONCE_HEADER, SIGNATURE_HEADER, STATION_HEADER,
    TIMESTAMP_HEADER,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::data::{DataError, StationRecord};
use crate::intake::IntakeError;
use crate::ratelimit::{self, Bucket};
use crate::uploads::{self, UploadError};
use crate::ServerState;

/// The OpenAPI 3 document of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Largest body a signed request may carry: one chunk, with room for nothing else.
const MAX_SIGNED_BODY: usize = MAX_CHUNK_BYTES;
/// Largest registration body: a name, a key and a proof.
const MAX_REGISTRATION_BODY: usize = 4096;

/// The server's routes over `state`.
pub fn router(state: ServerState) -> Router {
    let signed = Router::new()
        .route(UPLOADS_PATH, post(announce))
        .route(&format!("{UPLOADS_PATH}/{{id}}"), get(offset).put(chunk))
        .route(&format!("{UPLOADS_PATH}/{{id}}/finalize"), post(finalize))
        .route(STATUSES_PATH, post(statuses))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route(HEALTH_PATH, get(health))
        .route(OPENAPI_PATH, get(openapi))
        .route(METRICS_PATH, get(metrics))
        .route(STATIONS_PATH, post(register))
        .merge(signed)
        .fallback(|| async {
            failure(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such API route".into(),
            )
        })
        .layer(DefaultBodyLimit::max(MAX_SIGNED_BODY))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_refusals,
        ))
        .with_state(state)
}

fn failure(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(ApiError::new(code, message))).into_response()
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "request failed");
    failure(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "the server could not complete the request".into(),
    )
}

/// A storage failure: a backend that is unavailable for now is answered 503 with a
/// `Retry-After` (the station tries again; nothing was recorded that is not stored), anything
/// else as an internal error.
fn storage_failure(error: DataError) -> Response {
    if let DataError::Unavailable(_) = error {
        tracing::warn!(%error, "storage unavailable");
        // What failed stays in the log: the answer names no host, bucket or database detail.
        let mut response = failure(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the server cannot reach its storage for now; try again shortly".into(),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        return response;
    }
    internal(error)
}

async fn count_refusals(
    State(state): State<ServerState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if response.status().is_client_error() {
        state.metrics.refused();
    }
    response
}

async fn health(State(state): State<ServerState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        server_key_id: state.data.encryption_key().public_key().key_id(),
    })
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn metrics(State(state): State<ServerState>, headers: HeaderMap) -> Response {
    let expected = format!("Bearer {}", state.data.metrics_token());
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !same_bytes(given.as_bytes(), expected.as_bytes()) {
        return failure(
            StatusCode::UNAUTHORIZED,
            "metrics_token_required",
            "the metrics need the bearer token in the server's keys/metrics.token".into(),
        );
    }
    let mut text = state.metrics.render();
    // The queue after intake, from the storage (shared by every replica): how far the stages
    // are behind.
    if let Ok(waiting) = state.data.jobs_waiting().await {
        let name = "enrollment_stage_jobs";
        text.push_str(&format!(
            "# HELP {name} Packets waiting for or in a stage after intake, all replicas.\n# TYPE {name} gauge\n"
        ));
        for stage in crate::stages::STAGES {
            let count = waiting
                .iter()
                .find(|(name, _)| name == stage)
                .map_or(0, |(_, count)| *count);
            text.push_str(&format!("{name}{{stage=\"{stage}\"}} {count}\n"));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Compares two byte strings in time that does not depend on where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|error| {
        failure(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            format!("the request body is not valid JSON for this route: {error}"),
        )
    })
}

async fn register(State(state): State<ServerState>, request: Request) -> Response {
    let bucket = Bucket::Registration(peer(&request));
    if let Err(response) = admitted(
        state
            .data
            .take_token(bucket, OffsetDateTime::now_utc())
            .await,
    ) {
        return response;
    }
    let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_REGISTRATION_BODY).await else {
        return failure(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            format!("a registration may be at most {MAX_REGISTRATION_BODY} bytes"),
        );
    };
    let request: RegisterStationRequest = match parse_json(&body) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let name = request.station_name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return failure(
            StatusCode::BAD_REQUEST,
            "invalid_station_name",
            "a station name is 1 to 100 characters".into(),
        );
    }
    let now = (state.now)();
    let certificate = state.tls_certificate_sha256.clone();
    let key = &request.signing_public_key;
    let outcome = state
        .data
        .register_station(&request.token_proof, &name, key, now)
        .await
        .map(|id| {
            RegisterStationResponse::sign(
                id,
                key,
                (state.data.encryption_key().public_key(), certificate),
                state.data.receipt_key(),
            )
        });
    match outcome {
        Ok(answer) => {
            tracing::info!(station = %answer.station_id, "station registered");
            Json(answer).into_response()
        }
        Err(DataError::InvalidToken) => failure(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            DataError::InvalidToken.to_string(),
        ),
        Err(DataError::KeyAlreadyRegistered) => failure(
            StatusCode::CONFLICT,
            "key_already_registered",
            DataError::KeyAlreadyRegistered.to_string(),
        ),
        Err(error) => storage_failure(error),
    }
}

fn too_many(wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut response = failure(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; try again in {seconds} s"),
    );
    if let Ok(value) = seconds.to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The station a signed request came from.
#[derive(Debug, Clone)]
pub struct Authenticated(pub StationRecord);

fn signature_headers(headers: &HeaderMap) -> Option<RequestSignature> {
    let text = |name: &str| headers.get(name)?.to_str().ok().map(str::to_owned);
    let nonce = text(NONCE_HEADER)?;
    if nonce.len() < 16 || nonce.len() > 64 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(RequestSignature {
        station_id: Uuid::parse_str(&text(STATION_HEADER)?).ok()?,
        timestamp: text(TIMESTAMP_HEADER)?.parse().ok()?,
        nonce,
        signature: text(SIGNATURE_HEADER)?,
    })
}

/// The address a request came from, when the listener recorded it.
fn peer(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

/// Checks a signed request: registered station, signature over method, path, time, nonce and
/// body, clock within [`MAX_CLOCK_SKEW_SECS`], nonce unused, rate. Passes the station on.
///
/// What costs nothing comes first: an address that has caused too many refusals is turned away
/// at once; the headers, the station, its revocation and the clock are checked before the
/// body is read, so an unsigned or foreign request never has its body buffered.
async fn authenticate(State(state): State<ServerState>, request: Request, next: Next) -> Response {
    let address = peer(&request);
    let refused = |response: Response| refuse(&state, address, response);
    // An address past its refusals by this replica's own count is turned away at no cost;
    // then by the count all replicas share, looked up beside the station (two round trips
    // to a database at once, not one after the other).
    let refusals = Bucket::Refusals(address);
    if let Some(wait) = state
        .refusals_here
        .wait(refusals, ratelimit::seconds(OffsetDateTime::now_utc()))
    {
        return too_many(wait);
    }
    let (mut parts, body) = request.into_parts();
    let signature = signature_headers(&parts.headers);
    let turned_away = state.data.token_wait(refusals, OffsetDateTime::now_utc());
    let (turned_away, station) = match &signature {
        Some(signature) => {
            let (wait, station) =
                tokio::join!(turned_away, state.data.station(signature.station_id));
            (wait, Some(station))
        }
        None => (turned_away.await, None),
    };
    if let Err(response) = admitted(turned_away) {
        return response;
    }
    let (Some(signature), Some(station)) = (signature, station) else {
        return refused(failure(
            StatusCode::UNAUTHORIZED,
            "unsigned_request",
            format!("this route needs a signed request: headers {STATION_HEADER}, {TIMESTAMP_HEADER}, {NONCE_HEADER} (16–64 hex digits) and {SIGNATURE_HEADER}"),
        )).await;
    };
    let now = (state.now)();
    let station_id = signature.station_id;
    let station = match station {
        Ok(Some(station)) => station,
        Ok(None) => {
            return refused(failure(
                StatusCode::UNAUTHORIZED,
                "unknown_station",
                format!("station {station_id} is not registered with this server"),
            ))
            .await
        }
        Err(error) => return storage_failure(error),
    };
    if let Err(response) = station_may_ask(&station, &signature, now) {
        return refused(response).await;
    }
    let body = match axum::body::to_bytes(body, MAX_SIGNED_BODY).await {
        Ok(body) => body,
        Err(_) => {
            return failure(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                format!("a request body may be at most {MAX_SIGNED_BODY} bytes"),
            )
        }
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let method = parts.method.as_str().to_owned();
    let checked_body = body.clone();
    let key = station.signing_key;
    let nonce = signature.nonce.clone();
    // Hashing a body of up to half a megabyte and checking the signature is CPU work.
    let signed =
        tokio::task::spawn_blocking(move || signature.verify(&key, &method, &path, &checked_body))
            .await;
    match signed {
        Ok(true) => {}
        Ok(false) => {
            return refused(failure(
                StatusCode::UNAUTHORIZED,
                "bad_request_signature",
                "the request is not signed with the station's registered key".into(),
            ))
            .await
        }
        Err(error) => return internal(error),
    }
    let (fresh, limited) = tokio::join!(
        state
            .data
            .remember_nonce(station_id, &nonce, now.unix_timestamp()),
        state
            .data
            .take_token(Bucket::Station(station_id), OffsetDateTime::now_utc())
    );
    match fresh {
        Ok(true) => {}
        Ok(false) => {
            return refused(failure(
                StatusCode::UNAUTHORIZED,
                "replayed_request",
                "this request was received before; a signed request is accepted once".into(),
            ))
            .await
        }
        Err(error) => return storage_failure(error),
    }
    if let Err(response) = admitted(limited) {
        return response;
    }
    state.metrics.seen(station_id, now.unix_timestamp());
    parts.extensions.insert(Authenticated(station));
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// A rate limit's answer as the request's: on, or `429` with the wait, or `503`.
fn admitted(outcome: Result<Option<std::time::Duration>, DataError>) -> Result<(), Response> {
    match outcome {
        Ok(None) => Ok(()),
        Ok(Some(wait)) => Err(too_many(wait)),
        Err(error) => Err(storage_failure(error)),
    }
}

/// Counts a refusal against the address it came from (here and where all replicas count),
/// then answers it.
async fn refuse(state: &ServerState, address: Option<IpAddr>, response: Response) -> Response {
    let (bucket, now) = (Bucket::Refusals(address), OffsetDateTime::now_utc());
    state.refusals_here.take(bucket, ratelimit::seconds(now));
    let counted = state.data.take_token(bucket, now).await;
    if let Err(error) = counted {
        tracing::warn!(%error, "a refusal could not be counted");
    }
    response
}

/// The checks of a signed request that need no body: revocation and the clock.
fn station_may_ask(
    station: &StationRecord,
    signature: &RequestSignature,
    now: time::OffsetDateTime,
) -> Result<(), Response> {
    if station.revoked {
        return Err(failure(
            StatusCode::FORBIDDEN,
            "station_revoked",
            format!(
                "station {} has been revoked by an administrator",
                station.station_id
            ),
        ));
    }
    let skew = signature.timestamp - now.unix_timestamp();
    if skew.abs() > MAX_CLOCK_SKEW_SECS {
        let direction = if skew > 0 { "ahead of" } else { "behind" };
        return Err(failure(
            StatusCode::UNAUTHORIZED,
            "clock_skew",
            format!(
                "the station clock is {} s {direction} the server's (at most {MAX_CLOCK_SKEW_SECS} s allowed); server time is {}",
                skew.abs(),
                crate::data::rfc3339(now)
            ),
        ));
    }
    Ok(())
}

fn refusal(error: UploadError) -> Response {
    let Some(code) = error.code() else {
        return match error {
            UploadError::Data(error) | UploadError::Intake(IntakeError::Data(error)) => {
                storage_failure(error)
            }
            other => internal(other),
        };
    };
    let message = error.to_string();
    let (status, receipt) = match error {
        UploadError::Refused { error, receipt } => (refusal_status(&error), Some(receipt)),
        other => (refusal_status(&other), None),
    };
    (
        status,
        Json(ApiError {
            code: code.to_owned(),
            message,
            receipt,
        }),
    )
        .into_response()
}

fn refusal_status(error: &UploadError) -> StatusCode {
    match error {
        UploadError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        UploadError::Incomplete { .. }
        | UploadError::HashMismatch
        | UploadError::IdReused(_)
        | UploadError::Data(DataError::AnnounceConflict(_) | DataError::OffsetMismatch { .. })
        | UploadError::Intake(IntakeError::IdReused(_)) => StatusCode::CONFLICT,
        UploadError::Data(DataError::NotAnnounced(_)) => StatusCode::NOT_FOUND,
        UploadError::Data(DataError::TooManyUploads { .. }) => StatusCode::TOO_MANY_REQUESTS,
        UploadError::Data(DataError::ServerFull)
        | UploadError::Intake(IntakeError::FormNotKnown { .. }) => StatusCode::SERVICE_UNAVAILABLE,
        UploadError::Intake(
            IntakeError::UnknownStation(_)
            | IntakeError::Revoked(_)
            | IntakeError::WrongStationKey(_)
            | IntakeError::BadSignature
            | IntakeError::PayloadTampered
            | IntakeError::Approval(_),
        ) => StatusCode::FORBIDDEN,
        UploadError::Refused { error, .. } => refusal_status(error),
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Runs an upload step on a task of its own and answers its outcome. The step runs to its end
/// even when the station's connection is cut and the request is dropped: a finalize never
/// stops between storing the packet and clearing its upload, a chunk never between writing its
/// bytes and counting them.
async fn answer<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, UploadError>> + Send + 'static,
) -> Result<T, Response> {
    match tokio::spawn(work).await {
        Ok(outcome) => outcome.map_err(refusal),
        Err(error) => Err(internal(error)),
    }
}

fn packet_id(text: &str) -> Result<Uuid, Response> {
    Uuid::parse_str(text).map_err(|_| {
        failure(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            format!("{text:?} is not a packet id"),
        )
    })
}

async fn announce(
    State(state): State<ServerState>,
    Extension(Authenticated(station)): Extension<Authenticated>,
    body: Bytes,
) -> Response {
    let announce: Announce = match parse_json(&body) {
        Ok(announce) => announce,
        Err(response) => return response,
    };
    let now = (state.now)();
    let (data, station_id) = (state.data.clone(), station.station_id);
    match answer(async move { uploads::announce(&*data, station_id, &announce, now).await }).await {
        Ok((status, judged_before)) => {
            if judged_before {
                state.metrics.duplicate();
            }
            Json(status).into_response()
        }
        Err(response) => response,
    }
}

async fn offset(
    State(state): State<ServerState>,
    Extension(Authenticated(station)): Extension<Authenticated>,
    Path(id): Path<String>,
) -> Response {
    let id = match packet_id(&id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let (data, station_id) = (state.data.clone(), station.station_id);
    match answer(async move { Ok(uploads::status(&*data, station_id, id).await?) }).await {
        Ok(status) => Json(status).into_response(),
        Err(response) => response,
    }
}

#[derive(serde::Deserialize)]
struct ChunkAt {
    offset: u64,
}

async fn chunk(
    State(state): State<ServerState>,
    Extension(Authenticated(station)): Extension<Authenticated>,
    Path(id): Path<String>,
    Query(at): Query<ChunkAt>,
    body: Bytes,
) -> Response {
    let id = match packet_id(&id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let count = body.len();
    let (data, station_id) = (state.data.clone(), station.station_id);
    match answer(async move { uploads::chunk(&*data, station_id, id, at.offset, &body).await })
        .await
    {
        Ok(status) => {
            state.metrics.bytes(count);
            Json(status).into_response()
        }
        Err(response) => response,
    }
}

async fn finalize(
    State(state): State<ServerState>,
    Extension(Authenticated(station)): Extension<Authenticated>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let id = match packet_id(&id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let request: FinalizeRequest = if body.is_empty() {
        FinalizeRequest::default()
    } else {
        match parse_json(&body) {
            Ok(request) => request,
            Err(response) => return response,
        }
    };
    let now = (state.now)();
    let approval = request.approval;
    let (data, station_id) = (state.data.clone(), station.station_id);
    let judge =
        async move { uploads::finalize(&*data, station_id, id, approval.as_ref(), now).await };
    match answer(judge).await {
        Ok((status, judged_before)) => {
            if judged_before {
                state.metrics.duplicate();
            } else {
                state
                    .metrics
                    .judged(status.state == protocol::api::PacketState::Accepted);
            }
            Json(status).into_response()
        }
        Err(response) => response,
    }
}

async fn statuses(
    State(state): State<ServerState>,
    Extension(Authenticated(station)): Extension<Authenticated>,
    body: Bytes,
) -> Response {
    let station_id = station.station_id;
    let query: StatusQuery = match parse_json(&body) {
        Ok(query) => query,
        Err(response) => return response,
    };
    if query.packet_ids.len() > MAX_STATUS_QUERY {
        return failure(
            StatusCode::BAD_REQUEST,
            "too_many_ids",
            format!("a status query may name at most {MAX_STATUS_QUERY} packets"),
        );
    }
    let (data, now) = (state.data.clone(), (state.now)());
    let answer = answer(async move {
        let mut statuses = Vec::with_capacity(query.packet_ids.len());
        for id in &query.packet_ids {
            statuses.push(uploads::status(&*data, station_id, *id).await?);
        }
        let (audit_known, audit_conflict) = match &query.audit {
            Some(claim) => data.observe_audit_head(station_id, claim, now).await?,
            None => (None, None),
        };
        Ok(StatusAnswer {
            statuses,
            audit_known,
            audit_conflict,
        })
    })
    .await;
    if let Ok(StatusAnswer {
        audit_conflict: Some(conflict),
        ..
    }) = &answer
    {
        tracing::warn!(station = %station_id, %conflict, "a station's audit log was cut or rewritten");
        state.metrics.audit_conflict();
    }
    match answer {
        Ok(answer) => Json(answer).into_response(),
        Err(response) => response,
    }
}
