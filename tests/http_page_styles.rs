//! The map page and the styles, served by the real server.

use agrimap_suite::TestServer;

#[test]
// The server and what it served.
#[allow(clippy::similar_names)]
fn styles_point_at_this_server_and_reference_only_catalog_layers() {
    let server = TestServer::demo();
    for name in ["farmer", "planner"] {
        let r = server.get(&format!("/styles/{name}.json"), &[]);
        assert_eq!(r.status, 200, "{name}");
        let style = r.json();
        assert_eq!(style["version"], 8);
        let url = style["sources"]["agrimap"]["url"].as_str().expect("source url");
        assert!(url.starts_with(&format!("{}/tiles/", server.base)), "{url}");
        // The source's TileJSON answers and names every layer the style draws.
        let path = url.strip_prefix(&server.base).expect("same origin");
        let tilejson = server.get(path, &[]).json();
        let served: Vec<&str> = tilejson["vector_layers"]
            .as_array()
            .expect("vector_layers")
            .iter()
            .map(|l| l["id"].as_str().expect("id"))
            .collect();
        for l in style["layers"].as_array().expect("layers") {
            if let Some(src) = l["source-layer"].as_str() {
                assert!(served.contains(&src), "{name}: {src} not served");
            }
        }
    }
}

#[test]
fn the_page_uses_bundled_maplibre_only() {
    let server = TestServer::demo();
    let page = server.get("/", &[]);
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").expect("type").starts_with("text/html"));
    let html = String::from_utf8(page.body).expect("utf-8");
    assert!(html.contains("/static/maplibre-gl.js"));
    assert!(
        !html.contains("https://") && !html.contains("http://"),
        "the page must not load anything from the internet"
    );
    let js = server.get("/static/maplibre-gl.js", &[("accept-encoding", "gzip")]);
    assert_eq!(js.status, 200);
    assert_eq!(
        js.header("content-encoding"),
        Some("gzip"),
        "large assets are compressed on the wire"
    );
    assert!(js.decoded_body().len() > 100_000);
    assert_eq!(server.get("/static/nope.js", &[]).status, 404);
}

/// On a weak signal a phone that holds the page's files asks whether they
/// changed and gets a 304 of a few bytes: every file has an entity tag.
/// The page and its own scripts revalidate each load (a new binary changes
/// them under the same names); the libraries are kept an hour.
#[test]
fn the_page_files_revalidate_with_a_304() {
    let server = TestServer::demo();
    for (path, cache) in [
        ("/", "no-cache"),
        ("/static/app.js", "no-cache"),
        ("/static/app.css", "no-cache"),
        ("/static/maplibre-gl.js", "public, max-age=3600"),
    ] {
        let first = server.get(path, &[]);
        assert_eq!(first.status, 200, "{path}");
        assert_eq!(first.header("cache-control"), Some(cache), "{path}");
        let tag = first
            .header("etag")
            .unwrap_or_else(|| panic!("{path}: no etag"))
            .to_owned();
        let again = server.get(path, &[("if-none-match", &tag)]);
        assert_eq!((again.status, again.body.len()), (304, 0), "{path}");
        assert_eq!(again.header("etag"), Some(tag.as_str()), "{path}");
        let other = server.get(path, &[("if-none-match", "W/\"0000\"")]);
        assert_eq!(other.status, 200, "{path}");
        assert_eq!(other.body, first.body, "{path}");
    }
}
