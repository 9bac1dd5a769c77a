//! Enrollment forms from configuration: which fields each kind of applicant fills in, in what
//! order, which are required and how each is checked.
//!
//! A regulation change is a new form definition file (`forms.json`, see
//! `protocol/forms/forms.json`), not a new build: the station reads the file it is given, the
//! server checks every packet against the version of the form the packet names. The five
//! fields every packet carries ([`CORE_FIELDS`]) must be in every form; the rest go into
//! [`Demographics::fields`].

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use time::Date;

use crate::content::{Demographics, FieldError};
use crate::identity::{check_nik, parse_passport_mrz, PassportMrz};

/// The forms this build ships with; a deployment may load a newer file over them.
pub const BUILTIN_FORMS: &str = include_str!("../forms/forms.json");

/// Fields every form has, because every packet, list and receipt needs them.
pub const CORE_FIELDS: [&str; 5] = [
    "full_name",
    "date_of_birth",
    "sex",
    "nationality",
    "document_number",
];

/// Text in each language of the app.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// English.
    pub en: String,
    /// Bahasa Indonesia.
    pub id: String,
}

impl Label {
    /// A label from its English and Indonesian text.
    pub fn new(en: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            id: id.into(),
        }
    }
}

/// Who fills in a form.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applicant {
    /// An Indonesian citizen (warga negara Indonesia).
    Wni,
    /// A foreigner (warga negara asing).
    Wna,
}

/// Whether a date must lie before or after today.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Today or earlier, at most 130 years ago (a birth date).
    Past,
    /// After today (an expiry date).
    Future,
}

/// A field of a passport's machine-readable zone that can fill a form field.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MrzSource {
    /// Given names, then surname.
    FullName,
    /// The passport number.
    DocumentNumber,
    /// Nationality.
    Nationality,
    /// The issuing state.
    IssuingState,
    /// Date of birth.
    DateOfBirth,
    /// Sex.
    Sex,
    /// Date of expiry.
    DateOfExpiry,
}

impl MrzSource {
    fn take(self, mrz: &PassportMrz) -> String {
        match self {
            Self::FullName => [mrz.given_names.as_str(), mrz.surname.as_str()]
                .iter()
                .filter(|part| !part.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
            Self::DocumentNumber => mrz.document_number.clone(),
            Self::Nationality => mrz.nationality.clone(),
            Self::IssuingState => mrz.issuing_state.clone(),
            Self::DateOfBirth => mrz.date_of_birth.clone(),
            Self::Sex => mrz.sex.clone(),
            Self::DateOfExpiry => mrz.date_of_expiry.clone(),
        }
    }
}

/// One choice of a [`FieldKind::Choice`] field.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    /// What is stored.
    pub value: String,
    /// What the officer sees.
    pub label: Label,
}

/// What a field holds, and so how it is checked and shown.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    /// A person's name: letters, spaces, apostrophes, hyphens and dots, at most 100 characters.
    Name,
    /// A date, `YYYY-MM-DD`.
    Date {
        /// Before or after today.
        when: When,
    },
    /// `F`, `M` or `X` (ICAO 9303).
    Sex,
    /// An ICAO alpha-3 country code, limited to `only` when given, never one of `except`.
    Country {
        /// The only codes allowed (empty: any).
        #[serde(default)]
        only: Vec<String>,
        /// Codes not allowed.
        #[serde(default)]
        except: Vec<String>,
    },
    /// A passport or travel document number: 5 to 20 letters A–Z and digits.
    DocumentNumber,
    /// An Indonesian NIK, cross-checked against the form's date of birth and sex.
    Nik,
    /// A telephone number: 8 to 15 digits, an optional leading `+`.
    Phone,
    /// Free text up to `max_len` characters.
    Text {
        /// The longest allowed, in characters.
        max_len: u32,
    },
    /// One of a fixed list.
    Choice {
        /// The allowed values.
        options: Vec<ChoiceOption>,
    },
}

/// One field of a form.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// The key it is stored under: a [`CORE_FIELDS`] name or a key of [`Demographics::fields`].
    pub name: String,
    /// What the officer sees.
    pub label: Label,
    /// Help shown under the field.
    #[serde(default)]
    pub hint: Option<Label>,
    /// Whether it must be filled in.
    pub required: bool,
    /// The zone field that prefills it from a scanned passport.
    #[serde(default)]
    pub mrz: Option<MrzSource>,
    /// How it is checked.
    pub kind: FieldKind,
}

/// The form for one kind of application.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDef {
    /// Stable key, e.g. `wni-passport`.
    pub id: String,
    /// Citizen or foreigner.
    pub applicant: Applicant,
    /// What the officer picks, e.g. "Citizen (WNI): passport".
    pub title: Label,
    /// The fields in the order they are shown.
    pub fields: Vec<FieldDef>,
}

/// One version of the form definitions: every form an office uses.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSet {
    /// The version packets name, e.g. `2026.11`.
    pub version: String,
    /// The forms, in the order the officer is offered them.
    pub forms: Vec<FormDef>,
}

/// Why a form definition file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormSetError {
    /// Not JSON of the expected shape.
    #[error("the form definitions are not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid JSON, but the forms make no sense.
    #[error("the form definitions are inconsistent: {0}")]
    Inconsistent(String),
}

impl FormSet {
    /// The forms this build ships with.
    ///
    /// # Errors
    /// Only if the shipped file is broken, which the tests rule out.
    pub fn builtin() -> Result<Self, FormSetError> {
        Self::parse(BUILTIN_FORMS)
    }

    /// Reads and checks a form definition file.
    ///
    /// # Errors
    /// See [`FormSetError`]; each inconsistency is named.
    pub fn parse(json: &str) -> Result<Self, FormSetError> {
        let set: FormSet = serde_json::from_str(json)?;
        set.check().map_err(FormSetError::Inconsistent)?;
        Ok(set)
    }

    fn check(&self) -> Result<(), String> {
        if self.version.trim().is_empty() {
            return Err("the version is empty".into());
        }
        if self.forms.is_empty() {
            return Err("there are no forms".into());
        }
        let mut ids = HashSet::new();
        for form in &self.forms {
            if !ids.insert(form.id.as_str()) {
                return Err(format!("the form {} appears twice", form.id));
            }
            let mut names = HashSet::new();
            for field in &form.fields {
                let good_name = !field.name.is_empty()
                    && field
                        .name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_');
                if !good_name {
                    return Err(format!(
                        "form {}: the field name {:?} is not lower-case letters and _",
                        form.id, field.name
                    ));
                }
                if !names.insert(field.name.as_str()) {
                    return Err(format!(
                        "form {}: the field {} appears twice",
                        form.id, field.name
                    ));
                }
                if let FieldKind::Choice { options } = &field.kind {
                    if options.is_empty() {
                        return Err(format!(
                            "form {}: the field {} has no options",
                            form.id, field.name
                        ));
                    }
                }
            }
            for core in CORE_FIELDS {
                let Some(field) = form.field(core) else {
                    return Err(format!("form {} lacks the field {core}", form.id));
                };
                let kind_fits = matches!(
                    (core, &field.kind),
                    ("full_name", FieldKind::Name)
                        | ("date_of_birth", FieldKind::Date { when: When::Past })
                        | ("sex", FieldKind::Sex)
                        | ("nationality", FieldKind::Country { .. })
                        | (
                            "document_number",
                            FieldKind::DocumentNumber | FieldKind::Nik
                        )
                );
                if !field.required || !kind_fits {
                    return Err(format!(
                        "form {}: the field {core} must be required and of its usual kind",
                        form.id
                    ));
                }
            }
        }
        Ok(())
    }

    /// The form `id`.
    pub fn form(&self, id: &str) -> Option<&FormDef> {
        self.forms.iter().find(|form| form.id == id)
    }
}

/// Every version of the forms a reader knows: the server keeps older versions so packets from
/// stations not yet updated still check.
#[derive(Debug, Clone, Default)]
pub struct FormLibrary {
    sets: Vec<FormSet>,
}

impl FormLibrary {
    /// A library of the given versions; the last is the current one.
    pub fn new(sets: Vec<FormSet>) -> Self {
        Self { sets }
    }

    /// The built-in forms alone.
    ///
    /// # Errors
    /// Only if the shipped file is broken.
    pub fn builtin() -> Result<Self, FormSetError> {
        Ok(Self::new(vec![FormSet::builtin()?]))
    }

    /// The version new enrollments use.
    pub fn current(&self) -> Option<&FormSet> {
        self.sets.last()
    }

    /// The form a packet names.
    pub fn find(&self, id: &str, version: &str) -> Option<&FormDef> {
        self.sets
            .iter()
            .rev()
            .find(|set| set.version == version)
            .and_then(|set| set.form(id))
    }

    /// Checks `demographics` against the form and version it names, listing every problem.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field (field `form` when the form is unknown).
    pub fn validate(
        &self,
        demographics: &Demographics,
        today: Date,
    ) -> Result<(), Vec<FieldError>> {
        match self.find(&demographics.form, &demographics.form_version) {
            Some(form) => form.validate(demographics, today),
            None => Err(vec![FieldError::new(
                "form",
                Label::new(
                    format!(
                        "the form {} version {} is not known here",
                        demographics.form, demographics.form_version
                    ),
                    format!(
                        "formulir {} versi {} tidak dikenal di sini",
                        demographics.form, demographics.form_version
                    ),
                ),
            )]),
        }
    }
}

/// A passport's zone read into a form's fields.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prefill {
    /// Field name → value, for every field of the form the zone fills.
    pub values: BTreeMap<String, String>,
}

impl FormDef {
    /// The field `name`.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// A blank form of this kind and `version`, with fields that allow one value filled in.
    pub fn blank(&self, version: &str) -> Demographics {
        let mut blank = Demographics {
            form: self.id.clone(),
            form_version: version.to_owned(),
            ..Demographics::default()
        };
        for field in &self.fields {
            if let FieldKind::Country { only, .. } = &field.kind {
                if let [single] = only.as_slice() {
                    blank.set(&field.name, single.clone());
                }
            }
        }
        blank
    }

    /// Reads a passport's machine-readable zone into this form's fields.
    ///
    /// # Errors
    /// The zone's problem (shape, a check digit, a date), in both languages.
    pub fn prefill_from_mrz(&self, zone: &str, this_year: i32) -> Result<Prefill, Label> {
        let mrz = parse_passport_mrz(zone, this_year)
            .map_err(|e| Label::new(e.to_string(), e.indonesian()))?;
        let values = self
            .fields
            .iter()
            .filter_map(|field| Some((field.name.clone(), field.mrz?.take(&mrz))))
            .collect();
        Ok(Prefill { values })
    }

    /// The form with surrounding space trimmed, codes upper-cased and names' spacing fixed;
    /// empty optional fields and fields this form does not have are dropped.
    pub fn normalize(&self, demographics: &Demographics) -> Demographics {
        let mut clean = Demographics {
            form: demographics.form.trim().to_owned(),
            form_version: demographics.form_version.trim().to_owned(),
            ..Demographics::default()
        };
        for field in &self.fields {
            let raw = demographics.value(&field.name).unwrap_or_default();
            let value = match &field.kind {
                FieldKind::Name => raw.split_whitespace().collect::<Vec<_>>().join(" "),
                FieldKind::Sex | FieldKind::Country { .. } | FieldKind::DocumentNumber => {
                    raw.trim().to_uppercase()
                }
                FieldKind::Nik | FieldKind::Phone => raw
                    .chars()
                    .filter(|c| !c.is_whitespace() && *c != '-')
                    .collect(),
                FieldKind::Date { .. } | FieldKind::Text { .. } | FieldKind::Choice { .. } => {
                    raw.trim().to_owned()
                }
            };
            clean.set(&field.name, value);
        }
        // Anything the form does not define is kept so validation can name it.
        for (name, value) in &demographics.fields {
            if self.field(name).is_none() {
                clean.fields.insert(name.clone(), value.clone());
            }
        }
        clean
    }

    /// Checks (normalized) `demographics` against this form, listing every problem at once in
    /// the form's order.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validate(
        &self,
        demographics: &Demographics,
        today: Date,
    ) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        for field in &self.fields {
            let value = demographics.value(&field.name).unwrap_or_default();
            if value.is_empty() {
                if field.required {
                    errors.push(FieldError::new(
                        &field.name,
                        Label::new(
                            format!("Fill in: {}.", field.label.en),
                            format!("Wajib diisi: {}.", field.label.id),
                        ),
                    ));
                }
                continue;
            }
            if let Err(message) = check_value(&field.kind, value, demographics, today) {
                errors.push(FieldError::new(&field.name, message));
            }
        }
        for name in demographics.fields.keys() {
            if self.field(name).is_none() || CORE_FIELDS.contains(&name.as_str()) {
                errors.push(FieldError::new(
                    name,
                    Label::new(
                        format!("The form {} has no field {name}.", self.id),
                        format!("Formulir {} tidak memiliki isian {name}.", self.id),
                    ),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn check_value(
    kind: &FieldKind,
    value: &str,
    form: &Demographics,
    today: Date,
) -> Result<(), Label> {
    let chars = value.chars().count();
    match kind {
        FieldKind::Name => {
            if chars > 100 {
                return Err(Label::new(
                    "The name is longer than 100 characters.",
                    "Nama lebih dari 100 karakter.",
                ));
            }
            if !value
                .chars()
                .all(|c| c.is_alphabetic() || " '-.".contains(c))
            {
                return Err(Label::new(
                    "Use letters, spaces, apostrophes, hyphens and dots only.",
                    "Gunakan huruf, spasi, apostrof, tanda hubung dan titik saja.",
                ));
            }
        }
        FieldKind::Date { when } => {
            let Some(date) = parse_date(value) else {
                return Err(Label::new(
                    "Enter the date as YYYY-MM-DD.",
                    "Isi tanggal dengan format TTTT-BB-HH.",
                ));
            };
            match when {
                When::Past if date > today => {
                    return Err(Label::new(
                        "The date is in the future.",
                        "Tanggal berada di masa depan.",
                    ))
                }
                When::Past if today.year() - date.year() > 130 => {
                    return Err(Label::new(
                        "The date is more than 130 years ago.",
                        "Tanggal lebih dari 130 tahun yang lalu.",
                    ))
                }
                When::Future if date <= today => {
                    return Err(Label::new(
                        "The date has passed: the document has expired.",
                        "Tanggal sudah lewat: dokumen sudah habis berlaku.",
                    ))
                }
                _ => {}
            }
        }
        FieldKind::Sex => {
            if !matches!(value, "F" | "M" | "X") {
                return Err(Label::new("Choose F, M or X.", "Pilih F, M atau X."));
            }
        }
        FieldKind::Country { only, except } => {
            if value.len() != 3 || !value.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(Label::new(
                    "Use the three-letter country code, e.g. IDN.",
                    "Gunakan kode negara tiga huruf, mis. IDN.",
                ));
            }
            if !only.is_empty() && !only.iter().any(|code| code == value) {
                return Err(Label::new(
                    format!("This form is for {} only.", only.join(", ")),
                    format!("Formulir ini hanya untuk {}.", only.join(", ")),
                ));
            }
            if except.iter().any(|code| code == value) {
                return Err(Label::new(
                    format!("This form is not for {value}: choose the other applicant type."),
                    format!("Formulir ini bukan untuk {value}: pilih jenis pemohon lainnya."),
                ));
            }
        }
        FieldKind::DocumentNumber => {
            let fits = (5..=20).contains(&value.len())
                && value
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if !fits {
                return Err(Label::new(
                    "Use 5 to 20 letters A–Z and digits.",
                    "Gunakan 5 sampai 20 huruf A–Z dan angka.",
                ));
            }
        }
        FieldKind::Nik => {
            let date_of_birth = form.value("date_of_birth").unwrap_or_default();
            let sex = form.value("sex").unwrap_or_default();
            if let Err(e) = check_nik(value, date_of_birth, sex) {
                let (en, id) = (e.to_string(), e.indonesian());
                return Err(Label::new(capitalized(&en) + ".", capitalized(&id) + "."));
            }
        }
        FieldKind::Phone => {
            let digits = value.strip_prefix('+').unwrap_or(value);
            if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(Label::new(
                    "Use 8 to 15 digits, e.g. 081234567890 or +6281234567890.",
                    "Gunakan 8 sampai 15 angka, mis. 081234567890 atau +6281234567890.",
                ));
            }
        }
        FieldKind::Text { max_len } => {
            if chars > *max_len as usize {
                return Err(Label::new(
                    format!("Use at most {max_len} characters."),
                    format!("Gunakan paling banyak {max_len} karakter."),
                ));
            }
            if value.chars().any(char::is_control) {
                return Err(Label::new(
                    "Remove the line breaks and control characters.",
                    "Hapus baris baru dan karakter kontrol.",
                ));
            }
        }
        FieldKind::Choice { options } => {
            if !options.iter().any(|option| option.value == value) {
                let values: Vec<_> = options.iter().map(|o| o.value.as_str()).collect();
                return Err(Label::new(
                    format!("Choose one of: {}.", values.join(", ")),
                    format!("Pilih salah satu: {}.", values.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(crate) fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, format).ok()
}

#[cfg(test)]
mod tests;
