//! Extractors: values the layers put on the request (nonce, request id, client address).

mod client_ip;
mod request_values;

pub use client_ip::{ClientIp, PeerAddr};
pub use request_values::{CspNonce, RequestId};
