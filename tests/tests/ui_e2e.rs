//! End-to-end test of the real desktop app: a real central server on loopback, the built app
//! launched through `tauri-driver` and WebKitWebDriver, driven like an officer would.
//!
//! Needs a display (run under `xvfb-run`), `tauri-driver` and Debian's `webkit2gtk-driver`, and
//! the app built with its UI embedded; `scripts/test.sh` prepares all of that. Screenshots of
//! every step are written to `target/e2e-screenshots/`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use station_core::station::{Station, StationPaths};
use system_tests::*;

/// The technician's password after the administrator reset it.
const TECHNICIAN_PASSWORD: &str = "tari's new password";

/// What the technician changes the station passphrase to.
const NEW_STATION_PASSPHRASE: &str = "a new station passphrase";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn app_binary() -> PathBuf {
    let path = std::env::var_os("E2E_APP_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/enrollment-station"));
    assert!(
        path.exists(),
        "the app binary {} does not exist: build it with `cargo build -p enrollment-station --features custom-protocol`",
        path.display()
    );
    path
}

fn tauri_driver_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return path.into();
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    cargo_home
        .map(|home| home.join("bin/tauri-driver"))
        .filter(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

/// `tauri-driver`, stopped with SIGTERM (a SIGKILL would orphan WebKitWebDriver).
struct TauriDriver {
    child: Child,
    port: u16,
}

impl TauriDriver {
    fn start(log: &Path) -> Self {
        let port = free_loopback_address().port();
        let native_port = free_loopback_address().port();
        let log_file = std::fs::File::create(log).expect("driver log file");
        let child = Command::new(tauri_driver_binary())
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            // The app (started by the driver) inherits this: its simulated camera is a 720p
            // one, the size the preview's frame-rate target is set for.
            .env("STATION_SIM_CAMERA", "1280x720")
            .stdout(Stdio::from(log_file.try_clone().expect("log handle")))
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("tauri-driver starts (cargo install tauri-driver --locked)");
        let driver = Self { child, port };
        // tauri-driver listens before the WebKitWebDriver it spawns does, and a session asked for
        // in between is dropped without an answer: wait for both.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        for (which, port) in [("tauri-driver", port), ("WebKitWebDriver", native_port)] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{which} did not listen within 20 s"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        driver
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Officer {
    client: Client,
    shots: PathBuf,
}

impl Officer {
    async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("{css} did not appear: {error}"))
    }

    /// Finds `css` and scrolls it to the middle of the window: WebDriver only scrolls a
    /// half-visible element until its top shows, and its centre may then lie under the status
    /// bar.
    async fn centred(&self, css: &str) -> Element {
        let element = self.find(css).await;
        let _ = self
            .client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![serde_json::to_value(&element).expect("element reference")],
            )
            .await;
        element
    }

    async fn click(&self, css: &str) {
        self.centred(css)
            .await
            .click()
            .await
            .unwrap_or_else(|error| panic!("cannot click {css}: {error}"));
    }

    async fn choose(&self, css: &str, value: &str) {
        self.centred(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|error| panic!("cannot choose {value} in {css}: {error}"));
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.centred(css).await;
        field.clear().await.expect("clear field");
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|error| panic!("cannot type into {css}: {error}"));
    }

    async fn attribute(&self, css: &str, name: &str) -> String {
        self.find(css)
            .await
            .attr(name)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// The text of the element matching `css`, found again when the UI redraws it between
    /// finding and reading it (a stale element: the toast and the status bar are replaced, not
    /// edited).
    async fn text(&self, css: &str) -> String {
        for _ in 0..5 {
            if let Ok(text) = self.find(css).await.text().await {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.find(css).await.text().await.expect("element text")
    }

    async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map(|found| found.len())
            .unwrap_or(0)
    }

    /// How many images matching `css` have been decoded and have pixels.
    async fn decoded_images(&self, css: &str) -> u64 {
        let script = "return Array.from(document.querySelectorAll(arguments[0]))\
                      .filter(img => img.complete && img.naturalWidth > 0).length;";
        let count = self
            .client
            .execute(script, vec![json!(css)])
            .await
            .expect("run script");
        count.as_u64().unwrap_or(0)
    }

    async fn wait_until(
        &self,
        what: &str,
        limit: Duration,
        mut check: impl AsyncFnMut(&Self) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + limit;
        while !check(self).await {
            if tokio::time::Instant::now() >= deadline {
                // What the screen showed, for whoever reads the failure.
                self.screenshot("timed-out").await;
                panic!("timed out after {limit:?} waiting until {what} (screen: timed-out.png)");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Scrolls the screen back to its top (for a screenshot of a long page).
    /// Scrolls the page so that `css` starts at the top of the window (for a screenshot).
    async fn scroll_to(&self, css: &str) {
        self.client
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'start'});",
                vec![json!(css)],
            )
            .await
            .unwrap_or_else(|error| panic!("cannot scroll to {css}: {error}"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    async fn scroll_to_top(&self) {
        let _ = self
            .client
            .execute("document.getElementById('app').scrollTop = 0;", vec![])
            .await;
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("save screenshot");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built app, tauri-driver, WebKitWebDriver and a display: run by scripts/test.sh"]
async fn an_officer_enrolls_an_applicant_and_sees_it_accepted_by_the_server() {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "no DISPLAY: run this test under xvfb-run"
    );
    let app = app_binary();
    let (server_dir, station_dir) = (temp_dir(), temp_dir());
    let server = TestServer::start(server_dir.path(), "127.0.0.1:0".parse().expect("addr")).await;

    let shots = workspace_root().join("target/e2e-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot directory");
    let driver = TauriDriver::start(&shots.join("tauri-driver.log"));
    let capabilities = json!({
        "browserName": "wry",
        "tauri:options": {
            "application": app,
            // At every start the first applicant is not in place when the camera starts, and
            // her fingers are dry at first.
            "args": [
                "--data-dir", station_dir.path(),
                "--drill", "camera-applicant-steps-in",
                "--drill", "reader-dry-fingers",
            ],
        },
    });
    let connect = || async {
        // A driver that is still starting can drop the request for a session without answering;
        // ask again for a while before calling it a failure.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let attempt =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities.as_object().expect("object").clone())
                    .connect(&format!("http://127.0.0.1:{}", driver.port))
                    .await;
            match attempt {
                Ok(client) => break client,
                Err(error) if tokio::time::Instant::now() < deadline => {
                    eprintln!("no WebDriver session yet ({error}); asking again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(error) => panic!("a WebDriver session with the app: {error:?}"),
            }
        }
    };
    let officer = Officer {
        client: connect().await,
        shots: shots.clone(),
    };

    // A new laptop: the technician sets the station up in the app with a one-time token from
    // the server's administrator, and creates the first (administrator) account.
    officer.find("#setup-server").await;
    // The language choice outlives the app (the web view's storage): start in English.
    if officer.count("#lang-switch[data-lang='id']").await == 1 {
        officer.click("#lang-switch").await;
    }
    officer.find("#lang-switch[data-lang='en']").await;
    officer.type_into("#setup-server", &server.url).await;
    // A well-formed code naming this server whose secret the server never issued.
    let issued = server
        .data
        .issue_token(time::OffsetDateTime::now_utc())
        .await
        .expect("token");
    let never_issued = format!("{}{}", "0".repeat(48), &issued.expose()[48..]);
    officer.type_into("#setup-token", &never_issued).await;
    officer
        .type_into("#setup-name", "Jakarta Selatan desk 3")
        .await;
    officer
        .type_into("#setup-passphrase", STATION_PASSPHRASE)
        .await;
    officer
        .type_into("#setup-passphrase2", STATION_PASSPHRASE)
        .await;
    officer.type_into("#setup-admin-username", "ana").await;
    officer.type_into("#setup-admin-name", "Ana Putri").await;
    officer
        .type_into("#setup-admin-password", OFFICER_PASSWORD)
        .await;
    officer
        .type_into("#setup-admin-password2", OFFICER_PASSWORD)
        .await;
    officer.scroll_to_top().await;
    officer.screenshot("00a-setup").await;
    officer.click("#setup-submit").await;
    officer
        .wait_until(
            "a token the server never issued is refused",
            Duration::from_secs(20),
            async |o| o.text("#setup-error").await.contains("refused"),
        )
        .await;
    assert!(
        !StationPaths::new(station_dir.path()).config().exists(),
        "a refused setup leaves the station unprovisioned"
    );
    let token = server
        .data
        .issue_token(time::OffsetDateTime::now_utc())
        .await
        .expect("token");
    officer.type_into("#setup-token", token.expose()).await;
    officer.click("#setup-submit").await;
    officer.find("#login-username").await;
    officer.screenshot("01-login").await;

    // The administrator adds the officers' accounts and checks the settings.
    officer.type_into("#login-username", "ana").await;
    officer.type_into("#login-password", OFFICER_PASSWORD).await;
    officer.click("#login-submit").await;
    officer.find("#accounts tr[data-username='ana']").await;
    for (username, name, role) in [
        ("budi", "Budi Santoso", "officer"),
        ("sari", "Sari Dewi", "supervisor"),
        ("tari", "Tari Wibowo", "technician"),
        ("dewi", "Dewi Lestari", "officer"),
    ] {
        officer.type_into("#account-username", username).await;
        officer.type_into("#account-name", name).await;
        officer.choose("#account-role", role).await;
        officer
            .type_into("#account-password", OFFICER_PASSWORD)
            .await;
        officer
            .type_into("#account-password2", OFFICER_PASSWORD)
            .await;
        officer.click("#account-add").await;
        officer
            .find(&format!(
                "#accounts tr[data-username='{username}'][data-role='{role}']"
            ))
            .await;
    }
    officer.type_into("#account-username", "Budi Two").await;
    officer.type_into("#account-name", "Budi Two").await;
    officer
        .type_into("#account-password", OFFICER_PASSWORD)
        .await;
    officer
        .type_into("#account-password2", OFFICER_PASSWORD)
        .await;
    officer.click("#account-add").await;
    officer
        .wait_until(
            "a username against the rules is refused, saying the rules",
            Duration::from_secs(10),
            async |o| {
                o.text("#account-error")
                    .await
                    .contains("lower-case letters")
            },
        )
        .await;
    assert_eq!(officer.count("#accounts tr[data-username]").await, 5);
    // Dewi has left: her account goes (two clicks). Tari forgot her password: it is reset.
    for _ in 0..2 {
        officer
            .click("#accounts tr[data-username='dewi'] .remove-account")
            .await;
    }
    officer
        .wait_until(
            "the account is removed",
            Duration::from_secs(10),
            async |o| o.count("#accounts tr[data-username]").await == 4,
        )
        .await;
    officer
        .click("#accounts tr[data-username='tari'] .reset-password")
        .await;
    officer
        .type_into("#reset-password-tari", TECHNICIAN_PASSWORD)
        .await;
    officer
        .type_into("#reset-password2-tari", TECHNICIAN_PASSWORD)
        .await;
    officer
        .click("#accounts tr[data-username='tari'] .reset-form button")
        .await;
    officer
        .wait_until(
            "the new password is set",
            Duration::from_secs(10),
            async |o| o.text("#toast").await.contains("New password set for tari"),
        )
        .await;
    officer
        .type_into("#settings-server", "enroll.example")
        .await;
    officer.click("#settings-save").await;
    officer
        .wait_until(
            "a server address without a scheme is refused",
            Duration::from_secs(10),
            async |o| {
                o.text("#settings-error")
                    .await
                    .contains("not a server address")
            },
        )
        .await;
    officer.type_into("#settings-server", &server.url).await;
    officer.type_into("#settings-retention", "45").await;
    officer.click("#settings-save").await;
    officer
        .wait_until(
            "the settings are saved",
            Duration::from_secs(10),
            async |o| o.text("#settings-saved").await.contains("saved"),
        )
        .await;
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(StationPaths::new(station_dir.path()).config()).expect("station.json"),
    )
    .expect("json");
    assert_eq!(config["retention_days"], 45, "the setting is kept");
    assert_eq!(config["station_name"], "Jakarta Selatan desk 3");
    officer.scroll_to_top().await;
    officer.screenshot("11-settings").await;
    officer.scroll_to("#accounts-section").await;
    officer.screenshot("11b-accounts").await;
    officer.click("#logout").await;
    officer.find("#login-username").await;
    officer.type_into("#login-username", "budi").await;
    officer.type_into("#login-password", "wrong password").await;
    officer.click("#login-submit").await;
    officer
        .wait_until(
            "a wrong password is refused",
            Duration::from_secs(10),
            async |o| o.text("#login-error").await.contains("not correct"),
        )
        .await;
    officer.type_into("#login-password", OFFICER_PASSWORD).await;
    officer.click("#login-submit").await;
    officer.find("#new-enrollment").await;
    officer.screenshot("02-enrollments-empty").await;

    officer.click("#new-enrollment").await;
    // A citizen applying for a passport: the form comes from the form definitions.
    officer.click("#form-type-wni-passport").await;
    officer.click("#form-next").await;
    officer
        .wait_until(
            "an empty form shows what to fill in",
            Duration::from_secs(10),
            async |o| !o.text("#error-full_name").await.is_empty(),
        )
        .await;
    assert_eq!(
        officer
            .find("#field-nationality")
            .await
            .prop("value")
            .await
            .expect("value")
            .as_deref(),
        Some("IDN"),
        "a citizen's form already says IDN"
    );
    officer.type_into("#field-full_name", "Siti Rahayu").await;
    // The NIK encodes 12 April 1990 for a woman; a typo in the birth date is caught.
    officer
        .type_into("#field-document_number", "3174055204900003")
        .await;
    officer.type_into("#field-place_of_birth", "Jakarta").await;
    officer
        .type_into("#field-date_of_birth", "1990-04-13")
        .await;
    officer.choose("#field-sex", "F").await;
    officer.choose("#field-passport_type", "electronic").await;
    officer
        .type_into("#field-address", "Jl. Merdeka 1, Jakarta")
        .await;
    officer.click("#form-next").await;
    officer
        .wait_until(
            "the NIK is checked against the birth date",
            Duration::from_secs(10),
            async |o| {
                o.text("#error-document_number")
                    .await
                    .contains("The NIK says born 12-04-90")
            },
        )
        .await;
    officer
        .type_into("#field-date_of_birth", "1990-04-12")
        .await;
    officer.screenshot("03-applicant").await;
    officer.click("#form-next").await;

    // The face step watches the camera and lists the ICAO checks live; nobody clicks: the
    // photo is taken by itself once every check passes on enough frames in a row. The
    // applicant is not in place yet: the preview's overlay boxes her face, marks the five
    // landmarks the checks used and says where to move.
    officer
        .wait_until(
            "the live view boxes the face, marks its landmarks and says where to move",
            Duration::from_secs(20),
            async |o| {
                o.count("#face-checks li").await == 10
                    && o.count("canvas#face-live[data-boxes='1']").await == 1
                    && o.count("canvas#face-live[data-landmarks='5']").await == 1
                    && o.attribute("#face-live", "data-guidance")
                        .await
                        .starts_with("Move to the centre")
            },
        )
        .await;
    officer.screenshot("04a-face-live").await;
    officer
        .wait_until(
            "the photo is taken automatically",
            Duration::from_secs(30),
            async |o| o.decoded_images("#face-preview").await == 1,
        )
        .await;
    officer.screenshot("04-face").await;
    assert_eq!(
        officer.count("#face-checks li.pass").await,
        10,
        "the photo was taken with every check passing"
    );
    assert!(
        officer.text("#face-progress").await.contains("Photo taken"),
        "the officer is told the photo was taken"
    );
    officer.screenshot("04-face").await;

    // The app stops half-way (a crash, a power cut): the draft was saved, encrypted, after the
    // capture. A new start resumes it with the form and the photo.
    officer.client.close().await.expect("close the app");
    let officer = Officer {
        client: connect().await,
        shots,
    };
    officer.find("#unlock-passphrase").await;
    officer.screenshot("00-unlock").await;
    officer
        .type_into("#unlock-passphrase", "not the passphrase")
        .await;
    officer.click("#unlock-submit").await;
    officer
        .wait_until(
            "a wrong station passphrase is refused",
            Duration::from_secs(20),
            async |o| o.text("#unlock-error").await.contains("not correct"),
        )
        .await;
    officer
        .type_into("#unlock-passphrase", STATION_PASSPHRASE)
        .await;
    officer.click("#unlock-submit").await;
    officer.type_into("#login-username", "budi").await;
    officer.type_into("#login-password", OFFICER_PASSWORD).await;
    officer.click("#login-submit").await;
    officer.find("#resume-enrollment").await;
    officer.screenshot("04b-resume-offered").await;
    officer.click("#resume-enrollment").await;
    let name = officer
        .find("#field-full_name")
        .await
        .prop("value")
        .await
        .expect("field value");
    assert_eq!(
        name.as_deref(),
        Some("Siti Rahayu"),
        "the resumed form keeps what was typed"
    );
    officer.click("#form-next").await;
    officer
        .wait_until(
            "the resumed face photo is shown",
            Duration::from_secs(20),
            async |o| o.decoded_images("#face-preview").await == 1,
        )
        .await;
    officer.click("#face-next").await;

    // The fingerprint step watches the reader by itself: the live checklist ticks off each
    // finger of the set on the glass, and the station captures the set once they lie still,
    // then moves on — left hand, right hand, thumbs — with no button pressed. This applicant's
    // fingers are dry at first (a practice drill on the simulated reader): the left hand comes
    // out below the quality threshold, the officer is told why and captures it again.
    officer
        .wait_until(
            "the poor left hand is offered for capture again",
            Duration::from_secs(30),
            async |o| o.text("#capture-fingers").await == "Capture again",
        )
        .await;
    let told = officer.text("#finger-progress").await;
    assert!(
        told.contains("below 40") && told.contains("attempt 2 of 3"),
        "the officer is told the quality and the attempt: {told}"
    );
    officer.screenshot("05c-retry").await;
    officer.click("#capture-fingers").await;
    officer
        .wait_until(
            "the left hand is captured by itself",
            Duration::from_secs(30),
            async |o| o.count("#finger-sets li.done").await >= 1,
        )
        .await;
    // The right hand's live view boxes each finger on the glass and names it.
    officer
        .wait_until(
            "the reader's live view boxes the fingers on the glass",
            Duration::from_secs(30),
            async |o| {
                o.attribute("#finger-live", "data-boxes")
                    .await
                    .parse::<u32>()
                    .unwrap_or(0)
                    >= 1
            },
        )
        .await;
    officer.screenshot("05a-fingers-live").await;
    officer
        .wait_until(
            "all three sets are captured by themselves and the ten fingers shown",
            Duration::from_secs(60),
            async |o| {
                o.count("#finger-sets li.done").await == 3
                    && o.decoded_images("#finger-grid img").await == 10
            },
        )
        .await;
    assert_eq!(
        officer.count("#finger-checks li.pass").await,
        2,
        "the live checklist shows both thumbs on the glass when they were captured"
    );
    assert_eq!(
        officer.count("#finger-grid .quality-bar").await,
        10,
        "every finger shows its quality"
    );
    assert!(
        officer.text("#finger-progress").await.contains("captured"),
        "the step says the last set was captured"
    );
    officer.screenshot("05-fingers").await;

    // The applicant's right little finger is scarred smooth: the officer declares it unusable
    // (its image goes), and the enrollment will wait for a supervisor.
    officer.click("#declare-exception").await;
    officer.choose("#exception-finger", "right_little").await;
    officer
        .choose("#exception-reason", "Scarred or worn: no ridges to capture")
        .await;
    officer.click("#exception-submit").await;
    officer
        .wait_until(
            "the exception is listed and the finger's image dropped",
            Duration::from_secs(10),
            async |o| {
                o.count("#exception-list li[data-position='right_little']")
                    .await
                    == 1
                    && o.count("#finger-grid img").await == 9
            },
        )
        .await;
    // The hand is photographed to show the missing finger: the supervisor and the server see it.
    officer.click("#exception-photo-take").await;
    officer
        .wait_until(
            "the exception photo is shown",
            Duration::from_secs(20),
            async |o| o.decoded_images("#exception-photo").await == 1,
        )
        .await;
    officer.screenshot("05b-exception").await;
    officer.click("#fingers-next").await;
    assert!(
        officer
            .text("#review-exceptions")
            .await
            .contains("Right little: Scarred or worn"),
        "the review shows the declared exception"
    );

    assert_eq!(
        officer.text("#review-details dd").await,
        "Siti Rahayu",
        "the review shows what was typed"
    );
    officer.screenshot("06-review").await;
    // The link goes down before the officer submits: the enrollment waits, and the officer is
    // told why in words, not with a code.
    let address = server.address;
    server.stop().await;
    assert_eq!(
        officer
            .find("#submit-enrollment")
            .await
            .prop("disabled")
            .await
            .expect("disabled")
            .as_deref(),
        Some("true"),
        "nothing is sealed before the applicant consents"
    );
    officer.click("#consent").await;
    officer.click("#submit-enrollment").await;

    // The receipt: the enrollment number as text and QR code, the photo, each finger.
    officer
        .wait_until(
            "the receipt shows the photo and the QR code",
            Duration::from_secs(30),
            async |o| o.decoded_images("#receipt-photo, #receipt-qr").await == 2,
        )
        .await;
    let receipt_id = officer.text("#receipt-id").await;
    assert_eq!(receipt_id.len(), 36, "the enrollment number: {receipt_id}");
    assert_eq!(officer.count("#receipt-fingers tr").await, 10);
    assert!(
        officer
            .text("#receipt-fingers tr[data-position='right_little']")
            .await
            .contains("Missing: Scarred or worn"),
        "the receipt names the declared finger"
    );
    officer.find("#receipt-approval").await;
    officer.scroll_to_top().await;
    officer.screenshot("06b-receipt").await;
    officer.click("#receipt-pdf").await;
    officer
        .wait_until(
            "the PDF receipt is saved",
            Duration::from_secs(20),
            async |o| o.text("#receipt-saved").await.starts_with("PDF saved: "),
        )
        .await;
    let saved = officer.text("#receipt-saved").await;
    let pdf_path = saved.trim_start_matches("PDF saved: ").to_owned();
    let pdf = std::fs::read(&pdf_path).expect("the PDF receipt");
    assert!(pdf.starts_with(b"%PDF-1.4"), "a PDF");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&pdf_path)
            .expect("metadata")
            .permissions(),
    );
    assert_eq!(
        mode & 0o077,
        0,
        "the receipt holds the applicant's photo: readable by the station's user only"
    );
    assert!(
        String::from_utf8_lossy(&pdf).contains(&format!("({receipt_id}) Tj")),
        "the PDF carries the enrollment number"
    );
    officer.click("#receipt-done").await;
    officer
        .wait_until(
            "the list shows the enrollment waiting for a supervisor",
            Duration::from_secs(30),
            async |o| o.count("#enrollment-list .approval-awaiting").await == 1,
        )
        .await;
    officer.screenshot("07a-held").await;

    // A supervisor approves it, with a comment, from the approval queue.
    officer.click("#logout").await;
    officer.type_into("#login-username", "sari").await;
    officer.type_into("#login-password", OFFICER_PASSWORD).await;
    officer.click("#login-submit").await;
    officer.click("#open-approvals").await;
    officer
        .wait_until(
            "the held enrollment is in the approval queue",
            Duration::from_secs(20),
            async |o| o.count("#approval-list tr[data-id]").await == 1,
        )
        .await;
    officer
        .wait_until(
            "the supervisor sees the photo of the hand",
            Duration::from_secs(20),
            async |o| {
                o.decoded_images("#approval-list tr[data-id] img.exception-photo")
                    .await
                    == 1
            },
        )
        .await;
    let why = officer.text("#approval-list tr[data-id]").await;
    assert!(
        why.contains("Right little missing: Scarred or worn") && why.contains("budi"),
        "the queue says who enrolled it and why it waits: {why}"
    );
    officer.screenshot("07b-approvals").await;
    officer
        .type_into(
            "#approval-list tr[data-id] input.comment",
            "Scar seen; the other nine prints are good",
        )
        .await;
    officer
        .click("#approval-list tr[data-id] button.approve")
        .await;
    officer
        .wait_until(
            "nothing waits for approval any more",
            Duration::from_secs(20),
            async |o| o.count("#approval-list tr[data-id]").await == 0,
        )
        .await;
    officer.click("#approvals-back").await;
    officer
        .wait_until(
            "the supervisor is told the station is offline",
            Duration::from_secs(30),
            async |o| o.count("#sync-status[data-problem='offline']").await == 1,
        )
        .await;
    let line = officer.text("#sync-status").await;
    assert!(
        line.contains("No connection to the central server"),
        "sync status: {line}"
    );
    officer
        .wait_until(
            "the status bar says offline and the outbox holds the enrollment",
            Duration::from_secs(10),
            async |o| {
                o.count("#status-link[data-link='offline']").await == 1
                    && o.text("#outbox-progress-text")
                        .await
                        .contains("0 of 1 sent")
            },
        )
        .await;
    officer.screenshot("07-offline").await;
    officer.click("#sync-toggle").await;
    officer
        .wait_until("sending shows paused", Duration::from_secs(10), async |o| {
            o.text("#sync-status").await.contains("Sending is paused.")
        })
        .await;
    officer.click("#sync-toggle").await;
    let server = TestServer::start(server_dir.path(), address).await;
    officer.click("#sync-now").await;

    officer
        .wait_until(
            "the list shows the enrollment accepted",
            Duration::from_secs(60),
            async |o| o.count("#enrollment-list tr[data-state='accepted']").await == 1,
        )
        .await;
    let row = officer
        .text("#enrollment-list tr[data-state='accepted']")
        .await;
    assert!(
        row.contains("Siti Rahayu") && row.contains("Accepted by server"),
        "row: {row}"
    );
    officer
        .wait_until(
            "the outbox says the enrollment was sent",
            Duration::from_secs(10),
            async |o| {
                o.text("#outbox-progress-text")
                    .await
                    .contains("Sent 1 of 1")
            },
        )
        .await;
    let bar = officer.find("#outbox-progress").await;
    let (value, max) = (
        bar.attr("value").await.expect("value"),
        bar.attr("max").await.expect("max"),
    );
    assert_eq!(
        (value.as_deref(), max.as_deref()),
        (Some("1"), Some("1")),
        "the bar is full"
    );
    officer
        .wait_until(
            "the status bar says online, with the last sync time",
            Duration::from_secs(10),
            async |o| {
                o.count("#status-link[data-link='online']").await == 1
                    && o.text("#status-last-sync").await.contains("Last sync")
            },
        )
        .await;
    officer.screenshot("08-accepted").await;

    // The officer works in Bahasa Indonesia: the whole screen switches at once.
    officer.click("#lang-switch").await;
    officer
        .wait_until(
            "the list is in Indonesian",
            Duration::from_secs(10),
            async |o| {
                o.text("#new-enrollment").await == "Perekaman baru"
                    && o.text("#enrollment-list tr[data-state='accepted']")
                        .await
                        .contains("Diterima server")
                    && o.text("#status-link").await.contains("Daring")
            },
        )
        .await;
    officer.screenshot("08b-list-indonesian").await;

    // A foreign visitor applies for a visa: the passport's machine-readable zone fills the
    // form; a misread zone is refused by its check digit first.
    officer.click("#new-enrollment").await;
    officer.click("#form-type-wna-visa").await;
    let zone = "P<FRADUPONT<<MARIE<CLAIRE<<<<<<<<<<<<<<<<<<<\nX4K7Q2M198FRA8503172F3109155<<<<<<<<<<<<<<<4";
    officer
        .type_into("#mrz-input", &zone.replace("X4K7Q2M198", "X4K7Q2M188"))
        .await;
    officer.click("#mrz-read").await;
    officer
        .wait_until(
            "the misread zone is refused, in Indonesian",
            Duration::from_secs(10),
            async |o| {
                o.text("#mrz-error")
                    .await
                    .contains("digit pemeriksa nomor dokumen")
            },
        )
        .await;
    officer.type_into("#mrz-input", zone).await;
    officer.click("#mrz-read").await;
    officer
        .wait_until(
            "the zone fills the form",
            Duration::from_secs(10),
            async |o| {
                o.find("#field-full_name")
                    .await
                    .prop("value")
                    .await
                    .ok()
                    .flatten()
                    .as_deref()
                    == Some("MARIE CLAIRE DUPONT")
            },
        )
        .await;
    for (field, expected) in [
        ("document_number", "X4K7Q2M19"),
        ("nationality", "FRA"),
        ("date_of_birth", "1985-03-17"),
        ("sex", "F"),
        ("passport_expiry", "2031-09-15"),
    ] {
        let value = officer
            .find(&format!("#field-{field}"))
            .await
            .prop("value")
            .await
            .expect("value");
        assert_eq!(value.as_deref(), Some(expected), "{field} from the zone");
    }
    officer.choose("#field-visa_type", "visit").await;
    officer.screenshot("03b-applicant-wna-mrz").await;
    officer.click("#form-next").await;
    officer
        .wait_until(
            "the visitor's photo is taken automatically",
            Duration::from_secs(30),
            async |o| o.decoded_images("#face-preview").await == 1,
        )
        .await;
    officer.click("#face-next").await;
    officer
        .wait_until(
            "the visitor's ten fingers are captured by themselves",
            Duration::from_secs(60),
            async |o| {
                o.count("#finger-sets li.done").await == 3
                    && o.decoded_images("#finger-grid img").await == 10
            },
        )
        .await;
    officer.click("#fingers-next").await;
    assert_eq!(
        officer.text("#review-details dd").await,
        "MARIE CLAIRE DUPONT",
        "the review shows the name read from the zone"
    );
    officer.click("#consent").await;
    officer.click("#submit-enrollment").await;
    officer
        .wait_until(
            "the visitor's receipt is shown, in Indonesian",
            Duration::from_secs(30),
            async |o| o.text("#receipt h1").await == "Tanda terima perekaman",
        )
        .await;
    officer.click("#receipt-done").await;
    officer
        .wait_until(
            "the visitor's enrollment is accepted",
            Duration::from_secs(60),
            async |o| o.count("#enrollment-list tr[data-state='accepted']").await == 2,
        )
        .await;
    // How the live preview arrived in the real app over both enrollments (recorded, not
    // asserted: the machine is shared and slow under Xvfb): see docs/benchmarks.md. The frame
    // rate comes from the gaps between consecutive frames of a live view.
    let stats = officer
        .client
        .execute(
            "const s = window.previewStats; const l = [...s.latencies].sort((a, b) => a - b); \
             const gaps = s.arrivals.slice(1).map((t, i) => t - s.arrivals[i]).filter((g) => g < 500).sort((a, b) => a - b); \
             return { frames: s.frames, dropped: s.dropped, skipped: s.skipped, with_face: s.withFace, \
               fps_from_median_gap: gaps.length ? 1000 / gaps[Math.floor(gaps.length / 2)] : null, \
               latency_first_tenth_ms: s.latencies.slice(0, Math.max(1, Math.floor(s.latencies.length / 10))).reduce((a, b) => a + b, 0) / Math.max(1, Math.floor(s.latencies.length / 10)), \
               latency_last_tenth_ms: s.latencies.slice(-Math.max(1, Math.floor(s.latencies.length / 10))).reduce((a, b) => a + b, 0) / Math.max(1, Math.floor(s.latencies.length / 10)), \
               fps_mean: s.arrivals.length > 1 ? 1000 * (s.arrivals.length - 1) / (s.arrivals[s.arrivals.length - 1] - s.arrivals[0]) : null, \
               latency_p50_ms: l[Math.floor(l.length / 2)] ?? null, \
               latency_p95_ms: l[Math.floor(l.length * 0.95)] ?? null, \
               latency_max_ms: l[l.length - 1] ?? null };",
            vec![],
        )
        .await
        .expect("preview figures");
    println!("live preview in the app under Xvfb: {stats}");
    std::fs::write(
        officer.shots.join("preview-figures.json"),
        serde_json::to_vec_pretty(&stats).expect("json"),
    )
    .expect("save the preview figures");
    assert!(
        stats["frames"].as_u64().unwrap_or(0) > 30,
        "the live preview reached the screen while the applicant stepped in: {stats}"
    );
    assert!(
        stats["with_face"].as_u64().unwrap_or(0) > 0,
        "the overlay boxed the face: {stats}"
    );
    officer.type_into("#list-search", "dupont").await;
    officer
        .wait_until(
            "searching finds the visitor alone",
            Duration::from_secs(10),
            async |o| {
                o.count("#enrollment-list tr[data-id]").await == 1
                    && o.text("#enrollment-list tr[data-id]")
                        .await
                        .contains("MARIE CLAIRE DUPONT")
            },
        )
        .await;
    officer.click("#lang-switch").await;
    officer.find("#new-enrollment").await;
    assert_eq!(officer.text("#new-enrollment").await, "New enrollment");
    let shots = officer.shots.clone();
    officer.client.close().await.expect("close the session");

    // A technician checks the station before the day's work: the station, both devices and the
    // server link pass; then a practice drill blacks out the simulated camera and the self-test
    // names the fault; the report is exported as JSON and as a printable page.
    let technician = Officer {
        client: connect().await,
        shots,
    };
    technician
        .type_into("#unlock-passphrase", STATION_PASSPHRASE)
        .await;
    technician.click("#unlock-submit").await;
    technician.type_into("#login-username", "tari").await;
    technician
        .type_into("#login-password", TECHNICIAN_PASSWORD)
        .await;
    technician.click("#login-submit").await;
    technician.click("#selftest-run").await;
    technician
        .wait_until(
            "the self-test finishes",
            Duration::from_secs(90),
            async |o| o.count("#selftest-verdict[data-verdict]").await == 1,
        )
        .await;
    for section in ["station", "reader", "server"] {
        assert_eq!(
            technician
                .count(&format!("[data-section='{section}'][data-verdict='pass']"))
                .await,
            1,
            "the {section} passes: {}",
            technician.text("#selftest-results").await
        );
    }
    technician.screenshot("09-selftest").await;

    technician.choose("#selftest-drill", "camera-black").await;
    technician.click("#selftest-run").await;
    technician
        .wait_until(
            "the self-test with the drill finishes and names the fault",
            Duration::from_secs(90),
            async |o| o.count("#selftest-verdict[data-verdict='fail']").await == 1,
        )
        .await;
    let camera = technician
        .text("[data-section='camera'][data-verdict='fail']")
        .await;
    assert!(
        camera.contains("frames were black: is the lens covered?"),
        "the camera's failed check says what is wrong: {camera}"
    );
    technician.screenshot("10-selftest-fault").await;
    let mut exported = Vec::new();
    for (button, extension) in [
        ("#selftest-export-html", ".html"),
        ("#selftest-export-json", ".json"),
    ] {
        technician.click(button).await;
        technician
            .wait_until("the report is saved", Duration::from_secs(10), async |o| {
                o.text("#selftest-exported").await.ends_with(extension)
            })
            .await;
        let line = technician.text("#selftest-exported").await;
        let path = line.trim_start_matches("Report saved: ").to_owned();
        exported.push(std::fs::read_to_string(&path).expect("the exported report"));
    }
    assert!(
        exported[0].contains("<!DOCTYPE html>")
            && exported[0].contains("frames were black: is the lens covered?"),
        "the printable report names the fault"
    );
    let json: serde_json::Value = serde_json::from_str(&exported[1]).expect("JSON report");
    assert_eq!(json["verdict"], "fail");
    assert_eq!(json["drill"], "CameraBlack");

    // A practice drill pulls the reader out for the length of a self-test run: the status bar
    // marks it not connected while it is out, the self-test names it, and once the run ends
    // (every drill with it) the reader is shown connected again.
    technician
        .choose("#selftest-drill", "reader-unplugged")
        .await;
    technician.click("#selftest-run").await;
    technician
        .wait_until(
            "the status bar marks the reader not connected",
            Duration::from_secs(60),
            async |o| o.count("#status-scanner[data-ready='false']").await == 1,
        )
        .await;
    assert!(
        technician
            .text("#status-scanner")
            .await
            .ends_with("not connected"),
        "the status bar says the reader is not connected"
    );
    assert_eq!(
        technician.count("#status-camera[data-ready='true']").await,
        1,
        "the camera is still shown connected"
    );
    technician
        .wait_until(
            "the self-test with the reader out names the reader",
            Duration::from_secs(90),
            async |o| {
                o.count("[data-section='reader'][data-verdict='fail']")
                    .await
                    == 1
            },
        )
        .await;
    technician
        .wait_until(
            "the reader is shown connected again",
            Duration::from_secs(20),
            async |o| o.count("#status-scanner[data-ready='true']").await == 1,
        )
        .await;

    // The technician changes the station passphrase in the settings (no accounts there: only
    // the administrator manages those).
    technician.click("#open-settings").await;
    technician.find("#passphrase-current").await;
    assert_eq!(technician.count("#accounts-section").await, 0);
    technician
        .type_into("#passphrase-current", STATION_PASSPHRASE)
        .await;
    technician
        .type_into("#passphrase-new", NEW_STATION_PASSPHRASE)
        .await;
    technician
        .type_into("#passphrase-new2", NEW_STATION_PASSPHRASE)
        .await;
    technician.click("#passphrase-change").await;
    technician
        .wait_until(
            "the passphrase is changed",
            Duration::from_secs(30),
            async |o| o.text("#toast").await.contains("passphrase changed"),
        )
        .await;
    technician.client.close().await.expect("close the session");
    drop(driver);

    let packets = server.data.packets().await.expect("server packets");
    assert_eq!(
        packets.len(),
        2,
        "the server holds exactly the two enrollments, each once"
    );
    assert!(packets.iter().all(|p| p.verdict == "accepted"));

    let paths = StationPaths::new(station_dir.path());
    assert!(
        Station::open(paths.clone(), &passphrase()).is_err(),
        "the old station passphrase no longer opens the station"
    );
    let station = Station::open(
        paths,
        &station_core::vault::Passphrase::new(NEW_STATION_PASSPHRASE.into()),
    )
    .expect("station");
    let entries = station.store().audit_entries().expect("audit log");
    let finger_captures: Vec<&str> = entries
        .iter()
        .filter(|entry| entry.action == "capture.fingers")
        .map(|entry| entry.detail.as_str())
        .collect();
    assert_eq!(finger_captures.len(), 7, "{finger_captures:?}");
    for (detail, set) in finger_captures.iter().zip([
        "left slap",
        "left slap",
        "right slap",
        "thumbs",
        "left slap",
        "right slap",
        "thumbs",
    ]) {
        assert!(
            detail.starts_with(&format!("{set} captured automatically")),
            "the station captured the {set} by itself: {detail}"
        );
    }
    let actions: Vec<String> = entries.into_iter().map(|entry| entry.action).collect();
    assert_eq!(
        actions,
        [
            "station.provisioned",
            "officer.added",
            "login",
            "officer.added",
            "officer.added",
            "officer.added",
            "officer.added",
            "officer.removed",
            "officer.password_reset",
            "settings.changed",
            "logout",
            "login.failed",
            "login",
            "enrollment.started",
            "capture.face",
            "station.unlocked",
            "login",
            "enrollment.resumed",
            "capture.fingers",
            "capture.fingers",
            "capture.fingers",
            "capture.fingers",
            "capture.exception",
            "capture.exception_photo",
            "enrollment.submitted",
            "receipt.saved",
            "logout",
            "login",
            "enrollment.approved",
            "sync.paused",
            "sync.resumed",
            "enrollment.started",
            "capture.face",
            "capture.fingers",
            "capture.fingers",
            "capture.fingers",
            "enrollment.submitted",
            "station.unlocked",
            "login",
            "selftest.run",
            "selftest.devices",
            "selftest.run",
            "selftest.devices",
            "selftest.exported",
            "selftest.exported",
            "selftest.run",
            "selftest.devices",
            "settings.passphrase_changed",
        ],
        "every officer action in the app leaves an audit entry, in order"
    );
    let report = station_core::audit::verify(&station).expect("verify");
    assert_eq!(report.findings, [], "the app's audit log is intact");
}
