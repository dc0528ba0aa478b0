//! Files that hold secrets or the books (config, ledger, keys, the terminal API token): created
//! readable by this user only (a folder 0700, a file 0600), rewritten without changing their mode,
//! and a key or token that others can read is refused, as ssh refuses such a key. Elsewhere than
//! unix these are plain file operations.

use std::io::Write;
use std::path::Path;

/// Creates `dir` and any missing parents; the folders it creates are 0700.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to `path` through a temp file and a rename, so a crash leaves the old file or
/// the new one, never half of one. A new file is 0600; a rewritten one keeps its mode.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    create_dir(dir)?;
    let mode = existing_mode(path).unwrap_or(0o600);
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    // A temp file left by a crash may have any mode: the mode below applies only to a new file.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = open_new(&tmp, mode)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    // The rename itself is durable once the folder is synced (not possible everywhere: best effort).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates `path` (which must not exist) as 0600 with `bytes` in it.
pub fn create_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        create_dir(dir)?;
    }
    let mut file = open_new(path, 0o600)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Takes group and other permissions off an existing file; true when it had any.
pub fn tighten(path: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Some(mode) = existing_mode(path) else { return Ok(false) };
        if mode & 0o077 == 0 {
            return Ok(false);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(false)
    }
}

/// Refuses a secret file that group or others may read or write, naming it and the fix.
pub fn refuse_if_shared(path: &Path) -> Result<(), String> {
    match existing_mode(path) {
        Some(mode) if mode & 0o077 != 0 => {
            let p = path.display();
            Err(format!(
                "{p} can be read by other users (mode {mode:04o}); make it this user's only: chmod 600 {p} / \
                 其他用户可以读取此文件（权限 {mode:04o}），请执行 chmod 600 {p}"
            ))
        }
        _ => Ok(()),
    }
}

fn existing_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

fn open_new(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_and_folders_are_this_users_only_and_rewrites_keep_the_mode() {
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join("a/b/config.toml");
        write_atomically(&path, b"one").unwrap();
        assert_eq!((mode(&path), mode(&home.path().join("a")), mode(&home.path().join("a/b"))), (0o600, 0o700, 0o700));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!((std::fs::read(&path).unwrap(), mode(&path)), (b"two".to_vec(), 0o640));
        // A temp file a crash left behind, world-readable, does not lend the new file its mode.
        let tmp = home.path().join("a/b/config.toml.tmp");
        std::fs::write(&tmp, b"junk").unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o666)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomically(&path, b"three").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(!tmp.exists());
    }

    #[test]
    fn shared_secrets_are_refused_by_name_and_can_be_tightened() {
        let home = tempfile::tempdir().unwrap();
        let key = home.path().join("key.pem");
        create_new(&key, b"secret").unwrap();
        assert_eq!(mode(&key), 0o600);
        refuse_if_shared(&key).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let why = refuse_if_shared(&key).unwrap_err();
        assert!(why.contains("key.pem") && why.contains("0644") && why.contains("chmod 600"), "{why}");
        assert!(tighten(&key).unwrap());
        assert_eq!(mode(&key), 0o600);
        assert!(!tighten(&key).unwrap());
        assert!(create_new(&key, b"again").is_err(), "never overwrites");
    }
}
