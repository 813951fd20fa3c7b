//! The one folder cogcheck keeps what it downloads and extracts in: installed targets
//! ([`crate::target::Cache`] lays them out) and the compiled-in fixtures written out once
//! ([`crate::fixtures`]). Its own module so that both can find it without depending on each
//! other (targets read their `targets.toml` through `fixtures`).

use std::path::PathBuf;

use crate::error::{Error, Result};

/// `$COGCHECK_CACHE`, else the XDG cache directory (`$XDG_CACHE_HOME` or `~/.cache`) followed
/// by `cogcheck`. An empty variable counts as unset.
pub fn root() -> Result<PathBuf> {
    if let Some(root) = std::env::var("COGCHECK_CACHE")
        .ok()
        .filter(|v| !v.is_empty())
    {
        return Ok(PathBuf::from(root));
    }
    dirs::cache_dir()
        .map(|dir| dir.join("cogcheck"))
        .ok_or_else(|| Error::Config {
            path: PathBuf::from("$COGCHECK_CACHE"),
            message: "no cache directory: neither COGCHECK_CACHE, XDG_CACHE_HOME nor HOME is set; set COGCHECK_CACHE".to_string(),
        })
}
