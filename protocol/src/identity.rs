//! Identity numbers an officer types or scans: the Indonesian NIK and the machine-readable zone
//! of a passport (ICAO 9303 TD3). Pure functions, shared by the station (to check and prefill a
//! form) and the server (to check again).

use time::{Date, Month};

/// What a NIK encodes besides the region and serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NikFacts {
    /// Province code (digits 1–2).
    pub province: u8,
    /// Day, month and two-digit year of birth (digits 7–12; the day is +40 for women).
    pub birth_day: u8,
    /// Month of birth.
    pub birth_month: u8,
    /// Year of birth modulo 100.
    pub birth_year_2: u8,
    /// `F` or `M`.
    pub sex: char,
}

/// Why a NIK is not valid, in words an officer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NikError {
    /// Not 16 digits.
    #[error("a NIK is 16 digits")]
    Shape,
    /// The province code is not one of Indonesia's.
    #[error("the NIK's first two digits ({0:02}) are not an Indonesian province code")]
    Province(u8),
    /// Regency, district or serial is zero.
    #[error("the NIK's regency, district or serial number is 00/0000")]
    ZeroPart,
    /// Digits 7–12 are not a date.
    #[error("the NIK's digits 7–12 are not a date of birth (day, +40 for women; month; year)")]
    BirthDate,
    /// The NIK's date of birth differs from the form's.
    #[error("the NIK says born {nik}, the form says {form}")]
    BirthDateMismatch {
        /// From the NIK, `DD-MM-YY`.
        nik: String,
        /// From the form, `YYYY-MM-DD`.
        form: String,
    },
    /// The NIK's sex differs from the form's.
    #[error("the NIK encodes sex {nik}, the form says {form}")]
    SexMismatch {
        /// From the NIK.
        nik: char,
        /// From the form.
        form: String,
    },
}

impl NikError {
    /// The same explanation in Bahasa Indonesia, for officers working in it.
    pub fn indonesian(&self) -> String {
        match self {
            Self::Shape => "NIK terdiri dari 16 angka".into(),
            Self::Province(code) => {
                format!("dua angka pertama NIK ({code:02}) bukan kode provinsi Indonesia")
            }
            Self::ZeroPart => {
                "kode kabupaten, kecamatan atau nomor urut NIK bernilai 00/0000".into()
            }
            Self::BirthDate => "angka ke-7 s.d. 12 NIK bukan tanggal lahir (tanggal, +40 untuk \
                                perempuan; bulan; tahun)"
                .into(),
            Self::BirthDateMismatch { nik, form } => {
                format!("NIK menyatakan lahir {nik}, formulir menyatakan {form}")
            }
            Self::SexMismatch { nik, form } => {
                format!("NIK menyatakan jenis kelamin {nik}, formulir menyatakan {form}")
            }
        }
    }
}

/// Province codes of Indonesia (Kemendagri), including the Papua provinces formed in 2022.
const PROVINCES: [u8; 38] = [
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65,
    71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96,
];

fn two(digits: &[u8]) -> u8 {
    (digits[0] - b'0') * 10 + (digits[1] - b'0')
}

/// Reads a NIK: 16 digits, a known province, non-zero regency, district and serial, and a real
/// date of birth (women's day + 40).
///
/// # Errors
/// See [`NikError`].
pub fn parse_nik(text: &str) -> Result<NikFacts, NikError> {
    let bytes = text.trim().as_bytes();
    if bytes.len() != 16 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(NikError::Shape);
    }
    let province = two(&bytes[0..2]);
    if !PROVINCES.contains(&province) {
        return Err(NikError::Province(province));
    }
    if two(&bytes[2..4]) == 0 || two(&bytes[4..6]) == 0 || &bytes[12..16] == b"0000" {
        return Err(NikError::ZeroPart);
    }
    let (coded_day, month, year) = (two(&bytes[6..8]), two(&bytes[8..10]), two(&bytes[10..12]));
    let (day, sex) = if coded_day > 40 {
        (coded_day - 40, 'F')
    } else {
        (coded_day, 'M')
    };
    // Any century will do to check the day exists; 2000 is a leap year like 1900 is not, so
    // take 2000 + yy (29 February exists in yy = 00 only in 2000, which a person born then has).
    let month_value = Month::try_from(month).map_err(|_| NikError::BirthDate)?;
    Date::from_calendar_date(2000 + i32::from(year), month_value, day)
        .map_err(|_| NikError::BirthDate)?;
    Ok(NikFacts {
        province,
        birth_day: day,
        birth_month: month,
        birth_year_2: year,
        sex,
    })
}

/// Checks a NIK against the form's date of birth (`YYYY-MM-DD`) and sex (`F`/`M`/`X`).
///
/// # Errors
/// See [`NikError`].
pub fn check_nik(text: &str, date_of_birth: &str, sex: &str) -> Result<NikFacts, NikError> {
    let facts = parse_nik(text)?;
    let form = date_of_birth.trim();
    let parts: Vec<&str> = form.split('-').collect();
    let matches = parts.len() == 3
        && parts[0].len() == 4
        && parts[0][2..].parse::<u8>().ok() == Some(facts.birth_year_2)
        && parts[1].parse::<u8>().ok() == Some(facts.birth_month)
        && parts[2].parse::<u8>().ok() == Some(facts.birth_day);
    if !matches {
        return Err(NikError::BirthDateMismatch {
            nik: format!(
                "{:02}-{:02}-{:02}",
                facts.birth_day, facts.birth_month, facts.birth_year_2
            ),
            form: form.to_owned(),
        });
    }
    let form_sex = sex.trim().to_ascii_uppercase();
    if form_sex != facts.sex.to_string() {
        return Err(NikError::SexMismatch {
            nik: facts.sex,
            form: form_sex,
        });
    }
    Ok(facts)
}

/// A passport's machine-readable zone (ICAO 9303 TD3), read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassportMrz {
    /// `P` and the optional second letter.
    pub document_type: String,
    /// Issuing state, ICAO alpha-3.
    pub issuing_state: String,
    /// Primary identifier (surname), spaces for fillers.
    pub surname: String,
    /// Secondary identifier (given names), spaces for fillers.
    pub given_names: String,
    /// Document number without fillers.
    pub document_number: String,
    /// Nationality, ICAO alpha-3.
    pub nationality: String,
    /// Date of birth, `YYYY-MM-DD` (century chosen so the date is not in the future).
    pub date_of_birth: String,
    /// `F`, `M` or `X` (`<` in the zone).
    pub sex: String,
    /// Date of expiry, `YYYY-MM-DD` (20YY).
    pub date_of_expiry: String,
    /// Personal number without fillers (may be empty).
    pub personal_number: String,
}

/// Why a machine-readable zone was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MrzError {
    /// Not two lines of 44 characters from `A–Z`, `0–9` and `<`.
    #[error("a passport MRZ is two lines of 44 characters (A–Z, 0–9 and <)")]
    Shape,
    /// The first line does not start with `P`.
    #[error("this is not a passport MRZ (the first line must start with P)")]
    NotPassport,
    /// A check digit does not match: the zone was misread or altered.
    #[error("the check digit of the {0} does not match; scan or type the MRZ again")]
    CheckDigit(&'static str),
    /// A date field is not a date.
    #[error("the {0} in the MRZ is not a date")]
    Date(&'static str),
}

impl MrzError {
    /// The same explanation in Bahasa Indonesia, for officers working in it.
    pub fn indonesian(&self) -> String {
        match self {
            Self::Shape => "MRZ paspor terdiri dari dua baris 44 karakter (A–Z, 0–9 dan <)".into(),
            Self::NotPassport => "ini bukan MRZ paspor (baris pertama harus diawali P)".into(),
            Self::CheckDigit(name) => format!(
                "digit pemeriksa {} tidak cocok; pindai atau ketik ulang MRZ",
                match *name {
                    "document number" => "nomor dokumen",
                    "date of birth" => "tanggal lahir",
                    "date of expiry" => "tanggal habis berlaku",
                    "personal number" => "nomor pribadi",
                    _ => "seluruh zona",
                }
            ),
            Self::Date(name) => format!(
                "{} pada MRZ bukan tanggal",
                if *name == "date of birth" {
                    "tanggal lahir"
                } else {
                    "tanggal habis berlaku"
                }
            ),
        }
    }
}

/// The ICAO 9303 check digit of `field`: weights 7, 3, 1; digits as themselves, `A`–`Z` as 10–35,
/// `<` as 0; the sum modulo 10.
pub fn check_digit(field: &str) -> u8 {
    let sum: u32 = field
        .bytes()
        .zip([7u32, 3, 1].iter().cycle())
        .map(|(byte, weight)| {
            let value = match byte {
                b'0'..=b'9' => u32::from(byte - b'0'),
                b'A'..=b'Z' => u32::from(byte - b'A') + 10,
                _ => 0,
            };
            value * weight
        })
        .sum();
    (sum % 10) as u8
}

fn check(field: &str, digit: u8, name: &'static str) -> Result<(), MrzError> {
    let expected = check_digit(field);
    // An all-filler optional field may carry `<` as its check digit.
    let filler_ok = digit == b'<' && field.bytes().all(|b| b == b'<');
    if filler_ok || digit.checked_sub(b'0') == Some(expected) {
        Ok(())
    } else {
        Err(MrzError::CheckDigit(name))
    }
}

fn yymmdd(
    field: &str,
    name: &'static str,
    century: impl Fn(i32) -> i32,
) -> Result<String, MrzError> {
    let number = |range: std::ops::Range<usize>| -> Result<u8, MrzError> {
        field
            .get(range)
            .and_then(|s| s.parse().ok())
            .ok_or(MrzError::Date(name))
    };
    let (yy, mm, dd) = (number(0..2)?, number(2..4)?, number(4..6)?);
    let year = century(i32::from(yy));
    let month = Month::try_from(mm).map_err(|_| MrzError::Date(name))?;
    let date = Date::from_calendar_date(year, month, dd).map_err(|_| MrzError::Date(name))?;
    Ok(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

fn unfill(field: &str) -> String {
    field.trim_end_matches('<').replace('<', " ")
}

/// Reads a TD3 passport MRZ (two lines of 44 characters, or the 88 characters run together as
/// some readers type them; surrounding space and a blank line between them are ignored) and
/// verifies all five check digits. `this_year` picks the century of the birth date (not after
/// this year).
///
/// # Errors
/// See [`MrzError`].
pub fn parse_passport_mrz(text: &str, this_year: i32) -> Result<PassportMrz, MrzError> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.trim().to_ascii_uppercase())
        .filter(|l| !l.is_empty())
        .collect();
    // Some MRZ readers type both lines without a line break between them.
    if let [joined] = lines.as_slice() {
        if joined.len() == 88 && joined.is_ascii() {
            let (one, two) = joined.split_at(44);
            lines = vec![one.to_owned(), two.to_owned()];
        }
    }
    let valid = |l: &String| {
        l.len() == 44
            && l.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'<')
    };
    if lines.len() != 2 || !lines.iter().all(valid) {
        return Err(MrzError::Shape);
    }
    let (one, two) = (&lines[0], &lines[1]);
    if !one.starts_with('P') {
        return Err(MrzError::NotPassport);
    }
    let digit = |at: usize| two.as_bytes()[at];
    check(&two[0..9], digit(9), "document number")?;
    check(&two[13..19], digit(19), "date of birth")?;
    check(&two[21..27], digit(27), "date of expiry")?;
    check(&two[28..42], digit(42), "personal number")?;
    let composite = format!("{}{}{}", &two[0..10], &two[13..20], &two[21..43]);
    check(&composite, digit(43), "whole zone")?;

    let names = &one[5..44];
    let (surname, given) = names.split_once("<<").unwrap_or((names, ""));
    let birth = yymmdd(&two[13..19], "date of birth", |yy| {
        if 2000 + yy > this_year {
            1900 + yy
        } else {
            2000 + yy
        }
    })?;
    let expiry = yymmdd(&two[21..27], "date of expiry", |yy| 2000 + yy)?;
    let sex = match &two[20..21] {
        "<" => "X",
        other => other,
    };
    Ok(PassportMrz {
        document_type: unfill(&one[0..2]).trim().to_owned(),
        issuing_state: unfill(&one[2..5]).trim().to_owned(),
        surname: unfill(surname).trim().to_owned(),
        given_names: unfill(given).trim().to_owned(),
        document_number: unfill(&two[0..9]).trim().to_owned(),
        nationality: unfill(&two[10..13]).trim().to_owned(),
        date_of_birth: birth,
        sex: sex.to_owned(),
        date_of_expiry: expiry,
        personal_number: unfill(&two[28..42]).trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECIMEN: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";

    #[test]
    fn the_icao_specimen_passport_reads_with_every_field() {
        let mrz = parse_passport_mrz(SPECIMEN, 2026).expect("the ICAO 9303 specimen is valid");
        assert_eq!(mrz.surname, "ERIKSSON");
        assert_eq!(mrz.given_names, "ANNA MARIA");
        assert_eq!(mrz.issuing_state, "UTO");
        assert_eq!(mrz.document_number, "L898902C3");
        assert_eq!(mrz.nationality, "UTO");
        assert_eq!(mrz.date_of_birth, "1974-08-12");
        assert_eq!(mrz.sex, "F");
        assert_eq!(mrz.date_of_expiry, "2012-04-15");
        assert_eq!(mrz.personal_number, "ZE184226B");
        assert_eq!(mrz.document_type, "P");
        let joined = SPECIMEN.replace('\n', "");
        assert_eq!(
            parse_passport_mrz(&joined, 2026),
            Ok(mrz),
            "a reader that types both lines without a break"
        );
    }

    #[test]
    fn a_misread_character_is_caught_by_the_check_digit_that_covers_it() {
        let cases = [
            ("L898902C36", "L898902C46", "document number"),
            ("7408122F", "7408132F", "date of birth"),
            ("1204159", "1204169", "date of expiry"),
            ("ZE184226B", "ZE184228B", "personal number"),
        ];
        for (good, bad, field) in cases {
            let altered = SPECIMEN.replace(good, bad);
            assert_eq!(
                parse_passport_mrz(&altered, 2026),
                Err(MrzError::CheckDigit(field)),
                "{field}"
            );
        }
        let composite = SPECIMEN.replace("<<<<<10", "<<<<<11");
        assert_eq!(
            parse_passport_mrz(&composite, 2026),
            Err(MrzError::CheckDigit("whole zone"))
        );
        assert_eq!(parse_passport_mrz("P<UTO", 2026), Err(MrzError::Shape));
        let visa = SPECIMEN.replacen('P', "V", 1);
        assert_eq!(parse_passport_mrz(&visa, 2026), Err(MrzError::NotPassport));
    }

    #[test]
    fn a_nik_encodes_birth_date_and_sex_and_must_agree_with_the_form() {
        // Jakarta Selatan (31 74), district 05; a woman born 12 April 1990 (12 + 40 = 52).
        let nik = "3174055204900003";
        let facts = parse_nik(nik).expect("valid");
        assert_eq!((facts.province, facts.sex), (31, 'F'));
        assert!(check_nik(nik, "1990-04-12", "F").is_ok());
        assert!(matches!(
            check_nik(nik, "1990-04-13", "F"),
            Err(NikError::BirthDateMismatch { .. })
        ));
        assert_eq!(
            check_nik(nik, "1990-04-12", "M"),
            Err(NikError::SexMismatch {
                nik: 'F',
                form: "M".into()
            })
        );
        let man = "3174051204900003";
        assert!(check_nik(man, "1990-04-12", "M").is_ok());
    }

    #[test]
    fn a_malformed_nik_is_refused_with_what_is_wrong() {
        assert_eq!(parse_nik("317405520490000"), Err(NikError::Shape));
        assert_eq!(parse_nik("31740552049000a3"), Err(NikError::Shape));
        assert_eq!(parse_nik("9974055204900003"), Err(NikError::Province(99)));
        assert_eq!(parse_nik("3100055204900003"), Err(NikError::ZeroPart));
        assert_eq!(parse_nik("3174055204900000"), Err(NikError::ZeroPart));
        assert_eq!(
            parse_nik("3174053204900003"),
            Err(NikError::BirthDate),
            "day 32"
        );
        assert_eq!(
            parse_nik("3174057102900003"),
            Err(NikError::BirthDate),
            "31 February"
        );
        assert_eq!(
            parse_nik("3174053113900003"),
            Err(NikError::BirthDate),
            "month 13"
        );
    }
}
