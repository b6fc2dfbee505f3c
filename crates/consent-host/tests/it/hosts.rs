//! Host processes the tests start: the real binary on 127.0.0.1.

use tempfile::TempDir;

use crate::common::startup_port;

/// A host process a test started, killed when dropped.
pub struct HostProcess {
    pub child: std::process::Child,
    /// The port it bound (it was started with `--port 0`).
    pub port: u16,
    /// Its build directory (`--dist`), removed when dropped.
    pub _dir: TempDir,
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the built host on 127.0.0.1 with a free port, `dir` as its
/// `--dist` (a test keeps its database there too), and `args`; its logs at
/// `log` level go to `stderr`. Returns once it has printed its start-up
/// line.
pub fn start_host_process<S: AsRef<std::ffi::OsStr>>(
    dir: TempDir,
    args: impl IntoIterator<Item = S>,
    log: &str,
    stderr: std::process::Stdio,
) -> HostProcess {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_consent-host"))
        .args(["--port", "0", "--bind", "127.0.0.1", "--dist"])
        .arg(dir.path())
        .args(args)
        .env("RUST_LOG", log)
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start the host");
    let port = startup_port(&mut child);
    HostProcess {
        child,
        port,
        _dir: dir,
    }
}
