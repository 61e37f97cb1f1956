//! Private temporary files: every file the tool writes outside the user's own paths (a request
//! body, a planning kubeconfig) lives in a directory of mode 0700 and is itself 0600. The
//! directory is removed when its `PrivateDir` is dropped (every return and `?` path), and
//! [`remove_all`] removes whatever is still alive when a signal ends the process early.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::PathBuf;
use std::sync::Mutex;

use crate::error::{Error, Result};

/// The directories alive now, for [`remove_all`].
static LIVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// A 0700 temporary directory, removed with everything in it when dropped.
#[derive(Debug)]
pub(crate) struct PrivateDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl PrivateDir {
    /// Creates `$TMPDIR/kubectl-hyperpod-XXXXXX` with mode 0700; `purpose` ends "failed to ...".
    pub(crate) fn new(purpose: &str) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("kubectl-hyperpod-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(|e| Error::io(purpose, e))?;
        let path = dir.path().to_path_buf();
        if let Ok(mut live) = LIVE.lock() {
            live.insert(path.clone());
        }
        Ok(PrivateDir {
            dir: Some(dir),
            path,
        })
    }

    /// Where a file named `name` goes (for tools that write it themselves; [`Self::seal`] it after).
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `bytes` to a new file `name`, created with mode 0600.
    pub(crate) fn write(&self, name: &str, bytes: &[u8], purpose: &str) -> Result<PathBuf> {
        let path = self.file(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(|e| Error::io(purpose, e))?;
        Ok(path)
    }

    /// Makes a file a tool wrote in the directory 0600, whatever the tool's umask gave it.
    pub(crate) fn seal(&self, name: &str) {
        let _ = std::fs::set_permissions(self.file(name), std::fs::Permissions::from_mode(0o600));
    }

    #[cfg(test)]
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Ok(mut live) = LIVE.lock() {
            live.remove(&self.path);
        }
        drop(self.dir.take());
    }
}

/// Removes every private directory still alive (the process is about to end on a signal).
/// Returns what it removed.
pub(crate) fn remove_all() -> Vec<PathBuf> {
    let paths: Vec<PathBuf> = match LIVE.lock() {
        Ok(mut live) => std::mem::take(&mut *live).into_iter().collect(),
        Err(_) => return Vec::new(),
    };
    for p in &paths {
        let _ = std::fs::remove_dir_all(p);
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &std::path::Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_modes_and_removal() {
        let d = PrivateDir::new("create a test directory").unwrap();
        let f = d.write("body", b"secret", "write a test file").unwrap();
        assert_eq!(mode(d.path()), 0o700);
        assert_eq!(mode(&f), 0o600);
        std::fs::write(d.file("kubeconfig"), "x").unwrap();
        d.seal("kubeconfig");
        assert_eq!(mode(&d.file("kubeconfig")), 0o600);
        let p = d.path().to_path_buf();
        drop(d);
        assert!(!p.exists());

        let d = PrivateDir::new("create a test directory").unwrap();
        let p = d.path().to_path_buf();
        assert!(remove_all().contains(&p));
        assert!(!p.exists());
        drop(d); // already gone: dropping is quiet
    }
}
