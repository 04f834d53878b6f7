//! HTTP: the WebSocket at `/ws`, and the web app for every other path.
//!
//! Whoever can open the WebSocket can make the bridge dial any TCP address, so the upgrade is
//! guarded. A browser always sends `Origin`: only the bridge's own origin and `--allow-origin`
//! ones may connect, so a page on another site cannot drive the bridge through a visitor's
//! browser. And `Host` must be an IP literal, `localhost` or an allowed origin's host, which
//! defeats DNS rebinding (a foreign name made to resolve to this machine). Beyond loopback, the
//! page must also present the access token it was opened with (`?token=`), since then anyone who
//! can reach the port, browser or not, could otherwise use the bridge.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::assets;
use crate::page_socket::Upgrade;
use crate::rules_file::{to_toml, RulesFile};
use crate::session::{self, Sessions};

pub fn router(
    sessions: Sessions,
    allow_origins: &[String],
    token: Option<String>,
    web_dir: Option<&Path>,
) -> Router {
    let access = Arc::new(Access::new(allow_origins, token));
    Router::new()
        .route("/ws", get(upgrade))
        .route("/rules.toml", get(rules_toml))
        .route_layer(middleware::from_fn_with_state(access, guard))
        .with_state(sessions)
        .merge(assets::router(web_dir))
        .layer(TraceLayer::new_for_http())
}

/// Lets through only the requests [`Access`] allows: every route but the web app's files.
async fn guard(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    if let Err(reason) = access.check(request.headers(), request.uri().query()) {
        tracing::warn!("refused {}: {reason}", request.uri().path());
        return (StatusCode::FORBIDDEN, reason).into_response();
    }
    next.run(request).await
}

/// A page's WebSocket: a session, while fewer than `--max-pages` are open; past that, a close
/// that says why (the page tries again, as after any drop).
async fn upgrade(State(sessions): State<Sessions>, upgrade: Upgrade) -> Response {
    let tasks = sessions.tasks.clone();
    match sessions.pages.clone().try_acquire_owned() {
        Ok(place) => upgrade.answer(&tasks, move |reader, writer| async move {
            session::run(reader, writer, sessions).await;
            drop(place);
        }),
        Err(_) => {
            let max_pages = sessions.max_pages;
            tracing::warn!("refused a page: {max_pages} are open (--max-pages)");
            upgrade.answer(&tasks, move |_, writer| session::refuse(writer, max_pages))
        }
    }
}

/// The rules in force (and the default framing), as a rules file `--rules` reads: the page's
/// "Export" downloads it.
async fn rules_toml(State(sessions): State<Sessions>) -> Response {
    let file = RulesFile::in_force(&sessions.hub.server());
    (
        [
            (header::CONTENT_TYPE, "application/toml; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"rules.toml\"",
            ),
        ],
        to_toml(&file),
    )
        .into_response()
}

/// Who may open the WebSocket.
struct Access {
    /// `--allow-origin` values, normalised as browsers send them.
    origins: Vec<String>,
    /// Their host names, which may also appear in `Host`.
    hosts: Vec<String>,
    /// The token the request's query must carry, if any.
    token: Option<String>,
}

impl Access {
    fn new(origins: &[String], token: Option<String>) -> Self {
        let hosts = origins
            .iter()
            .filter_map(|o| o.parse::<Uri>().ok()?.host().map(str::to_owned))
            .collect();
        Access {
            origins: origins.to_vec(),
            hosts,
            token,
        }
    }

    /// Why a request (its headers and query string) must be refused, if it must.
    fn check(&self, headers: &HeaderMap, query: Option<&str>) -> Result<(), String> {
        self.token(query)?;
        // A browser sends one of each; a second one would be judged by nobody.
        for name in [header::HOST, header::ORIGIN] {
            let count = headers.get_all(&name).iter().count();
            if count > 1 {
                return Err(format!(
                    "refused: the request has {count} {name} headers; a browser sends one"
                ));
            }
        }
        let host = self.host(headers)?;
        self.origin(headers, &host)
    }

    /// The access token, when the bridge needs one: `?token=` in the query.
    fn token(&self, query: Option<&str>) -> Result<(), String> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let given = query
            .unwrap_or_default()
            .split('&')
            .find_map(|pair| pair.strip_prefix("token="));
        match given {
            Some(given) if same(given.as_bytes(), token.as_bytes()) => Ok(()),
            Some(_) => Err("refused: wrong access token".into()),
            None => Err(
                "refused: this bridge needs its access token; open the URL it printed \
                         at start, which carries it (?token=...)"
                    .into(),
            ),
        }
    }

    /// `Host`, lowercased, if it names this machine as a browser would reach it: an IP address,
    /// localhost, or the host of an allowed origin (which defeats DNS rebinding).
    fn host(&self, headers: &HeaderMap) -> Result<String, String> {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .ok_or("refused: the request has no Host header")?
            .to_ascii_lowercase();
        let authority: Authority = host
            .parse()
            .map_err(|_| format!("refused: Host `{host}` is not a host name"))?;
        if host.contains('@') {
            return Err(format!(
                "refused: Host `{host}` carries user information (before `@`), which a browser \
                 never sends"
            ));
        }
        let name = authority.host();
        let is_ip = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok();
        if !is_ip && name != "localhost" && !self.hosts.iter().any(|h| h == name) {
            return Err(format!(
                "refused: Host `{host}` is not an IP address, localhost or the host of an \
                 --allow-origin; open the bridge by IP address or localhost"
            ));
        }
        Ok(host)
    }

    /// `Origin`, when a browser sent it: the bridge's own origin, or an allowed one.
    fn origin(&self, headers: &HeaderMap, host: &str) -> Result<(), String> {
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or_default().to_ascii_lowercase();
            let own = format!("http://{host}");
            if origin != own && !self.origins.contains(&origin) {
                return Err(format!(
                    "refused: pages from `{origin}` may not use this bridge; it accepts its own \
                     origin ({own}) and those given with --allow-origin"
                ));
            }
        }
        Ok(())
    }
}

/// Compares in time independent of where the first difference is, so that timing the answers
/// does not reveal the token byte by byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn check(access: &Access, host: Option<&'static str>, origin: Option<&'static str>) -> bool {
        let mut headers = HeaderMap::new();
        for (name, value) in [(header::HOST, host), (header::ORIGIN, origin)] {
            if let Some(value) = value {
                headers.insert(name, HeaderValue::from_static(value));
            }
        }
        access.check(&headers, None).is_ok()
    }

    #[test]
    fn own_origin_and_allowed_ones_only() {
        let access = Access::new(&["https://bridge.example.com".into()], None);
        assert!(check(&access, Some("127.0.0.1:8080"), None));
        assert!(check(
            &access,
            Some("127.0.0.1:8080"),
            Some("http://127.0.0.1:8080")
        ));
        assert!(check(
            &access,
            Some("LOCALHOST:8080"),
            Some("http://localhost:8080")
        ));
        assert!(check(
            &access,
            Some("[::1]:8080"),
            Some("http://[::1]:8080")
        ));
        assert!(check(
            &access,
            Some("bridge.example.com"),
            Some("https://bridge.example.com")
        ));
        assert!(!check(
            &access,
            Some("127.0.0.1:8080"),
            Some("http://evil.example")
        ));
        assert!(!check(&access, Some("127.0.0.1:8080"), Some("null")));
        assert!(!check(
            &access,
            Some("127.0.0.1:8080"),
            Some("http://127.0.0.1:9999")
        ));
        // DNS rebinding: a foreign name that resolves here, with its own (matching) origin.
        assert!(!check(
            &access,
            Some("evil.example:8080"),
            Some("http://evil.example:8080")
        ));
        assert!(!check(&access, None, None));
        // User information in Host: the name after `@` must not pass for the host.
        assert!(!check(&access, Some("evil@127.0.0.1:8080"), None));
    }

    #[test]
    fn two_origins_or_two_hosts_are_refused() {
        let access = Access::new(&[], None);
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        headers.append(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(access.check(&headers, None).is_ok());
        headers.append(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert_eq!(
            access.check(&headers, None),
            Err("refused: the request has 2 origin headers; a browser sends one".into())
        );
        let mut hosts = HeaderMap::new();
        hosts.append(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        hosts.append(header::HOST, HeaderValue::from_static("evil.example"));
        assert!(access.check(&hosts, None).is_err());
    }

    #[test]
    fn the_token_when_there_is_one() {
        let access = Access::new(&[], Some("s3cret-token".into()));
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("192.0.2.7:8080"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://192.0.2.7:8080"),
        );
        assert!(access.check(&headers, Some("token=s3cret-token")).is_ok());
        assert!(access
            .check(&headers, Some("a=b&token=s3cret-token"))
            .is_ok());
        let wrong = access
            .check(&headers, Some("token=s3cret-tokem"))
            .unwrap_err();
        assert!(wrong.contains("wrong access token"), "{wrong}");
        assert!(access.check(&headers, Some("token=s3cret")).is_err());
        let missing = access.check(&headers, None).unwrap_err();
        assert!(missing.contains("needs its access token"), "{missing}");
    }
}
