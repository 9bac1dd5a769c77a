//! The HTTP API (see [`protocol::api`] for the table of routes and bodies).
//!
//! Every failure answers JSON [`ApiError`] with a stable code; a judged packet answers an
//! [`UploadReceipt`] (200 accepted, 422 rejected).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::api::{
    ApiError, Health, PacketVerdict, RegisterStationRequest, RegisterStationResponse,
    UploadReceipt, HEALTH_PATH, PACKETS_PATH, STATIONS_PATH,
};
use protocol::packet::MAX_PACKET_BYTES;

use crate::data::DataError;
use crate::intake::{self, IntakeError};
use crate::ServerState;

/// The server's routes over `state`.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route(HEALTH_PATH, get(health))
        .route(STATIONS_PATH, post(register))
        .route(
            PACKETS_PATH,
            post(upload).layer(DefaultBodyLimit::max(MAX_PACKET_BYTES)),
        )
        .fallback(|| async {
            failure(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such API route".into(),
            )
        })
        .with_state(state)
}

fn failure(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        Json(ApiError {
            code: code.to_owned(),
            message,
        }),
    )
        .into_response()
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "request failed");
    failure(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "the server could not complete the request".into(),
    )
}

async fn health(State(state): State<ServerState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        server_key_id: state.data.encryption_key().public_key().key_id(),
    })
}

async fn register(State(state): State<ServerState>, body: Bytes) -> Response {
    let request: RegisterStationRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return failure(
                StatusCode::BAD_REQUEST,
                "malformed_request",
                error.to_string(),
            )
        }
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
    let data = state.data.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        data.register_station(&request.token, &name, &request.signing_public_key, now)
            .map(|id| (id, data.encryption_key().public_key()))
    })
    .await;
    match outcome {
        Ok(Ok((station_id, key))) => {
            tracing::info!(station = %station_id, "station registered");
            Json(RegisterStationResponse {
                station_id,
                server_encryption_key: key,
            })
            .into_response()
        }
        Ok(Err(DataError::InvalidToken)) => failure(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            DataError::InvalidToken.to_string(),
        ),
        Ok(Err(DataError::KeyAlreadyRegistered)) => failure(
            StatusCode::CONFLICT,
            "key_already_registered",
            DataError::KeyAlreadyRegistered.to_string(),
        ),
        Ok(Err(error)) => internal(error),
        Err(error) => internal(error),
    }
}

async fn upload(State(state): State<ServerState>, body: Bytes) -> Response {
    let now = (state.now)();
    let data = state.data.clone();
    let outcome = tokio::task::spawn_blocking(move || intake::receive(&data, &body, now)).await;
    let judged = match outcome {
        Ok(Ok(judged)) => judged,
        Ok(Err(error)) => return refusal(error),
        Err(error) => return internal(error),
    };
    let (status, verdict) = if judged.record.verdict == "accepted" {
        (StatusCode::OK, PacketVerdict::Accepted)
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, PacketVerdict::Rejected)
    };
    let receipt = UploadReceipt {
        packet_id: judged.record.packet_id,
        verdict,
        reason: judged.record.reason,
        duplicate: judged.duplicate,
    };
    (status, Json(receipt)).into_response()
}

fn refusal(error: IntakeError) -> Response {
    let message = error.to_string();
    match error {
        IntakeError::Malformed(_) => failure(StatusCode::BAD_REQUEST, "malformed_packet", message),
        IntakeError::UnknownStation(_) => {
            failure(StatusCode::FORBIDDEN, "unknown_station", message)
        }
        IntakeError::Revoked(_) => failure(StatusCode::FORBIDDEN, "station_revoked", message),
        IntakeError::WrongStationKey(_) => {
            failure(StatusCode::FORBIDDEN, "wrong_station_key", message)
        }
        IntakeError::BadSignature => failure(StatusCode::FORBIDDEN, "bad_signature", message),
        IntakeError::PayloadTampered => failure(StatusCode::FORBIDDEN, "payload_tampered", message),
        IntakeError::WrongRecipient(_) => {
            failure(StatusCode::BAD_REQUEST, "wrong_recipient", message)
        }
        IntakeError::IdReused(_) => failure(StatusCode::CONFLICT, "packet_id_reused", message),
        IntakeError::Data(error) => internal(error),
    }
}
