//! Companies on the pages: their contacts and deals are shown on the company's page.

use super::{
    ADDRESS_INLINE, Cell, Choices, Fact, FormKind, Inline, Names, PageKind, Relation, optional_text, owner_field,
    tag_text,
};
use crate::domain::crm::{Address, Company, CompanyInput, Kind};
use crate::error::AppError;
use crate::web::html::crm::values::{Field, Values};

const ADDRESS: [(&str, &str); 5] = [
    ("street", "Street"),
    ("postal_code", "Postal code"),
    ("city", "City"),
    ("region", "Region"),
    ("country", "Country"),
];

/// The address slots of a form (contacts and companies share them).
pub fn address_values(v: &mut Values, a: &Address) {
    for ((name, _), value) in ADDRESS.iter().zip([&a.street, &a.postal_code, &a.city, &a.region, &a.country]) {
        v.set(name, value);
    }
}

pub fn address_fields(values: &Values) -> impl Iterator<Item = Field> + '_ {
    ADDRESS.into_iter().map(|(name, label)| Field::text(values, name, label).error_key("address"))
}

pub fn address_input(values: &Values) -> Option<Address> {
    let part = |name| values.get(name).to_owned();
    values.has("street").then(|| Address {
        street: part("street"),
        city: part("city"),
        postal_code: part("postal_code"),
        region: part("region"),
        country: part("country"),
    })
}

impl FormKind for Company {
    const NOUN: &'static str = "company";
    const INLINE: &'static [Inline] = &[
        Inline::of("Website", "website"),
        Inline::of("Phone", "phone"),
        Inline::of("Industry", "industry"),
        Inline::of("Size", "size"),
        ADDRESS_INLINE,
        Inline::of("Tax id", "tax_id"),
        Inline::of("Bank details", "bank_details"),
        Inline::of("Credit limit", "credit_limit"),
        Inline::of("Owner", "owner_id"),
        Inline::of("Description", "description"),
    ];

    fn values(&self) -> Values {
        let mut v = Values::default();
        v.set("name", &self.name);
        v.set("website", optional_text(&self.website));
        v.set("phone", optional_text(&self.phone));
        v.set("industry", optional_text(&self.industry));
        v.set("size", optional_text(&self.size));
        address_values(&mut v, &self.address);
        v.set("tax_id", optional_text(&self.tax_id));
        v.set("bank_details", optional_text(&self.bank_details));
        v.set("credit_limit", optional_text(&self.credit_limit));
        v.set("tags", tag_text(&self.tags));
        v.set("owner_id", self.owner_id.to_string());
        v.set("description", &self.description);
        v
    }

    fn fields(values: &Values, choices: &Choices, _creating: bool) -> Vec<Field> {
        let mut fields = vec![
            Field::text(values, "name", "Name").required(),
            Field::of_kind(values, "website", "Website", "text"),
            Field::of_kind(values, "phone", "Phone", "tel").max(40),
            Field::text(values, "industry", "Industry"),
            Field::text(values, "size", "Size"),
        ];
        fields.extend(address_fields(values));
        fields.extend([
            Field::text(values, "tax_id", "Tax id").max(64),
            Field::of_kind(values, "bank_details", "Bank details", "textarea")
                .max(crate::domain::fields::BANK_DETAILS_MAX),
            Field::text(values, "credit_limit", "Credit limit").max(40),
            Field::text(values, "tags", "Tags (comma-separated)").max(1000),
            owner_field(values, choices, "owner_id", "Owner"),
            Field::of_kind(values, "description", "Description", "textarea"),
        ]);
        fields
    }

    fn input(values: &Values, _creating: bool) -> Result<CompanyInput, AppError> {
        Ok(CompanyInput {
            name: values.opt("name"),
            website: values.opt("website"),
            phone: values.opt("phone"),
            industry: values.opt("industry"),
            size: values.opt("size"),
            address: address_input(values),
            tax_id: values.opt("tax_id"),
            bank_details: values.opt("bank_details"),
            credit_limit: values.opt("credit_limit"),
            tags: values.list("tags"),
            owner_id: values.opt("owner_id"),
            description: values.opt("description"),
        })
    }
}

impl PageKind for Company {
    const TITLE: &'static str = "Companies";
    const FILTERS: &'static [&'static str] = &["tag", "owner"];
    const COLUMNS: &'static [&'static str] = &["Name", "Industry", "Website", "Phone", "Tags", "Owner"];
    const KEY_FACTS: &'static [&'static str] = &["Website", "Phone", "Industry", "Owner"];
    const AVATAR: bool = true;

    fn portal_link(&self) -> Option<(String, &'static str)> {
        Some((format!("/companies/{}/portal", self.id), "Client portal"))
    }

    fn row(&self, names: &Names) -> Vec<Cell> {
        vec![
            Cell::link(&self.name, super::path(Kind::Company, &self.id)),
            Cell::text(optional_text(&self.industry)),
            Cell::text(self.website.as_ref().map(|w| w.domain()).unwrap_or_default()),
            Cell::text(optional_text(&self.phone)),
            Cell::text(tag_text(&self.tags)),
            Cell::text(names.person(&self.owner_id)),
        ]
    }

    fn facts(&self, names: &Names) -> Vec<Fact> {
        let website = match &self.website {
            Some(w) => Cell::link(w.as_str(), w.as_str().to_owned()),
            None => Cell::default(),
        };
        vec![
            ("Website", website),
            ("Phone", Cell::text(optional_text(&self.phone))),
            ("Industry", Cell::text(optional_text(&self.industry))),
            ("Size", Cell::text(optional_text(&self.size))),
            ("Address", Cell::text(self.address.one_line())),
            ("Tax id", Cell::text(optional_text(&self.tax_id))),
            ("Bank details", Cell::text(optional_text(&self.bank_details))),
            ("Credit limit", Cell::text(self.credit_limit.map(|m| m.grouped()).unwrap_or_default())),
            ("Owner", Cell::text(names.person(&self.owner_id))),
            ("Description", Cell::text(&self.description)),
        ]
    }

    fn tags(&self) -> &[String] {
        &self.tags
    }

    fn relations(&self) -> Vec<Relation> {
        vec![Relation::ContactsOf(self.id), Relation::DealsOfCompany(self.id)]
    }
}
