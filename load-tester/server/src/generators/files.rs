//! The files a session's generators read (its data file, its `tls.ca_file`): read once when the
//! session starts, through the same confined reader the scenario was read with (inside the
//! scenarios folder, never outside it), and sent in every welcome, so a generator needs no copy
//! of the scenarios folder (a Kubernetes pod needs no volume).

use std::collections::BTreeMap;

use lt_protocol::FileContent;
use lt_scenario::{DataFiles, Scenario};

/// The files of a welcome, by the name the scenario gives each.
pub type WelcomeFiles = BTreeMap<String, FileContent>;

/// The most a welcome carries in files, in bytes, all files together (each data file is also
/// held to the scenario's own 50 MiB).
pub const MAX_WELCOME_FILES_BYTES: u64 = 64 * 1024 * 1024;

/// Why the files cannot go to the generators.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// Together over [`MAX_WELCOME_FILES_BYTES`]; the message names each file and its size.
    #[error("{message}")]
    TooLarge { message: String, total: u64 },
    /// A file that cannot be read (any more).
    #[error("{0}")]
    Unreadable(String),
}

/// Reads every file `scenario` read, through `files`.
pub fn welcome_files(
    scenario: &Scenario,
    files: &dyn DataFiles,
) -> Result<WelcomeFiles, FilesError> {
    let mut read: Vec<(String, Vec<u8>)> = Vec::new();
    for name in scenario.files() {
        let bytes = files.read(name).map_err(FilesError::Unreadable)?;
        read.push((name.to_string(), bytes));
    }
    let total: u64 = read.iter().map(|(_, b)| b.len() as u64).sum();
    if total > MAX_WELCOME_FILES_BYTES {
        let each: Vec<String> = read
            .iter()
            .map(|(name, bytes)| format!("`{name}` {}", size(bytes.len() as u64)))
            .collect();
        return Err(FilesError::TooLarge {
            message: format!(
                "the files sent to the generators total {}, over the limit of {}: {}; use a \
                 smaller sample of rows",
                size(total),
                size(MAX_WELCOME_FILES_BYTES),
                each.join(", ")
            ),
            total,
        });
    }
    Ok(read
        .into_iter()
        .map(|(name, bytes)| (name, FileContent::of(bytes)))
        .collect())
}

fn size(bytes: u64) -> String {
    format!(
        "{:.1} MiB ({bytes} bytes)",
        bytes as f64 / (1024.0 * 1024.0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files(BTreeMap<&'static str, Vec<u8>>);

    impl DataFiles for Files {
        fn read(&self, file: &str) -> Result<Vec<u8>, String> {
            self.0
                .get(file)
                .cloned()
                .ok_or_else(|| format!("data file `{file}` cannot be read: gone"))
        }
    }

    fn scenario(files: &Files) -> Scenario {
        let yaml = "name: t\ntarget: http://localhost:1\nendpoints:\n  - { name: one, path: \"/x/{{ row.name }}\" }\n\
                    data: { file: data/rows.csv }\n";
        let inputs = lt_scenario::Inputs {
            env: &lt_scenario::Env::default(),
            files,
        };
        lt_scenario::parse_with("t.yaml", yaml, &Default::default(), &inputs).unwrap()
    }

    #[test]
    fn the_scenario_files_are_read_once_and_capped_together() {
        let mut files = Files(BTreeMap::from([("data/rows.csv", b"name\nr1\n".to_vec())]));
        let scenario = scenario(&files);
        let read = welcome_files(&scenario, &files).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read["data/rows.csv"].bytes().unwrap(), b"name\nr1\n");

        // Over the cap (the scenario was read before the file grew): named with its size.
        let mut big = b"name\n".to_vec();
        big.resize(MAX_WELCOME_FILES_BYTES as usize + 1, b'r');
        files.0.insert("data/rows.csv", big);
        let e = welcome_files(&scenario, &files).unwrap_err();
        assert!(
            matches!(e, FilesError::TooLarge { total, .. } if total == MAX_WELCOME_FILES_BYTES + 1)
        );
        let message = e.to_string();
        assert!(
            message.contains("`data/rows.csv` 64.0 MiB (67108865 bytes)"),
            "{message}"
        );
        assert!(message.contains("over the limit of 64.0 MiB"), "{message}");

        files.0.clear();
        assert!(matches!(
            welcome_files(&scenario, &files).unwrap_err(),
            FilesError::Unreadable(m) if m.contains("data/rows.csv")
        ));
    }
}
