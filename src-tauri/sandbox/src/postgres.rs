//! A chain's server for tests: a real PostgreSQL from Debian's packages (`apt-get install
//! postgresql`), its own cluster in a temporary folder, on a free loopback port, with TLS (a
//! self-signed certificate made by `openssl`) and password logins. No mock: the tills talk to it
//! as to a chain's server, and a test can stop it hard (`stop`) and start it again.
//!
//! PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user the
//! package made.

use std::io::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The superuser the tests migrate and read with.
pub const OWNER: &str = "paydesk_owner";

pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_root: bool,
}

impl Postgres {
    /// Makes a cluster and starts it. `None` when PostgreSQL is not installed here.
    pub fn start() -> Result<Postgres> {
        let bin = bin_dir().ok_or_else(|| {
            Error::new(ErrorKind::NotFound, "PostgreSQL is not installed (apt-get install postgresql)")
        })?;
        let as_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false);
        // As root the cluster belongs to `postgres`, who must reach its folder: /tmp, not a
        // TMPDIR under root's home.
        let base = if as_root { PathBuf::from("/tmp") } else { std::env::temp_dir() };
        let dir = base.join(format!("paydesk-pg-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir)?;
        let pg = Postgres { dir, bin, port: free_port()?, as_root };
        pg.init()?;
        pg.start_again()?;
        Ok(pg)
    }

    fn init(&self) -> Result<()> {
        let pwfile = self.dir.join("owner.pass");
        std::fs::write(&pwfile, "owner-secret\n")?;
        // A test CA and a server certificate it signs (rustls refuses a CA as the server's own).
        let key = self.dir.join("server.key");
        let crt = self.dir.join("server.crt");
        let (ca_key, ca, csr, ext) =
            (self.dir.join("ca.key"), self.ca_file(), self.dir.join("server.csr"), self.dir.join("server.ext"));
        run(Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-subj", "/CN=paydesk test chain CA"])
            .arg("-keyout")
            .arg(&ca_key)
            .arg("-out")
            .arg(&ca))?;
        run(Command::new("openssl")
            .args(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&csr))?;
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )?;
        run(Command::new("openssl")
            .args(["x509", "-req", "-days", "3", "-CAcreateserial", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(&ca)
            .arg("-CAkey")
            .arg(&ca_key)
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&crt))?;
        self.chmod_600(&key)?;
        if self.as_root {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&self.dir))?;
        }
        let data = self.data();
        run(self
            .pg("initdb")
            .args(["--no-sync", "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "-U", OWNER])
            .arg(format!("--pwfile={}", pwfile.display()))
            .arg("-D")
            .arg(&data))?;
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nssl = on\n\
             ssl_cert_file = '{}'\nssl_key_file = '{}'\nmax_connections = 100\nfsync = on\n",
            self.port,
            self.dir.display(),
            crt.display(),
            key.display()
        );
        let mut text = std::fs::read_to_string(data.join("postgresql.conf"))?;
        text.push_str(&conf);
        std::fs::write(data.join("postgresql.conf"), text)?;
        Ok(())
    }

    fn chmod_600(&self, path: &Path) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    /// Starts (again) the stopped server on the same port and data.
    pub fn start_again(&self) -> Result<()> {
        run(self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "start"]))
    }

    /// Stops it as a crash would (`immediate`: no checkpoint, connections cut).
    pub fn stop(&self) -> Result<()> {
        run(self.pg("pg_ctl").arg("-D").arg(self.data()).args(["-m", "immediate", "-w", "stop"]))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection url for `user` on `database` (no password: see [`Postgres::password_file`]).
    pub fn url(&self, user: &str, database: &str) -> String {
        format!("postgresql://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// The CA that signed the server's certificate: what a till verifies it with.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// Writes a 0600 password file for a till at `path`.
    pub fn write_password_file(&self, path: &Path, password: &str) -> Result<()> {
        std::fs::write(path, format!("{password}\n"))?;
        self.chmod_600(path)
    }

    /// The owner's password.
    pub fn owner_password(&self) -> &'static str {
        "owner-secret"
    }

    /// Runs SQL as the owner through `psql` (on the Unix socket), returning what it prints.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String> {
        let out = self
            .pg("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-U", OWNER, "-d", database, "-c", sql])
            .env("PGPASSWORD", self.owner_password())
            .output()?;
        if !out.status.success() {
            return Err(Error::other(String::from_utf8_lossy(&out.stderr).into_owned()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A new database for one test.
    pub fn create_database(&self, name: &str) -> Result<()> {
        self.psql("postgres", &format!("CREATE DATABASE {name}")).map(|_| ())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Debian's binaries: `/usr/lib/postgresql/<newest>/bin`.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn run(c: &mut Command) -> Result<()> {
    let out = c.output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::other(format!(
            "{c:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}
