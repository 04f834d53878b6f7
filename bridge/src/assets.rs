//! The web app's files: the copy built into the binary (Trunk's `dist/`), or a directory given
//! with `--web-dir`. Paths that name no file and have no extension are the app's own routes and
//! get `index.html`. Every response says `no-cache`, so a rebuilt app shows up on reload.

use std::path::Path;

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::{EmbeddedFile, RustEmbed};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// `dist/` as it was when the bridge was compiled; empty if the app had not been built then.
#[derive(RustEmbed)]
#[folder = "../dist"]
#[allow_missing = true]
struct Dist;

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><meta charset="utf-8"><title>TCP Bridge: web app not built</title>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>The web app was not built</h1>
<p>This bridge was compiled before its web app was built, so it has no page to show.
Run <code>./scripts/run.sh</code> from the repository, which builds the app and then the bridge,
or start the bridge with <code>--web-dir DIR</code> pointing to a built app.</p>
<p>The bridge itself is running: its TCP listener and its WebSocket at <code>/ws</code> work.</p>
</body></html>
"#;

/// A router that serves the app for every path it is given.
pub fn router(web_dir: Option<&Path>) -> Router {
    let router = match web_dir {
        Some(dir) => Router::new()
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        None => Router::new().fallback_service(get(embedded)),
    };
    router.layer(SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    ))
}

async fn embedded(uri: Uri) -> Response {
    let path = match uri.path().trim_start_matches('/') {
        "" => "index.html",
        path => path,
    };
    if let Some(file) = Dist::get(path) {
        return serve(file);
    }
    let is_route = !path.rsplit('/').next().unwrap_or_default().contains('.');
    match Dist::get("index.html") {
        None => (StatusCode::SERVICE_UNAVAILABLE, Html(NOT_BUILT)).into_response(),
        Some(index) if is_route => serve(index),
        Some(_) => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

fn serve(file: EmbeddedFile) -> Response {
    let content_type = file.metadata.mimetype().to_owned();
    ([(header::CONTENT_TYPE, content_type)], file.data).into_response()
}
