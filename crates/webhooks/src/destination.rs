//! Where outgoing webhooks may go. Registration refuses URLs that are obviously internal, but
//! the real guard sits where the worker connects: the HTTP client resolves host names through
//! [`GuardedResolver`], which checks every address a name resolves to and refuses the name if
//! any one is not public (so an answer mixing a public and an internal address, or one that
//! changes between two lookups, cannot slip through: the addresses checked are the ones
//! connected to). reqwest never asks the resolver about IP literals, so those are checked
//! before each request ([`check`]). Redirects are not followed and proxies are not used, so
//! the checked address is the only one a delivery reaches.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use platform::config::Config;

/// What outgoing webhooks may reach (`WEBHOOKS_ALLOW_HTTP`, `WEBHOOKS_ALLOW_PRIVATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub allow_http: bool,
    pub allow_private: bool,
}

impl Policy {
    pub fn of(config: &Config) -> Self {
        Self {
            allow_http: config.webhooks_allow_http,
            allow_private: config.webhooks_allow_private,
        }
    }
}

/// Why a URL may not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Malformed or against the rules (scheme, credentials…): the message says which.
    Invalid(&'static str),
    /// The host is, or resolves to, an address webhooks may not reach.
    NotAllowed,
}

/// The destination was refused. Deliberately without detail: the attempt log is shown to the
/// endpoint's owner, and must not tell which internal addresses exist or answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("destination not allowed")]
pub struct Refused;

/// Parses and checks an endpoint URL at registration: https (or http when allowed), a host,
/// no credentials; unless private destinations are allowed, IP literals must be public and
/// names must not be obviously local. Names are checked again, address by address, when the
/// worker connects.
pub fn check(raw: &str, policy: Policy) -> Result<Url, Problem> {
    check_url(raw, policy, true)
}

/// The check before each attempt: the same rules, except that names are left to
/// [`GuardedResolver`], which sees the addresses they resolve to.
pub fn check_before_connect(raw: &str, policy: Policy) -> Result<Url, Problem> {
    check_url(raw, policy, false)
}

fn check_url(raw: &str, policy: Policy, refuse_local_names: bool) -> Result<Url, Problem> {
    if raw.len() > 2000 {
        return Err(Problem::Invalid("url must be at most 2000 characters"));
    }
    let url =
        Url::parse(raw.trim()).map_err(|_| Problem::Invalid("url must be an absolute URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        _ => return Err(Problem::Invalid("url must use https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Problem::Invalid("url must not contain credentials"));
    }
    // The url crate has already normalised the host: `0x7f.1`, `2130706433` and `127.1` are
    // all `Host::Ipv4(127.0.0.1)`, exactly as reqwest will read them.
    let allowed = match url.host() {
        None => return Err(Problem::Invalid("url must have a host")),
        Some(_) if policy.allow_private => true,
        Some(Host::Ipv4(ip)) => is_public(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => is_public(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => !(refuse_local_names && is_local_name(name)),
    };
    if !allowed {
        return Err(Problem::NotAllowed);
    }
    Ok(url)
}

/// Names that never lead to a public receiver: `localhost` and its subdomains, single labels
/// (resolved through search domains and `/etc/hosts`), and the local-use suffixes.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    !name.contains('.')
        || name == "localhost"
        || [".localhost", ".local", ".internal", ".home.arpa"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// `scheme://host:port` of a URL: what logs and errors may name. Receivers put secrets in
/// paths and query strings, so those never leave the endpoint's row.
pub fn origin(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(url) => format!(
            "{}://{}:{}",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        ),
        Err(_) => "(invalid url)".to_string(),
    }
}

/// Whether a webhook may connect to `ip` when private destinations are not allowed.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => v4_is_public(ip),
        IpAddr::V6(ip) => v6_is_public(ip),
    }
}

/// IPv4 ranges that are not globally reachable (IANA special-purpose registry).
const NOT_PUBLIC_V4: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network" (0.0.0.0 connects to this host)
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // carrier-grade NAT
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local, cloud metadata
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast
    ([192, 168, 0, 0], 16),  // private
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
    ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, and 255.255.255.255 broadcast
];

fn v4_is_public(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    !NOT_PUBLIC_V4.iter().any(|&(base, len)| {
        let mask = u32::MAX << (32 - u32::from(len));
        bits & mask == u32::from(Ipv4Addr::from(base))
    })
}

/// Ranges inside global unicast 2000::/3 that are not public destinations.
const NOT_PUBLIC_V6: &[(u128, u8)] = &[
    (0x2001_0000 << 96, 23), // IETF protocol assignments: Teredo 2001::/32, benchmarking…
    (0x2001_0db8 << 96, 32), // documentation
    (0x3fff_0000 << 96, 20), // documentation (RFC 9637)
];

fn v6_is_public(ip: Ipv6Addr) -> bool {
    // IPv4-mapped ::ffff:0:0/96: the socket connects to the embedded IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_is_public(v4);
    }
    let o = ip.octets();
    // 6to4 2002::/16 carries an IPv4 address in its next 32 bits.
    if o[0] == 0x20 && o[1] == 0x02 {
        return v4_is_public(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    // Only global unicast 2000::/3 is routed on the internet. Outside it: unspecified,
    // loopback, IPv4-compatible ::/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48 (they reach
    // IPv4 through a translator, internal addresses included), discard-only 100::/64,
    // unique-local fc00::/7, link-local fe80::/10, site-local fec0::/10 and multicast ff00::/8.
    if o[0] & 0xe0 != 0x20 {
        return false;
    }
    let bits = u128::from(ip);
    !NOT_PUBLIC_V6.iter().any(|&(base, len)| {
        let mask = u128::MAX << (128 - u32::from(len));
        bits & mask == base
    })
}

/// The webhook client's resolver when private destinations are not allowed: resolves with the
/// system resolver (as reqwest's default does), then refuses the name unless every address is
/// public. A name that does not resolve is refused the same way, so the attempt log cannot be
/// used to learn which internal names exist.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(addrs) => addrs.collect(),
                Err(_) => Vec::new(),
            };
            if addrs.is_empty() || !addrs.iter().all(|a| is_public(a.ip())) {
                let refused: Box<dyn std::error::Error + Send + Sync> = Box::new(Refused);
                return Err(refused);
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether `error` (or any error it wraps) is a [`Refused`] from the resolver.
pub fn is_refusal(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<Refused>() {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTION: Policy = Policy {
        allow_http: false,
        allow_private: false,
    };

    #[test]
    fn only_globally_reachable_addresses_are_public() {
        for (ip, public) in [
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("93.184.216.34", true),
            ("100.63.255.255", true),
            ("100.128.0.0", true),
            ("172.32.0.1", true),
            ("198.17.255.255", true),
            ("198.20.0.0", true),
            ("223.255.255.255", true),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("10.0.0.1", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("127.0.0.1", false),
            ("127.255.255.254", false),
            ("169.254.169.254", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.0.0.8", false),
            ("192.0.2.1", false),
            ("192.88.99.1", false),
            ("192.168.1.1", false),
            ("198.18.0.1", false),
            ("198.19.255.255", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("224.0.0.1", false),
            ("239.255.255.250", false),
            ("240.0.0.1", false),
            ("255.255.255.255", false),
            ("2606:4700:4700::1111", true),
            ("2a00:1450:4001:80b::200e", true),
            ("::ffff:8.8.8.8", true),
            ("2002:808:808::1", true),
            ("::", false),
            ("::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:7f00:1", false),
            ("::ffff:169.254.169.254", false),
            ("::ffff:10.0.0.1", false),
            ("::ffff:0.0.0.0", false),
            ("::127.0.0.1", false),
            ("::8.8.8.8", false),
            ("::ffff:0:8.8.8.8", false),
            ("64:ff9b::7f00:1", false),
            ("64:ff9b::808:808", false),
            ("64:ff9b:1::1", false),
            ("2002:7f00:1::1", false),
            ("2002:a9fe:a9fe::", false),
            ("2002:c0a8:101::1", false),
            ("2001::1", false),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", false),
            ("2001:2::1", false),
            ("2001:db8::1", false),
            ("3fff::1", false),
            ("100::1", false),
            ("fc00::1", false),
            ("fd12:3456:789a::1", false),
            ("fe80::1", false),
            ("febf::1", false),
            ("fec0::1", false),
            ("ff02::1", false),
            ("ff0e::1", false),
        ] {
            let addr: IpAddr = ip.parse().expect(ip);
            assert_eq!(is_public(addr), public, "{ip}");
        }
    }

    #[test]
    fn production_refuses_every_written_form_of_a_local_host() {
        for url in [
            "https://127.0.0.1/x",
            "https://127.1/x",
            "https://2130706433/x",
            "https://0x7f.0.0.1/x",
            "https://0.0.0.0/x",
            "https://0.1.2.3/x",
            "https://10.0.0.1/x",
            "https://100.64.0.1/x",
            "https://198.18.0.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://[::]/x",
            "https://[::ffff:127.0.0.1]:8443/x",
            "https://[::ffff:7f00:1]/x",
            "https://[::ffff:169.254.169.254]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://[64:ff9b::7f00:1]/x",
            "https://[2002:7f00:1::]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://localhost/x",
            "https://localhost./x",
            "https://LOCALHOST/x",
            "https://api.localhost/x",
            "https://printer.local/x",
            "https://metadata.google.internal/x",
            "https://redis/x",
        ] {
            assert_eq!(check(url, PRODUCTION), Err(Problem::NotAllowed), "{url}");
        }
        assert!(check("https://hooks.example.com/x", PRODUCTION).is_ok());
        assert!(check("https://8.8.8.8/x", PRODUCTION).is_ok());
        let local = Policy {
            allow_http: true,
            allow_private: true,
        };
        assert!(check("http://127.0.0.1:8080/x", local).is_ok());
        assert!(check("http://[::ffff:127.0.0.1]:8080/x", local).is_ok());
    }

    #[test]
    fn before_connecting_names_are_left_to_the_resolver_but_literals_are_checked() {
        assert!(check_before_connect("https://localhost/x", PRODUCTION).is_ok());
        assert_eq!(
            check_before_connect("https://[::ffff:127.0.0.1]/x", PRODUCTION),
            Err(Problem::NotAllowed)
        );
        assert_eq!(
            check_before_connect("http://hooks.example.com/x", PRODUCTION),
            Err(Problem::Invalid("url must use https"))
        );
    }

    #[test]
    fn plain_http_is_a_separate_switch_from_private_destinations() {
        let http_only = Policy {
            allow_http: true,
            allow_private: false,
        };
        assert!(check("http://hooks.example.com/x", http_only).is_ok());
        assert_eq!(
            check("http://127.0.0.1:8080/x", http_only),
            Err(Problem::NotAllowed)
        );
        assert_eq!(
            check("http://hooks.example.com/x", PRODUCTION),
            Err(Problem::Invalid("url must use https"))
        );
    }

    #[test]
    fn the_origin_leaves_out_path_query_and_fragment() {
        assert_eq!(
            origin("https://hooks.example.com/t/sk_live_123?token=abc#frag"),
            "https://hooks.example.com:443"
        );
        assert_eq!(origin("http://[::1]:8080/secret"), "http://[::1]:8080");
        assert_eq!(origin("not a url"), "(invalid url)");
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_to_loopback_or_nowhere() {
        for name in ["localhost", "localhost.", "no-such-host.invalid"] {
            let result = GuardedResolver.resolve(name.parse().expect("name")).await;
            let error = result.err().unwrap_or_else(|| panic!("{name} resolved"));
            assert!(is_refusal(error.as_ref()), "{name}: {error}");
        }
    }
}
