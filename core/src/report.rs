//! The technician's whole-station self-test report: the station itself (storage, crypto, audit
//! log), each device in use, and the link to the central server, as one document a technician
//! exports as JSON (for tools) or printable HTML (for the paper file). It holds no applicant
//! data: device names, verdicts, measurements and the technician's words only.

use hardware::selftest::{DeviceReport, Verdict};
use serde::Serialize;

use crate::selftest::SelfTestReport;

/// One checked property of a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReportCheck {
    /// What was checked.
    pub name: String,
    /// Its outcome.
    pub verdict: ReportVerdict,
    /// What was found, in words a technician can act on.
    pub detail: String,
    /// How long it took, in milliseconds.
    pub millis: u32,
}

/// A check's outcome (the hardware self-test's verdicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ReportVerdict {
    /// Works as it should.
    Pass,
    /// Works, but not as well as it should.
    Warn,
    /// Does not work.
    Fail,
}

impl ReportVerdict {
    /// The word on the report.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warning",
            Self::Fail => "FAIL",
        }
    }
}

impl From<Verdict> for ReportVerdict {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Pass => Self::Pass,
            Verdict::Warn => Self::Warn,
            Verdict::Fail => Self::Fail,
        }
    }
}

/// One part of the self-test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Section {
    /// Stable key: "station", "camera", "reader", "server".
    pub key: String,
    /// What was tested, e.g. the device's name.
    pub subject: String,
    /// The worst verdict of its checks.
    pub verdict: ReportVerdict,
    /// Every check, in the order run.
    pub checks: Vec<ReportCheck>,
}

fn millis(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl Section {
    fn new(key: &str, subject: String, checks: Vec<ReportCheck>) -> Self {
        let verdict = checks
            .iter()
            .map(|check| check.verdict)
            .max()
            .unwrap_or(ReportVerdict::Fail);
        Self {
            key: key.to_owned(),
            subject,
            verdict,
            checks,
        }
    }

    /// The station's own checks.
    pub fn station(report: &SelfTestReport) -> Self {
        let checks = report
            .checks
            .iter()
            .map(|check| ReportCheck {
                name: check.name.to_owned(),
                verdict: if check.passed {
                    ReportVerdict::Pass
                } else {
                    ReportVerdict::Fail
                },
                detail: check.detail.clone(),
                millis: millis(check.millis),
            })
            .collect();
        Self::new("station", format!("station {}", report.station_id), checks)
    }

    /// A device's self-test under `key` ("camera" or "reader").
    pub fn device(key: &str, report: &DeviceReport) -> Self {
        let checks = report
            .checks
            .iter()
            .map(|check| ReportCheck {
                name: check.name.to_owned(),
                verdict: check.verdict.into(),
                detail: check.reason.clone(),
                millis: millis(check.millis),
            })
            .collect();
        Self::new(key, report.device.name.clone(), checks)
    }

    /// The link to the central server at `url`: `outcome` says what a signed request met.
    pub fn server(url: &str, outcome: Result<String, String>, took_millis: u64) -> Self {
        let (verdict, detail) = match outcome {
            Ok(detail) => (ReportVerdict::Pass, detail),
            Err(detail) => (ReportVerdict::Fail, detail),
        };
        Self::new(
            "server",
            url.to_owned(),
            vec![ReportCheck {
                name: "signed request".into(),
                verdict,
                detail,
                millis: millis(took_millis),
            }],
        )
    }
}

/// A whole-station self-test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TechnicianReport {
    /// When it ran (RFC 3339).
    pub at: String,
    /// The station's name.
    pub station_name: String,
    /// The station's id.
    pub station_id: String,
    /// Who ran it.
    pub technician: String,
    /// The fault forced on a simulated device for practice, if any.
    pub drill: Option<String>,
    /// The worst verdict of all sections.
    pub verdict: ReportVerdict,
    /// The station, each device, the server link.
    pub sections: Vec<Section>,
}

impl TechnicianReport {
    /// Gathers `sections` into a report.
    pub fn new(
        at: String,
        station_name: String,
        station_id: String,
        technician: String,
        drill: Option<String>,
        sections: Vec<Section>,
    ) -> Self {
        let verdict = sections
            .iter()
            .map(|section| section.verdict)
            .max()
            .unwrap_or(ReportVerdict::Fail);
        Self {
            at,
            station_name,
            station_id,
            technician,
            drill,
            verdict,
            sections,
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The report as a printable, self-contained HTML page.
    pub fn to_html(&self) -> String {
        let mut html = String::new();
        html.push_str(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Station self-test</title><style>\
             body{font:14px/1.4 sans-serif;margin:2em;color:#111}\
             table{border-collapse:collapse;width:100%;margin-bottom:1.5em}\
             th,td{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}\
             .pass{color:#0a6b2c}.warn{color:#8a5a00}.fail{color:#a11;font-weight:bold}\
             </style></head><body>\n",
        );
        html.push_str(&format!(
            "<h1>Station self-test: <span class=\"{}\">{}</span></h1>\n<p>Station {} ({}) · run {} by {}</p>\n",
            verdict_class(self.verdict),
            escape(self.verdict.label()),
            escape(&self.station_name),
            escape(&self.station_id),
            escape(&self.at),
            escape(&self.technician),
        ));
        if let Some(drill) = &self.drill {
            html.push_str(&format!(
                "<p><strong>Practice run:</strong> the fault “{}” was forced on a simulated device.</p>\n",
                escape(drill)
            ));
        }
        for section in &self.sections {
            html.push_str(&format!(
                "<h2>{}: {} — <span class=\"{}\">{}</span></h2>\n<table><tr><th>check</th><th>result</th><th>found</th><th>ms</th></tr>\n",
                escape(&section.key),
                escape(&section.subject),
                verdict_class(section.verdict),
                escape(section.verdict.label()),
            ));
            for check in &section.checks {
                html.push_str(&format!(
                    "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>\n",
                    escape(&check.name),
                    verdict_class(check.verdict),
                    escape(check.verdict.label()),
                    escape(&check.detail),
                    check.millis,
                ));
            }
            html.push_str("</table>\n");
        }
        html.push_str("</body></html>\n");
        html
    }
}

fn verdict_class(verdict: ReportVerdict) -> &'static str {
    match verdict {
        ReportVerdict::Pass => "pass",
        ReportVerdict::Warn => "warn",
        ReportVerdict::Fail => "fail",
    }
}

/// `text` safe inside HTML text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hardware::simulated::{SimulatedCamera, SimulatedFault, SimulatedScanner};

    fn report(sections: Vec<Section>) -> TechnicianReport {
        TechnicianReport::new(
            "2026-11-24T02:00:00Z".into(),
            "Desk <1> & co".into(),
            "00000000-0000-0000-0000-000000000001".into(),
            "tari".into(),
            None,
            sections,
        )
    }

    #[test]
    fn a_black_camera_fails_the_report_with_its_reason_on_the_printable_page() {
        let camera = SimulatedCamera::new(1);
        camera.script_fault(SimulatedFault::BlackFrames);
        let camera = hardware::selftest::test_camera(&camera, std::time::Duration::from_secs(1));
        let reader = hardware::selftest::test_reader(&SimulatedScanner::new(1), 40);
        let report = report(vec![
            Section::device("camera", &camera),
            Section::device("reader", &reader),
            Section::server(
                "http://127.0.0.1:1",
                Err("offline: connection refused".into()),
                3,
            ),
        ]);
        assert_eq!(report.verdict, ReportVerdict::Fail);
        assert_eq!(report.sections[0].verdict, ReportVerdict::Fail);
        assert_eq!(report.sections[1].verdict, ReportVerdict::Pass);
        let failing = report.sections[0]
            .checks
            .iter()
            .find(|check| check.verdict == ReportVerdict::Fail)
            .expect("a failing camera check");
        let html = report.to_html();
        assert!(html.contains(&escape(&failing.detail)), "{html}");
        assert!(html.contains("offline: connection refused"));
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("JSON");
        assert_eq!(json["verdict"], "fail");
        assert_eq!(json["sections"][2]["key"], "server");
    }

    #[test]
    fn names_on_the_printable_page_cannot_inject_markup() {
        let html = report(Vec::new()).to_html();
        assert!(html.contains("Desk &lt;1&gt; &amp; co"));
        assert!(!html.contains("<1>"));
    }

    #[test]
    fn a_report_without_sections_is_not_a_pass() {
        assert_eq!(report(Vec::new()).verdict, ReportVerdict::Fail);
    }
}
