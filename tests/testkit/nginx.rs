//! A real nginx (Debian's) serving a directory of static files on a free
//! loopback port, with the `location` for map archives that
//! `docs/publish-nginx.conf` gives to provinces; stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An `nginx` process of the test's own, in the foreground.
pub struct Nginx {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

impl Nginx {
    /// Serves the files of `root` at `http://127.0.0.1:<port>/`, its own
    /// files under a scratch directory named `name`.
    ///
    /// # Panics
    /// When nginx is not installed (`tests/run.sh` installs it) or does not start.
    #[must_use]
    pub fn serve(name: &str, root: &Path) -> Self {
        let dir = crate::scratch_dir(&format!("nginx-{name}"));
        let port = crate::free_port();
        let location = std::fs::read_to_string(crate::repo_root().join("docs/publish-nginx.conf"))
            .expect("docs/publish-nginx.conf");
        // As root, nginx's workers would switch to `nobody`, who may not read the scratch directory.
        let user = if crate::is_root() { "user root;\n" } else { "" };
        let d = dir.display();
        std::fs::write(
            dir.join("nginx.conf"),
            format!(
                "{user}daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
                 fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
                 server {{\n    listen 127.0.0.1:{port};\n    root {root};\n{location}\n  }}\n}}\n",
                root = root.display(),
            ),
        )
        .expect("writing nginx.conf");
        let child = Command::new("/usr/sbin/nginx")
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-p")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nginx (Debian package nginx; tests/run.sh installs it)");
        let nginx = Self { port, dir, child };
        let deadline = Instant::now() + Duration::from_mins(1);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {port}: {}",
                nginx.error_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    /// `http://127.0.0.1:<port>`
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The access log so far: one line per request, status and bytes.
    #[must_use]
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
