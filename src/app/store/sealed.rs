//! Transparent field encryption of CRM records. A record type names its sealed top-level JSON
//! fields (`Entity::SEALED`); `save` writes the envelope `[2][u16 version][json]` where each of
//! those fields holds base64 of `key id ‖ nonce ‖ ciphertext+tag` (see `app::keyring`), and
//! `load` opens them again, so every service sees plaintext and the file holds none.
//!
//! The keyring is passed in by the store's transaction handles, which carry it: nothing
//! outside a store transaction can seal or open a field.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::value::MapDeserializer;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use super::codec::{self, Versioned};
use super::crm::Entity;
use crate::app::keyring::{FieldSite, Keyring, key_id_of};
use crate::domain::ids::{RecordId, WorkspaceId};
use crate::error::{AppError, ErrorCode};

/// Envelope format of a record whose sealed fields are encrypted.
pub(crate) const FORMAT_SEALED: u8 = 2;

fn corrupt(why: &'static str) -> AppError {
    AppError::internal(ErrorCode::StorageUnavailable, format!("corrupt sealed record: {why}"))
}

fn site<'a, T: Entity>(workspace: &'a WorkspaceId, id: &'a RecordId, field: &'a str) -> FieldSite<'a> {
    FieldSite { workspace, kind: T::KIND.byte(), record: id, field }
}

/// A record's top-level JSON members, values kept as JSON text (no value tree is built: only
/// the sealed members are touched).
type Members = BTreeMap<String, Box<RawValue>>;

/// The stored bytes of `record`, its sealed fields encrypted under the current key.
pub(crate) fn encode<T: Entity>(keyring: &Keyring, workspace: &WorkspaceId, record: &T) -> Result<Vec<u8>, AppError> {
    if T::SEALED.is_empty() {
        return codec::encode(record);
    }
    // Serde messages can quote values: never pass them on.
    let plain = Zeroizing::new(serde_json::to_vec(record).map_err(|_| corrupt("not serialisable"))?);
    let mut members: Members = serde_json::from_slice(&plain).map_err(|_| corrupt("not an object"))?;
    let id = record.id();
    for field in T::SEALED {
        if let Some(value) = members.get_mut(*field).filter(|v| v.get() != "null") {
            let sealed = keyring.seal(&site::<T>(workspace, &id, field), value.get().as_bytes())?;
            let text = format!("\"{}\"", STANDARD.encode(sealed));
            let plain = std::mem::replace(value, RawValue::from_string(text).map_err(|_| corrupt("field"))?);
            zeroize_raw(plain);
        }
    }
    let mut bytes = vec![FORMAT_SEALED];
    bytes.extend_from_slice(&T::VERSION.to_be_bytes());
    serde_json::to_writer(&mut bytes, &members).map_err(|_| corrupt("not serialisable"))?;
    Ok(bytes)
}

/// The JSON of a sealed envelope (after checking the version).
fn sealed_json<T: Versioned>(bytes: &[u8]) -> Result<&[u8], AppError> {
    codec::envelope_json::<T>(bytes, &[FORMAT_SEALED]).map_err(corrupt)
}

/// The sealed members of a sealed envelope, borrowed (after checking the version).
fn sealed_members<T: Entity>(bytes: &[u8]) -> Result<Vec<(&'static str, &RawValue)>, AppError> {
    let mut members = serde_json::Deserializer::from_slice(sealed_json::<T>(bytes)?);
    SealedMembers(T::SEALED).deserialize(&mut members).map_err(|_| corrupt("not a JSON object"))
}

/// The bytes of a sealed member (base64 text).
fn sealed_bytes(value: &RawValue) -> Result<Vec<u8>, AppError> {
    let text: &str = serde_json::from_str(value.get()).map_err(|_| corrupt("sealed field is not text"))?;
    STANDARD.decode(text).map_err(|_| corrupt("sealed field is not base64"))
}

/// Reads a stored record with id `id`: plain envelopes as they are, sealed ones opened (the
/// id and workspace come from the key, so a value copied elsewhere fails to open).
pub(crate) fn decode<T: Entity>(
    keyring: &Keyring,
    workspace: &WorkspaceId,
    id: &RecordId,
    bytes: &[u8],
) -> Result<T, AppError> {
    decode_opening::<T>(Some(keyring), workspace, id, bytes, T::SEALED)
}

/// Reads a stored record opening only its sealed fields named in `open`; the others are left
/// out, so they take their defaults (a view for pages that do not show them: never to be
/// saved). Opening nothing needs no `keyring`: store migrations read records before the
/// keyring loads.
pub(crate) fn decode_opening<T: Entity>(
    keyring: Option<&Keyring>,
    workspace: &WorkspaceId,
    id: &RecordId,
    bytes: &[u8],
    open: &[&'static str],
) -> Result<T, AppError> {
    if bytes.first() != Some(&FORMAT_SEALED) {
        return codec::decode(bytes);
    }
    // The members are borrowed from the stored JSON, each value as its raw text; the record
    // is deserialized from them with the opened plaintexts in place of their sealed values
    // and the closed members left out. Nothing is re-encoded and no value tree is built.
    let members = all_members(sealed_json::<T>(bytes)?)?;
    let mut plaintexts = Vec::new();
    for (name, value) in &members {
        if let Some(field) = T::SEALED.iter().find(|f| *f == name).filter(|f| open.contains(f))
            && value.get() != "null"
        {
            let ring = keyring.ok_or_else(|| corrupt("a field to open but no keyring"))?;
            let plain = ring.open(&site::<T>(workspace, id, field), &sealed_bytes(value)?)?;
            let text = String::from_utf8(plain.to_vec()).map_err(|_| corrupt("sealed field is not text"))?;
            plaintexts.push(RawValue::from_string(text).map_err(|_| corrupt("sealed field is not JSON"))?);
        }
    }
    let mut opened = plaintexts.iter();
    let mut shown = Vec::with_capacity(members.len());
    for (name, value) in &members {
        match T::SEALED.contains(name) {
            false => shown.push((*name, *value)),
            true if !open.contains(name) => {}
            true if value.get() == "null" => shown.push((*name, *value)),
            true => shown.push((*name, opened.next().ok_or_else(|| corrupt("member"))?.as_ref())),
        }
    }
    let record = T::deserialize(MapDeserializer::<_, serde_json::Error>::new(shown.into_iter()))
        .map_err(|_| corrupt("does not match its type"));
    plaintexts.into_iter().for_each(zeroize_raw);
    record
}

/// Every member of a record's JSON object, borrowed: its name and its value's raw text.
fn all_members(json: &[u8]) -> Result<Vec<(&str, &RawValue)>, AppError> {
    let mut members = serde_json::Deserializer::from_slice(json);
    AllMembers.deserialize(&mut members).map_err(|_| corrupt("not a JSON object"))
}

struct AllMembers;

impl<'de> DeserializeSeed<'de> for AllMembers {
    type Value = Vec<(&'de str, &'de RawValue)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AllMembers {
    type Value = Vec<(&'de str, &'de RawValue)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(key) = map.next_key::<&'de str>()? {
            found.push((key, map.next_value::<&'de RawValue>()?));
        }
        Ok(found)
    }
}

/// Finds the sealed members of a record's JSON (borrowed), skipping the others without
/// building anything from them.
struct SealedMembers(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for SealedMembers {
    type Value = Vec<(&'static str, &'de RawValue)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SealedMembers {
    type Value = Vec<(&'static str, &'de RawValue)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = Vec::with_capacity(self.0.len());
        while let Some(key) = map.next_key::<&'de str>()? {
            match self.0.iter().find(|field| **field == key) {
                Some(field) => found.push((*field, map.next_value::<&'de RawValue>()?)),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// Wipes a sealed member's plaintext before it is freed.
fn zeroize_raw(value: Box<RawValue>) {
    let text: Box<str> = value.into();
    drop(Zeroizing::new(String::from(text)));
}

/// Whether stored bytes hold a value not sealed under key `current` (plain envelopes of a
/// type with sealed fields count, so rotation also seals records written before encryption).
pub(crate) fn needs_reseal<T: Entity>(bytes: &[u8], current: u32) -> Result<bool, AppError> {
    if T::SEALED.is_empty() {
        return Ok(false);
    }
    if bytes.first() != Some(&FORMAT_SEALED) {
        return Ok(true);
    }
    for (_, value) in sealed_members::<T>(bytes)? {
        if value.get() != "null" && key_id_of(&sealed_bytes(value)?) != Some(current) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Kind bytes of sealed snapshots (record kinds use 1–5).
pub(crate) const SNAPSHOT_IDEMPOTENT_ANSWER: u8 = 0xf1;
pub(crate) const SNAPSHOT_IMPORT_ITEM: u8 = 0xf2;

/// Runs `f` with the site of a snapshot stored under `key` = workspace ‖ 16-byte id ‖ rest.
fn at_key<R>(key: &[u8], kind: u8, f: impl FnOnce(&FieldSite<'_>) -> Result<R, AppError>) -> Result<R, AppError> {
    let (Some(ws), Some(id)) = (key.get(..16), key.get(16..32)) else { return Err(corrupt("snapshot key")) };
    let workspace = WorkspaceId::from_bytes(ws.try_into().map_err(|_| corrupt("snapshot key"))?);
    let record = RecordId::from_bytes(id.try_into().map_err(|_| corrupt("snapshot key"))?);
    let field = hex::encode(&key[32..]);
    f(&FieldSite { workspace: &workspace, kind, record: &record, field: &field })
}

/// Seals a whole snapshot (an idempotent answer, an import's previous version) stored under
/// `key` with the current data key; written as `s1:` + base64.
pub(crate) fn seal_text(keyring: &Keyring, key: &[u8], kind: u8, text: &str) -> Result<String, AppError> {
    at_key(key, kind, |site| Ok(format!("s1:{}", STANDARD.encode(keyring.seal(site, text.as_bytes())?))))
}

/// Opens what [`seal_text`] wrote (text without the `s1:` mark is returned as it is).
pub(crate) fn open_text(keyring: &Keyring, key: &[u8], kind: u8, stored: &str) -> Result<String, AppError> {
    let Some(encoded) = stored.strip_prefix("s1:") else { return Ok(stored.to_owned()) };
    let sealed = STANDARD.decode(encoded).map_err(|_| corrupt("sealed text is not base64"))?;
    let plain = at_key(key, kind, |site| keyring.open(site, &sealed))?;
    String::from_utf8(plain.to_vec()).map_err(|_| corrupt("sealed text is not UTF-8"))
}

/// Whether sealed text is plain or under another key than `current`.
pub(crate) fn text_needs_reseal(stored: &str, current: u32) -> bool {
    let Some(head) = stored.strip_prefix("s1:").and_then(|e| e.get(..8)) else { return !stored.is_empty() };
    STANDARD.decode(head).ok().and_then(|h| key_id_of(&h)) != Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::crypto::MasterKey;
    use crate::domain::crm::{Contact, ContactInput, PhoneEntry};
    use crate::domain::ids::UserId;

    fn keyring(ids: &[u32]) -> Keyring {
        let ring = Keyring::new(&MasterKey::generate());
        for id in ids {
            ring.install(*id, &ring.generate_wrapped(*id).unwrap(), true).unwrap();
        }
        ring
    }

    fn contact() -> Contact {
        let input = ContactInput {
            last_name: Some("Lovelace".into()),
            tax_id: Some("CANARY-TAX".into()),
            phones: Some(vec![PhoneEntry { number: "+44 1632 960000".into(), kind: "work".into() }]),
            ..Default::default()
        };
        Contact::create(RecordId::random(), input, UserId::random(), 0).unwrap().0
    }

    #[test]
    fn records_round_trip_sealed_and_fail_closed_elsewhere() {
        let ring = keyring(&[1]);
        let (ws, record) = (WorkspaceId::random(), contact());
        let bytes = encode(&ring, &ws, &record).unwrap();
        assert_eq!(bytes[0], FORMAT_SEALED);
        for plain in [&b"CANARY-TAX"[..], b"1632", b"\"tax_id\":\"C"] {
            assert!(!bytes.windows(plain.len()).any(|w| w == plain), "plaintext in the stored bytes");
        }
        assert!(bytes.windows(8).any(|w| w == b"Lovelace"), "names stay plain");
        assert_eq!(decode::<Contact>(&ring, &ws, &record.id, &bytes).unwrap(), record);
        assert!(decode::<Contact>(&ring, &ws, &RecordId::random(), &bytes).is_err(), "moved to another record");
        assert!(decode::<Contact>(&ring, &WorkspaceId::random(), &record.id, &bytes).is_err(), "another workspace");
        assert!(!needs_reseal::<Contact>(&bytes, 1).unwrap());
        assert!(needs_reseal::<Contact>(&bytes, 2).unwrap());
        let plain = codec::encode(&record).unwrap();
        assert_eq!(
            decode::<Contact>(&ring, &ws, &record.id, &plain).unwrap(),
            record,
            "records from before encryption"
        );
        assert!(needs_reseal::<Contact>(&plain, 1).unwrap());
    }

    /// A list row opens only the sealed fields it shows; the rest are left empty, wherever
    /// they sit among the members (first, next to each other, last).
    #[test]
    fn rows_open_only_what_they_show() {
        let ring = keyring(&[1]);
        let (ws, mut record) = (WorkspaceId::random(), contact());
        record.date_of_birth = Some(crate::domain::fields::Day::parse("1815-12-10", "date_of_birth").unwrap());
        record.bank_details = Some("CANARY-BANK".into());
        record.address.city = "London".into();
        let bytes = encode(&ring, &ws, &record).unwrap();
        let closed: Contact = decode_opening(Some(&ring), &ws, &record.id, &bytes, &[]).unwrap();
        assert_eq!((closed.phones.len(), closed.tax_id, closed.bank_details), (0, None, None));
        assert_eq!((closed.address, closed.date_of_birth), (Default::default(), None));
        assert_eq!((closed.first_name, closed.stamp), (record.first_name.clone(), record.stamp.clone()));
        let phones: Contact = decode_opening(Some(&ring), &ws, &record.id, &bytes, &["phones"]).unwrap();
        assert_eq!((phones.phones, phones.tax_id), (record.phones.clone(), None));
        let company = crate::domain::crm::Company::create(
            RecordId::random(),
            crate::domain::crm::CompanyInput {
                name: Some("Analytical Engines".into()),
                phone: Some("+44 20 7946 0958".into()),
                tax_id: Some("GB123".into()),
                address: Some(record.address.clone()),
                ..Default::default()
            },
            UserId::random(),
            0,
        )
        .unwrap()
        .0;
        let bytes = encode(&ring, &ws, &company).unwrap();
        let row: crate::domain::crm::Company =
            decode_opening(Some(&ring), &ws, &company.id, &bytes, &["phone"]).unwrap();
        assert_eq!((row.phone, row.tax_id, row.address), (company.phone.clone(), None, Default::default()));
    }

    /// Members are read wherever the stored JSON puts them: spacing and order (here sorted by
    /// name) don't matter.
    #[test]
    fn records_read_from_json_in_any_layout() {
        let ring = keyring(&[1]);
        let (ws, record) = (WorkspaceId::random(), contact());
        let bytes = encode(&ring, &ws, &record).unwrap();
        let members: Members = serde_json::from_slice(&bytes[3..]).unwrap();
        let mut pretty = bytes[..3].to_vec();
        pretty.extend(serde_json::to_vec_pretty(&members).unwrap());
        assert_eq!(decode::<Contact>(&ring, &ws, &record.id, &pretty).unwrap(), record);
        let closed: Contact = decode_opening(Some(&ring), &ws, &record.id, &pretty, &[]).unwrap();
        assert_eq!((closed.tax_id, closed.first_name), (None, record.first_name.clone()));
    }

    #[test]
    fn a_sealed_field_copied_to_another_field_fails() {
        let ring = keyring(&[1]);
        let (ws, record) = (WorkspaceId::random(), contact());
        let bytes = encode(&ring, &ws, &record).unwrap();
        let mut members: Members = serde_json::from_slice(&bytes[3..]).unwrap();
        let tax = members["tax_id"].clone();
        members.insert("phones".into(), tax);
        let mut moved = bytes[..3].to_vec();
        moved.extend(serde_json::to_vec(&members).unwrap());
        assert!(decode::<Contact>(&ring, &ws, &record.id, &moved).is_err());
    }

    #[test]
    fn snapshots_are_sealed_and_bound_to_their_key() {
        let ring = keyring(&[3]);
        let key = [[7u8; 16], [8u8; 16]].concat();
        let sealed = seal_text(&ring, &key, SNAPSHOT_IMPORT_ITEM, "{\"tax_id\":\"CANARY\"}").unwrap();
        assert!(sealed.starts_with("s1:") && !sealed.contains("CANARY"));
        assert_eq!(open_text(&ring, &key, SNAPSHOT_IMPORT_ITEM, &sealed).unwrap(), "{\"tax_id\":\"CANARY\"}");
        assert!(open_text(&ring, &[[7u8; 16], [9u8; 16]].concat(), SNAPSHOT_IMPORT_ITEM, &sealed).is_err());
        assert!(open_text(&ring, &key, SNAPSHOT_IDEMPOTENT_ANSWER, &sealed).is_err());
        assert!(!text_needs_reseal(&sealed, 3) && text_needs_reseal(&sealed, 4) && text_needs_reseal("{}", 3));
    }
}
