//! Reports people hand in (`/api/reports/commune/{code}.xlsx|.html`,
//! `/api/reports/province/{code}.xlsx|.html`) on both stores: the workbook
//! read back with calamine and the printable page, their figures checked
//! against `/api/stats` and `/api/communes/{code}/summary`, restricted
//! fields for planners only, and bad requests answered with JSON errors.

use agrimap_core::tokens::{issue_scoped_token, issue_token};
use agrimap_suite::{Reply, StoreKind, TestServer};
use calamine::Data;
use std::collections::BTreeMap;

/// An Lộc, a demo commune with five crops, ponds, growing areas, a product and a station.
const AN_LOC: &str = "33100";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

fn bearer(server: &TestServer, role: &str) -> String {
    let (_, secret) = block_on(issue_token(server.store.as_ref(), "reports test", role)).expect("token");
    format!("Bearer {secret}")
}

fn ok(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Reply {
    let reply = server.get(path, headers);
    assert_eq!(reply.status, 200, "{path}: {}", String::from_utf8_lossy(&reply.body));
    reply
}

type Sheets = BTreeMap<String, Vec<Vec<Data>>>;

fn read_xlsx(bytes: &[u8]) -> (Vec<String>, Sheets) {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let names = book.sheet_names();
    let sheets = names
        .iter()
        .map(|name| {
            let range = book.worksheet_range(name).expect("sheet");
            (name.clone(), range.rows().map(<[Data]>::to_vec).collect())
        })
        .collect();
    (names, sheets)
}

fn text(d: &Data) -> String {
    d.to_string()
}

fn number(d: &Data) -> f64 {
    match d {
        Data::Float(v) => *v,
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        Data::Int(v) => *v as f64,
        other => panic!("not a number: {other:?}"),
    }
}

/// A table of a sheet under its caption: its header and its rows (the
/// total row apart).
struct SheetTable {
    head: Vec<String>,
    rows: Vec<Vec<Data>>,
    total: Option<Vec<Data>>,
}

fn table(sheet: &[Vec<Data>], caption: &str) -> SheetTable {
    let at = sheet
        .iter()
        .position(|r| r.first().map(text).as_deref() == Some(caption))
        .unwrap_or_else(|| panic!("no table '{caption}'"));
    let head: Vec<String> = sheet[at + 1].iter().map(text).filter(|h| !h.is_empty()).collect();
    let mut rows = Vec::new();
    let mut total = None;
    for r in &sheet[at + 2..] {
        match r.first() {
            None | Some(Data::Empty) => break,
            Some(d) if text(d) == "Tổng" => {
                total = Some(r.clone());
                break;
            }
            Some(d) if text(d) == "Không có" => break,
            Some(_) => rows.push(r.clone()),
        }
    }
    SheetTable { head, rows, total }
}

/// The Vietnamese label of a national default code.
fn label_vi(list: &str, code: &str) -> String {
    agrimap_model::codes::NATIONAL_DEFAULTS
        .iter()
        .find(|(l, c, ..)| *l == list && *c == code)
        .map_or_else(|| code.to_owned(), |(_, _, vi, _)| (*vi).to_owned())
}

/// `/api/stats` rows of one unit: class → (value, features).
fn stats_of(server: &TestServer, query: &str, code: &str) -> BTreeMap<String, (f64, u64)> {
    let answer = ok(server, &format!("/api/stats?{query}"), &[]).json();
    answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["code"] == code)
        .map(|r| {
            (
                r["class"].as_str().unwrap_or_default().to_owned(),
                (
                    r["value"].as_f64().expect("value"),
                    r["features"].as_u64().expect("features"),
                ),
            )
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

/// Checks a class table of the workbook against the stats rows of the unit.
fn agrees_with_stats(t: &SheetTable, list: &str, stats: &BTreeMap<String, (f64, u64)>) {
    assert_eq!(t.rows.len(), stats.len(), "{:?}", t.head);
    assert!(!stats.is_empty(), "a table with figures to check");
    for (class, (value, features)) in stats {
        let label = label_vi(list, class);
        let row = t
            .rows
            .iter()
            .find(|r| text(&r[0]) == label)
            .unwrap_or_else(|| panic!("no row {label}"));
        assert!(
            close(number(&row[1]), *value),
            "{label}: {} against {value}",
            number(&row[1])
        );
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let features = *features as f64;
        assert!(close(number(&row[2]), features), "{label}: features");
    }
    let total: f64 = stats.values().map(|v| v.0).sum();
    let total_row = t.total.as_ref().expect("total row");
    assert!(
        close(number(&total_row[1]), total),
        "total {} against {total}",
        number(&total_row[1])
    );
    let shares: f64 = t.rows.iter().map(|r| number(&r[3])).sum();
    assert!((shares - 100.0).abs() < 1e-6, "shares add to {shares}");
}

fn the_commune_workbook_holds_the_figures_of_stats_and_summary(kind: StoreKind) {
    let server = kind.demo_server("reports_commune");
    let reply = ok(&server, &format!("/api/reports/commune/{AN_LOC}.xlsx"), &[]);
    assert_eq!(reply.header("content-type"), Some(XLSX));
    assert!(
        reply
            .header("content-disposition")
            .is_some_and(|d| d.contains("agrimap-commune-33100.xlsx")),
        "{:?}",
        reply.header("content-disposition")
    );
    let (names, sheets) = read_xlsx(&reply.body);
    assert_eq!(
        names,
        [
            "Tổng quan",
            "Trồng trọt",
            "Thủy sản",
            "Vùng trồng",
            "Sản phẩm OCOP",
            "Quan trắc môi trường",
            "Nông thôn mới"
        ]
    );
    let overview = &sheets["Tổng quan"];
    assert_eq!(text(&overview[0][0]), "Báo cáo nông nghiệp xã An Lộc");
    assert!(
        overview
            .iter()
            .any(|r| text(&r[0]) == "Mã: 33100 (ranh giới trước 01/7/2025)"),
        "{overview:?}"
    );

    let crop = &sheets["Trồng trọt"];
    let by_type = table(crop, "Diện tích theo loại cây trồng");
    assert_eq!(
        by_type.head,
        ["Loại cây trồng", "Diện tích (ha)", "Số thửa", "Tỷ lệ (%)"]
    );
    assert_eq!(by_type.rows.len(), 5, "An Lộc grows five crops");
    agrees_with_stats(
        &by_type,
        "crop_type",
        &stats_of(&server, "layer=crop&class=crop_type&metric=area", AN_LOC),
    );
    agrees_with_stats(
        &table(crop, "Diện tích theo mùa vụ"),
        "season",
        &stats_of(&server, "layer=crop&class=season&metric=area", AN_LOC),
    );
    agrees_with_stats(
        &table(&sheets["Thủy sản"], "Diện tích nuôi theo đối tượng"),
        "species",
        &stats_of(&server, "layer=aquaculture&class=species&metric=area", AN_LOC),
    );

    // The summary's totals and lists.
    let summary = ok(&server, &format!("/api/communes/{AN_LOC}/summary"), &[]).json();
    let crop_total = number(&by_type.total.expect("total")[1]);
    assert!(close(crop_total, summary["crop"]["total_ha"].as_f64().expect("total")));
    let ga = &sheets["Vùng trồng"];
    let by_status = table(ga, "Mã số vùng trồng theo tình trạng");
    let codes: f64 = by_status.rows.iter().map(|r| number(&r[2])).sum();
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let summary_codes = summary["growing_areas"]["codes"].as_u64().expect("codes") as f64;
    assert!(close(codes, summary_codes));
    // A count is given once, with its share.
    let stars = table(&sheets["Sản phẩm OCOP"], "Sản phẩm OCOP theo hạng sao");
    assert_eq!(stars.head, ["Hạng", "Số sản phẩm", "Tỷ lệ (%)"]);
    let products = table(&sheets["Sản phẩm OCOP"], "Danh sách sản phẩm OCOP");
    assert_eq!(
        products.rows.len() as u64,
        summary["ocop"]["products"].as_u64().expect("products")
    );
    let listed: Vec<String> = products.rows.iter().map(|r| text(&r[0])).collect();
    let expected: Vec<String> = summary["ocop"]["list"]
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["product_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(listed, expected);
    // Stars are numbers.
    for row in &products.rows {
        assert!((3.0..=5.0).contains(&number(&row[3])), "{row:?}");
    }
    let stations = table(&sheets["Quan trắc môi trường"], "Danh sách trạm và tình trạng cảnh báo");
    assert_eq!(
        stations.rows.len(),
        summary["stations"].as_array().expect("stations").len()
    );
    let ntm = table(&sheets["Nông thôn mới"], "Mức đạt chuẩn nông thôn mới của xã");
    assert_eq!(ntm.rows.len(), 1);
    assert_eq!(text(&ntm.rows[0][3]), "Đạt chuẩn NTM");
    assert!(close(number(&ntm.rows[0][4]), 2016.0));
}

fn the_province_workbook_adds_up_its_communes(kind: StoreKind) {
    let server = kind.demo_server("reports_province");
    let reply = ok(&server, "/api/reports/province/99.xlsx", &[]);
    let (_, sheets) = read_xlsx(&reply.body);
    assert_eq!(
        text(&sheets["Tổng quan"][0][0]),
        "Báo cáo nông nghiệp Tỉnh Phù Sa (dữ liệu mô phỏng)"
    );
    agrees_with_stats(
        &table(&sheets["Trồng trọt"], "Diện tích theo loại cây trồng"),
        "crop_type",
        &stats_of(&server, "layer=crop&by=province&class=crop_type&metric=area", "99"),
    );
    agrees_with_stats(
        &table(&sheets["Thủy sản"], "Diện tích nuôi theo hình thức"),
        "farming_mode",
        &stats_of(&server, "layer=aquaculture&by=province&class=mode&metric=area", "99"),
    );
    // Every commune of the province has its NTM row, and the levels add up to them.
    let communes = ok(&server, "/api/communes?province=99&limit=1000", &[]).json();
    let held = communes["total"].as_u64().expect("total");
    let by_level = table(&sheets["Nông thôn mới"], "Số xã theo mức đạt chuẩn nông thôn mới");
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let held_f = held as f64;
    assert!(close(number(&by_level.total.expect("total")[1]), held_f));
    let list = table(&sheets["Nông thôn mới"], "Mức đạt chuẩn nông thôn mới của xã");
    assert_eq!(list.rows.len() as u64, held);
    let model = list.rows.iter().filter(|r| text(&r[3]) == "NTM kiểu mẫu").count();
    let model_row = by_level
        .rows
        .iter()
        .find(|r| text(&r[0]) == "NTM kiểu mẫu")
        .expect("model");
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let model_f = model as f64;
    assert!(close(number(&model_row[1]), model_f));
}

/// A commune of the demo whose growing areas record a contact phone.
fn commune_with_contacts(server: &TestServer) -> String {
    let planner = bearer(server, "planner");
    let items = ok(
        server,
        "/ogc/collections/growing_area/items?f=json&limit=50",
        &[("authorization", &planner)],
    )
    .json();
    items["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["properties"]["contact_phone"].as_str().is_some_and(|p| !p.is_empty()))
        .and_then(|f| f["properties"]["commune_code"].as_str())
        .expect("a growing area with a contact phone")
        .to_owned()
}

fn restricted_fields_are_only_in_a_planners_report(kind: StoreKind) {
    let server = kind.demo_server("reports_restricted");
    let code = commune_with_contacts(&server);
    let planner = bearer(&server, "planner");
    let list = "Danh sách mã số vùng trồng";
    let phone = "Điện thoại liên hệ";

    let public = ok(&server, &format!("/api/reports/commune/{code}.xlsx"), &[]);
    let (_, sheets) = read_xlsx(&public.body);
    assert!(!table(&sheets["Vùng trồng"], list).head.iter().any(|h| h == phone));
    let page = ok(&server, &format!("/api/reports/commune/{code}.html"), &[]);
    assert!(!String::from_utf8_lossy(&page.body).contains(phone));
    assert_eq!(page.header("cache-control"), Some("no-cache"));

    let signed = ok(
        &server,
        &format!("/api/reports/commune/{code}.xlsx"),
        &[("authorization", &planner)],
    );
    assert_eq!(signed.header("cache-control"), Some("private, no-store"));
    let (_, sheets) = read_xlsx(&signed.body);
    let t = table(&sheets["Vùng trồng"], list);
    let col = t.head.iter().position(|h| h == phone).expect("the phone column");
    assert!(t.rows.iter().any(|r| !text(&r[col]).is_empty()), "phones are given");
    let page = ok(&server, "/api/reports/province/99.html", &[("authorization", &planner)]);
    assert!(String::from_utf8_lossy(&page.body).contains(phone));

    // A planner's token limited to another province reads the public report.
    let (_, elsewhere) = block_on(issue_scoped_token(
        server.store.as_ref(),
        "reports test",
        "planner",
        &["92".to_owned()],
    ))
    .expect("token");
    let reply = ok(
        &server,
        &format!("/api/reports/commune/{code}.html"),
        &[("authorization", &format!("Bearer {elsewhere}"))],
    );
    assert!(!String::from_utf8_lossy(&reply.body).contains(phone));
}

/// The `data-value` of each row's numeric cells of the HTML table under `caption`.
fn html_rows(page: &str, caption: &str) -> Vec<Vec<String>> {
    let start = page
        .find(&format!("<h3>{caption}</h3>"))
        .unwrap_or_else(|| panic!("no {caption}"));
    let body = &page[start..];
    let end = body.find("</table>").expect("table end");
    body[..end]
        .split("<tr")
        .skip(2)
        .map(|row| {
            row.split("data-value=\"")
                .skip(1)
                .map(|v| v.split('"').next().unwrap_or_default().to_owned())
                .collect()
        })
        .collect()
}

fn the_printable_page_has_the_tables_the_map_and_a4_print(kind: StoreKind) {
    let server = kind.demo_server("reports_page");
    let reply = ok(&server, &format!("/api/reports/commune/{AN_LOC}.html"), &[]);
    assert_eq!(reply.header("content-type"), Some("text/html; charset=utf-8"));
    let page = String::from_utf8_lossy(&reply.body).into_owned();
    assert!(page.contains("<html lang=\"vi\">"));
    assert!(page.contains("@page{size:A4"), "the print stylesheet sets A4");
    assert!(
        page.contains("section.theme{break-before:page"),
        "each theme starts a page"
    );
    assert!(page.contains("<h1>Báo cáo nông nghiệp xã An Lộc</h1>"));
    for theme in ["crop", "aquaculture", "growing_area", "ocop", "monitoring", "ntm"] {
        assert!(page.contains(&format!("data-theme=\"{theme}\"")), "{theme}");
    }
    // The map of the commune, drawn by the browser from the service's style.
    assert!(page.contains("<div id=\"map\""));
    assert!(page.contains("/static/maplibre-gl.js"));
    assert!(page.contains("style:'/styles/farmer.json'"));
    // The crop table: the same hectares as /api/stats, row for row.
    let stats = stats_of(&server, "layer=crop&class=crop_type&metric=area", AN_LOC);
    let rows = html_rows(&page, "Diện tích theo loại cây trồng");
    assert_eq!(rows.len(), stats.len() + 1, "the classes and the total");
    let mut values: Vec<f64> = rows[..stats.len()]
        .iter()
        .map(|r| r[0].parse().expect("number"))
        .collect();
    let mut expected: Vec<f64> = stats.values().map(|v| v.0).collect();
    values.sort_by(f64::total_cmp);
    expected.sort_by(f64::total_cmp);
    assert_eq!(values.len(), expected.len());
    for (a, b) in values.iter().zip(&expected) {
        assert!(close(*a, *b), "{a} against {b}");
    }
    // The province's page too.
    let province = ok(&server, "/api/reports/province/99.html", &[]);
    let text = String::from_utf8_lossy(&province.body);
    assert!(text.contains("data-level=\"province\""));
    assert!(text.contains("'source-layer':'admin_province'"));
}

fn bad_report_requests_are_json_errors(kind: StoreKind) {
    let server = kind.demo_server("reports_errors");
    let cases = [
        ("/api/reports/commune/99999.xlsx", 404, "unknown_commune"),
        ("/api/reports/commune/33030.pdf", 400, "bad_format"),
        ("/api/reports/commune/33030", 400, "bad_format"),
        ("/api/reports/commune/.html", 400, "bad_format"),
        ("/api/reports/province/77.html", 404, "unknown_province"),
        (
            "/api/reports/province/99.xlsx?boundary_set=1990",
            400,
            "bad_boundary_set",
        ),
        (
            "/api/reports/province/99.xlsx?boundary_set=2025",
            404,
            "unknown_province",
        ),
    ];
    for (path, status, code) in cases {
        let reply = server.get(path, &[]);
        assert_eq!(reply.status, status, "{path}");
        assert_eq!(reply.error_code(), code, "{path}");
    }
    let long = format!("/api/reports/commune/{}.xlsx", "9".repeat(5_000));
    let reply = server.get(&long, &[]);
    assert_eq!(reply.status, 404);
    assert!(reply.body.len() < 1_000, "the echoed code is cut short");
}

agrimap_suite::store_suite!(
    the_commune_workbook_holds_the_figures_of_stats_and_summary,
    the_province_workbook_adds_up_its_communes,
    restricted_fields_are_only_in_a_planners_report,
    the_printable_page_has_the_tables_the_map_and_a4_print,
    bad_report_requests_are_json_errors,
);
