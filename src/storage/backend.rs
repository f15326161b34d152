//! All file IO of the storage layer goes through [`Backend`].
//!
//! [`FsBackend`] is the real data directory. [`FaultyBackend`] wraps any
//! backend and fails every operation after a budget of operations runs out, so
//! tests can check that an IO failure at any point leaves the database
//! recoverable and never acknowledges a write it did not make durable.

use super::error::{Result, StorageError};
use super::mmap::MappedFile;
use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Immutable bytes of a finished file: a memory map or an owned buffer.
pub type FileBytes = Arc<dyn Deref<Target = [u8]> + Send + Sync>;

/// A file open for appending, as the WAL and file writers use it.
pub trait WritableFile: Send + Debug {
    /// Appends all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> Result<()>;
    /// Makes everything written so far durable (fdatasync).
    fn sync(&mut self) -> Result<()>;
    /// Truncates the file to `len` bytes (used to cut a torn WAL tail).
    fn set_len(&mut self, len: u64) -> Result<()>;
}

/// The file operations the storage layer needs from a directory.
///
/// Names are plain file names inside the data directory (no separators).
pub trait Backend: Send + Sync + Debug {
    /// Creates (or truncates) `name` for writing.
    fn create(&self, name: &str) -> Result<Box<dyn WritableFile>>;
    /// Opens an existing `name` for appending.
    fn open_append(&self, name: &str) -> Result<Box<dyn WritableFile>>;
    /// Reads the whole of `name` into memory.
    fn read(&self, name: &str) -> Result<Vec<u8>>;
    /// Maps the finished, immutable file `name` (see [`super::mmap`]).
    fn map(&self, name: &str) -> Result<FileBytes>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &str, to: &str) -> Result<()>;
    /// Deletes `name`; deleting a missing file is not an error.
    fn remove(&self, name: &str) -> Result<()>;
    /// Whether `name` exists.
    fn exists(&self, name: &str) -> Result<bool>;
    /// All file names in the directory.
    fn list(&self) -> Result<Vec<String>>;
    /// Makes creations, renames and deletions durable (fsync of the directory).
    fn sync_dir(&self) -> Result<()>;
    /// A path for messages (the data directory).
    fn root(&self) -> &Path;
}

/// The real data directory on a local file system.
#[derive(Debug)]
pub struct FsBackend {
    root: PathBuf,
}

impl FsBackend {
    /// A backend over `root`, creating the directory if it does not exist.
    pub fn new(root: impl Into<PathBuf>) -> Result<FsBackend> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| StorageError::io(&root, e))?;
        Ok(FsBackend { root })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

#[derive(Debug)]
struct FsFile {
    file: File,
    path: PathBuf,
}

impl WritableFile for FsFile {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        self.file
            .write_all(buf)
            .map_err(|e| StorageError::io(&self.path, e))
    }

    fn sync(&mut self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| StorageError::io(&self.path, e))
    }

    fn set_len(&mut self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .map_err(|e| StorageError::io(&self.path, e))
    }
}

impl Backend for FsBackend {
    fn create(&self, name: &str) -> Result<Box<dyn WritableFile>> {
        let path = self.path(name);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| StorageError::io(&path, e))?;
        Ok(Box::new(FsFile { file, path }))
    }

    fn open_append(&self, name: &str) -> Result<Box<dyn WritableFile>> {
        let path = self.path(name);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| StorageError::io(&path, e))?;
        Ok(Box::new(FsFile { file, path }))
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.path(name);
        let mut buf = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(|e| StorageError::io(&path, e))?;
        Ok(buf)
    }

    fn map(&self, name: &str) -> Result<FileBytes> {
        let path = self.path(name);
        let file = File::open(&path).map_err(|e| StorageError::io(&path, e))?;
        let map = MappedFile::map(&file).map_err(|e| StorageError::io(&path, e))?;
        Ok(Arc::new(map))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let from_path = self.path(from);
        fs::rename(&from_path, self.path(to)).map_err(|e| StorageError::io(&from_path, e))
    }

    fn remove(&self, name: &str) -> Result<()> {
        let path = self.path(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::io(&path, e)),
        }
    }

    fn exists(&self, name: &str) -> Result<bool> {
        let path = self.path(name);
        path.try_exists().map_err(|e| StorageError::io(&path, e))
    }

    fn list(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let entries = fs::read_dir(&self.root).map_err(|e| StorageError::io(&self.root, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StorageError::io(&self.root, e))?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn sync_dir(&self) -> Result<()> {
        File::open(&self.root)
            .and_then(|d| d.sync_all())
            .map_err(|e| StorageError::io(&self.root, e))
    }

    fn root(&self) -> &Path {
        &self.root
    }
}

/// Wraps a backend and fails every operation once `budget` operations have run.
///
/// Each create, open, read, map, rename, remove, list, directory sync, write,
/// file sync and truncate spends one unit. A negative budget means no failure.
#[derive(Debug)]
pub struct FaultyBackend {
    inner: Arc<dyn Backend>,
    budget: Arc<AtomicI64>,
}

impl FaultyBackend {
    /// Wraps `inner`; operations fail after `budget` of them (never if `None`).
    pub fn new(inner: Arc<dyn Backend>, budget: Option<u64>) -> FaultyBackend {
        let budget = budget.map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX));
        FaultyBackend {
            inner,
            budget: Arc::new(AtomicI64::new(budget)),
        }
    }

    /// Sets a new budget (`None`: never fail again).
    pub fn set_budget(&self, budget: Option<u64>) {
        let budget = budget.map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX));
        self.budget.store(budget, Ordering::SeqCst);
    }

    fn spend(budget: &AtomicI64, what: &str) -> Result<()> {
        let result = budget.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| {
            if b < 0 {
                Some(b)
            } else if b == 0 {
                None
            } else {
                Some(b - 1)
            }
        });
        match result {
            Ok(_) => Ok(()),
            Err(_) => Err(StorageError::io(
                what,
                std::io::Error::other("injected fault"),
            )),
        }
    }
}

#[derive(Debug)]
struct FaultyFile {
    inner: Box<dyn WritableFile>,
    budget: Arc<AtomicI64>,
}

impl WritableFile for FaultyFile {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        FaultyBackend::spend(&self.budget, "write")?;
        self.inner.write_all(buf)
    }

    fn sync(&mut self) -> Result<()> {
        FaultyBackend::spend(&self.budget, "sync")?;
        self.inner.sync()
    }

    fn set_len(&mut self, len: u64) -> Result<()> {
        FaultyBackend::spend(&self.budget, "set_len")?;
        self.inner.set_len(len)
    }
}

impl Backend for FaultyBackend {
    fn create(&self, name: &str) -> Result<Box<dyn WritableFile>> {
        Self::spend(&self.budget, name)?;
        let inner = self.inner.create(name)?;
        Ok(Box::new(FaultyFile {
            inner,
            budget: self.budget.clone(),
        }))
    }

    fn open_append(&self, name: &str) -> Result<Box<dyn WritableFile>> {
        Self::spend(&self.budget, name)?;
        let inner = self.inner.open_append(name)?;
        Ok(Box::new(FaultyFile {
            inner,
            budget: self.budget.clone(),
        }))
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        Self::spend(&self.budget, name)?;
        self.inner.read(name)
    }

    fn map(&self, name: &str) -> Result<FileBytes> {
        Self::spend(&self.budget, name)?;
        self.inner.map(name)
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        Self::spend(&self.budget, from)?;
        self.inner.rename(from, to)
    }

    fn remove(&self, name: &str) -> Result<()> {
        Self::spend(&self.budget, name)?;
        self.inner.remove(name)
    }

    fn exists(&self, name: &str) -> Result<bool> {
        self.inner.exists(name)
    }

    fn list(&self) -> Result<Vec<String>> {
        Self::spend(&self.budget, "list")?;
        self.inner.list()
    }

    fn sync_dir(&self) -> Result<()> {
        Self::spend(&self.budget, "sync_dir")?;
        self.inner.sync_dir()
    }

    fn root(&self) -> &Path {
        self.inner.root()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fs_backend_writes_renames_and_lists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = FsBackend::new(dir.path()).expect("backend");
        let mut f = b.create("a.tmp").expect("create");
        f.write_all(b"abc").expect("write");
        f.sync().expect("sync");
        b.rename("a.tmp", "a").expect("rename");
        b.sync_dir().expect("sync dir");
        assert_eq!(b.list().expect("list"), vec!["a".to_owned()]);
        assert_eq!(&b.map("a").expect("map")[..], b"abc");
        b.remove("a").expect("remove");
        b.remove("a").expect("removing a missing file is fine");
    }

    #[test]
    fn faulty_backend_fails_after_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inner: Arc<dyn Backend> = Arc::new(FsBackend::new(dir.path()).expect("backend"));
        let b = FaultyBackend::new(inner, Some(2));
        let mut f = b.create("x").expect("first op");
        f.write_all(b"1").expect("second op");
        assert!(f.sync().is_err(), "third op fails");
        b.set_budget(None);
        f.sync().expect("unlimited again");
    }
}
