//! `holdfast dev seed`: deterministic synthetic companies, contacts, deals, notes and tasks for
//! demos and benchmarks. The same seed gives the same data. Records go through the same store
//! functions as every write (indexes, timeline, search outbox), thousands per transaction.

use super::records::Records;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::CrmRecord;
use crate::app::audit::{AuditEvent, record as audit};
use crate::app::store::WorkspaceWrite;
use crate::app::store::crm::TimelineEntry;
use crate::domain::crm::{
    Address, Company, Contact, ContactStatus, Deal, EmailEntry, Note, PhoneEntry, StageOutcome, Stamp, Task, TaskKind,
    TimelineEvent, default_pipeline,
};
use crate::domain::fields::{Currency, Day, Money, Phone, WebUrl};
use crate::domain::ids::{RecordId, UserId};
use crate::domain::role::Role;
use crate::error::AppError;

/// How much to create.
#[derive(Debug, Clone, Copy)]
pub struct SeedPlan {
    pub contacts: usize,
    pub companies: usize,
    pub deals: usize,
    pub seed: u64,
}

/// What was created.
#[derive(Debug, Default, Clone)]
pub struct SeedReport {
    /// The companies made, for seeding their portals.
    pub company_ids: Vec<RecordId>,
    pub companies: usize,
    pub contacts: usize,
    pub deals: usize,
    pub notes: usize,
    pub tasks: usize,
}

const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloé", "Dmitri", "Elif", "Farah", "Gustav", "Hana", "Ines", "Jonas", "Kofi", "Lena", "Mateo",
    "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tomás", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë",
    "Amara", "Bruno", "Carmen", "Deniz",
];
const LAST: &[&str] = &[
    "Andersen",
    "Baker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Müller",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Urbina",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmermann",
    "Novak",
    "Silva",
    "Moreau",
    "Horvat",
];
const COMPANY_A: &[&str] = &[
    "Northwind",
    "Blue Harbor",
    "Granite",
    "Silver Oak",
    "Red Fern",
    "Iron Gate",
    "Clearwater",
    "Summit",
    "Juniper",
    "Old Mill",
    "Brightline",
    "Copperfield",
    "Lakeside",
    "Meridian",
    "Pinecrest",
    "Harbourview",
    "Kestrel",
    "Foxglove",
];
const COMPANY_B: &[&str] =
    &["Logistics", "Dental", "Architects", "Bakery", "Consulting", "Legal", "Motors", "Studio", "Engineering", "Foods"];
const COMPANY_C: &[&str] = &["Ltd", "GmbH", "LLC", "& Co", "SARL", "BV", "AB", "Inc"];
const INDUSTRIES: &[&str] =
    &["Logistics", "Healthcare", "Construction", "Food", "Professional services", "Retail", "Manufacturing"];
const TAGS: &[&str] =
    &["vip", "newsletter", "partner", "referral", "event-2026", "key account", "churn risk", "reseller"];
const TITLES: &[&str] = &["CEO", "CFO", "Office manager", "Purchasing lead", "Owner", "IT contractor", "Accountant"];
const CITIES: &[&str] = &["Lisbon", "Leeds", "Lyon", "Graz", "Utrecht", "Malmö", "Porto", "Bremen", "Cork"];
const NOTES: &[&str] = &[
    "Called about the **renewal**; wants a quote by Friday.",
    "Met at the trade fair. Interested in the premium plan.",
    "Sent the proposal. Follow up next week.",
    "Asked for references from similar firms.",
    "Budget approved for Q3 — waiting on legal.",
];
const TASKS: &[&str] = &["Send quote", "Follow-up call", "Book a demo", "Check invoice", "Prepare contract"];

fn pick<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn id(rng: &mut StdRng) -> RecordId {
    RecordId::from_bytes(rng.random())
}

fn stamp(rng: &mut StdRng, now: i64, by: UserId) -> Stamp {
    let created_at = now - rng.random_range(0..365 * 86_400);
    Stamp { created_at, created_by: by, updated_at: created_at }
}

fn some_tags(rng: &mut StdRng) -> Vec<String> {
    let mut tags: Vec<String> = (0..rng.random_range(0..3)).map(|_| pick(rng, TAGS).to_owned()).collect();
    tags.dedup();
    tags
}

/// Writes records in transactions of this many.
const BATCH: usize = 5_000;

fn save_batch<T: CrmRecord>(txn: &WorkspaceWrite<'_>, records: &[T]) -> Result<(), AppError> {
    for record in records {
        txn.save(None, record)?;
        let entry = TimelineEntry {
            at: record.stamp().created_at,
            actor: Some(record.stamp().created_by),
            event: TimelineEvent::Created,
            fields: Vec::new(),
            detail: Some("Synthetic data".into()),
            link: None,
        };
        txn.append_timeline(T::KIND, &record.id(), &entry)?;
    }
    Ok(())
}

impl Records<'_> {
    /// Creates synthetic records in the named workspace, owned by its users (offline, trusted).
    pub async fn seed(
        &self,
        workspace: &str,
        plan: SeedPlan,
        progress: impl Fn(&str, usize) + Send + Sync + 'static,
    ) -> Result<SeedReport, AppError> {
        let scope = crate::app::auth::offline_scope(self, workspace).await?;
        let store = self.store().workspace(&scope);
        let mut members: Vec<_> = store
            .read(|txn| txn.users())
            .await?
            .into_iter()
            .filter(|u| u.role != Role::Client && !u.disabled)
            .collect();
        // In email order: the same team gets the same records whatever its (random) user ids.
        members.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
        let owners: Vec<UserId> = members.into_iter().map(|u| u.id).collect();
        // Never empty: the scope itself acts as one of them.
        let now = self.now();
        let mut rng = StdRng::seed_from_u64(plan.seed);
        let mut report = SeedReport::default();
        let progress = std::sync::Arc::new(progress);

        let mut company_ids = Vec::with_capacity(plan.companies);
        for chunk_start in (0..plan.companies).step_by(BATCH) {
            let batch: Vec<Company> = (chunk_start..plan.companies.min(chunk_start + BATCH))
                .map(|n| {
                    let owner = owners[rng.random_range(0..owners.len())];
                    let name = format!(
                        "{} {} {} {n}",
                        pick(&mut rng, COMPANY_A),
                        pick(&mut rng, COMPANY_B),
                        pick(&mut rng, COMPANY_C)
                    );
                    let slug: String = name.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect();
                    Company {
                        id: id(&mut rng),
                        website: WebUrl::parse(&format!("{slug}.example"), "website").ok(),
                        phone: Phone::parse(
                            &format!("+44 20 {:04} {:04}", rng.random_range(0..10_000), n % 10_000),
                            "phone",
                        )
                        .ok(),
                        industry: Some(pick(&mut rng, INDUSTRIES).to_owned()),
                        size: Some(["1-10", "11-50", "51-200"][rng.random_range(0..3)].to_owned()),
                        address: Address { city: pick(&mut rng, CITIES).to_owned(), ..Default::default() },
                        tax_id: None,
                        bank_details: None,
                        credit_limit: Money::parse(&format!("{}", rng.random_range(1..100) * 1000), "credit_limit")
                            .ok(),
                        tags: some_tags(&mut rng),
                        owner_id: owner,
                        description: String::new(),
                        stamp: stamp(&mut rng, now, owner),
                        name,
                    }
                })
                .collect();
            company_ids.extend(batch.iter().map(|c| c.id));
            report.company_ids.extend(batch.iter().map(|c| c.id));
            report.companies += batch.len();
            store.write(move |txn| save_batch(txn, &batch)).await?;
            progress("companies", report.companies);
        }

        let mut contact_ids = Vec::with_capacity(plan.contacts);
        for chunk_start in (0..plan.contacts).step_by(BATCH) {
            let mut contacts = Vec::new();
            let mut notes = Vec::new();
            let mut tasks = Vec::new();
            for n in chunk_start..plan.contacts.min(chunk_start + BATCH) {
                let owner = owners[rng.random_range(0..owners.len())];
                let (first, last) = (pick(&mut rng, FIRST), pick(&mut rng, LAST));
                let company_id = (!company_ids.is_empty()).then(|| company_ids[rng.random_range(0..company_ids.len())]);
                let contact = Contact {
                    id: id(&mut rng),
                    first_name: first.to_owned(),
                    last_name: last.to_owned(),
                    title: Some(pick(&mut rng, TITLES).to_owned()),
                    emails: vec![EmailEntry {
                        address: format!("{}.{}.{n}@example.com", first.to_lowercase(), last.to_lowercase()),
                        kind: "work".into(),
                    }],
                    phones: vec![PhoneEntry {
                        number: format!("+1 555 {:03} {:04}", n / 10_000 % 1000, n % 10_000),
                        kind: "work".into(),
                    }],
                    company_id,
                    address: Address { city: pick(&mut rng, CITIES).to_owned(), ..Default::default() },
                    status: ContactStatus::ALL[rng.random_range(0..4)],
                    tags: some_tags(&mut rng),
                    owner_id: owner,
                    background: String::new(),
                    date_of_birth: None,
                    tax_id: None,
                    bank_details: None,
                    last_contacted: None,
                    stamp: stamp(&mut rng, now, owner),
                };
                if n % 5 == 0 {
                    notes.push(Note {
                        id: id(&mut rng),
                        body: pick(&mut rng, NOTES).to_owned(),
                        subject_kind: crate::domain::crm::Kind::Contact,
                        subject_id: contact.id,
                        author_id: owner,
                        stamp: stamp(&mut rng, now, owner),
                    });
                }
                if n % 10 == 0 {
                    tasks.push(Task {
                        id: id(&mut rng),
                        title: pick(&mut rng, TASKS).to_owned(),
                        kind: TaskKind::ALL[rng.random_range(0..4)],
                        due: Some(Day::of_unix(now + rng.random_range(-20..40) * 86_400)),
                        assignee_id: owner,
                        done: rng.random_bool(0.3),
                        subject_kind: Some(crate::domain::crm::Kind::Contact),
                        subject_id: Some(contact.id),
                        stamp: stamp(&mut rng, now, owner),
                    });
                }
                contact_ids.push(contact.id);
                contacts.push(contact);
            }
            report.contacts += contacts.len();
            report.notes += notes.len();
            report.tasks += tasks.len();
            store
                .write(move |txn| {
                    save_batch(txn, &contacts)?;
                    save_batch(txn, &notes)?;
                    save_batch(txn, &tasks)
                })
                .await?;
            progress("contacts", report.contacts);
        }

        let pipeline = default_pipeline();
        for chunk_start in (0..plan.deals).step_by(BATCH) {
            let batch: Vec<Deal> = (chunk_start..plan.deals.min(chunk_start + BATCH))
                .map(|n| {
                    let owner = owners[rng.random_range(0..owners.len())];
                    let stage = &pipeline[rng.random_range(0..pipeline.len())];
                    let stamp = stamp(&mut rng, now, owner);
                    let closed_at = (stage.outcome != StageOutcome::Open)
                        .then(|| stamp.created_at + rng.random_range(0..=(now - stamp.created_at).max(0)));
                    Deal {
                        id: id(&mut rng),
                        name: format!("{} deal {n}", pick(&mut rng, COMPANY_A)),
                        company_id: (!company_ids.is_empty())
                            .then(|| company_ids[rng.random_range(0..company_ids.len())]),
                        contact_ids: if contact_ids.is_empty() {
                            Vec::new()
                        } else {
                            vec![contact_ids[rng.random_range(0..contact_ids.len())]]
                        },
                        stage: stage.key.clone(),
                        amount: Money::parse(
                            &format!("{}.{:02}", rng.random_range(500..200_000), rng.random_range(0..100)),
                            "amount",
                        )
                        .ok(),
                        currency: Currency::DEFAULT,
                        expected_close: Some(Day::of_unix(now + rng.random_range(-30..120) * 86_400)),
                        probability: rng.random_range(0..=100),
                        owner_id: owner,
                        close_reason: None,
                        closed_at,
                        archived: false,
                        stamp,
                    }
                })
                .collect();
            report.deals += batch.len();
            store.write(move |txn| save_batch(txn, &batch)).await?;
            progress("deals", report.deals);
        }

        let summary = format!(
            "{} companies, {} contacts, {} deals, {} notes, {} tasks",
            report.companies, report.contacts, report.deals, report.notes, report.tasks
        );
        store.write(move |txn| audit(txn, now, AuditEvent::new("dev.seeded", None).target(summary))).await?;
        Ok(report)
    }
}
