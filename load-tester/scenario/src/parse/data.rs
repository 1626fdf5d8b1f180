//! The `data` section: `{ file, mode, on_end }`, the file read through the caller's
//! [`DataFiles`] and its columns kept for checking `{{ row.column }}`. (Every file read here is
//! listed by [`crate::Scenario::files`].)

use std::sync::Arc;

use super::reader::{Map, Reader, shorten};
use super::suggest;
use crate::data::{DataFiles, DataTable};
use crate::{DataMode, DataSpec, OnEnd};

/// What was read: the spec (`Some(None)` without `data`), and whether the file itself could not
/// be read (its columns are then unknown).
#[derive(Debug)]
pub(crate) struct Data {
    pub spec: Option<Option<DataSpec>>,
    pub broken: bool,
}

impl Data {
    /// The columns templates may name.
    pub fn columns(&self) -> Option<&[String]> {
        self.spec.as_ref()?.as_ref().map(|s| s.columns.as_slice())
    }
}

const MODES: [(&str, DataMode); 3] = [
    ("per_user", DataMode::PerUser),
    ("shared", DataMode::Shared),
    ("random", DataMode::Random),
];
const ON_END: [(&str, OnEnd); 2] = [("cycle", OnEnd::Cycle), ("stop_user", OnEnd::StopUser)];

/// Reads `data` of the top-level mapping.
pub(crate) fn read(r: &mut Reader, top: &Map<'_>, files: &dyn DataFiles) -> Data {
    let Some(item) = top.value("data") else {
        return Data {
            spec: Some(None),
            broken: false,
        };
    };
    let broken = Data {
        spec: None,
        broken: true,
    };
    let Some(map) = r.map(&item, &["file", "mode", "on_end"]) else {
        return broken;
    };
    let mode = match map.value("mode") {
        Some(i) => r.text(&i).and_then(|t| choice(r, &i, &t, &MODES)),
        None => Some(DataMode::PerUser),
    };
    let on_end = match map.value("on_end") {
        Some(i) => r.text(&i).and_then(|t| choice(r, &i, &t, &ON_END)),
        None => Some(OnEnd::Cycle),
    };
    let Some(file_item) = map.value("file") else {
        r.error(map.pos, &map.path, "missing required field `file`");
        return broken;
    };
    let Some(file) = r.nonempty_text(&file_item) else {
        return broken;
    };
    let table = files
        .read(&file)
        .and_then(|bytes| DataTable::parse(&file, &bytes));
    let table = match table {
        Ok(t) => t,
        Err(message) => {
            r.error_at(&file_item, message);
            return broken;
        }
    };
    let spec = mode.zip(on_end).map(|(mode, on_end)| DataSpec {
        file,
        mode,
        on_end,
        columns: table.columns.clone(),
        rows: table.rows.len() as u64,
        table: Arc::new(table),
    });
    Data {
        broken: spec.is_none(),
        spec: spec.map(Some),
    }
}

fn choice<T: Copy>(
    r: &mut Reader,
    item: &super::reader::Item<'_>,
    text: &str,
    options: &[(&str, T)],
) -> Option<T> {
    let found = options.iter().find(|(name, _)| *name == text.trim());
    if found.is_none() {
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        r.error_at(
            item,
            format!(
                "`{}` is not one of {}{}",
                shorten(text),
                names.join(", "),
                suggest::did_you_mean(text, names.iter().copied())
            ),
        );
    }
    found.map(|(_, v)| *v)
}
