//! Deals on the pages: stage from the pipeline, contacts as a multi-select.

use super::{Cell, Choices, Fact, FormKind, Inline, Names, PageKind, Relation, optional_text, owner_field};
use crate::domain::crm::{Deal, DealInput, Kind};
use crate::domain::ids::RecordId;
use crate::error::AppError;
use crate::web::html::crm::values::{Field, Picker, Values, number};

/// The amount with its currency, grouped (`12,500.00 EUR`).
pub fn amount(deal: &Deal) -> String {
    deal.amount.map(|a| format!("{} {}", a.grouped(), deal.currency)).unwrap_or_default()
}

impl FormKind for Deal {
    const NOUN: &'static str = "deal";
    const INLINE: &'static [Inline] = &[
        Inline::of("Company", "company_id"),
        Inline::of("Stage", "stage"),
        Inline { label: "Amount", key: "amount", rest: &["currency"] },
        Inline::of("Expected close", "expected_close"),
        Inline::of("Probability", "probability"),
        Inline::of("Owner", "owner_id"),
        Inline::of("Close reason", "close_reason"),
    ];

    fn values(&self) -> Values {
        let mut v = Values::default();
        v.set("name", &self.name);
        v.set("company_id", optional_text(&self.company_id));
        for id in &self.contact_ids {
            v.set("contact_ids", id.to_string());
        }
        v.set("stage", &self.stage);
        v.set("amount", optional_text(&self.amount));
        v.set("currency", self.currency.as_str());
        v.set("expected_close", optional_text(&self.expected_close));
        v.set("probability", self.probability.to_string());
        v.set("owner_id", self.owner_id.to_string());
        v.set("close_reason", optional_text(&self.close_reason));
        if self.archived {
            v.set("archived", "on");
        }
        v
    }

    fn fields(values: &Values, choices: &Choices, creating: bool) -> Vec<Field> {
        let contacts = choices.contacts.iter().map(|(id, name)| (id.to_string(), name.clone()));
        let mut fields = vec![
            Field::text(values, "name", "Name").required(),
            Field::select(values, "company_id", "Company", choices.companies(), true).picker(Picker::Company),
            Field::select(values, "contact_ids", "Contacts", contacts, false).multi().picker(Picker::Contact),
            Field::select(values, "stage", "Stage", choices.stages(), false),
            Field::text(values, "amount", "Amount").max(40),
            Field::text(values, "currency", "Currency (ISO code)").max(3),
            Field::of_kind(values, "expected_close", "Expected close", "date"),
            Field::of_kind(values, "probability", "Probability (%)", "number").max(3),
            owner_field(values, choices, "owner_id", "Owner"),
            Field::text(values, "close_reason", "Close reason"),
        ];
        if !creating {
            fields.push(Field::checkbox(values, "archived", "Archived"));
        }
        fields
    }

    fn input(values: &Values, creating: bool) -> Result<DealInput, AppError> {
        Ok(DealInput {
            name: values.opt("name"),
            company_id: values.opt("company_id"),
            contact_ids: values.has("name").then(|| values.all("contact_ids")),
            stage: values.opt("stage"),
            amount: values.opt("amount"),
            currency: values.opt("currency").filter(|c| !c.trim().is_empty()),
            expected_close: values.opt("expected_close"),
            probability: number(values, "probability")?,
            owner_id: values.opt("owner_id"),
            close_reason: values.opt("close_reason"),
            archived: (!creating).then(|| values.has("archived")),
        })
    }
}

impl PageKind for Deal {
    const TITLE: &'static str = "Deals";
    const FILTERS: &'static [&'static str] = &["stage", "owner", "company", "state"];
    const COLUMNS: &'static [&'static str] = &["Name", "Company", "Stage", "Amount", "Expected close", "Owner"];
    const KEY_FACTS: &'static [&'static str] = &["Stage", "Amount", "Company", "Expected close", "Owner"];

    fn row(&self, names: &Names) -> Vec<Cell> {
        vec![
            Cell::link(&self.name, super::path(Kind::Deal, &self.id)),
            names.company(&self.company_id),
            Cell::text(names.stage(&self.stage)),
            Cell::text(amount(self)),
            Cell::text(optional_text(&self.expected_close)),
            Cell::text(names.person(&self.owner_id)),
        ]
    }

    fn facts(&self, names: &Names) -> Vec<Fact> {
        vec![
            ("Company", names.company(&self.company_id)),
            ("Stage", Cell::text(names.stage(&self.stage))),
            ("Amount", Cell::text(amount(self))),
            ("Expected close", Cell::text(optional_text(&self.expected_close))),
            ("Probability", Cell::text(format!("{} %", self.probability))),
            ("Owner", Cell::text(names.person(&self.owner_id))),
            ("Close reason", Cell::text(optional_text(&self.close_reason))),
            ("Archived", Cell::text(if self.archived { "yes" } else { "no" })),
        ]
    }

    fn company_id(&self) -> Option<RecordId> {
        self.company_id
    }

    fn relations(&self) -> Vec<Relation> {
        vec![Relation::Contacts(self.contact_ids.clone())]
    }
}
