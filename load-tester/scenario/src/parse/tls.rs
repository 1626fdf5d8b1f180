//! The `tls` section: `{ ca_file, insecure_skip_verify }`, the CA file read through the caller's
//! [`DataFiles`] and its certificates checked here. (Every file read here is listed by
//! [`crate::Scenario::files`].)

use std::sync::Arc;

use super::reader::{Map, Reader};
use crate::TlsOptions;
use crate::data::DataFiles;
use crate::tls_options::ca_certificates;

/// Reads `tls` of the top-level mapping.
pub(crate) fn read(r: &mut Reader, top: &Map<'_>, files: &dyn DataFiles) -> Option<TlsOptions> {
    let Some(item) = top.value("tls") else {
        return Some(TlsOptions::default());
    };
    let map = r.map(&item, &["ca_file", "insecure_skip_verify"])?;
    let insecure = match map.value("insecure_skip_verify") {
        Some(i) => r.bool(&i),
        None => Some(false),
    };
    let ca = match map.value("ca_file") {
        None => Some(None),
        Some(i) => r.nonempty_text(&i).and_then(|file| {
            match files
                .read(&file)
                .and_then(|bytes| ca_certificates(&file, &bytes))
            {
                Ok(certs) => Some(Some((file, certs))),
                Err(message) => {
                    r.error_at(&i, message);
                    None
                }
            }
        }),
    };
    let (insecure, ca) = (insecure?, ca?);
    let (ca_file, ca_certs) = match ca {
        Some((file, certs)) => (Some(file), certs),
        None => (None, Vec::new()),
    };
    Some(TlsOptions {
        ca_file,
        ca_certs: Arc::new(ca_certs),
        insecure_skip_verify: insecure,
    })
}
