//! Webhook targets: which URLs a subscription may name, and one signed
//! delivery to one.
//!
//! A target must be `http` or `https` and, unless the operator allows it,
//! resolve only to public addresses: a subscription is made by an editor
//! over the API, and a webhook to `127.0.0.1:5432` or the cloud's metadata
//! address would let them probe the server's own network. The check is made
//! when the subscription is made and again before each delivery (names can
//! be pointed elsewhere later).

use crate::error::CoreError;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;
use ureq::http::Uri;

/// The header carrying `sha256=<hex>` of the body, keyed by the subscription's secret.
pub const SIGNATURE_HEADER: &str = "x-agrimap-signature";
/// The header carrying the delivery's id, the same on every retry (receivers de-duplicate by it).
pub const DELIVERY_HEADER: &str = "x-agrimap-delivery";

/// `sha256=<hex>` of `body` under `secret`.
#[must_use]
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", crate::tokens::hex(&mac.finalize().into_bytes()))
}

/// The URL, checked: its scheme, host, and the addresses its host resolves to.
///
/// # Errors
/// `bad_webhook` naming what is wrong: not a URL, another scheme, no host,
/// a name that does not resolve, or (unless `allow_private`) an address on
/// loopback, a private or link-local network.
pub fn check_target(url: &str, allow_private: bool) -> Result<Uri, CoreError> {
    let bad = |why: String| CoreError::invalid("bad_webhook", why);
    let uri: Uri = url
        .parse()
        .map_err(|_| bad(format!("'{}' is not a URL", crate::echo(url, 120))))?;
    let scheme = uri.scheme_str().unwrap_or_default();
    if scheme != "http" && scheme != "https" {
        return Err(bad(format!(
            "a webhook must be http or https, not '{}'",
            crate::echo(scheme, 20)
        )));
    }
    let Some(host) = uri.host() else {
        return Err(bad("the webhook URL has no host".into()));
    };
    let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    let host_only = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<IpAddr> = (host_only, port)
        .to_socket_addrs()
        .map_err(|e| {
            bad(format!(
                "the webhook host {} does not resolve: {e}",
                crate::echo(host, 80)
            ))
        })?
        .map(|a| a.ip())
        .collect();
    if addresses.is_empty() {
        return Err(bad(format!(
            "the webhook host {} has no address",
            crate::echo(host, 80)
        )));
    }
    if !allow_private && let Some(private) = addresses.iter().find(|a| !is_public(**a)) {
        return Err(bad(format!(
            "the webhook host {} is at {private}, a loopback, private or link-local address; \
             the server refuses those unless started with --allow-private-webhooks",
            crate::echo(host, 80)
        )));
    }
    Ok(uri)
}

/// Whether an address is on the public internet (not loopback, private,
/// link-local, shared, documentation, multicast or unspecified).
#[must_use]
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 100.64.0.0/10, carrier-grade NAT.
                || (a == 100 && (64..128).contains(&b))
                || a == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// The HTTP client of deliveries: one for all, so that connections to a
/// receiver are kept alive between deliveries; no redirects (a receiver
/// cannot send a signed alert elsewhere), every status read as an answer.
#[must_use]
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// Posts `body` to `url`, signed; blocking (run it off the async threads).
///
/// # Errors
/// Why the receiver did not take it: the target check, the connection, a
/// timeout, or a status other than 2xx.
pub fn post(
    agent: &ureq::Agent,
    url: &str,
    secret: &str,
    delivery_id: i64,
    body: &[u8],
    allow_private: bool,
) -> Result<(), String> {
    check_target(url, allow_private).map_err(|e| e.message)?;
    let response = agent
        .post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature(secret, body))
        .header(DELIVERY_HEADER, delivery_id.to_string())
        .header("user-agent", concat!("agrimap/", env!("CARGO_PKG_VERSION")))
        .send(body)
        .map_err(|e| format!("sending: {e}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn loopback_private_and_link_local_targets_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://10.1.2.3/hook",
            "http://192.168.1.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/hook",
            "http://100.64.0.1/hook",
        ] {
            let e = check_target(url, false).expect_err(url);
            assert!(e.message.contains("--allow-private-webhooks"), "{url}: {}", e.message);
            assert!(check_target(url, true).is_ok(), "{url} allowed");
        }
        assert!(check_target("ftp://example.org/x", true).is_err());
        assert!(check_target("not a url", true).is_err());
        assert!(is_public("8.8.8.8".parse().expect("ip")));
        assert!(is_public("2001:4860::8888".parse().expect("ip")));
    }
}
