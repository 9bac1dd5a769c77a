//! Setting a station up from nothing with a one-time code, as the app's setup screen and
//! `station provision` both do it (one action: `station_core::actions::setup::set_up`).

use station_core::actions::setup::{set_up, StationSetUp};
use station_core::actions::station::Lifecycle;
use station_core::actions::ErrorCode;
use station_core::clock::SystemClock;
use station_core::officers::{self, Password, Role};
use station_core::station::StationPaths;
use station_core::vault::Passphrase;
use std::sync::Arc;
use system_tests::{temp_dir, TestServer};
use time::OffsetDateTime;

fn setup(token: &str, server_url: &str) -> StationSetUp {
    StationSetUp {
        server_url: server_url.into(),
        token: token.into(),
        station_name: "Jakarta Selatan desk 3".into(),
        passphrase: Some(Passphrase::new("a long station passphrase".into())),
        admin_username: " ana ".into(),
        admin_name: "Ana Setiawati".into(),
        admin_password: Password::new("the administrator's password".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_set_up_with_a_one_time_code_opens_with_its_administrator_and_records_who_set_it_up(
) {
    let (server_dir, station_dir) = (temp_dir(), temp_dir());
    let server = TestServer::start(server_dir.path(), "127.0.0.1:0".parse().expect("addr")).await;
    let token = server
        .data
        .issue_token(OffsetDateTime::now_utc())
        .await
        .expect("token");
    let lifecycle = Lifecycle::find(StationPaths::new(station_dir.path()), &SystemClock);
    assert!(lifecycle.needs_setup());

    let station = set_up(
        &lifecycle,
        setup(token.expose(), &server.url),
        Arc::new(SystemClock),
    )
    .await
    .expect("set up");
    assert!(
        lifecycle.station().is_ok(),
        "the station is open from then on"
    );
    assert!(server
        .data
        .station(station.config().station_id)
        .await
        .expect("server data")
        .is_some());

    let password = Password::new("the administrator's password".into());
    let ana = officers::login(station.store(), "ana", &password, &SystemClock).expect("login");
    assert_eq!(
        (ana.role, ana.display_name.as_str()),
        (Role::Administrator, "Ana Setiawati")
    );
    let entries = station.store().audit_entries().expect("audit log");
    let setup_entries: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str(), e.subject.as_str()))
        .collect();
    assert_eq!(
        setup_entries,
        [
            ("station-setup", "station.provisioned", ""),
            ("station-setup", "officer.added", "ana"),
        ]
    );

    // The code is spent and the station is set up: a second setup is refused, nothing changes.
    let again = set_up(
        &lifecycle,
        setup(token.expose(), &server.url),
        Arc::new(SystemClock),
    )
    .await
    .expect_err("already set up");
    assert_eq!(again.code(), ErrorCode::AlreadySetUp);
    assert_eq!(station.store().audit_entries().expect("log").len(), 2);
}
