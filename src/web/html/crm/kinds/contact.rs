//! Contacts on the pages: three email and three phone slots, tags as one text field.

use super::company::{address_fields, address_input, address_values};
use super::{
    ADDRESS_INLINE, Cell, Choices, Fact, FormKind, Inline, Names, PageKind, Relation, optional_text, owner_field,
    tag_text,
};
use crate::domain::crm::{Contact, ContactInput, EmailEntry, PhoneEntry};
use crate::domain::ids::RecordId;
use crate::error::AppError;
use crate::web::html::crm::values::{Field, Picker, Values};

const EMAILS: [(&str, &str); 3] =
    [("email_1", "email_1_kind"), ("email_2", "email_2_kind"), ("email_3", "email_3_kind")];
const PHONES: [(&str, &str); 3] =
    [("phone_1", "phone_1_kind"), ("phone_2", "phone_2_kind"), ("phone_3", "phone_3_kind")];

impl FormKind for Contact {
    const NOUN: &'static str = "contact";
    const INLINE: &'static [Inline] = &[
        Inline::of("Title", "title"),
        Inline::of("Company", "company_id"),
        ADDRESS_INLINE,
        Inline::of("Status", "status"),
        Inline::of("Owner", "owner_id"),
        Inline::of("Date of birth", "date_of_birth"),
        Inline::of("Tax id", "tax_id"),
        Inline::of("Bank details", "bank_details"),
        Inline::of("Background", "background"),
    ];

    fn values(&self) -> Values {
        let mut v = Values::default();
        v.set("first_name", &self.first_name);
        v.set("last_name", &self.last_name);
        v.set("title", optional_text(&self.title));
        for ((address, kind), entry) in EMAILS.iter().zip(&self.emails) {
            v.set(address, &entry.address);
            v.set(kind, &entry.kind);
        }
        for ((number, kind), entry) in PHONES.iter().zip(&self.phones) {
            v.set(number, &entry.number);
            v.set(kind, &entry.kind);
        }
        v.set("company_id", optional_text(&self.company_id));
        address_values(&mut v, &self.address);
        v.set("status", self.status.as_str());
        v.set("tags", tag_text(&self.tags));
        v.set("owner_id", self.owner_id.to_string());
        v.set("background", &self.background);
        v.set("date_of_birth", optional_text(&self.date_of_birth));
        v.set("tax_id", optional_text(&self.tax_id));
        v.set("bank_details", optional_text(&self.bank_details));
        v
    }

    fn fields(values: &Values, choices: &Choices, _creating: bool) -> Vec<Field> {
        let mut fields = vec![
            Field::text(values, "first_name", "First name").max(100),
            Field::text(values, "last_name", "Last name").max(100),
            Field::text(values, "title", "Job title"),
        ];
        for (i, (address, kind)) in EMAILS.into_iter().enumerate() {
            let label = ["Email", "Second email", "Third email"][i];
            fields.push(Field::of_kind(values, address, label, "email").max(254).error_key("emails"));
            fields.push(Field::text(values, kind, "Kind (work, home…)").max(20).error_key("emails"));
        }
        for (i, (number, kind)) in PHONES.into_iter().enumerate() {
            let label = ["Phone", "Second phone", "Third phone"][i];
            fields.push(Field::of_kind(values, number, label, "tel").max(40).error_key("phones"));
            fields.push(Field::text(values, kind, "Kind (work, mobile…)").max(20).error_key("phones"));
        }
        fields.push(Field::select(values, "company_id", "Company", choices.companies(), true).picker(Picker::Company));
        fields.extend(address_fields(values));
        fields.extend([
            Field::select(values, "status", "Status", Choices::statuses(), false),
            Field::text(values, "tags", "Tags (comma-separated)").max(1000),
            owner_field(values, choices, "owner_id", "Owner"),
            Field::of_kind(values, "date_of_birth", "Date of birth", "date"),
            Field::text(values, "tax_id", "Tax id").max(64),
            Field::of_kind(values, "bank_details", "Bank details", "textarea")
                .max(crate::domain::fields::BANK_DETAILS_MAX),
            Field::of_kind(values, "background", "Background", "textarea"),
        ]);
        fields
    }

    fn input(values: &Values, _creating: bool) -> Result<ContactInput, AppError> {
        let emails = EMAILS
            .iter()
            .map(|(a, k)| EmailEntry { address: values.get(a).to_owned(), kind: values.get(k).to_owned() })
            .collect();
        let phones = PHONES
            .iter()
            .map(|(n, k)| PhoneEntry { number: values.get(n).to_owned(), kind: values.get(k).to_owned() })
            .collect();
        Ok(ContactInput {
            first_name: values.opt("first_name"),
            last_name: values.opt("last_name"),
            title: values.opt("title"),
            emails: values.has("email_1").then_some(emails),
            phones: values.has("phone_1").then_some(phones),
            company_id: values.opt("company_id"),
            address: address_input(values),
            status: values.opt("status"),
            tags: values.list("tags"),
            owner_id: values.opt("owner_id"),
            background: values.opt("background"),
            date_of_birth: values.opt("date_of_birth"),
            tax_id: values.opt("tax_id"),
            bank_details: values.opt("bank_details"),
        })
    }
}

impl PageKind for Contact {
    const TITLE: &'static str = "Contacts";
    const FILTERS: &'static [&'static str] = &["status", "tag", "owner", "company"];
    const COLUMNS: &'static [&'static str] = &["Name", "Title", "Company", "Email", "Status", "Tags", "Owner"];
    const KEY_FACTS: &'static [&'static str] = &["Title", "Company", "Email", "Phone", "Status", "Owner"];
    const AVATAR: bool = true;

    fn row(&self, names: &Names) -> Vec<Cell> {
        vec![
            Cell::link(self.full_name(), super::path(crate::domain::crm::Kind::Contact, &self.id)),
            Cell::text(optional_text(&self.title)),
            names.company(&self.company_id),
            Cell::text(self.primary_email().unwrap_or_default()),
            Cell::text(self.status.as_str()),
            Cell::text(tag_text(&self.tags)),
            Cell::text(names.person(&self.owner_id)),
        ]
    }

    fn facts(&self, names: &Names) -> Vec<Fact> {
        let mut facts =
            vec![("Title", Cell::text(optional_text(&self.title))), ("Company", names.company(&self.company_id))];
        for e in &self.emails {
            facts.push(("Email", Cell::link(format!("{} ({})", e.address, e.kind), format!("mailto:{}", e.address))));
        }
        for p in &self.phones {
            facts.push(("Phone", Cell::link(format!("{} ({})", p.number, p.kind), format!("tel:{}", p.number))));
        }
        facts.extend([
            ("Address", Cell::text(self.address.one_line())),
            ("Status", Cell::text(self.status.as_str())),
            ("Owner", Cell::text(names.person(&self.owner_id))),
            ("Date of birth", Cell::text(optional_text(&self.date_of_birth))),
            ("Tax id", Cell::text(optional_text(&self.tax_id))),
            ("Bank details", Cell::text(optional_text(&self.bank_details))),
            ("Background", Cell::text(&self.background)),
        ]);
        facts
    }

    fn tags(&self) -> &[String] {
        &self.tags
    }

    fn company_id(&self) -> Option<RecordId> {
        self.company_id
    }

    fn portal_link(&self) -> Option<(String, &'static str)> {
        let company = self.company_id?;
        let email = self.emails.first().map(|e| e.address.as_str()).unwrap_or_default();
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("name", &self.full_name())
            .append_pair("email", email)
            .finish();
        Some((format!("/companies/{company}/portal?{query}#invite"), "Invite to the client portal"))
    }

    fn relations(&self) -> Vec<Relation> {
        vec![Relation::DealsOfContact(self.id)]
    }
}
