//! Where the data files are read from: scenarios, expectations, targets, SDK tolerance and
//! equivalent mutants (the model, the secret list, quotas and the seed actions are compiled in
//! where they are used).
//!
//! In order:
//! 1. `--fixtures DIR` (see [`set_dir`]) or `COGCHECK_FIXTURES=DIR`: a checkout's `fixtures/`
//!    or a copy of it, so an emulator's project can keep its own expectations;
//! 2. the `fixtures/` of the checkout this binary was built from, when it is still there, so
//!    editing a scenario or an expectations file needs no rebuild;
//! 3. otherwise the copy compiled into the binary (`cargo install --path suite`), written once
//!    into the cache under a name that carries its content's digest, and read from there.
//!
//! `--fixtures builtin` asks for 3. even inside a checkout.
//!
//! What a run writes (results, reports) goes under the checkout the binary was built from, or,
//! away from it, under the current directory ([`output_path`]).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use include_dir::{include_dir, Dir};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Every fixture file, compiled in for a binary installed away from its checkout.
static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../fixtures");

/// The directory chosen by `--fixtures`, once per process.
static CHOSEN: OnceLock<PathBuf> = OnceLock::new();

/// The word `--fixtures` takes for the compiled-in copy.
pub const BUILTIN: &str = "builtin";

/// Chooses the fixtures for this process (`--fixtures`): a directory, or [`BUILTIN`]. A
/// directory must hold `scenarios/`; the error names what is missing.
pub fn set_dir(choice: &str) -> Result<PathBuf> {
    let dir = if choice == BUILTIN {
        extracted()?
    } else {
        let dir = PathBuf::from(choice);
        if !dir.join("scenarios").is_dir() {
            return Err(Error::Config {
                path: dir,
                message: "--fixtures: not a fixtures folder (it has no scenarios/ folder); give \
                          a checkout's fixtures/ or `builtin`"
                    .into(),
            });
        }
        dir
    };
    Ok(CHOSEN.get_or_init(|| dir).clone())
}

/// The fixtures folder this process reads (see the module docs for the order).
pub fn dir() -> PathBuf {
    if let Some(d) = CHOSEN.get() {
        return d.clone();
    }
    if let Some(d) = std::env::var_os("COGCHECK_FIXTURES").filter(|v| !v.is_empty()) {
        if d == BUILTIN {
            if let Ok(d) = set_dir(BUILTIN) {
                return d;
            }
        }
        return PathBuf::from(d);
    }
    let checkout = built_from().join("fixtures");
    if checkout.join("scenarios").is_dir() {
        return checkout;
    }
    // Away from the checkout: the compiled-in copy. Extraction failing (no writable cache)
    // is reported by whoever reads the folder, naming the path.
    set_dir(BUILTIN).unwrap_or_else(|_| std::env::temp_dir().join("cogcheck-fixtures-unavailable"))
}

/// A file or folder inside the fixtures folder.
pub fn path(relative: &str) -> PathBuf {
    dir().join(relative)
}

/// Where a run writes `relative` (`reports/results`, `target/cogcheck`): under the checkout
/// the binary was built from, or under the current directory when that is gone.
pub fn output_path(relative: &str) -> PathBuf {
    let checkout = built_from();
    if checkout.join("fixtures").is_dir() {
        checkout.join(relative)
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("."))
            .join(relative)
    }
}

/// The folder that held `suite/` when this binary was built.
fn built_from() -> PathBuf {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR"));
    suite.parent().unwrap_or(suite).to_path_buf()
}

/// The compiled-in fixtures, written once under the cache (`fixtures-<digest>`), so every
/// reader keeps reading plain files. The digest covers every path and byte, so binaries
/// built from different fixtures never share a folder, and a folder is complete before it
/// gets its name (written to a temporary name, then renamed).
fn extracted() -> Result<PathBuf> {
    let mut files = Vec::new();
    collect(&EMBEDDED, &mut files);
    files.sort_by(|a, b| a.0.cmp(b.0));
    let mut hash = Sha256::new();
    for (p, bytes) in &files {
        hash.update(p.to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update(bytes);
    }
    let digest: String = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let root = crate::cache::root()?;
    let target = root.join(format!("fixtures-{digest}"));
    if target.join("scenarios").is_dir() {
        return Ok(target);
    }
    let io = |path: &Path, source: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(&root).map_err(|e| io(&root, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".fixtures-")
        .tempdir_in(&root)
        .map_err(|e| io(&root, e))?;
    for (p, bytes) in &files {
        let to = staging.path().join(p);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&to, bytes).map_err(|e| io(&to, e))?;
    }
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, &target) {
        // Another process won the race: its folder is complete, ours goes.
        let _ = std::fs::remove_dir_all(&staged);
        if !target.join("scenarios").is_dir() {
            return Err(io(&target, e));
        }
    }
    Ok(target)
}

fn collect<'a>(dir: &'a Dir<'a>, out: &mut Vec<(&'a Path, &'a [u8])>) {
    for f in dir.files() {
        out.push((f.path(), f.contents()));
    }
    for d in dir.dirs() {
        collect(d, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_copy_holds_every_scenario_of_the_checkout() {
        let mut files = Vec::new();
        collect(&EMBEDDED, &mut files);
        let embedded: std::collections::BTreeSet<String> = files
            .iter()
            .map(|(p, _)| p.to_string_lossy().into_owned())
            .filter(|p| p.starts_with("scenarios/") && p.ends_with(".json"))
            .collect();
        let on_disk = crate::scenario::load_dir(&built_from().join("fixtures/scenarios"))
            .expect("the checkout's scenarios load");
        assert_eq!(embedded.len(), on_disk.len());
        assert!(embedded.contains("scenarios/auth/secret-hash-signs-in.json"));
    }
}
