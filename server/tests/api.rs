//! The HTTP API's request checks, its OpenAPI document and its metrics, through the real router.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use enrollment_server::data::testing::open_for_tests;
use enrollment_server::{http, ServerState};
use protocol::api::{Announce, StatusQuery, STATUSES_PATH, UPLOADS_PATH};
use protocol::keys::StationSigningKey;
use protocol::request::*;
use tower::ServiceExt;
use uuid::Uuid;

struct Setup {
    _dir: tempfile::TempDir,
    state: ServerState,
    station: Uuid,
    key: StationSigningKey,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("dir");
    let data = open_for_tests(dir.path()).await.expect("data");
    let key = StationSigningKey::from_seed(&[5; 32]).expect("key");
    let station = Uuid::new_v4();
    data.insert_station_for_tests(station, &key.public_key(), time::OffsetDateTime::now_utc())
        .await
        .expect("station");
    Setup {
        _dir: dir,
        state: ServerState::shared(data),
        station,
        key,
    }
}

fn signed(
    setup: &Setup,
    method: &str,
    path: &str,
    body: Vec<u8>,
    time: i64,
    nonce: &str,
) -> Request<Body> {
    let signature = RequestSignature::sign(
        &setup.key,
        setup.station,
        (method, path, &body),
        time,
        nonce.to_owned(),
    );
    Request::builder()
        .method(method)
        .uri(path)
        .header(STATION_HEADER, setup.station.to_string())
        .header(TIMESTAMP_HEADER, time.to_string())
        .header(NONCE_HEADER, nonce)
        .header(SIGNATURE_HEADER, signature.signature)
        .body(Body::from(body))
        .expect("request")
}

async fn send(setup: &Setup, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = http::router(setup.state.clone())
        .oneshot(request)
        .await
        .expect("response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn status_query() -> Vec<u8> {
    serde_json::to_vec(&StatusQuery {
        packet_ids: vec![Uuid::new_v4()],
        audit: None,
    })
    .expect("json")
}

#[tokio::test]
async fn a_signed_request_is_answered_once_and_its_replay_is_refused() {
    let setup = setup().await;
    let request = || {
        signed(
            &setup,
            "POST",
            STATUSES_PATH,
            status_query(),
            now(),
            "00112233445566778899aabbccddeeff",
        )
    };
    let (status, answer) = send(&setup, request()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["statuses"][0]["state"], "unknown");
    let (status, answer) = send(&setup, request()).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("replayed_request"))
    );
}

#[tokio::test]
async fn requests_without_a_valid_signature_or_from_a_wrong_clock_are_refused_by_name() {
    let setup = setup().await;
    let unsigned = Request::builder()
        .method("POST")
        .uri(STATUSES_PATH)
        .body(Body::from(status_query()))
        .expect("request");
    let (status, answer) = send(&setup, unsigned).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unsigned_request"))
    );

    // Signed for another body than the one sent.
    let mut altered = signed(
        &setup,
        "POST",
        STATUSES_PATH,
        status_query(),
        now(),
        "0123456789abcdef0123",
    );
    *altered.body_mut() = Body::from(status_query());
    let (status, answer) = send(&setup, altered).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_request_signature"))
    );

    let skewed = signed(
        &setup,
        "POST",
        STATUSES_PATH,
        status_query(),
        now() - 3600,
        "0123456789abcdef0124",
    );
    let (status, answer) = send(&setup, skewed).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("clock_skew"))
    );
    assert!(answer["message"]
        .as_str()
        .is_some_and(|m| m.contains("behind")));

    setup
        .state
        .data
        .revoke_station(setup.station)
        .await
        .expect("revoke");
    let revoked = signed(
        &setup,
        "POST",
        STATUSES_PATH,
        status_query(),
        now(),
        "0123456789abcdef0125",
    );
    let (status, answer) = send(&setup, revoked).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("station_revoked"))
    );
}

#[tokio::test]
async fn a_chunk_at_the_wrong_offset_is_refused_and_the_held_offset_is_kept() {
    let setup = setup().await;
    let id = Uuid::new_v4();
    let announce = serde_json::to_vec(&Announce {
        packet_id: id,
        sha256: "ab".repeat(32),
        size: 10,
    })
    .expect("json");
    let (status, answer) = send(
        &setup,
        signed(
            &setup,
            "POST",
            UPLOADS_PATH,
            announce,
            now(),
            "a0a0a0a0a0a0a0a0a0",
        ),
    )
    .await;
    assert_eq!(
        (status, answer["received"].as_u64()),
        (StatusCode::OK, Some(0))
    );
    let path = format!("{UPLOADS_PATH}/{id}?offset=0");
    let (status, answer) = send(
        &setup,
        signed(
            &setup,
            "PUT",
            &path,
            vec![1; 4],
            now(),
            "a0a0a0a0a0a0a0a0a1",
        ),
    )
    .await;
    assert_eq!(
        (status, answer["received"].as_u64()),
        (StatusCode::OK, Some(4))
    );
    let (status, answer) = send(
        &setup,
        signed(
            &setup,
            "PUT",
            &path,
            vec![1; 4],
            now(),
            "a0a0a0a0a0a0a0a0a2",
        ),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::CONFLICT, Some("offset_mismatch"))
    );
    let path = format!("{UPLOADS_PATH}/{id}?offset=4");
    let (status, answer) = send(
        &setup,
        signed(
            &setup,
            "PUT",
            &path,
            vec![1; 7],
            now(),
            "a0a0a0a0a0a0a0a0a3",
        ),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("chunk_past_end"))
    );
    let path = format!("{UPLOADS_PATH}/{id}/finalize");
    let (status, answer) = send(
        &setup,
        signed(
            &setup,
            "POST",
            &path,
            Vec::new(),
            now(),
            "a0a0a0a0a0a0a0a0a4",
        ),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::CONFLICT, Some("upload_incomplete"))
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_metrics_are_served() {
    let setup = setup().await;
    let document: serde_json::Value = serde_json::from_str(http::OPENAPI).expect("valid JSON");
    let mut paths: Vec<&str> = document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort_unstable();
    let mut routes = vec![
        protocol::api::HEALTH_PATH,
        protocol::api::OPENAPI_PATH,
        protocol::api::METRICS_PATH,
        protocol::api::STATIONS_PATH,
        UPLOADS_PATH,
        "/api/v1/uploads/{id}",
        "/api/v1/uploads/{id}/finalize",
        STATUSES_PATH,
    ];
    routes.sort_unstable();
    assert_eq!(paths, routes);
    for route in routes.iter().filter(|r| !r.contains('{')) {
        let request = Request::builder()
            .uri(*route)
            .body(Body::empty())
            .expect("request");
        let response = http::router(setup.state.clone())
            .oneshot(request)
            .await
            .expect("response");
        assert_ne!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{route} is routed"
        );
    }
    let request = Request::builder()
        .uri("/metrics")
        .body(Body::empty())
        .expect("request");
    let response = http::router(setup.state.clone())
        .oneshot(request)
        .await
        .expect("response");
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the metrics name every station: not for anyone who asks"
    );
    let request = Request::builder()
        .uri("/metrics")
        .header(
            "authorization",
            format!("Bearer {}", setup.state.data.metrics_token()),
        )
        .body(Body::empty())
        .expect("request");
    let response = http::router(setup.state.clone())
        .oneshot(request)
        .await
        .expect("response");
    let text = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let text = String::from_utf8(text.to_vec()).expect("utf-8");
    assert!(text.contains("# TYPE enrollment_packets_accepted_total counter"));
}

#[tokio::test]
async fn an_upload_in_its_last_hour_is_not_finalized_but_sent_again() {
    let setup = setup().await;
    let data = &*setup.state.data;
    let now = time::OffsetDateTime::now_utc();
    let bytes = b"bytes announced long ago".to_vec();
    let announce = Announce {
        packet_id: Uuid::new_v4(),
        sha256: protocol::packet::sha256_hex(&bytes),
        size: bytes.len() as u64,
    };
    let started =
        now - enrollment_server::data::UPLOAD_LIFETIME + enrollment_server::uploads::LAST_HOUR / 2;
    data.start_upload(setup.station, &announce, started)
        .await
        .expect("announce");
    data.append_chunk(setup.station, announce.packet_id, 0, &bytes)
        .await
        .expect("chunk");
    let answer =
        enrollment_server::uploads::finalize(data, setup.station, announce.packet_id, None, now)
            .await;
    assert!(
        matches!(
            answer,
            Err(enrollment_server::uploads::UploadError::Data(
                enrollment_server::data::DataError::NotAnnounced(_)
            ))
        ),
        "{answer:?}"
    );
    assert_eq!(
        data.upload(announce.packet_id).await.expect("lookup"),
        None,
        "the station announces it again and sends it whole"
    );
}
