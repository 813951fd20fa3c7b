//! cogcheck-proxy.
