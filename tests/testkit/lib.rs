//! Testkit shared by the integration tests in `tests/` and the benchmarks in
//! `benches/`: the demo province as a store, the real server on an ephemeral
//! port, an HTTP client, and tile decoding.

pub mod mosquitto;
pub mod nginx;
pub mod pg_cluster;

use agrimap_server::{AppState, ServerConfig};
use agrimap_store::LayerStore as _;
use agrimap_store::{GpkgStore, PgStore, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Root of the repository.
#[must_use]
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo province shipped in `data/demo`.
#[must_use]
pub fn demo_dir() -> PathBuf {
    repo_root().join("data/demo")
}

/// The real boundary files of `../shared/data` beside the repository (see
/// its SOURCES.md: test fixtures only, never copied into the repository), or
/// `None` when the folder is not there.
#[must_use]
pub fn shared_data_dir() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/data");
    dir.join("communes-2025-merges.csv").is_file().then_some(dir)
}

/// One file of [`shared_data_dir`], or `None` (with a note on stderr, so a
/// skipped case is visible) when the folder is not there.
#[must_use]
pub fn shared_data(file: &str) -> Option<PathBuf> {
    let found = shared_data_dir().map(|d| d.join(file)).filter(|p| p.is_file());
    if found.is_none() {
        eprintln!("../shared/data/{file} is not beside the repository: case skipped");
    }
    found
}

/// A scratch directory unique to this process and name, emptied first.
/// Those left by test processes that have ended are removed on the way
/// (each nextest case is a process of its own, and their stores add up to
/// gigabytes over a run).
///
/// # Panics
/// When the directory cannot be created.
#[must_use]
pub fn scratch_dir(name: &str) -> PathBuf {
    let root = target_dir().join("agrimap-tests");
    remove_scratch_of_ended_processes(&root);
    let dir = root.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch directory");
    dir
}

/// Removes `<name>-<pid>` directories under `root` whose process is gone.
fn remove_scratch_of_ended_processes(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let pid = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.rsplit_once('-'))
            .and_then(|(_, pid)| pid.parse::<u32>().ok());
        let ended = pid.is_some_and(|pid| !Path::new("/proc").join(pid.to_string()).exists());
        if ended && path.is_dir() {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), PathBuf::from)
}

/// Path of the store seeded from `data/demo`, shared read-only by every test
/// process; built once (the first process to get the lock builds it).
///
/// # Panics
/// When the directory cannot be created, seeding fails, or another process
/// holds the lock for more than ten minutes.
#[must_use]
pub fn shared_store_path() -> PathBuf {
    let tag = demo_tag();
    let dir = target_dir().join("agrimap-tests");
    std::fs::create_dir_all(&dir).expect("creating the test directory");
    let path = dir.join(format!("demo-{tag:016x}.gpkg"));
    let lock = dir.join(format!("demo-{tag:016x}.lock"));
    let deadline = Instant::now() + Duration::from_mins(10);
    while !path.exists() {
        if let Ok(_lock_file) = std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
            let built = agrimap::seed::open_or_seed(&path, &demo_dir());
            let _ = std::fs::remove_file(&lock);
            built.expect("seeding the shared demo store");
        } else {
            // A lock left by a process that died while seeding would block every
            // later run: seeding takes seconds, so an old lock is a stale one.
            let stale = std::fs::metadata(&lock)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().unwrap_or_default() > Duration::from_mins(5));
            if stale {
                let _ = std::fs::remove_file(&lock);
            }
            assert!(Instant::now() < deadline, "timed out waiting for {}", lock.display());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    path
}

/// A hash of every file in data/demo: stores built from it are cached under it.
fn demo_tag() -> u64 {
    let mut files: Vec<PathBuf> = std::fs::read_dir(demo_dir())
        .expect("data/demo")
        .map(|e| e.expect("entry").path())
        .collect();
    // The demo registry is made from the layers when a store is seeded.
    files.push(repo_root().join("crates/agrimap-core/src/registry/demo.rs"));
    files.sort();
    files
        .iter()
        .fold(0, |h, f| h ^ fnv(&std::fs::read(f).expect("demo file")).rotate_left(7))
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The shared demo store, opened (do not write to it: use [`private_store`]).
///
/// # Panics
/// When the store cannot be opened.
#[must_use]
pub fn shared_store() -> GpkgStore {
    GpkgStore::open(&shared_store_path()).expect("opening the shared demo store")
}

/// A private copy of the demo store that a test may write to.
///
/// # Panics
/// When the copy cannot be made or opened.
#[must_use]
pub fn private_store(name: &str) -> GpkgStore {
    let path = scratch_dir(name).join("agrimap.gpkg");
    std::fs::copy(shared_store_path(), &path).expect("copying the demo store");
    GpkgStore::open(&path).expect("opening the copy")
}

/// The PostgreSQL server the test command started (`tests/run.sh`).
///
/// # Panics
/// When `AGRIMAP_TEST_DATABASE_URL` is not set.
#[must_use]
pub fn pg_admin_url() -> String {
    std::env::var("AGRIMAP_TEST_DATABASE_URL")
        .expect("AGRIMAP_TEST_DATABASE_URL is not set: run the tests with `bash tests/run.sh`, which starts PostgreSQL")
}

/// The URL of another database on the same server.
#[must_use]
pub fn pg_url(database: &str) -> String {
    let admin = pg_admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{database}")
}

/// Runs `f` with a client connected to `url`, on a runtime of its own.
///
/// # Panics
/// When the runtime cannot start or PostgreSQL cannot be reached.
pub fn on_database<T>(url: &str, f: impl AsyncFnOnce(&tokio_postgres::Client) -> T) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect to PostgreSQL");
        let task = tokio::spawn(conn);
        let out = f(&client).await;
        drop(client);
        let _ = task.await;
        out
    })
}

/// Runs SQL statements on the admin database, one after another.
///
/// # Panics
/// When a statement fails (the message names it).
pub fn pg_admin(statements: &[&str]) {
    on_database(&pg_admin_url(), async |client| {
        for sql in statements {
            client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    });
}

fn pg_database_exists(name: &str) -> bool {
    on_database(&pg_admin_url(), async |client| {
        client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .expect("query")
            .is_some()
    })
}

/// The demo province loaded into PostGIS once per run, kept as a template
/// database nobody connects to, so that copies of it are instant.
fn pg_template() -> String {
    // A new migration makes a new template, and so does a changed criteria
    // set file (the migration step adds the shipped sets).
    let dirs = ["crates/agrimap-store/src/postgis/migrations", "data/ntm"];
    let mut sql: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(repo_root().join(d)).expect("migrations and sets"))
        .map(|e| e.expect("entry").path())
        .collect();
    sql.sort();
    let schema = sql
        .iter()
        .fold(0, |h, f| h ^ fnv(&std::fs::read(f).expect("migration")).rotate_left(13));
    let name = format!("agrimap_tpl_{:016x}", demo_tag() ^ schema);
    let lock = target_dir().join("agrimap-tests").join(format!("{name}.lock"));
    std::fs::create_dir_all(lock.parent().expect("dir")).expect("test dir");
    let deadline = Instant::now() + Duration::from_mins(10);
    while !pg_database_exists(&name) {
        if let Ok(_lock_file) = std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
            let building = format!("{name}_building_{}", std::process::id());
            pg_admin(&[&format!("CREATE DATABASE {building}")]);
            let url = pg_url(&building);
            let batch = agrimap::seed::demo_batch(&demo_dir()).expect("demo batch");
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async {
                let store = agrimap::postgres::connect_and_migrate(&url).await.expect("migrate");
                store.write(batch).await.expect("load the demo province");
                agrimap::seed::register_demo(std::sync::Arc::new(store))
                    .await
                    .expect("the demo registry");
            });
            drop(rt);
            pg_admin(&[&format!("ALTER DATABASE {building} RENAME TO {name}")]);
            let _ = std::fs::remove_file(&lock);
        } else {
            assert!(Instant::now() < deadline, "timed out waiting for {}", lock.display());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    name
}

/// A database of its own for one test, copied from the demo template and
/// dropped when the guard goes.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    /// A fresh copy of the demo province.
    #[must_use]
    pub fn demo(test: &str) -> Self {
        Self::create(test, &format!(" TEMPLATE {}", pg_template()))
    }

    /// A new database with nothing in it (not even agrimap's schema).
    #[must_use]
    pub fn empty(test: &str) -> Self {
        Self::create(test, "")
    }

    /// A database named after the process and the test, made anew.
    fn create(test: &str, options: &str) -> Self {
        let name = format!(
            "agrimap_t_{}_{}",
            std::process::id(),
            test.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        pg_admin(&[
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            &format!("CREATE DATABASE {name}{options}"),
        ]);
        Self {
            url: pg_url(&name),
            name,
        }
    }

    /// A store on this database.
    ///
    /// # Panics
    /// When the database cannot be reached.
    #[must_use]
    pub fn store(&self) -> PgStore {
        PgStore::connect(&self.url).expect("connect")
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        pg_admin(&[&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)]);
    }
}

/// The two stores every store-facing test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    GeoPackage,
    PostGis,
}

impl StoreKind {
    /// The name `/health` reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::GeoPackage => "geopackage",
            Self::PostGis => "postgis",
        }
    }

    /// A server over a private copy of the demo province in this store
    /// (tests may write to it); the copy goes when the server does.
    #[must_use]
    pub fn demo_server(self, test: &str) -> TestServer {
        self.demo_server_with(test, ServerConfig::default())
    }

    /// A server with the given settings over a fresh copy of the demo
    /// province in this store.
    #[must_use]
    pub fn demo_server_with(self, test: &str, config: ServerConfig) -> TestServer {
        match self {
            Self::GeoPackage => TestServer::start_with(Arc::new(private_store(test)), config),
            Self::PostGis => {
                let db = PgDatabase::demo(test);
                let mut server = TestServer::start_with(Arc::new(db.store()), config);
                server.database = Some(db);
                server
            }
        }
    }
}

/// The real server on an ephemeral loopback port, stopped when dropped.
pub struct TestServer {
    pub base: String,
    pub store: Arc<dyn Store>,
    /// The database behind a PostGIS test server, dropped after the server stops.
    database: Option<PgDatabase>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts the server over `store`.
    #[must_use]
    pub fn start(store: Arc<dyn Store>) -> Self {
        Self::start_with(store, ServerConfig::default())
    }

    /// Starts the server over `store` with the given settings.
    ///
    /// # Panics
    /// When the server thread cannot bind a port or start its runtime.
    #[must_use]
    pub fn start_with(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let state = AppState::new(store.clone(), config);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async move {
                // As `agrimap serve` does: alerts go out while the server runs.
                agrimap_core::alerts::worker::spawn(&state.core);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                addr_tx.send(listener.local_addr().expect("addr")).expect("send addr");
                agrimap_server::run(listener, state, async {
                    let _ = rx.await;
                })
                .await
                .expect("server");
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(30)).expect("server started");
        Self {
            base: format!("http://{addr}"),
            store,
            database: None,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// The server over the shared demo store.
    #[must_use]
    pub fn demo() -> Self {
        Self::start(Arc::new(shared_store()))
    }

    /// GET with extra headers; any status is returned, not turned into an error.
    #[must_use]
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        request("GET", &format!("{}{path}", self.base), headers)
    }

    /// POST a JSON body with extra headers.
    #[must_use]
    pub fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &serde_json::Value) -> Reply {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        request_with_body(
            "POST",
            &format!("{}{path}", self.base),
            &all,
            body.to_string().into_bytes(),
        )
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Dropped after the server so that its connections are gone first.
        self.database.take();
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A header value by (case-insensitive) name.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// When the body is not JSON.
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body, gunzipped when the server said it is gzip.
    #[must_use]
    pub fn decoded_body(&self) -> Vec<u8> {
        if self.header("content-encoding") == Some("gzip") {
            gunzip(&self.body)
        } else {
            self.body.clone()
        }
    }

    /// The JSON error code of an error answer, checking the shape `{"error": {"code", "message"}}`.
    ///
    /// # Panics
    /// When the body is not a JSON error with a code and a message.
    #[must_use]
    pub fn error_code(&self) -> String {
        let v = self.json();
        assert!(
            v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "no error message: {v}"
        );
        v["error"]["code"].as_str().expect("error.code").to_owned()
    }
}

/// Sends one request with the given method and headers.
#[must_use]
pub fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> Reply {
    request_with_body(method, url, headers, Vec::new())
}

/// Sends one request with a body.
///
/// # Panics
/// When the request cannot be built or sent, or its body cannot be read.
#[must_use]
pub fn request_with_body(method: &str, url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .timeout_global(Some(Duration::from_mins(1)))
        .build()
        .into();
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = agent
        .run(req.body(body).expect("request"))
        .expect("HTTP request failed");
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_vec()
        .expect("reading the body");
    Reply { status, headers, body }
}

/// POSTs a file with curl and extra headers: the status and the body as
/// JSON (`Null` when it is none). curl, unlike most libraries, reads an
/// answer that comes before the whole body is sent, as a refusal from the
/// `Content-Length` does.
///
/// # Panics
/// When curl cannot be run or its output is not a body and a status.
#[must_use]
pub fn curl_post(url: &str, headers: &[(&str, &str)], file: &Path) -> (u16, serde_json::Value) {
    let mut command = std::process::Command::new("curl");
    command.args(["-sS", "-o", "-", "-w", "\n%{http_code}"]);
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    let out = command
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(url)
        .output()
        .expect("curl (installed with the test tools)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("status line");
    (
        status.trim().parse().expect("status"),
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

/// Gunzips a body.
///
/// # Panics
/// When the data is not valid gzip.
#[must_use]
pub fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(data), &mut out).expect("valid gzip");
    out
}

/// Path of the `agrimap` binary built alongside the tests.
///
/// # Panics
/// When the executable's directory is unknown or `agrimap` is not built there.
#[must_use]
pub fn agrimap_bin() -> PathBuf {
    // Test executables live in target/<profile>/deps; the binary one level up.
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target profile dir");
    let bin = profile_dir.join(format!("agrimap{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} not built: run the tests through the README test command",
        bin.display()
    );
    bin
}

/// `agrimap serve` as a process of its own on an ephemeral loopback port,
/// killed when dropped.
pub struct ServeProcess {
    pub base: String,
    child: std::process::Child,
    /// Everything it logged so far.
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl ServeProcess {
    /// Starts `agrimap serve --listen 127.0.0.1:0` with extra arguments and
    /// environment, and waits until it announces its address.
    ///
    /// # Panics
    /// When `agrimap` cannot be started, or does not announce its address within
    /// five minutes.
    #[must_use]
    pub fn start(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Self {
        use std::io::BufRead;
        let mut command = std::process::Command::new(agrimap_bin());
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            // The demo's stations last reported on 20 November 2026, so the
            // silence check would turn them all silent; the tests of silence
            // turn it on through `env`.
            .env("AGRIMAP_SILENCE_CHECK_SECONDS", "0")
            // Nor do they want every tile of the province drawn at start,
            // except the test of that.
            .env("AGRIMAP_KEEP_TILES_AHEAD", "false")
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start agrimap");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("http://") {
                    let url = line[at..].split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(url.trim_end_matches('/').to_owned());
                }
                if let Ok(mut log) = kept.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_mins(5))
            .expect("agrimap announces its address");
        Self { base, child, log }
    }

    /// The process id, to read its figures under `/proc`.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process has logged so far (standard error).
    #[must_use]
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// GET with extra headers.
    #[must_use]
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        request("GET", &format!("{}{path}", self.base), headers)
    }

    /// Sends SIGTERM and waits up to `limit` for the process to exit.
    ///
    /// # Panics
    /// When it does not exit in time.
    #[must_use]
    pub fn terminate(self, limit: Duration) -> std::process::ExitStatus {
        self.signal_term();
        self.wait_exit(limit)
    }

    /// Sends SIGTERM and returns at once.
    ///
    /// # Panics
    /// When `kill -TERM` cannot be run or fails.
    pub fn signal_term(&self) {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
    }

    /// Waits for the process to exit.
    ///
    /// # Panics
    /// When it does not exit within `limit`.
    #[must_use]
    pub fn wait_exit(mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "agrimap did not stop within {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A station's entry in an `/api/alerts` answer.
///
/// # Panics
/// When the answer is not a list of alerts, or the station is not in it.
#[must_use]
pub fn alert_of(alerts: &serde_json::Value, station_id: &str) -> serde_json::Value {
    alerts["alerts"]
        .as_array()
        .expect("a list of alerts")
        .iter()
        .find(|a| a["station_id"] == station_id)
        .unwrap_or_else(|| panic!("{station_id} is not on alert: {alerts}"))
        .clone()
}

/// The properties a `monitoring` tile carries for a station.
///
/// # Panics
/// When the reply is no tile, or the station is not in it.
#[must_use]
pub fn station_in_tile(tile: &Reply, station_id: &str) -> std::collections::BTreeMap<String, agrimap_model::Value> {
    let layers = agrimap_tiles::mvt::decode(&tile.decoded_body()).expect("a vector tile");
    let id = agrimap_model::Value::from(station_id);
    layers
        .into_iter()
        .flat_map(|l| l.features)
        .find(|f| f.properties.get("station_id") == Some(&id))
        .unwrap_or_else(|| panic!("{station_id} is not in the tile"))
        .properties
}

/// Runs each listed test case (a function taking a [`StoreKind`]) once per
/// store, as `geopackage::case` and `postgis::case`.
#[macro_export]
macro_rules! store_suite {
    ($($case:ident),* $(,)?) => {
        mod geopackage {
            $( #[test] fn $case() { super::$case($crate::StoreKind::GeoPackage) } )*
        }
        mod postgis {
            $( #[test] fn $case() { super::$case($crate::StoreKind::PostGis) } )*
        }
    };
}

/// A copy of the demo store of one kind for one test, reached both directly
/// (`store`, on `runtime`) and by the `agrimap` binary (`flags` name it),
/// with a scratch directory of its own.
pub struct DemoCopy {
    pub runtime: tokio::runtime::Runtime,
    pub store: Arc<dyn Store>,
    pub flags: Vec<String>,
    pub dir: PathBuf,
    pub db: Option<PgDatabase>,
}

impl DemoCopy {
    /// # Panics
    /// When the copy cannot be made or opened.
    #[must_use]
    pub fn new(kind: StoreKind, name: &str) -> Self {
        let dir = scratch_dir(&format!("{name}_{}", kind.name()));
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        match kind {
            StoreKind::GeoPackage => {
                let data = dir.join("data");
                std::fs::create_dir_all(&data).expect("data dir");
                std::fs::copy(shared_store_path(), data.join("agrimap.gpkg")).expect("copy store");
                let store = GpkgStore::open(&data.join("agrimap.gpkg")).expect("open");
                Self {
                    runtime,
                    store: Arc::new(store),
                    flags: vec!["--data-dir".into(), data.display().to_string()],
                    dir,
                    db: None,
                }
            }
            StoreKind::PostGis => {
                let db = PgDatabase::demo(name);
                let store = runtime.block_on(async { db.store() });
                Self {
                    runtime,
                    store: Arc::new(store),
                    flags: vec!["--database".into(), db.url.clone()],
                    dir,
                    db: Some(db),
                }
            }
        }
    }

    /// `agrimap ARGS... <store flags>`.
    ///
    /// # Panics
    /// When the binary cannot be run.
    #[must_use]
    pub fn agrimap(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(agrimap_bin())
            .args(args)
            .args(&self.flags)
            .output()
            .expect("agrimap")
    }
}

/// Whether the tests run as root (servers they start then drop to another
/// user unless told otherwise).
#[must_use]
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A loopback port nobody listens on now.
///
/// # Panics
/// When no port can be bound.
#[must_use]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Every polygon of `features` has its exterior counter-clockwise and its
/// holes clockwise.
///
/// # Panics
/// When a ring runs the other way (the message names the feature).
pub fn assert_wound_as_rfc_7946(features: &[serde_json::Value]) {
    for f in features {
        let polygons = match f["geometry"]["type"].as_str() {
            Some("MultiPolygon") => f["geometry"]["coordinates"].as_array().expect("polygons").clone(),
            _ => vec![f["geometry"]["coordinates"].clone()],
        };
        for polygon in &polygons {
            for (i, ring) in polygon.as_array().expect("rings").iter().enumerate() {
                let exterior = i == 0;
                assert_eq!(
                    twice_signed_area(ring) > 0.0,
                    exterior,
                    "feature {} (code {}): ring {i}",
                    f["id"],
                    f["properties"]["code"]
                );
            }
        }
    }
}

/// Twice the signed area of a GeoJSON ring: positive when counter-clockwise.
fn twice_signed_area(ring: &serde_json::Value) -> f64 {
    let points: Vec<(f64, f64)> = ring
        .as_array()
        .expect("ring")
        .iter()
        .map(|p| (p[0].as_f64().expect("x"), p[1].as_f64().expect("y")))
        .collect();
    points.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum()
}
