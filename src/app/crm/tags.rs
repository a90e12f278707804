//! Tag colours: each tag shows in one of eight colours — a stable default picked from its name,
//! or the one a manager chose (Settings → Pipeline and tags).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::app::audit::{AuditEvent, record as audit};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::store::Versioned;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// Tag colours.
    Tags
}

/// The palette (CSS classes `tag-<name>`).
pub const PALETTE: [&str; 8] = ["grey", "red", "orange", "yellow", "green", "teal", "blue", "purple"];

/// At most this many tags carry a chosen colour.
const MAX_CHOSEN: usize = 500;

const TAG_COLOURS: &str = "tag_colours";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TagColours {
    chosen: BTreeMap<String, String>,
}

impl Versioned for TagColours {
    const VERSION: u16 = 1;
}

impl TagColours {
    /// The tag's colour: chosen, or picked from its name (FNV-1a, so it never changes).
    pub fn of(&self, tag: &str) -> &'static str {
        if let Some(chosen) = self.chosen.get(tag)
            && let Some(colour) = PALETTE.iter().find(|c| *c == chosen)
        {
            return colour;
        }
        let hash = tag.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
        PALETTE[hash as usize % PALETTE.len()]
    }

    /// The tags with a chosen colour, by name.
    pub fn chosen(&self) -> impl Iterator<Item = (&str, &str)> {
        self.chosen.iter().map(|(t, c)| (t.as_str(), c.as_str()))
    }
}

impl Tags<'_> {
    pub async fn colours(&self, scope: &TenantScope) -> Result<TagColours, AppError> {
        scope.require(Action::ReadRecords)?;
        self.store().workspace(scope).read_now(|txn| Ok(txn.setting(TAG_COLOURS)?.unwrap_or_default()))
    }

    /// Chooses `colour` for `tag` (managers and up; `""` goes back to the default).
    pub async fn set_colour(
        &self,
        scope: &TenantScope,
        tag: &str,
        colour: &str,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        scope.require(Action::EditAllRecords)?;
        let tag = crate::domain::fields::tag(tag, "tag")?;
        if !colour.is_empty() && !PALETTE.contains(&colour) {
            return Err(AppError::field(ErrorCode::InvalidFormat, "colour"));
        }
        let (scope, client, colour, now) = (scope.clone(), client.clone(), colour.to_owned(), self.now());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                let mut colours: TagColours = txn.setting(TAG_COLOURS)?.unwrap_or_default();
                if colour.is_empty() {
                    colours.chosen.remove(&tag);
                } else {
                    if colours.chosen.len() >= MAX_CHOSEN && !colours.chosen.contains_key(&tag) {
                        return Err(AppError::field(ErrorCode::TooLong, "tag"));
                    }
                    colours.chosen.insert(tag, colour);
                }
                txn.save_setting(TAG_COLOURS, &colours)?;
                let event = AuditEvent::new("tags.coloured", Some(*scope.user())).from_client(&client);
                audit(txn, now, event)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_colours_are_stable_and_chosen_ones_win() {
        let mut colours = TagColours::default();
        let vip = colours.of("vip");
        assert_eq!(vip, TagColours::default().of("vip"));
        colours.chosen.insert("vip".into(), "purple".into());
        assert_eq!(colours.of("vip"), "purple");
        colours.chosen.insert("odd".into(), "<script>".into());
        assert!(PALETTE.contains(&colours.of("odd")), "only palette names reach a class attribute");
    }
}
