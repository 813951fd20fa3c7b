//! `kind = "reset"`: the connection is reset (a TCP RST, through `SO_LINGER` 0), before the
//! request reaches the upstream or after the upstream answered. The client sees
//! `ECONNRESET` ("Connection reset by peer"). How the proxy reaches the socket is in
//! `fault/conn.rs`.

use serde::{Deserialize, Serialize};

use super::DisconnectPhase;

/// Reset the connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    /// `before_upstream` (default) or `after_upstream`.
    #[serde(default)]
    pub phase: DisconnectPhase,
}
