//! What a CRM form holds: the submitted values (a urlencoded body, repeated keys kept) and the
//! fields a form shows, described once so one template renders every kind's form.

use crate::error::AppError;
use crate::web::html::forms::FormError;

/// Submitted or prefilled form values, in order; a name may repeat (multi-selects).
#[derive(Debug, Clone, Default)]
pub struct Values(Vec<(String, String)>);

impl Values {
    /// Parses a urlencoded body (the CSRF token, when still present, is ignored).
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .filter(|(name, _)| name != crate::web::layers::csrf::FIELD)
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
    }

    /// The first value of `name` when the form sent it (an empty value clears a field).
    pub fn opt(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    /// Every value of `name` (a multi-select).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(n, _)| n == name).map(|(_, v)| v.clone()).collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    /// Every name and value, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Adds a value (prefilling an edit form).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((name.to_owned(), value.into()));
    }

    /// These values without any of `name` (a list's link that drops one filter).
    pub fn without(&self, name: &str) -> Values {
        Values(self.0.iter().filter(|(n, _)| n != name).cloned().collect())
    }

    /// These values with `name` set to `value` alone.
    pub fn with(&self, name: &str, value: impl Into<String>) -> Values {
        let mut values = self.without(name);
        values.set(name, value);
        values
    }

    /// A comma-separated text field as a list (tags).
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.opt(name).map(|v| v.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect())
    }
}

/// One choice of a select.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One input of a form. `kind` is an HTML input type, or `textarea`, `select`, `multi`,
/// `checkbox`, `hidden`.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub choices: Vec<Choice>,
    pub required: bool,
    pub max: usize,
    /// The service's name for this field in errors (`emails` for `email_2`).
    pub error_key: &'static str,
    pub invalid: bool,
    /// A select that script turns into a searchable picker, and what it searches.
    pub picker: Option<Picker>,
}

/// What a searchable picker finds as one types: the select's own options, and for records the
/// search index's titles beyond them (`/search/suggest?kind=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picker {
    Company,
    Contact,
    Person,
}

impl Picker {
    /// The `data-picker` value (a record kind for the search index, or `person`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Company => "company",
            Self::Contact => "contact",
            Self::Person => "person",
        }
    }
}

impl Field {
    /// A text input holding the submitted value of `name`.
    pub fn text(values: &Values, name: &'static str, label: &'static str) -> Self {
        Self {
            name,
            label,
            kind: "text",
            value: values.get(name).to_owned(),
            choices: Vec::new(),
            required: false,
            max: 200,
            error_key: name,
            invalid: false,
            picker: None,
        }
    }

    /// A hidden field holding `value`.
    pub fn hidden(name: &'static str, value: &str) -> Self {
        Self { value: value.to_owned(), ..Self::of_kind(&Values::default(), name, "", "hidden") }
    }

    pub fn of_kind(values: &Values, name: &'static str, label: &'static str, kind: &'static str) -> Self {
        Self { kind, max: if kind == "textarea" { 20_000 } else { 200 }, ..Self::text(values, name, label) }
    }

    /// A select of `options` (value, label); `blank` adds an empty first choice.
    pub fn select(
        values: &Values,
        name: &'static str,
        label: &'static str,
        options: impl IntoIterator<Item = (String, String)>,
        blank: bool,
    ) -> Self {
        let chosen = values.all(name);
        let mut choices: Vec<Choice> = Vec::new();
        if blank {
            choices.push(Choice { value: String::new(), label: "—".into(), selected: chosen.is_empty() });
        }
        choices.extend(options.into_iter().map(|(value, label)| Choice {
            selected: chosen.contains(&value),
            value,
            label,
        }));
        // A current value the options lack (a disabled owner, a company beyond the first 200)
        // stays selected rather than being silently replaced on save.
        for value in chosen.into_iter().filter(|v| !v.is_empty()) {
            if !choices.iter().any(|c| c.value == value) {
                choices.push(Choice { value, label: "(current value)".into(), selected: true });
            }
        }
        Self { choices, ..Self::of_kind(values, name, label, "select") }
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn max(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    pub fn error_key(mut self, key: &'static str) -> Self {
        self.error_key = key;
        self
    }

    /// Makes a select a searchable picker (with script; the plain select without).
    pub fn picker(mut self, picker: Picker) -> Self {
        self.picker = Some(picker);
        self
    }

    pub fn multi(mut self) -> Self {
        self.kind = "multi";
        self
    }

    /// A checkbox checked when the form holds `name`.
    pub fn checkbox(values: &Values, name: &'static str, label: &'static str) -> Self {
        let mut field = Self::of_kind(values, name, label, "checkbox");
        field.value = if values.has(name) { "on".into() } else { String::new() };
        field
    }
}

/// Marks the field named by the error (every slot of a repeated field).
pub fn mark(fields: &mut [Field], error: Option<&FormError>) {
    if let Some(error) = error {
        for field in fields.iter_mut() {
            field.invalid = error.is(field.error_key);
        }
    }
}

/// An optional number field: blank (or absent) leaves the value unchanged.
pub fn number<T: std::str::FromStr>(values: &Values, name: &'static str) -> Result<Option<T>, AppError> {
    match values.opt(name) {
        Some(v) if !v.trim().is_empty() => {
            v.trim().parse().map(Some).map_err(|_| AppError::field(crate::error::ErrorCode::InvalidFormat, name))
        }
        _ => Ok(None),
    }
}
