//! The broker's address as `--mqtt-url` gives it:
//! `mqtt://[user[:password]@]host[:port]` (plain TCP, port 1883 by default).

use std::fmt;

/// Where the broker listens, and the login if it asks for one.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
    /// User name and password, sent in CONNECT.
    pub login: Option<(String, String)>,
}

impl BrokerUrl {
    /// Reads `mqtt://[user[:password]@]host[:port]` (`tcp://` is taken as a
    /// synonym, as Paho's clients do).
    ///
    /// # Errors
    /// A message saying what is wrong with `url`; it never repeats the password.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("mqtt://")
            .or_else(|| url.strip_prefix("tcp://"))
            .ok_or_else(|| {
                let scheme = url.split_once("://").map_or("none", |(s, _)| s);
                format!("the MQTT URL must start with mqtt:// (TLS is not supported), not with scheme '{scheme}'")
            })?;
        let rest = rest.trim_end_matches('/');
        let (login, address) = match rest.rsplit_once('@') {
            Some((login, address)) => {
                let (user, password) = login.split_once(':').unwrap_or((login, ""));
                (Some((user.to_owned(), password.to_owned())), address)
            }
            None => (None, rest),
        };
        // `[::1]:1883` as well as `host:1883`.
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(':') && !port.contains(']') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("the MQTT URL's port must be a number from 1 to 65535, not '{port}'"))?;
                (host, port)
            }
            _ => (address, 1883),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') {
            return Err(format!("the MQTT URL names no broker host: '{}'", Self::redact(url)));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            login,
        })
    }

    /// `url` with any password replaced, for messages.
    fn redact(url: &str) -> String {
        match url.split_once("://").and_then(|(scheme, rest)| {
            let (login, address) = rest.rsplit_once('@')?;
            let user = login.split_once(':').map_or(login, |(u, _)| u);
            Some(format!("{scheme}://{user}:***@{address}"))
        }) {
            Some(redacted) => redacted,
            None => url.to_owned(),
        }
    }
}

/// Shown in logs: the login's user but never its password.
impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match &self.login {
            Some((user, _)) => write!(f, "mqtt://{user}:***@{host}:{}", self.port),
            None => write!(f, "mqtt://{host}:{}", self.port),
        }
    }
}

/// Never prints the password, even in a `{:?}` of a config.
impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BrokerUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::BrokerUrl;

    #[test]
    fn urls_are_read_with_or_without_port_and_login() {
        let plain = BrokerUrl::parse("mqtt://127.0.0.1:18830").expect("url");
        assert_eq!(
            (plain.host.as_str(), plain.port, plain.login),
            ("127.0.0.1", 18830, None)
        );
        assert_eq!(BrokerUrl::parse("mqtt://broker.local").expect("url").port, 1883);
        assert_eq!(BrokerUrl::parse("tcp://[::1]:1884").expect("url").host, "::1");
        let login = BrokerUrl::parse("mqtt://agrimap:s3cret@broker:1883/").expect("url");
        assert_eq!(login.login, Some(("agrimap".to_owned(), "s3cret".to_owned())));
        assert_eq!(login.to_string(), "mqtt://agrimap:***@broker:1883");
        assert!(!format!("{login:?}").contains("s3cret"));
    }

    #[test]
    fn bad_urls_are_refused_without_their_password() {
        for url in [
            "mqtts://broker",
            "broker:1883",
            "mqtt://",
            "mqtt://host:port",
            "mqtt://host:70000",
        ] {
            assert!(BrokerUrl::parse(url).is_err(), "{url}");
        }
        let err = BrokerUrl::parse("mqtt://u:s3cret@").expect_err("no host");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
