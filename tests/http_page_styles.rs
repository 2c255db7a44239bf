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
