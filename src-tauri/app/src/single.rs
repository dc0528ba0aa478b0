//! One window per data folder: two copies of the app on one ledger would both take payments,
//! listen on the same ports and show each other's payments late. The first holds a lock file in
//! the folder for its whole life; a second one finds it held, asks the first (over a socket
//! beside it) to come to the front, says so, and exits.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

const LOCK: &str = "paydesk.lock";
const SOCKET: &str = "paydesk.sock";

/// Held by the running copy: the lock is let go when the process ends, however it ends.
pub struct Instance {
    _lock: Option<std::fs::File>,
    /// Where a second copy asks this one to come to the front (none without a lock).
    pub socket: Option<PathBuf>,
}

pub enum Claim {
    First(Instance),
    /// Another copy runs on this folder (it was asked to come to the front).
    Running,
}

/// Claims `dir` for this process. A folder that cannot be locked (no such folder yet, a file
/// system without locks) is not a reason to refuse a till: it starts, and says so in the log.
pub fn claim(dir: &Path) -> Claim {
    let lock_path = dir.join(LOCK);
    let opened = paydesk_core::private_file::create_dir(dir)
        .and_then(|_| std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path));
    let file = match opened {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(path = %lock_path.display(), error = %e, "cannot make the one-window lock; starting anyway");
            return Claim::First(Instance { _lock: None, socket: None });
        }
    };
    match file.try_lock() {
        Ok(()) => Claim::First(Instance { _lock: Some(file), socket: Some(dir.join(SOCKET)) }),
        Err(std::fs::TryLockError::WouldBlock) => {
            poke(&dir.join(SOCKET));
            Claim::Running
        }
        Err(std::fs::TryLockError::Error(e)) => {
            tracing::warn!(path = %lock_path.display(), error = %e, "cannot take the one-window lock; starting anyway");
            Claim::First(Instance { _lock: None, socket: None })
        }
    }
}

/// Asks the running copy to show its window.
fn poke(socket: &Path) {
    match UnixStream::connect(socket) {
        Ok(mut s) => {
            let _ = s.write_all(b"focus\n");
        }
        Err(e) => tracing::warn!(error = %e, "the running copy did not answer"),
    }
}

/// Listens on `socket` (the first copy's, while it holds the lock) for a second copy's "come to
/// the front", calling `focus` each time.
pub fn listen(socket: &Path, focus: impl Fn() + Send + 'static) {
    {
        // We hold the lock: a socket file left there is a dead copy's.
        let _ = std::fs::remove_file(socket);
        let listener = match UnixListener::bind(socket) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(path = %socket.display(), error = %e, "cannot listen for a second copy");
                return;
            }
        };
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut asked = [0u8; 16];
                // A short read of what the other copy sent; anything at all means "focus".
                let _ = stream.take(16).read(&mut asked);
                focus();
            }
        });
    }
}
