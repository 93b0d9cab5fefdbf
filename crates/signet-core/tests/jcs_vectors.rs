//! RFC 8785 (JCS) reference vectors: every `testdata/jcs/input/NAME.json` must canonicalize
//! to exactly the bytes of `testdata/jcs/output/NAME.json` (see `testdata/jcs/README.md` for
//! where the files come from).

use std::error::Error;
use std::fs;
use std::path::PathBuf;

use signet_core::canon::{canonicalize, is_canonical, parse_strict, to_canonical_vec};

/// The vector files this test must find, so a missing file cannot pass silently.
const EXPECTED_VECTORS: &[&str] = &[
    "arrays",
    "french",
    "simpleString",
    "structures",
    "unicode",
    "values",
    "weird",
];

fn vector_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("testdata")
        .join("jcs")
}

/// One vector: its name and the bytes of its input and expected output files.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Vector {
    name: String,
    input: Vec<u8>,
    output: Vec<u8>,
}

/// Every vector in the vector directory, sorted by name.
fn vectors() -> Result<Vec<Vector>, Box<dyn Error>> {
    let dir = vector_dir();
    let mut found = Vec::new();
    for entry in fs::read_dir(dir.join("input"))? {
        let path = entry?.path();
        if path.extension().and_then(|ext| ext.to_str()) != Some("json") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .ok_or("vector file name is not utf-8")?
            .to_owned();
        let input = fs::read(&path)?;
        let output = fs::read(dir.join("output").join(format!("{name}.json")))
            .map_err(|err| format!("no output file for vector `{name}`: {err}"))?;
        found.push(Vector {
            name,
            input,
            output,
        });
    }
    found.sort();
    Ok(found)
}

#[test]
fn all_expected_vectors_are_present() -> Result<(), Box<dyn Error>> {
    let names: Vec<String> = vectors()?.into_iter().map(|vector| vector.name).collect();
    for expected in EXPECTED_VECTORS {
        assert!(
            names.iter().any(|name| name == expected),
            "vector `{expected}` is missing from {names:?}"
        );
    }
    Ok(())
}

#[test]
fn inputs_canonicalize_to_outputs_byte_for_byte() -> Result<(), Box<dyn Error>> {
    for Vector {
        name,
        input,
        output: expected,
    } in vectors()?
    {
        let actual = canonicalize(&input).map_err(|err| format!("vector `{name}`: {err}"))?;
        assert_eq!(
            actual,
            expected,
            "vector `{name}`: got {:?}, expected {:?}",
            String::from_utf8_lossy(&actual),
            String::from_utf8_lossy(&expected)
        );
    }
    Ok(())
}

#[test]
fn outputs_are_fixed_points() -> Result<(), Box<dyn Error>> {
    for Vector {
        name,
        output: expected,
        ..
    } in vectors()?
    {
        let again = canonicalize(&expected).map_err(|err| format!("vector `{name}`: {err}"))?;
        assert_eq!(again, expected, "vector `{name}` output is not canonical");
        let value = parse_strict(&expected)?;
        assert_eq!(to_canonical_vec(&value)?, expected, "vector `{name}`");
    }
    Ok(())
}

#[test]
fn one_pass_check_agrees_with_the_vectors() -> Result<(), Box<dyn Error>> {
    for Vector {
        name,
        input,
        output: expected,
    } in vectors()?
    {
        assert!(is_canonical(&expected), "vector `{name}` output");
        assert_eq!(
            is_canonical(&input),
            input == expected,
            "vector `{name}` input"
        );
        // Every output with one byte removed is no longer its own canonical form.
        for cut in 0..expected.len() {
            let mut shorter = expected.clone();
            shorter.remove(cut);
            let slow = parse_strict(&shorter)
                .and_then(|value| to_canonical_vec(&value))
                .is_ok_and(|canonical| canonical == shorter);
            assert_eq!(
                is_canonical(&shorter),
                slow,
                "vector `{name}` without byte {cut}"
            );
        }
    }
    Ok(())
}
