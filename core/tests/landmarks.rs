//! The landmark model evaluated here places the same points as dlib itself (the reference
//! implementation, `dlib-bin` 20.0.1 from PyPI, `shape_predictor(grey, rectangle)`), on the same
//! grey image and box: the expected points below are dlib's output, rounded as dlib rounds.

use station_core::quality::landmarks::{shipped, GreyView};

/// Left, top, right, bottom.
type Rect = (f64, f64, f64, f64);
type Pixel = (i64, i64);

fn astronaut_grey() -> (u32, u32, Vec<u8>) {
    let image = image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/astronaut.png"
    ))
    .expect("the astronaut fixture")
    .to_rgb8();
    let grey = image
        .pixels()
        .map(|p| ((u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8) as u8)
        .collect();
    (image.width(), image.height(), grey)
}

#[test]
fn the_landmarks_are_dlibs_own_to_the_pixel_for_the_same_face_box() {
    let (width, height, pixels) = astronaut_grey();
    let model = shipped().expect("the shipped landmark model");
    let cases: [(Rect, [Pixel; 5]); 3] = [
        // dlib's own HOG detector's box on this image.
        (
            (179.0, 83.0, 266.0, 170.0),
            [(255, 104), (238, 105), (195, 101), (212, 103), (224, 135)],
        ),
        (
            (160.0, 60.0, 270.0, 170.0),
            [(255, 104), (238, 104), (195, 101), (212, 103), (224, 135)],
        ),
        (
            (150.0, 50.0, 290.0, 190.0),
            [(255, 104), (237, 104), (195, 101), (212, 103), (224, 134)],
        ),
    ];
    for (rect, expected) in cases {
        let points = model.predict(
            GreyView {
                width,
                height,
                pixels: &pixels,
            },
            rect,
        );
        let rounded: Vec<(i64, i64)> = points
            .iter()
            .map(|(x, y)| ((x + 0.5).floor() as i64, (y + 0.5).floor() as i64))
            .collect();
        assert_eq!(rounded, expected, "box {rect:?}");
    }
}
