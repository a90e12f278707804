//! The client's address: the socket peer, or — only when the peer is a trusted proxy — the
//! right-most address in `X-Forwarded-For` / `Forwarded` that is not itself a trusted proxy.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::config::ForwardedHeader;
use crate::web::AppState;

/// The TCP peer of the connection, set by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The address rate limits, audit entries and loopback checks use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// Resolves the client address from the peer and the configured forwarding header.
    pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet], header: ForwardedHeader) -> ClientIp {
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
        if !is_trusted(&peer) {
            return ClientIp(peer);
        }
        let hops = forwarded_hops(headers, header);
        let client = hops.iter().rev().find(|ip| !is_trusted(ip)).or(hops.first()).copied();
        ClientIp(client.unwrap_or(peer))
    }
}

/// Every address in the configured header, left (origin) to right (nearest). Unparseable
/// entries are skipped.
fn forwarded_hops(headers: &HeaderMap, header: ForwardedHeader) -> Vec<IpAddr> {
    if header == ForwardedHeader::Forwarded {
        return headers
            .get_all("forwarded")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.trim().split_once('=')?;
                    key.eq_ignore_ascii_case("for").then(|| parse_node(value))?
                })
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(parse_node)
        .collect()
}

/// Parses `1.2.3.4`, `1.2.3.4:5`, `"[::1]:80"` or `::1`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| text.strip_prefix('[').and_then(|t| t.split(']').next()).and_then(|t| t.parse().ok()))
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts.extensions.get::<PeerAddr>().map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.ip());
        let server = &state.config.server;
        Ok(ClientIp::resolve(peer, &parts.headers, &server.trusted_proxies, server.forwarded_header))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn untrusted_peers_cannot_choose_their_address() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let spoof = headers(&[("x-forwarded-for", "1.2.3.4")]);
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(ClientIp::resolve(peer, &spoof, &trusted, ForwardedHeader::XForwardedFor).0, peer);
    }

    #[test]
    fn trusted_proxy_gives_the_rightmost_untrusted_hop() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.3")]);
        let xff = ForwardedHeader::XForwardedFor;
        assert_eq!(ClientIp::resolve(peer, &h, &trusted, xff).0.to_string(), "198.51.100.7");
        let h = headers(&[("forwarded", "for=\"[2001:db8::1]:4711\";proto=https, for=10.0.0.5")]);
        assert_eq!(ClientIp::resolve(peer, &h, &trusted, ForwardedHeader::Forwarded).0.to_string(), "2001:db8::1");
        assert_eq!(ClientIp::resolve(peer, &h, &trusted, xff).0, peer, "only the configured header is read");
        assert_eq!(ClientIp::resolve(peer, &HeaderMap::new(), &trusted, xff).0, peer);
    }
}
