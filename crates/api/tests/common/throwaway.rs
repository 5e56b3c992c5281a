//! Throwaway Postgres and Redis servers on free loopback ports, for fault
//! tests that stop, pause (SIGSTOP) and restart them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Directory of the Postgres server binaries.
fn postgres_bin() -> PathBuf {
    let root = PathBuf::from("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("Postgres server binaries under /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    versions.sort();
    versions.pop().expect("a Postgres version").join("bin")
}

/// Returns a port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn signal_group(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} failed");
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A Postgres cluster in a temporary directory, run as the `postgres` OS
/// user because the server refuses to run as root.
pub struct ThrowawayPostgres {
    /// Listening port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl ThrowawayPostgres {
    /// Initialises and starts a cluster with trust authentication.
    pub fn start() -> ThrowawayPostgres {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("babyshield-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let as_postgres = |program: PathBuf| {
            let mut command = Command::new("setpriv");
            command
                .args([
                    "--reuid=postgres",
                    "--regid=postgres",
                    "--init-groups",
                    "--",
                ])
                .arg(program);
            command
        };
        Command::new("chown")
            .arg("postgres:postgres")
            .arg(&dir)
            .status()
            .unwrap();
        let status = as_postgres(postgres_bin().join("initdb"))
            .args(["-D"])
            .arg(dir.join("data"))
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        let mut server = ThrowawayPostgres {
            port,
            dir,
            child: None,
        };
        server.resume_from_stop();
        server
    }

    /// URL of a database on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the server again after [`ThrowawayPostgres::stop`].
    pub fn resume_from_stop(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .unwrap();
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(postgres_bin().join("postgres"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &self.port.to_string(), "-h", "127.0.0.1", "-k"])
            .arg(&self.dir)
            .args(["-c", "fsync=off", "-c", "max_connections=50"])
            // Every statement goes to the log, so tests can count queries on
            // the server side.
            .args(["-c", "log_statement=all", "-c", "log_min_messages=warning"])
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0);
        self.child = Some(command.spawn().unwrap());
        let port = self.port;
        wait_until("Postgres", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && Command::new("pg_isready")
                    .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                    .status()
                    .is_ok_and(|s| s.success())
        });
    }

    /// Counts the logged statements that contain `text`.
    pub fn count_statements(&self, text: &str) -> usize {
        std::fs::read_to_string(self.dir.join("server.log"))
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains("statement: ") || line.contains("execute "))
            .filter(|line| line.contains(text))
            .count()
    }

    /// Stops the server (fast shutdown: clients are disconnected).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Freezes the postmaster and every backend with SIGSTOP. Backends
    /// start sessions of their own, so a process-group signal would miss
    /// them; they are found as the postmaster's children instead.
    pub fn pause(&self) {
        let postmaster = self.child.as_ref().unwrap().id().to_string();
        let _ = Command::new("kill").args(["-STOP", &postmaster]).status();
        let _ = Command::new("pkill")
            .args(["-STOP", "-P", &postmaster])
            .status();
    }

    /// Thaws the backends, then the postmaster, with SIGCONT.
    pub fn unpause(&self) {
        let postmaster = self.child.as_ref().unwrap().id().to_string();
        let _ = Command::new("pkill")
            .args(["-CONT", "-P", &postmaster])
            .status();
        let _ = Command::new("kill").args(["-CONT", &postmaster]).status();
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.unpause();
        }
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis server that keeps nothing on disk.
pub struct ThrowawayRedis {
    /// Listening port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
}

impl ThrowawayRedis {
    /// Starts a server on a free port.
    pub fn start() -> ThrowawayRedis {
        let mut server = ThrowawayRedis {
            port: free_port(),
            child: None,
        };
        server.resume_from_stop();
        server
    }

    /// URL of the server.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server again after [`ThrowawayRedis::stop`].
    pub fn resume_from_stop(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let port = self.port;
        wait_until("Redis", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Stops the server.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server with SIGSTOP.
    pub fn pause(&self) {
        signal_group(self.child.as_ref().unwrap(), "-STOP");
    }

    /// Thaws the server with SIGCONT.
    pub fn unpause(&self) {
        signal_group(self.child.as_ref().unwrap(), "-CONT");
    }
}

impl Drop for ThrowawayRedis {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-CONT", "--", &format!("-{}", child.id())])
                .status();
        }
        self.stop();
    }
}
