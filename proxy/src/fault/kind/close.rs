//! `kind = "close"`: the connection is closed cleanly (FIN) without an answer, before the
//! request reaches the upstream or after the upstream answered. Clients see an empty reply
//! ("connection closed before a response was received").

use serde::{Deserialize, Serialize};

use super::DisconnectPhase;

/// Close the connection without answering.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Close {
    /// `before_upstream` (default) or `after_upstream`.
    #[serde(default)]
    pub phase: DisconnectPhase,
}
