//! The `tls` section: the CA file read through the caller's files and checked, every problem
//! positioned.

use std::collections::BTreeMap;

use lt_scenario::data::DataFiles;
use lt_scenario::{Env, Inputs, Overrides, Scenario, parse_with};

const CA: &[u8] = include_bytes!("../../../tests/e2e/tls/ca.pem");

struct Files(BTreeMap<&'static str, &'static [u8]>);

impl DataFiles for Files {
    fn read(&self, file: &str) -> Result<Vec<u8>, String> {
        self.0
            .get(file)
            .map(|b| b.to_vec())
            .ok_or_else(|| format!("data file `{file}` cannot be read: not found"))
    }
}

fn read(tls: &str) -> Result<Scenario, Vec<String>> {
    let yaml = format!(
        "name: t\ntarget: https://localhost:8443\nendpoints:\n  - {{ name: one, path: /x }}\n{tls}\n"
    );
    let files = Files(BTreeMap::from([
        ("ca.pem", CA),
        ("notes.txt", b"not a certificate".as_slice()),
        (
            "broken.pem",
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".as_slice(),
        ),
    ]));
    parse_with(
        "t.yaml",
        &yaml,
        &Overrides::default(),
        &Inputs {
            env: &Env::default(),
            files: &files,
        },
    )
    .map_err(|d| d.iter().map(ToString::to_string).collect())
}

#[test]
fn a_ca_file_is_read_and_kept_as_certificates() {
    let scenario = read("tls:\n  ca_file: ca.pem").unwrap();
    assert_eq!(scenario.tls.ca_file.as_deref(), Some("ca.pem"));
    assert_eq!(scenario.tls.ca_certs.len(), 1);
    assert!(!scenario.tls.insecure_skip_verify);
    // The certificates never go out with the configuration; the file name does.
    let json = serde_json::to_value(&scenario).unwrap();
    assert_eq!(json["tls"], serde_json::json!({ "ca_file": "ca.pem" }));

    let insecure = read("tls: { insecure_skip_verify: true }").unwrap();
    assert!(insecure.tls.insecure_skip_verify);
    let none = read("").unwrap();
    assert!(none.tls.is_default());
    assert!(serde_json::to_value(&none).unwrap().get("tls").is_none());
}

#[test]
fn bad_tls_settings_are_positioned_and_named() {
    let cases: [(&str, &str); 6] = [
        (
            "tls:\n  ca_file: missing.pem",
            "t.yaml:6:12: tls.ca_file: data file `missing.pem` cannot be read: not found",
        ),
        (
            "tls:\n  ca_file: notes.txt",
            "t.yaml:6:12: tls.ca_file: CA file `notes.txt` holds no certificate",
        ),
        (
            "tls:\n  ca_file: broken.pem",
            "t.yaml:6:12: tls.ca_file: CA file `broken.pem` is not valid PEM",
        ),
        (
            "tls:\n  insecure_skip_verify: sometimes",
            "t.yaml:6:25: tls.insecure_skip_verify",
        ),
        ("tls:\n  ca: ca.pem", "t.yaml:6:3: tls.ca"),
        ("tls: yes", "t.yaml:5:6: tls"),
    ];
    for (tls, expected) in cases {
        let problems = read(tls).unwrap_err();
        assert!(
            problems.len() == 1 && problems[0].starts_with(expected),
            "{tls:?}: {problems:?}"
        );
    }
}

/// Records every file a parse reads.
struct Recording<'a>(&'a Files, std::sync::Mutex<Vec<String>>);

impl DataFiles for Recording<'_> {
    fn read(&self, file: &str) -> Result<Vec<u8>, String> {
        self.1.lock().unwrap().push(file.to_string());
        self.0.read(file)
    }
}

#[test]
fn the_scenario_lists_every_file_it_read() {
    let files = Files(BTreeMap::from([
        ("ca.pem", CA),
        ("rows.csv", b"name\nr1\nr2\n".as_slice()),
    ]));
    let recording = Recording(&files, std::sync::Mutex::default());
    let yaml = "name: t\ntarget: https://localhost:8443\nendpoints:\n  - { name: one, path: \"/x/{{ row.name }}\" }\n\
                data: { file: rows.csv }\ntls: { ca_file: ca.pem }\n";
    let scenario = parse_with(
        "t.yaml",
        yaml,
        &Overrides::default(),
        &Inputs {
            env: &Env::default(),
            files: &recording,
        },
    )
    .unwrap();
    let mut read = recording.1.lock().unwrap().clone();
    read.sort();
    let mut listed = scenario.files();
    listed.sort();
    assert_eq!(listed, read);
    assert_eq!(listed, ["ca.pem", "rows.csv"]);
}
