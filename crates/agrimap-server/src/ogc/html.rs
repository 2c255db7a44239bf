//! The HTML encoding: plain server-rendered pages with tables, every value
//! escaped, and the links of the JSON document as links.

use serde_json::Value as Json;
use std::fmt::Write as _;

/// Escapes text for HTML content and quoted attribute values.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON value as text for a table cell (strings without quotes).
#[must_use]
pub fn cell(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => escape(s),
        other => escape(&other.to_string()),
    }
}

/// `<a href="…">text</a>`.
#[must_use]
pub fn link(href: &str, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", escape(href), escape(text))
}

/// A whole page: title, breadcrumb of `(href, text)`, body, and the
/// document's `links` (alternates in the head, every link in a list at the end).
#[must_use]
pub fn page(title: &str, crumbs: &[(String, String)], body: &str, links: &Json) -> String {
    let links = links.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut head_links = String::new();
    let mut link_list = String::new();
    for l in links {
        let (Some(rel), Some(href)) = (l["rel"].as_str(), l["href"].as_str()) else {
            continue;
        };
        let ty = l["type"].as_str().unwrap_or("");
        if rel == "alternate" {
            let _ = writeln!(
                head_links,
                "<link rel=\"alternate\" type=\"{}\" href=\"{}\">",
                escape(ty),
                escape(href)
            );
        }
        let text = l["title"].as_str().unwrap_or(href);
        let _ = writeln!(
            link_list,
            "<li><code>{}</code> {} <small>{}</small></li>",
            escape(rel),
            link(href, text),
            escape(ty)
        );
    }
    let nav: Vec<String> = crumbs.iter().map(|(href, text)| link(href, text)).collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n{head_links}<style>\n\
         body{{font-family:system-ui,sans-serif;margin:1.5rem;color:#1d2b1f}}\
         table{{border-collapse:collapse;margin:1rem 0}}\
         th,td{{border:1px solid #c9d3c4;padding:.25rem .5rem;text-align:left;vertical-align:top}}\
         th{{background:#eef3ea}}nav{{margin-bottom:1rem}}code{{font-size:.9em}}\n\
         </style>\n</head>\n<body>\n<nav>{nav}</nav>\n<h1>{title}</h1>\n{body}\n\
         <h2>Links</h2>\n<ul>\n{link_list}</ul>\n</body>\n</html>\n",
        title = escape(title),
        nav = nav.join(" › "),
    )
}

/// A table with a header row; cells are HTML already.
#[must_use]
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table>\n<tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for c in row {
            let _ = write!(out, "<td>{c}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<b>\"Mỹ\" & 'Xương'</b>"),
            "&lt;b&gt;&quot;Mỹ&quot; &amp; &#39;Xương&#39;&lt;/b&gt;"
        );
        let p = page(
            "<x>",
            &[("/ogc?a=1&b=2".into(), "home".into())],
            "",
            &serde_json::json!([{ "rel": "self", "href": "http://h/\"><script>", "type": "text/html" }]),
        );
        assert!(!p.contains("<script>") && !p.contains("<x>"));
        assert!(p.contains("/ogc?a=1&amp;b=2"));
    }
}
