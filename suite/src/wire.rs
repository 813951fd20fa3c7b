//! AWS JSON 1.1 wire protocol.
