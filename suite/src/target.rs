//! Named targets: endpoints, credentials, and for local emulators install / start / ready / stop.
