//! HTTP/HTTPS client for AWS JSON 1.1 with SigV4.
