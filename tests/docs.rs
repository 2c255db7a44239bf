//! Documentation that is derived from code stays in step with it.

#[test]
fn schema_doc_matches_the_catalog() {
    let path = agrimap_suite::repo_root().join("docs/SCHEMA.md");
    let want = agrimap_model::catalog::markdown();
    if std::env::var_os("AGRIMAP_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).expect("writing docs/SCHEMA.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/SCHEMA.md is stale: run `AGRIMAP_UPDATE_DOCS=1 cargo nextest run -E 'test(schema_doc)'`"
    );
}
