//! A real Mosquitto broker for the MQTT tests: on a free loopback port, with
//! its configuration, persistence and log in a scratch directory, stopped
//! when dropped; and the real `mosquitto_pub` / `mosquitto_sub` clients.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A `mosquitto` process of the test's own.
pub struct Mosquitto {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Mosquitto {
    /// Starts a broker on a free port, its files under a scratch directory named `name`.
    ///
    /// # Panics
    /// When `mosquitto` is not installed (`tests/run.sh` installs it) or does not start.
    #[must_use]
    pub fn start(name: &str) -> Self {
        let dir = crate::scratch_dir(&format!("mosquitto-{name}"));
        let port = crate::free_port();
        // As root, Mosquitto would switch to the `mosquitto` user, who cannot
        // write to the scratch directory.
        let user = if crate::is_root() { "user root\n" } else { "" };
        std::fs::write(
            dir.join("mosquitto.conf"),
            format!(
                "{user}listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nlog_dest file {}\nlog_type all\n",
                dir.display(),
                dir.join("mosquitto.log").display(),
            ),
        )
        .expect("writing mosquitto.conf");
        let mut broker = Self { port, dir, child: None };
        broker.run();
        broker
    }

    /// `mqtt://127.0.0.1:<port>`
    #[must_use]
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    fn run(&mut self) {
        // Debian installs the broker in /usr/sbin, which a user's PATH may lack.
        let program = if std::path::Path::new("/usr/sbin/mosquitto").exists() {
            "/usr/sbin/mosquitto"
        } else {
            "mosquitto"
        };
        let child = Command::new(program)
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting mosquitto (Debian package mosquitto; tests/run.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_mins(1);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen on {}: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the broker with SIGTERM (it saves its sessions and queued
    /// messages) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    /// Stops the broker and starts it again on the same port, with the
    /// sessions and messages it saved.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// The broker's log so far, for failure messages.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }

    /// Publishes `payload` (one line) to `topic` with QoS 1 through `mosquitto_pub`.
    ///
    /// # Panics
    /// When the broker does not take it.
    pub fn publish(&self, topic: &str, payload: &str) {
        assert!(
            !payload.contains('\n'),
            "one line: mosquitto_pub -l sends a message a line"
        );
        self.publish_lines(topic, &[payload.to_owned()]);
    }

    /// Publishes each of `payloads` as a message of its own to `topic` with
    /// QoS 1, through one `mosquitto_pub -l` (a message a line).
    ///
    /// # Panics
    /// When the broker does not take them.
    pub fn publish_lines(&self, topic: &str, payloads: &[String]) {
        use std::io::Write as _;
        let mut child = Command::new("mosquitto_pub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-q",
                "1",
                "-t",
                topic,
                "-l",
            ])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running mosquitto_pub (Debian package mosquitto-clients)");
        let mut stdin = child.stdin.take().expect("stdin");
        for payload in payloads {
            writeln!(stdin, "{payload}").expect("writing to mosquitto_pub");
        }
        drop(stdin);
        let out = child.wait_with_output().expect("mosquitto_pub");
        assert!(
            out.status.success(),
            "mosquitto_pub -l: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A subscription to `topic` registered at the broker now (a persistent
    /// session of its own), so that what is published from now on waits for
    /// [`Subscription::next`] however late it reads.
    ///
    /// # Panics
    /// When `mosquitto_sub` cannot be run or fails to register the subscription.
    #[must_use]
    pub fn subscribe(&self, topic: &str) -> Subscription {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let sub = Subscription {
            port: self.port,
            topic: topic.to_owned(),
            id: format!("test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)),
        };
        let out = sub.command().arg("-E").output().expect("running mosquitto_sub");
        assert!(
            out.status.success(),
            "mosquitto_sub -E: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        sub
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A persistent subscriber session on one topic.
pub struct Subscription {
    port: u16,
    topic: String,
    id: String,
}

impl Subscription {
    fn command(&self) -> Command {
        let mut command = Command::new("mosquitto_sub");
        command.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-i",
            &self.id,
            "-c",
            "-q",
            "1",
            "-t",
            &self.topic,
        ]);
        command
    }

    /// The next message on the topic as JSON, waiting up to two minutes.
    ///
    /// # Panics
    /// When none comes, or it is not JSON.
    #[must_use]
    pub fn next(&self) -> serde_json::Value {
        let out = self
            .command()
            .args(["-C", "1", "-W", "120", "-N"])
            .output()
            .expect("running mosquitto_sub");
        assert!(
            out.status.success(),
            "no message on {} within 120 s: {}",
            self.topic,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }
}
