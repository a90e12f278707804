//! Generations in the bucket: a base and the change segments chained to it by hash. Walking
//! a chain finds what a restore replays and what `verify` must account for: a segment whose
//! predecessor is missing or altered breaks the chain; a segment re-sent after an interrupted
//! upload (same start, later end) supersedes the shorter one.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use super::segment::{self, Segment};
use super::target::{OffsiteTarget, parse_base};
use super::{OffsiteBase, OffsiteError};
use crate::app::backup::format::Keyring;

/// A generation as listed.
#[derive(Debug, Clone)]
pub struct Generation {
    pub base: OffsiteBase,
    /// Segment object paths, in name order.
    pub segments: Vec<String>,
}

/// Every generation under the target, oldest first (one listing).
pub async fn list(store: &Arc<dyn ObjectStore>, target: &OffsiteTarget) -> Result<Vec<Generation>, OffsiteError> {
    let objects: Vec<object_store::ObjectMeta> = store.list(Some(&target.generations())).try_collect().await?;
    let mut generations: Vec<Generation> = objects
        .iter()
        .filter_map(|meta| {
            parse_base(&meta.location).map(|created_at| Generation {
                base: OffsiteBase { created_at, object: meta.location.to_string(), bytes: meta.size },
                segments: Vec::new(),
            })
        })
        .collect();
    generations.sort_by_key(|g| g.base.created_at);
    for meta in &objects {
        let path = meta.location.to_string();
        if !path.ends_with(".hfs") {
            continue;
        }
        let folder = path.rsplit_once('/').map(|(folder, _)| folder).unwrap_or("");
        if let Some(generation) = generations.iter_mut().find(|g| g.base.object.starts_with(&format!("{folder}/"))) {
            generation.segments.push(path);
        }
    }
    for generation in &mut generations {
        generation.segments.sort();
    }
    Ok(generations)
}

/// A segment in a chain: what it holds, its object and its SHA-256.
#[derive(Debug)]
pub struct Linked {
    pub segment: Segment,
    pub object: String,
    pub sha256: String,
}

/// A generation's segments in replay order, with what did not fit in the chain.
#[derive(Debug, Default)]
pub struct Walked {
    pub chain: Vec<Linked>,
    /// Objects re-sent in a longer segment (harmless).
    pub superseded: Vec<String>,
    /// Objects that cannot be reached from the base: a segment before them is missing or was
    /// altered, or they were altered themselves.
    pub broken: Vec<(String, String)>,
}

/// Downloads and opens a generation's segments and walks the chain from the base, whose
/// SHA-256 is `base_sha256` and whose snapshot ends at op log row `base_seq`.
pub async fn walk(
    store: &Arc<dyn ObjectStore>,
    generation: &Generation,
    base_sha256: &str,
    base_seq: u64,
    passphrase: &SecretString,
) -> Result<Walked, OffsiteError> {
    // One key derivation for the whole generation (its segments share a salt).
    let keys = Arc::new(Keyring::new(passphrase.clone()));
    let mut opened: Vec<(String, String, Segment)> = Vec::new();
    let mut walked = Walked::default();
    for object in &generation.segments {
        let bytes = store.get(&object.as_str().into()).await?.bytes().await?;
        let digest = hex::encode(Sha256::digest(&bytes));
        let keys = keys.clone();
        let outcome = tokio::task::spawn_blocking(move || segment::open(&bytes, &keys))
            .await
            .map_err(|e| OffsiteError::Store(e.to_string()))?;
        match outcome {
            Ok(segment) => opened.push((object.clone(), digest, segment)),
            Err(e) => walked.broken.push((object.clone(), e.to_string())),
        }
    }
    let mut by_previous: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, (_, _, segment)) in opened.iter().enumerate() {
        by_previous.entry(segment.header.previous_sha256.clone()).or_default().push(index);
    }
    let mut reached = vec![base_sha256.to_owned()];
    let (mut current, mut next_seq) = (base_sha256.to_owned(), base_seq + 1);
    let mut taken = vec![false; opened.len()];
    while let Some(candidates) = by_previous.get(&current) {
        // The longest of the segments that start right here (a re-sent one ends later).
        let Some(&best) = candidates
            .iter()
            .filter(|&&i| opened[i].2.header.seq_from == next_seq)
            .max_by_key(|&&i| opened[i].2.header.seq_to)
        else {
            break;
        };
        taken[best] = true;
        for &other in candidates.iter().filter(|&&i| i != best) {
            taken[other] = true;
            walked.superseded.push(opened[other].0.clone());
        }
        current = opened[best].1.clone();
        next_seq = opened[best].2.header.seq_to + 1;
        reached.push(current.clone());
    }
    let mut chain_order = Vec::new();
    for (index, (object, digest, segment)) in opened.into_iter().enumerate() {
        if !taken[index] {
            walked.broken.push((object, "its predecessor is missing or was altered".into()));
        } else if reached.contains(&digest) {
            chain_order.push(Linked { segment, object, sha256: digest });
        }
    }
    chain_order.sort_by_key(|l| l.segment.header.seq_from);
    walked.chain = chain_order;
    Ok(walked)
}
