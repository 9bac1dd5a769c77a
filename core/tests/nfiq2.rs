//! The station's NFIQ 2 against NIST's own implementation (NFIQ 2.3 in PyPI's nbis-py 0.1.3) on
//! NIST's example print `SFinGe_Test01` (usnistgov/NFIQ2 `examples/images/`, a synthetic SFinGe
//! print, NIST licence): every one of the 69 features equals NIST's (the expected values below
//! are nbis-py's output, written with full precision; the four minutiae features through the
//! FingerJet FX OSE port), and so does the score.

use station_core::quality::nfiq2::{self, Nfiq2Error, FEATURE_NAMES};

/// nbis-py 0.1.3's features of the fixture.
const NIST: [(&str, f64); 69] = [
    ("FDA_Bin10_0", 3.0),
    ("FDA_Bin10_1", 2.0),
    ("FDA_Bin10_2", 6.0),
    ("FDA_Bin10_3", 5.0),
    ("FDA_Bin10_4", 15.0),
    ("FDA_Bin10_5", 21.0),
    ("FDA_Bin10_6", 28.0),
    ("FDA_Bin10_7", 35.0),
    ("FDA_Bin10_8", 54.0),
    ("FDA_Bin10_9", 0.0),
    ("FDA_Bin10_Mean", 0.4589409812591027),
    ("FDA_Bin10_StdDev", 0.08930487763812188),
    ("FingerJetFX_MinCount_COMMinRect200x200", 19.0),
    ("FingerJetFX_MinutiaeCount", 69.0),
    ("FJFXPos_Mu_MinutiaeQuality_2", 0.5362318840579711),
    ("FJFXPos_OCL_MinutiaeQuality_80", 0.6956521739130435),
    ("ImgProcROIArea_Mean", 177.3634788950679),
    ("LCS_Bin10_0", 0.0),
    ("LCS_Bin10_1", 16.0),
    ("LCS_Bin10_2", 0.0),
    ("LCS_Bin10_3", 7.0),
    ("LCS_Bin10_4", 2.0),
    ("LCS_Bin10_5", 16.0),
    ("LCS_Bin10_6", 19.0),
    ("LCS_Bin10_7", 24.0),
    ("LCS_Bin10_8", 31.0),
    ("LCS_Bin10_9", 54.0),
    ("LCS_Bin10_Mean", 0.7705624817305978),
    ("LCS_Bin10_StdDev", 0.25179876112337063),
    ("MMB", 185.52249818459546),
    ("Mu", 183.9750534188034),
    ("OCL_Bin10_0", 3.0),
    ("OCL_Bin10_1", 2.0),
    ("OCL_Bin10_2", 1.0),
    ("OCL_Bin10_3", 1.0),
    ("OCL_Bin10_4", 3.0),
    ("OCL_Bin10_5", 10.0),
    ("OCL_Bin10_6", 27.0),
    ("OCL_Bin10_7", 50.0),
    ("OCL_Bin10_8", 62.0),
    ("OCL_Bin10_9", 34.0),
    ("OCL_Bin10_Mean", 0.8316517302439709),
    ("OCL_Bin10_StdDev", 0.11070135401907119),
    ("OF_Bin10_0", 9.0),
    ("OF_Bin10_1", 9.0),
    ("OF_Bin10_2", 13.0),
    ("OF_Bin10_3", 20.0),
    ("OF_Bin10_4", 19.0),
    ("OF_Bin10_5", 9.0),
    ("OF_Bin10_6", 8.0),
    ("OF_Bin10_7", 6.0),
    ("OF_Bin10_8", 11.0),
    ("OF_Bin10_9", 7.0),
    ("OF_Bin10_Mean", 0.20249854612532261),
    ("OF_Bin10_StdDev", 0.26248992513972896),
    ("OrientationMap_ROIFilter_CoherenceRel", 0.7316942466355643),
    ("OrientationMap_ROIFilter_CoherenceSum", 143.4120723405706),
    ("RVUP_Bin10_0", 5.0),
    ("RVUP_Bin10_1", 70.0),
    ("RVUP_Bin10_2", 81.0),
    ("RVUP_Bin10_3", 91.0),
    ("RVUP_Bin10_4", 269.0),
    ("RVUP_Bin10_5", 142.0),
    ("RVUP_Bin10_6", 35.0),
    ("RVUP_Bin10_7", 11.0),
    ("RVUP_Bin10_8", 0.0),
    ("RVUP_Bin10_9", 0.0),
    ("RVUP_Bin10_Mean", 1.016129384346716),
    ("RVUP_Bin10_StdDev", 0.3612135308911112),
];

fn fixture() -> (Vec<u8>, usize, usize) {
    let image = image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/nfiq2_sfinge_test01.png"
    ))
    .expect("the NIST example print")
    .to_luma8();
    let (w, h) = (image.width() as usize, image.height() as usize);
    (image.into_raw(), w, h)
}

#[test]
fn every_feature_and_the_score_equal_nists_own() {
    let (pixels, w, h) = fixture();
    let result = nfiq2::assess(&pixels, w, h, 500).expect("NIST scores this print");
    for (name, expected) in NIST {
        let k = FEATURE_NAMES
            .iter()
            .position(|n| *n == name)
            .expect("a feature name");
        let ours = result.features[k];
        assert!(
            (ours - expected).abs() <= 1e-9 * expected.abs().max(1.0),
            "{name}: NIST {expected}, ours {ours}"
        );
    }
    assert_eq!(result.score, 54, "NIST's score");
}

#[test]
fn a_print_not_at_500_ppi_a_blank_one_and_a_wrong_size_are_refused_by_reason() {
    let (pixels, w, h) = fixture();
    assert_eq!(
        nfiq2::assess(&pixels, w, h, 1000),
        Err(Nfiq2Error::Resolution(1000))
    );
    assert_eq!(
        nfiq2::assess(&vec![255; 400 * 500], 400, 500, 500),
        Err(Nfiq2Error::Blank)
    );
    assert_eq!(nfiq2::assess(&pixels, w + 1, h, 500), Err(Nfiq2Error::Size));
    // A print larger than NFIQ 2 accepts once its white frame is cut.
    let big = vec![100u8; 900 * 1100];
    assert_eq!(
        nfiq2::assess(&big, 900, 1100, 500),
        Err(Nfiq2Error::TooLarge(900, 1100))
    );
}

#[test]
fn a_print_without_a_single_orientation_flow_block_is_refused_as_nist_refuses_it() {
    use formats::FingerPosition;
    use hardware::simulated::{degrade, render_fingerprint_with, Conditions, Degradation};
    // The simulator's seed-1 print with partial contact 0.8 (`quality_corpus`'s
    // s001_partial_08): NIST's NFIQ 2.3 gives it no score, its orientation-flow histogram
    // having no values at all (OpenCV's meanStdDev refuses an empty input).
    let good = render_fingerprint_with(1, FingerPosition::ALL[1], &Conditions::GOOD);
    let print = degrade(&good, Degradation::PartialContact, 0.8, 1);
    let (w, h) = (print.width() as usize, print.height() as usize);
    let refused = nfiq2::assess(print.pixels(), w, h, 500);
    assert!(
        matches!(refused, Err(Nfiq2Error::TooLittleRidgeArea { .. })),
        "{refused:?}"
    );
}
