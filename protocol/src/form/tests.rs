use super::*;
use crate::identity::check_digit;
use time::macros::date;

const TODAY: Date = date!(2026 - 11 - 24);

fn forms() -> FormLibrary {
    FormLibrary::builtin().expect("the shipped forms are consistent")
}

fn form(id: &str) -> FormDef {
    forms()
        .current()
        .and_then(|set| set.form(id))
        .cloned()
        .expect("shipped form")
}

fn citizen() -> Demographics {
    let mut d = form("wni-passport").blank("2026.11");
    d.full_name = "Siti Rahayu".into();
    // Jakarta Selatan; a woman born 12 April 1990 (12 + 40 = 52).
    d.document_number = "3174055204900003".into();
    d.date_of_birth = "1990-04-12".into();
    d.sex = "F".into();
    d.set("place_of_birth", "Jakarta".into());
    d.set("passport_type", "electronic".into());
    d.set("address", "Jl. Merdeka 1, Jakarta".into());
    d
}

/// A TD3 zone for a French visitor with every check digit computed.
fn visitor_zone(expiry: &str) -> String {
    let line1 = format!("{:<<44}", "P<FRADUPONT<<MARIE<CLAIRE");
    let (number, birth) = ("X4K7Q2M19", "850317");
    let personal = "<".repeat(14);
    let body = format!(
        "{number}{}FRA{birth}{}F{expiry}{}{personal}<",
        check_digit(number),
        check_digit(birth),
        check_digit(expiry)
    );
    let composite = format!("{}{}{}", &body[0..10], &body[13..20], &body[21..43]);
    format!("{line1}\n{body}{}", check_digit(&composite))
}

#[test]
fn the_shipped_forms_offer_a_citizen_passport_and_two_foreigner_forms() {
    let library = forms();
    let set = library.current().expect("one version");
    let ids: Vec<_> = set
        .forms
        .iter()
        .map(|f| (f.id.as_str(), f.applicant))
        .collect();
    assert_eq!(
        ids,
        [
            ("wni-passport", Applicant::Wni),
            ("wna-visa", Applicant::Wna),
            ("wna-stay-permit", Applicant::Wna)
        ]
    );
    for form in &set.forms {
        for field in &form.fields {
            assert!(!field.label.en.is_empty() && !field.label.id.is_empty());
        }
    }
}

#[test]
fn a_complete_citizen_form_is_valid() {
    assert_eq!(forms().validate(&citizen(), TODAY), Ok(()));
}

#[test]
fn a_blank_citizen_form_already_says_indonesian_and_lists_every_required_field() {
    let blank = form("wni-passport").blank("2026.11");
    assert_eq!(blank.nationality, "IDN");
    let errors = forms().validate(&blank, TODAY).expect_err("blank");
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "full_name",
            "document_number",
            "place_of_birth",
            "date_of_birth",
            "sex",
            "passport_type",
            "address"
        ]
    );
    assert_eq!(errors[0].message.en, "Fill in: Full name.");
    assert_eq!(errors[0].message.id, "Wajib diisi: Nama lengkap.");
}

#[test]
fn a_nik_that_disagrees_with_the_birth_date_or_sex_is_refused_in_both_languages() {
    let mut form = citizen();
    form.date_of_birth = "1990-04-13".into();
    let errors = forms().validate(&form, TODAY).expect_err("mismatch");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "document_number");
    assert_eq!(
        errors[0].message.en,
        "The NIK says born 12-04-90, the form says 1990-04-13."
    );
    assert!(errors[0]
        .message
        .id
        .starts_with("NIK menyatakan lahir 12-04-90"));

    let mut form = citizen();
    form.sex = "M".into();
    let errors = forms().validate(&form, TODAY).expect_err("sex");
    assert!(errors[0].message.en.contains("encodes sex F"));
}

#[test]
fn a_citizen_form_refuses_a_foreign_nationality_and_a_foreigner_form_refuses_idn() {
    let mut form = citizen();
    form.nationality = "MYS".into();
    let errors = forms().validate(&form, TODAY).expect_err("foreign");
    assert_eq!(errors[0].message.en, "This form is for IDN only.");

    let library = forms();
    let visa = form_from_zone(&library, &visitor_zone("310915"));
    let mut indonesian = visa.clone();
    indonesian.nationality = "IDN".into();
    let errors = library.validate(&indonesian, TODAY).expect_err("IDN");
    assert!(errors[0]
        .message
        .en
        .contains("choose the other applicant type"));
}

fn form_from_zone(library: &FormLibrary, zone: &str) -> Demographics {
    let set = library.current().expect("version");
    let visa = set.form("wna-visa").expect("visa form");
    let prefill = visa.prefill_from_mrz(zone, 2026).expect("zone reads");
    let mut form = visa.blank(&set.version);
    for (name, value) in prefill.values {
        form.set(&name, value);
    }
    form.set("visa_type", "visit".into());
    form
}

#[test]
fn a_passport_zone_fills_a_foreigners_form_that_then_validates() {
    let library = forms();
    let form = form_from_zone(&library, &visitor_zone("310915"));
    assert_eq!(form.full_name, "MARIE CLAIRE DUPONT");
    assert_eq!(form.document_number, "X4K7Q2M19");
    assert_eq!(form.nationality, "FRA");
    assert_eq!(form.date_of_birth, "1985-03-17");
    assert_eq!(form.sex, "F");
    assert_eq!(form.value("passport_expiry"), Some("2031-09-15"));
    assert_eq!(form.value("issuing_state"), Some("FRA"));
    assert_eq!(library.validate(&form, TODAY), Ok(()));
}

#[test]
fn an_expired_passport_read_from_its_zone_is_refused_on_the_expiry_field() {
    let library = forms();
    let form = form_from_zone(&library, &visitor_zone("250101"));
    let errors = library.validate(&form, TODAY).expect_err("expired");
    assert_eq!(errors[0].field, "passport_expiry");
    assert!(errors[0].message.en.contains("expired"));
}

#[test]
fn a_misread_zone_is_refused_with_the_check_digit_that_failed() {
    let zone = visitor_zone("310915").replace("X4K7Q2M19", "X4K7Q2M18");
    let error = form("wna-visa")
        .prefill_from_mrz(&zone, 2026)
        .expect_err("misread");
    assert!(error.en.contains("document number"), "{}", error.en);
    assert!(error.id.contains("nomor dokumen"), "{}", error.id);
}

#[test]
fn fields_a_form_does_not_have_and_unknown_versions_are_refused() {
    let mut form = citizen();
    form.fields.insert("favourite_colour".into(), "blue".into());
    let errors = forms().validate(&form, TODAY).expect_err("extra");
    assert_eq!(errors[0].field, "favourite_colour");

    let mut form = citizen();
    form.form_version = "2099.01".into();
    let errors = forms().validate(&form, TODAY).expect_err("version");
    assert_eq!(errors[0].field, "form");
    assert!(errors[0].message.en.contains("2099.01"));
}

#[test]
fn normalizing_fixes_spacing_and_case_an_officer_would_not_notice() {
    let mut sloppy = citizen();
    sloppy.full_name = "  Siti   Rahayu ".into();
    sloppy.sex = "f".into();
    sloppy.nationality = "idn".into();
    sloppy.document_number = "3174 0552 0490 0003".into();
    sloppy.set("phone", " 0812-3456-7890 ".into());
    let clean = form("wni-passport").normalize(&sloppy);
    let mut expected = citizen();
    expected.set("phone", "081234567890".into());
    assert_eq!(clean, expected);
}

#[test]
fn every_bad_field_is_reported_at_once_in_the_forms_order() {
    let mut form = citizen();
    form.full_name = "R2-D2".into();
    form.date_of_birth = "12/04/1990".into();
    form.sex = "female".into();
    form.set("passport_type", "diplomatic".into());
    form.set("phone", "12".into());
    let errors = forms().validate(&form, TODAY).expect_err("invalid");
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "full_name",
            "document_number",
            "date_of_birth",
            "sex",
            "passport_type",
            "phone"
        ]
    );
}

#[test]
fn a_definition_file_that_drops_a_core_field_or_repeats_one_is_refused() {
    let mut set = FormSet::builtin().expect("builtin");
    set.forms[0].fields.retain(|f| f.name != "sex");
    let json = serde_json::to_string(&set).expect("json");
    let error = FormSet::parse(&json).expect_err("no sex").to_string();
    assert!(
        error.contains("wni-passport lacks the field sex"),
        "{error}"
    );

    let mut set = FormSet::builtin().expect("builtin");
    let copy = set.forms[1].fields[0].clone();
    set.forms[1].fields.push(copy);
    let json = serde_json::to_string(&set).expect("json");
    let error = FormSet::parse(&json).expect_err("twice").to_string();
    assert!(error.contains("full_name appears twice"), "{error}");

    let error = FormSet::parse("{\"version\": 3}")
        .expect_err("shape")
        .to_string();
    assert!(error.contains("not valid JSON"), "{error}");
}

#[test]
fn a_regulation_change_is_a_new_file_and_old_packets_still_check() {
    let mut newer = FormSet::builtin().expect("builtin");
    newer.version = "2027.01".into();
    newer.forms[0].fields.push(FieldDef {
        name: "mother_name".into(),
        label: Label::new("Mother's name", "Nama ibu kandung"),
        hint: None,
        required: true,
        mrz: None,
        kind: FieldKind::Name,
    });
    let newer = FormSet::parse(&serde_json::to_string(&newer).expect("json")).expect("valid");
    let library = FormLibrary::new(vec![FormSet::builtin().expect("builtin"), newer]);
    assert_eq!(
        library.validate(&citizen(), TODAY),
        Ok(()),
        "2026.11 still checks"
    );
    let mut updated = citizen();
    updated.form_version = "2027.01".into();
    let errors = library.validate(&updated, TODAY).expect_err("needs mother");
    assert_eq!(errors[0].field, "mother_name");
    updated.set("mother_name", "Sri Wahyuni".into());
    assert_eq!(library.validate(&updated, TODAY), Ok(()));
    assert_eq!(
        library.current().map(|s| s.version.as_str()),
        Some("2027.01")
    );
}
