//! The one reader of data files from disk (feature `fs`): the CLI reads them beside the scenario
//! file; the control server and its workers read them inside the scenarios folder and never
//! outside it.

use std::path::{Component, Path, PathBuf};

use crate::data::{DataFiles, MAX_DATA_BYTES, too_large};

/// Data files under one folder.
#[derive(Debug, Clone)]
pub struct DataFolder {
    root: PathBuf,
    confined: bool,
}

impl DataFolder {
    /// Files relative to `root` (the scenario file's folder); absolute paths are taken as they
    /// are.
    pub fn beside(root: impl Into<PathBuf>) -> DataFolder {
        DataFolder {
            root: root.into(),
            confined: false,
        }
    }

    /// Files inside `root` only: an absolute path, `..`, or a link leading out is refused.
    pub fn inside(root: impl Into<PathBuf>) -> DataFolder {
        DataFolder {
            root: root.into(),
            confined: true,
        }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn resolve(&self, file: &str) -> Result<PathBuf, String> {
        let relative = Path::new(file);
        if !self.confined {
            return Ok(self.root.join(relative));
        }
        let escapes = relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
        if escapes {
            return Err(format!(
                "data file `{file}` must be a path inside the scenarios folder (no absolute path, no `..`)"
            ));
        }
        let root = self
            .root
            .canonicalize()
            .map_err(|e| format!("the scenarios folder cannot be read: {e}"))?;
        let path = root
            .join(relative)
            .canonicalize()
            .map_err(|e| format!("data file `{file}` cannot be read: {e}"))?;
        if !path.starts_with(&root) {
            return Err(format!(
                "data file `{file}` leads outside the scenarios folder (through a link)"
            ));
        }
        Ok(path)
    }
}

impl DataFiles for DataFolder {
    fn read(&self, file: &str) -> Result<Vec<u8>, String> {
        let path = self.resolve(file)?;
        let meta = std::fs::metadata(&path)
            .map_err(|e| format!("data file `{file}` cannot be read: {e}"))?;
        if !meta.is_file() {
            return Err(format!("data file `{file}` is not a file"));
        }
        if meta.len() > MAX_DATA_BYTES {
            return Err(too_large(file, meta.len()));
        }
        std::fs::read(&path).map_err(|e| format!("data file `{file}` cannot be read: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confined_folder_refuses_paths_that_leave_it() {
        let dir = std::env::temp_dir().join(format!("lt-data-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("data/u.csv"), "a\n1\n").unwrap();
        let inside = DataFolder::inside(&dir);
        assert_eq!(inside.read("data/u.csv").unwrap(), b"a\n1\n");
        assert!(
            inside
                .read("../x.csv")
                .unwrap_err()
                .contains("inside the scenarios folder")
        );
        assert!(
            inside
                .read("/etc/passwd")
                .unwrap_err()
                .contains("inside the scenarios folder")
        );
        assert!(
            inside
                .read("nope.csv")
                .unwrap_err()
                .contains("cannot be read")
        );
        assert_eq!(
            DataFolder::beside(dir.join("data")).read("u.csv").unwrap(),
            b"a\n1\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
