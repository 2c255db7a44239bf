//! The traceability registries on both stores, through the real `agrimap`
//! binary and the HTTP service: the demo registry, a realistic department
//! workbook (80 producers, 40 growing areas, 350 products) imported with
//! `agrimap registry import` and imported again, exports that import back
//! and never carry restricted fields for the public, bad files refused
//! whole, QR codes decoded back to the product page, the public page
//! itself, and a growing-area code that lapses.

use agrimap_core::tokens::{issue_scoped_token, issue_token};
use agrimap_model::registry::RegistryKind;
use agrimap_store::RegistryRecord;
use agrimap_suite::{DemoCopy, StoreKind, TestServer, request_with_body};
use rust_xlsxwriter::Workbook;
use serde_json::json;
use std::path::Path;
use std::process::Output;

/// A copy of the demo store, reached both directly and by the `agrimap` binary.
struct Target(DemoCopy);

impl std::ops::Deref for Target {
    type Target = DemoCopy;
    fn deref(&self) -> &DemoCopy {
        &self.0
    }
}

impl Target {
    fn new(kind: StoreKind, name: &str) -> Self {
        Self(DemoCopy::new(kind, &format!("registry_{name}")))
    }

    fn import(&self, file: &Path, kind: &str) -> Output {
        self.agrimap(&["registry", "import", file.to_str().expect("path"), "--kind", kind])
    }

    fn count(&self, kind: RegistryKind) -> usize {
        self.runtime
            .block_on(self.store.records(kind, None))
            .expect("records")
            .len()
    }

    fn token(&self, role: &str) -> String {
        let (_, secret) = self
            .runtime
            .block_on(issue_token(self.store.as_ref(), "registry test", role))
            .expect("token");
        format!("Bearer {secret}")
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Communes of the demo province (pre-2025 set), for the workbook's rows.
const COMMUNES: [&str; 4] = ["33044", "33001", "33114", "33002"];

#[expect(
    clippy::too_many_lines,
    reason = "three sheets written cell by cell, as a department fills them"
)]
/// A department's workbook: a producers sheet with Vietnamese headers, a
/// growing-areas sheet, a products sheet, and a sheet of notes.
fn workbook(path: &Path, product_names: &dyn Fn(usize) -> String) {
    let mut book = Workbook::new();
    let notes = book.add_worksheet();
    notes.set_name("Hướng dẫn").expect("name");
    notes.write_string(0, 0, "Điền mỗi dòng một cơ sở.").expect("cell");

    let sheet = book.add_worksheet();
    sheet.set_name("Cơ sở").expect("name");
    let header = [
        "Mã số thuế",
        "Tên cơ sở",
        "Loại hình",
        "Địa chỉ",
        "Mã xã",
        "Bộ ranh giới",
        "Số điện thoại",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    for i in 0..80u32 {
        let kind = ["Hợp tác xã", "Doanh nghiệp", "Hộ gia đình"][i as usize % 3];
        // Tax codes typed as numbers, as spreadsheets often hold them.
        sheet
            .write_number(i + 1, 0, f64::from(3_700_000_000 + i))
            .expect("code");
        sheet.write_string(i + 1, 1, format!("Cơ sở số {i}")).expect("name");
        sheet.write_string(i + 1, 2, kind).expect("kind");
        sheet.write_string(i + 1, 3, format!("Ấp {}", i % 7)).expect("address");
        sheet.write_string(i + 1, 4, COMMUNES[i as usize % 4]).expect("commune");
        sheet.write_string(i + 1, 5, "pre-2025").expect("set");
        sheet.write_string(i + 1, 6, format!("0912{i:06}")).expect("phone");
    }
    book.save(path.with_extension("producers.xlsx")).expect("save");

    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let header = [
        "code",
        "commune_code",
        "boundary_set",
        "crop_type",
        "area_ha",
        "households",
        "status",
        "issued_on",
        "expires_on",
        "markets",
        "packing_facilities",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    for i in 0..40u32 {
        let row = [
            format!("VN-PSDU-{:04}", 5001 + i),
            COMMUNES[i as usize % 4].to_owned(),
            "pre-2025".into(),
            "durian".into(),
            format!("{}", 5.0 + f64::from(i) / 4.0),
            "12".into(),
            "granted".into(),
            "2024-03-01".into(),
            "2029-02-28".into(),
            "CN:GACC:2024-06-01; US".into(),
            "VN-PS-PH-001".into(),
        ];
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(i + 1, c as u16, v).expect("cell");
        }
    }
    book.save(path.with_extension("areas.xlsx")).expect("save");

    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Sản phẩm").expect("name");
    let header = [
        "Mã sản phẩm",
        "Tên sản phẩm",
        "Nhóm sản phẩm",
        "Mã chủ thể",
        "Mã xã",
        "Bộ ranh giới",
        "Hạng sao",
        "Số chứng nhận OCOP",
        "Hạn chứng nhận OCOP",
        "Số chứng nhận VietGAP",
        "Hạn VietGAP",
        "Mã số vùng trồng",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    for i in 0..350u32 {
        let n = i as usize;
        let producer = 3_700_000_000 + i % 80;
        let ocop = i % 3 == 0;
        let row = [
            format!("SP-99-{:04}", 5001 + i),
            product_names(n),
            "food".into(),
            producer.to_string(),
            COMMUNES[(i % 80) as usize % 4].to_owned(),
            "pre-2025".into(),
            if ocop { format!("{}", 3 + i % 3) } else { String::new() },
            if ocop { format!("{i}/QĐ-UBND") } else { String::new() },
            if ocop { "2027-12-31".into() } else { String::new() },
            format!("VG-{i:04}"),
            "28/02/2027".into(),
            if i % 2 == 0 {
                format!("VN-PSDU-{:04}", 5001 + i % 40)
            } else {
                String::new()
            },
        ];
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(i + 1, c as u16, v).expect("cell");
            }
        }
    }
    book.save(path.with_extension("products.xlsx")).expect("save");
}

fn demo_registry_agrees_with_the_layers(kind: StoreKind) {
    let t = Target::new(kind, "demo");
    assert_eq!(t.count(RegistryKind::GrowingAreas), 100);
    assert_eq!(t.count(RegistryKind::Products), 250);
    assert!(
        t.count(RegistryKind::Producers) >= 80,
        "{}",
        t.count(RegistryKind::Producers)
    );
    let server = TestServer::start(t.store.clone());
    let product = server.get("/api/products/OCOP-99-0001", &[]).json();
    assert_eq!(product["ocop_product_id"], "OCOP-99-0001");
    // Contact details: planners only.
    let public = server.get("/api/producers", &[]);
    assert_eq!(public.status, 200);
    assert!(!String::from_utf8_lossy(&public.body).contains("contact"));
    let planner = t.token("planner");
    let full = server.get("/api/producers", &[("authorization", &planner)]).json();
    assert!(
        full["records"][0]["contact"]["phone"].is_string(),
        "{}",
        full["records"][0]
    );
}

fn a_realistic_workbook_imports_and_imports_again_by_key(kind: StoreKind) {
    let t = Target::new(kind, "workbook");
    let base = t.dir.join("registry");
    workbook(&base, &|i| format!("Sầu riêng Ri6 lô {i}"));
    let (producers, areas, products) = (
        base.with_extension("producers.xlsx"),
        base.with_extension("areas.xlsx"),
        base.with_extension("products.xlsx"),
    );
    let before = (t.count(RegistryKind::Producers), t.count(RegistryKind::Products));
    let out = t.import(&producers, "producers");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("80 producers: 80 new, 0 updated, 0 unchanged"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("sheet skipped"), "{}", text(&out));
    let out = t.import(&areas, "growing-areas");
    assert!(text(&out).contains("40 growing-areas: 40 new"), "{}", text(&out));
    let out = t.import(&products, "products");
    assert!(text(&out).contains("350 products: 350 new"), "{}", text(&out));
    assert_eq!(t.count(RegistryKind::Producers), before.0 + 80);
    assert_eq!(t.count(RegistryKind::Products), before.1 + 350);

    // The same workbook with one product renamed: one update, one history row more.
    workbook(&base, &|i| {
        if i == 7 {
            "Sầu riêng Ri6 loại 1".into()
        } else {
            format!("Sầu riêng Ri6 lô {i}")
        }
    });
    let out = t.import(&products, "products");
    assert!(
        text(&out).contains("350 products: 0 new, 1 updated, 349 unchanged"),
        "{}",
        text(&out)
    );
    assert_eq!(t.count(RegistryKind::Products), before.1 + 350);
    let server = TestServer::start(t.store.clone());
    let planner = t.token("planner");
    let history = server
        .get("/api/products/SP-99-5008/history", &[("authorization", &planner)])
        .json();
    let changes = history["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 2, "{history}");
    assert_eq!(changes[1]["record"]["name"], "Sầu riêng Ri6 loại 1");
    assert_eq!(changes[1]["actor"], "cli");
    let p = server.get("/api/products/SP-99-5001", &[]).json();
    assert_eq!(p["ocop"]["stars"], 3);
    assert_eq!(p["certificates"][0]["expires_on"], "2027-02-28");
    assert_eq!(p["growing_areas"][0], "VN-PSDU-5001");

    // Exports import back unchanged, and carry contacts only when asked.
    for ext in ["xlsx", "csv"] {
        let file = t.dir.join(format!("export.{ext}"));
        let out = t.agrimap(&[
            "registry",
            "export",
            "--kind",
            "producers",
            "--out",
            file.to_str().expect("path"),
            "--restricted",
        ]);
        assert!(out.status.success(), "{}", text(&out));
        let again = t.import(&file, "producers");
        assert!(text(&again).contains(" 0 new, 0 updated,"), "{}", text(&again));
    }
    let csv = server.get("/api/registry/export/producers.csv", &[]);
    assert_eq!(csv.status, 200);
    let csv = String::from_utf8(csv.body).expect("utf-8");
    assert!(
        !csv.contains("contact") && !csv.contains("0912000007"),
        "{}",
        &csv[..200]
    );
    let csv = server.get("/api/registry/export/producers.csv", &[("authorization", &planner)]);
    assert!(String::from_utf8_lossy(&csv.body).contains("0912000007"));
    let xlsx = server.get("/api/registry/export/products.xlsx", &[]);
    assert!(xlsx.body.starts_with(b"PK"), "an xlsx is a zip archive");
}

#[expect(
    clippy::too_many_lines,
    reason = "one case per kind of bad input, each checked for nothing changed"
)]
fn bad_files_are_refused_whole_with_sheet_row_and_reason(kind: StoreKind) {
    let t = Target::new(kind, "bad");
    let counts = || {
        (
            t.count(RegistryKind::Producers),
            t.count(RegistryKind::Products),
            t.count(RegistryKind::GrowingAreas),
        )
    };
    let before = counts();
    let write = |name: &str, body: &str| {
        let p = t.dir.join(name);
        std::fs::write(&p, body).expect("write");
        p
    };
    let producers = write(
        "producers.csv",
        "code,name,kind,commune_code,boundary_set\n\
         3800000001,HTX A,cooperative,33044,pre-2025\n\
         3800000001,HTX B,cooperative,33044,pre-2025\n\
         3800000003,HTX C,guild,33044,pre-2025\n\
         3800000004,HTX D,household,99999,pre-2025\n",
    );
    let out = t.import(&producers, "producers");
    assert!(!out.status.success());
    let said = text(&out);
    for expected in [
        "producers.csv, row 3: '3800000001' is given twice (row 2 too)",
        "producers.csv, row 4: kind 'guild' is none of",
        "producers.csv, row 5: commune '99999' is not among the pre-2025 communes",
        "3 of 4 rows refused; nothing was written",
    ] {
        assert!(said.contains(expected), "{expected}\n{said}");
    }
    let areas = write(
        "areas.csv",
        "code,commune_code,boundary_set,crop_type,area_ha,status,issued_on,expires_on\n\
         VN-PSDU-7001,33044,pre-2025,durian,5,granted,2024-01-01,2029-01-01\n\
         VN-PSDU-71,33044,pre-2025,durian,5,granted,2024-01-01,2029-01-01\n\
         VN-DTOR-0012,33044,pre-2025,durian,5,granted,2024-01-01,2029-01-01\n",
    );
    let said = text(&t.import(&areas, "growing-areas"));
    assert!(
        said.contains("row 3: 'VN-PSDU-71': the serial must be 4 digits"),
        "{said}"
    );
    assert!(
        said.contains("row 4: code VN-DTOR-0012 is of province 87, but commune 33044 is in province 99"),
        "{said}"
    );

    // A growing area of another province (stored as another province's
    // department would have it) cannot be linked to a product of this one.
    let other = json!({"code": "VN-CTOR-0001", "commune_code": "31117", "boundary_set": "2025", "crop_type": "durian",
        "area_ha": 3.0, "households": 4, "status": "granted", "issued_on": "2024-01-01", "expires_on": "2029-01-01"});
    t.runtime
        .block_on(t.store.put_records(
            RegistryKind::GrowingAreas,
            vec![RegistryRecord {
                key: "VN-CTOR-0001".into(),
                province_code: "92".into(),
                body: other.to_string(),
            }],
            "test",
        ))
        .expect("other province");
    let products = write(
        "products.csv",
        "id,name,category,producer,commune_code,boundary_set,growing_areas\n\
         SP-99-9001,Gạo,food,0000000000,33044,pre-2025,\n\
         SP-99-9002,Sầu riêng,fruit,1800010001,33044,pre-2025,VN-CTOR-0001\n\
         SP-99-9003,Sầu riêng,fruit,1800010001,33044,pre-2025,VN-PSDU-0999\n",
    );
    let said = text(&t.import(&products, "products"));
    assert!(
        said.contains("row 2: producer '0000000000' is not registered"),
        "{said}"
    );
    assert!(
        said.contains("row 3: growing area VN-CTOR-0001 is in province 92, the product's commune in province 99"),
        "{said}"
    );
    assert!(
        said.contains("row 4: growing area 'VN-PSDU-0999' is not registered"),
        "{said}"
    );

    // A corrupt workbook, and one too large.
    let corrupt = t.dir.join("corrupt.xlsx");
    std::fs::write(&corrupt, b"PK\x03\x04 this is no workbook").expect("write");
    let out = t.import(&corrupt, "producers");
    assert!(
        !out.status.success() && text(&out).contains("not a spreadsheet that can be read"),
        "{}",
        text(&out)
    );
    let big = t.dir.join("big.csv");
    std::fs::write(&big, vec![b'x'; 33 * 1024 * 1024]).expect("write");
    let out = t.import(&big, "producers");
    assert!(
        !out.status.success() && text(&out).contains("at most 33554432 are taken"),
        "{}",
        text(&out)
    );

    // Over HTTP: editors only, the same refusals as JSON.
    let server = TestServer::start(t.store.clone());
    let url = format!("{}/api/registry/import?kind=producers&format=csv", server.base);
    let body = std::fs::read(&producers).expect("read");
    let anonymous = request_with_body("POST", &url, &[], body.clone());
    assert_eq!(anonymous.status, 401);
    let editor = t.token("editor");
    let refused = request_with_body("POST", &url, &[("authorization", &editor)], body);
    assert_eq!(refused.status, 422);
    let refused = refused.json();
    assert_eq!(refused["error"]["code"], "rows_refused");
    assert_eq!(refused["error"]["report"]["refused"][0]["row"], 3);
    let bad_json = server.post_json("/api/producers", &[("authorization", &editor)], &json!({"code": 1}));
    assert_eq!(bad_json.status, 400);
    assert_eq!(bad_json.json()["error"]["code"], "bad_json");
    assert_eq!(counts(), (before.0, before.1, before.2 + 1));
}

/// The text of the one QR code in a greyscale image.
fn decode(width: usize, height: usize, luma: impl Fn(usize, usize) -> u8) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, luma);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    let (meta, content) = grids[0].decode().expect("decodes");
    // Level M is 0 in rqrr's numbering (the bits of the format information).
    assert_eq!(meta.ecc_level, 0, "error correction M");
    content
}

#[expect(clippy::many_single_char_names, reason = "image coordinates and sizes")]
fn qr_codes_decode_to_the_product_page(kind: StoreKind) {
    let t = Target::new(kind, "qr");
    let server = TestServer::start(t.store.clone());
    let url = format!("{}/t/SP-99-0001", server.base);
    let png = server.get("/api/products/SP-99-0001/qr.png", &[]);
    assert_eq!((png.status, png.header("content-type")), (200, Some("image/png")));
    let decoder = png::Decoder::new(std::io::Cursor::new(png.body));
    let mut reader = decoder.read_info().expect("png");
    let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut pixels).expect("frame");
    let (w, h) = (info.width as usize, info.height as usize);
    assert_eq!(decode(w, h, |x, y| pixels[y * w + x]), url);

    // The SVG: its module squares drawn back onto a bitmap, 4 pixels a module.
    let svg = String::from_utf8(server.get("/api/products/SP-99-0001/qr.svg", &[]).body).expect("svg");
    let n: usize = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .expect("size");
    let mut dark = vec![false; n * n];
    for m in svg.split('M').skip(1) {
        let mut xy = m.split(['h', ' ']);
        let x: usize = xy.next().and_then(|s| s.parse().ok()).expect("x");
        let y: usize = xy.next().and_then(|s| s.parse().ok()).expect("y");
        dark[y * n + x] = true;
    }
    assert_eq!(
        decode(n * 4, n * 4, |x, y| if dark[(y / 4) * n + x / 4] { 0 } else { 255 }),
        url
    );

    let label = String::from_utf8(server.get("/api/products/OCOP-99-0001/label.svg", &[]).body).expect("svg");
    let name = server.get("/api/products/OCOP-99-0001", &[]).json()["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert!(label.contains(&name) && label.contains("OCOP ★"), "{}", &label[..400]);
    assert_eq!(server.get("/api/products/NOPE/qr.png", &[]).status, 404);
}

fn the_public_page_is_small_has_no_restricted_field_and_counts_scans(kind: StoreKind) {
    let t = Target::new(kind, "page");
    let server = TestServer::start(t.store.clone());
    let planner = t.token("planner");
    let product = server.get("/api/products/SP-99-0001", &[]).json();
    let producer = server
        .get(
            &format!("/api/producers/{}", product["producer"].as_str().expect("producer")),
            &[("authorization", &planner)],
        )
        .json();
    let phone = producer["contact"]["phone"].as_str().expect("phone").to_owned();
    let page = server.get("/t/SP-99-0001", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    let html = String::from_utf8(page.body.clone()).expect("utf-8");
    assert!(page.body.len() < 60_000, "{} bytes", page.body.len());
    assert!(
        !html.contains("<script") && !html.contains("src="),
        "one request, no script"
    );
    assert!(!html.contains(&phone), "the producer's phone is restricted");
    let area = product["growing_areas"][0].as_str().expect("area");
    assert!(
        html.contains(area) && html.contains("Mã số vùng trồng") && html.contains("<svg"),
        "{html}"
    );
    assert!(html.contains(producer["name"].as_str().expect("name")));
    let en = String::from_utf8(server.get("/t/SP-99-0001?lang=en", &[]).body).expect("utf-8");
    assert!(en.contains("Growing-area codes") && en.contains("lang=\"en\""));
    assert_eq!(server.get("/t/NOPE", &[]).status, 404);
    let editor = t.token("editor");
    assert_eq!(server.get("/api/products/SP-99-0001/scans", &[]).status, 401);
    let scans = server
        .get("/api/products/SP-99-0001/scans", &[("authorization", &editor)])
        .json();
    assert_eq!(scans["total"], 2, "{scans}");

    // A code no product has is a page a consumer can read, in either language;
    // a code typed in small letters, or with a slash, finds its product.
    let missing = server.get("/t/SP-99-9999", &[]);
    assert_eq!(
        (missing.status, missing.header("content-type")),
        (404, Some("text/html; charset=utf-8"))
    );
    let text = String::from_utf8_lossy(&missing.body).into_owned();
    assert!(
        text.contains("Không tìm thấy sản phẩm") && text.contains("viewport"),
        "{text}"
    );
    let english = server.get("/t/SP-99-9999?lang=EN", &[]);
    assert!(String::from_utf8_lossy(&english.body).contains("Product not found"));
    for path in ["/t/sp-99-0001", "/t/SP-99-0001/", "/t/SP-99-0001?lang=en&lang=vi"] {
        assert_eq!(server.get(path, &[]).status, 200, "{path}");
    }
    // Fresh produce is registered under groups of its own, named in the reader's language.
    let fruit = String::from_utf8(server.get("/t/SP-99-0015", &[]).body).expect("utf-8");
    assert!(fruit.contains("Nhóm sản phẩm: Trái cây"), "{fruit}");
    // Dates as a Vietnamese reader writes them, and a valid certificate said to be valid.
    let page = String::from_utf8(server.get("/t/SP-99-0001", &[]).body).expect("utf-8");
    let until = page.split("có hiệu lực đến ").nth(1).expect("a validity");
    let day: Vec<char> = until.chars().take(10).collect();
    assert!(
        day[2] == '/' && day[5] == '/' && day.iter().filter(|c| c.is_ascii_digit()).count() == 8,
        "{until}"
    );
    assert!(!page.contains(" hết hạn 20"), "{page}");
}

fn a_lapsed_code_shows_as_expired_and_is_flagged(kind: StoreKind) {
    let t = Target::new(kind, "lapsed");
    let server = TestServer::start(t.store.clone());
    let editor = t.token("editor");
    let active = |server: &TestServer| {
        let summary = server.get("/api/communes/33044/summary", &[]).json();
        let ntm = summary["ntm"]
            .as_array()
            .expect("ntm")
            .iter()
            .find(|i| i["criterion"] == "13.4")
            .expect("13.4")
            .clone();
        (
            ntm["evidence"]["active_growing_area_codes"].as_u64().expect("count"),
            summary["registry"]["growing_areas_by_status"]["expired"]
                .as_u64()
                .unwrap_or(0),
        )
    };
    let before = active(&server);
    let mut area = server.get("/api/growing-areas/VN-PSRI-0001", &[]).json();
    assert_eq!(area["commune_code"], "33044");
    assert_eq!(area["status_today"], "active");
    area.as_object_mut().expect("object").remove("status_today");
    area["expires_on"] = "2020-01-01".into();
    area["issued_on"] = "2015-01-01".into();
    area["status"] = "granted".into();
    let put = server.post_json("/api/growing-areas", &[("authorization", &editor)], &json!([area]));
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    assert_eq!(put.json()["updated"], 1);
    let now = server.get("/api/growing-areas/VN-PSRI-0001", &[]).json();
    assert_eq!(now["status_today"], "expired");
    // The NTM 13.4 evidence counts it no more.
    assert_eq!(active(&server), (before.0 - 1, before.1 + 1));
    let product = server.get("/api/products", &[]).json()["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|p| p["growing_areas"][0] == "VN-PSRI-0001")
        .expect("a product of that area")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let html = String::from_utf8(server.get(&format!("/t/{product}"), &[]).body).expect("utf-8");
    assert!(
        html.contains("VN-PSRI-0001</b> · <span class=\"bad\">đã hết hạn"),
        "{html}"
    );
    let planner = t.token("planner");
    let checks = server
        .get("/api/registry/checks", &[("authorization", &planner)])
        .json();
    let flagged = checks["flagged"].as_array().expect("flagged");
    let this = flagged.iter().find(|f| f["code"] == "VN-PSRI-0001").expect("flagged");
    assert_eq!(this["status_today"], "expired");
    // The demo's blocks are whole parcels: registered and parcel hectares agree.
    assert!(this["difference"].as_f64().expect("difference").abs() < 0.05, "{this}");
    assert_eq!(checks["growing_areas"], 100);
    // Styles draw a code past its expiry as expired from today (the day the server judges).
    let today = agrimap_core::registry::today();
    for name in ["farmer", "planner"] {
        let style = server.get(&format!("/styles/{name}.json"), &[]).json();
        let layer = style["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .find(|l| l["source-layer"] == "growing_area" && l["paint"]["fill-color"].is_array())
            .expect("growing areas drawn")
            .clone();
        let colour = &layer["paint"]["fill-color"];
        assert_eq!(colour[0], "match");
        assert_eq!(colour[1][0], "case");
        assert_eq!(colour[1][1][2][2], today.as_str(), "{colour}");
        assert_eq!(colour[2], "expired");
    }
}

/// The demo's growing areas are registered in the communes that hold their
/// parcels; one registered in another commune (as after a boundary
/// correction moved its parcels) is flagged with the commune that holds them.
fn a_growing_area_registered_in_another_commune_is_flagged(kind: StoreKind) {
    let t = Target::new(kind, "registered_elsewhere");
    let server = TestServer::start(t.store.clone());
    let (editor, planner) = (t.token("editor"), t.token("planner"));
    let checks = |server: &TestServer| {
        let reply = server.get("/api/registry/checks", &[("authorization", &planner)]);
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        reply.json()["flagged"].as_array().expect("flagged").clone()
    };
    let elsewhere = |flagged: &[serde_json::Value]| -> Vec<String> {
        flagged
            .iter()
            .flat_map(|f| f["problems"].as_array().expect("problems").clone())
            .filter_map(|p| {
                p.as_str()
                    .filter(|p| p.starts_with("registered in commune"))
                    .map(str::to_owned)
            })
            .collect()
    };
    assert_eq!(elsewhere(&checks(&server)), Vec::<String>::new());

    let mut area = server.get("/api/growing-areas/VN-PSRI-0001", &[]).json();
    let (held_in, moved_to) = (area["commune_code"].as_str().expect("code").to_owned(), "33001");
    assert_ne!(held_in, moved_to);
    area.as_object_mut().expect("object").remove("status_today");
    area["commune_code"] = moved_to.into();
    let put = server.post_json("/api/growing-areas", &[("authorization", &editor)], &json!([area]));
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    let flagged = checks(&server);
    let this = flagged.iter().find(|f| f["code"] == "VN-PSRI-0001").expect("flagged");
    assert_eq!(
        elsewhere(std::slice::from_ref(this)),
        vec![format!(
            "registered in commune {moved_to}, but 100 % of its parcels' hectares lie in commune {held_in}"
        )]
    );
}

/// Producers' contacts are for planners of the producer's province: a
/// planner token limited to another province reads the list, one record,
/// its history and the export as the public reads the contacts (the
/// export keeps its columns, empty); a token of the demo province reads them.
fn a_planner_of_another_province_reads_no_producer_contact(kind: StoreKind) {
    let t = Target::new(kind, "contacts_by_province");
    let planner_of = |province: &str| {
        let (_, secret) = t
            .runtime
            .block_on(issue_scoped_token(
                t.store.as_ref(),
                "registry test",
                "planner",
                &[province.to_owned()],
            ))
            .expect("token");
        format!("Bearer {secret}")
    };
    let (elsewhere, here) = (planner_of("94"), planner_of("99"));
    let server = TestServer::start(t.store.clone());
    let list = server.get("/api/producers", &[]).json();
    let code = list["records"][0]["code"].as_str().expect("a producer").to_owned();
    let reads_contact = |auth: &str| {
        let got = |path: &str| {
            let r = server.get(path, &[("authorization", auth)]);
            assert_eq!(r.status, 200, "{path}: {}", String::from_utf8_lossy(&r.body));
            r.json()
        };
        let listed = got("/api/producers")["records"][0]["contact"]["phone"].is_string();
        let one = got(&format!("/api/producers/{code}"))["contact"]["phone"].is_string();
        let history = got(&format!("/api/producers/{code}/history"))["changes"][0]["record"]["contact"].is_object();
        let csv = server.get("/api/registry/export/producers.csv", &[("authorization", auth)]);
        let csv = String::from_utf8(csv.body).expect("utf-8");
        let mut lines = csv.lines();
        assert!(lines.next().expect("header").contains("contact_phone"), "{csv}");
        let exported = lines.any(|l| !l.ends_with(",,,"));
        [listed, one, history, exported]
    };
    assert_eq!(reads_contact(&elsewhere), [false; 4]);
    assert_eq!(reads_contact(&here), [true; 4]);
}

agrimap_suite::store_suite!(
    a_planner_of_another_province_reads_no_producer_contact,
    a_growing_area_registered_in_another_commune_is_flagged,
    demo_registry_agrees_with_the_layers,
    a_realistic_workbook_imports_and_imports_again_by_key,
    bad_files_are_refused_whole_with_sheet_row_and_reason,
    qr_codes_decode_to_the_product_page,
    the_public_page_is_small_has_no_restricted_field_and_counts_scans,
    a_lapsed_code_shows_as_expired_and_is_flagged,
);
