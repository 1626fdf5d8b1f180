//! Data files: CSV with a header row, or JSON lines (one object per line), read once into a
//! table shared read-only by every user.
//!
//! The crate reads no file itself: the caller hands in a [`DataFiles`] that does, within its own
//! rules (relative to the scenario file for the CLI; inside the scenarios folder, never outside,
//! for the control server and its workers).

use std::fmt;

/// The largest data file read, in bytes.
pub const MAX_DATA_BYTES: u64 = 50 * 1024 * 1024;

/// Reads data files named by scenarios.
pub trait DataFiles: Sync {
    /// The bytes of `file` (as written in the scenario), or why it cannot be read. An
    /// implementation refuses a file larger than [`MAX_DATA_BYTES`] before reading it, with
    /// [`too_large`].
    fn read(&self, file: &str) -> Result<Vec<u8>, String>;
}

/// No data files: the message says where they can be used.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoDataFiles;

impl DataFiles for NoDataFiles {
    fn read(&self, file: &str) -> Result<Vec<u8>, String> {
        Err(format!(
            "data file `{file}` cannot be read here: no folder to read it from was given"
        ))
    }
}

/// The message for a file over the limit.
pub fn too_large(file: &str, size: u64) -> String {
    format!(
        "data file `{file}` is {} ({size} bytes); the limit is {} ({MAX_DATA_BYTES} bytes): use a smaller sample of rows",
        mib(size),
        mib(MAX_DATA_BYTES)
    )
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A data file's rows.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct DataTable {
    pub columns: Vec<String>,
    /// Each row has one value per column.
    pub rows: Vec<Box<[String]>>,
}

impl fmt::Debug for DataTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Rows may hold passwords: show the shape only.
        f.debug_struct("DataTable")
            .field("columns", &self.columns)
            .field("rows", &self.rows.len())
            .finish()
    }
}

impl DataTable {
    /// Reads `bytes` of `file`: JSON lines when the name ends in `.jsonl` or `.ndjson`, CSV
    /// otherwise. Errors name the file and the line.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<DataTable, String> {
        if bytes.len() as u64 > MAX_DATA_BYTES {
            return Err(too_large(file, bytes.len() as u64));
        }
        let lower = file.to_ascii_lowercase();
        let table = if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            json_lines(file, bytes)?
        } else {
            csv_table(file, bytes)?
        };
        if table.rows.is_empty() {
            return Err(format!("data file `{file}` has no rows"));
        }
        Ok(table)
    }

    /// The index of `column`.
    pub fn column(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }
}

fn csv_table(file: &str, bytes: &[u8]) -> Result<DataTable, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| format!("data file `{file}`: {e}"))?;
    let columns: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
    check_columns(file, &columns)?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("data file `{file}`: {e}"))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok(DataTable { columns, rows })
}

fn json_lines(file: &str, bytes: &[u8]) -> Result<DataTable, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| format!("data file `{file}` is not UTF-8: {e}"))?;
    let mut columns: Vec<String> = Vec::new();
    let mut objects = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("data file `{file}` line {}: {e}", i + 1))?;
        let serde_json::Value::Object(object) = value else {
            return Err(format!(
                "data file `{file}` line {}: expected a JSON object per line",
                i + 1
            ));
        };
        if columns.is_empty() {
            columns = object.keys().cloned().collect();
            check_columns(file, &columns)?;
        }
        objects.push((i + 1, object));
    }
    let mut rows = Vec::with_capacity(objects.len());
    for (line, object) in objects {
        let mut row = Vec::with_capacity(columns.len());
        for column in &columns {
            let value = match object.get(column) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => {
                    return Err(format!(
                        "data file `{file}` line {line}: no value for `{column}` (the first line's keys are the columns)"
                    ));
                }
                Some(other) => other.to_string(),
            };
            row.push(value);
        }
        rows.push(row.into_boxed_slice());
    }
    Ok(DataTable { columns, rows })
}

fn check_columns(file: &str, columns: &[String]) -> Result<(), String> {
    if columns.is_empty() || columns.iter().all(String::is_empty) {
        return Err(format!(
            "data file `{file}` has no header row naming its columns"
        ));
    }
    for (i, c) in columns.iter().enumerate() {
        if c.is_empty() {
            return Err(format!("data file `{file}`: column {} has no name", i + 1));
        }
        if columns[..i].contains(c) {
            return Err(format!("data file `{file}`: column `{c}` appears twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_and_json_lines() {
        let t = DataTable::parse("u.csv", b"email,password\na@x,1\n\"b,c@x\",2\n").unwrap();
        assert_eq!(t.columns, ["email", "password"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(&*t.rows[1], ["b,c@x", "2"]);
        let j = DataTable::parse(
            "u.jsonl",
            b"{\"id\":1,\"name\":\"a\"}\n\n{\"id\":2,\"name\":\"b\"}\n",
        )
        .unwrap();
        assert_eq!(j.columns, ["id", "name"]);
        assert_eq!(&*j.rows[1], ["2", "b"]);
    }

    #[test]
    fn problems_name_the_file() {
        assert!(
            DataTable::parse("u.csv", b"a,b\n1\n")
                .unwrap_err()
                .contains("u.csv")
        );
        assert!(
            DataTable::parse("u.csv", b"a,b\n")
                .unwrap_err()
                .contains("no rows")
        );
        assert!(
            DataTable::parse("u.csv", b"a,a\n1,2\n")
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            DataTable::parse("u.jsonl", b"{\"a\":1}\n{\"b\":2}\n")
                .unwrap_err()
                .contains("line 2")
        );
        assert!(too_large("big.csv", 100 * 1024 * 1024).contains("100.0 MiB"));
    }
}
