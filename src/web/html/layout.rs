//! What the base template needs on every page: title, nonce and asset URLs.

use crate::web::assets;
use crate::web::extract::CspNonce;

pub struct Layout {
    pub title: String,
    pub nonce: String,
    pub css: &'static str,
    pub js: &'static str,
    pub icon: &'static str,
}

impl Layout {
    pub fn new(title: impl Into<String>, nonce: &CspNonce) -> Self {
        Self {
            title: title.into(),
            nonce: nonce.as_str().to_owned(),
            css: assets::url("app.css"),
            js: assets::url("app.js"),
            icon: assets::url("icon.svg"),
        }
    }
}
