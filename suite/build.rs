//! The fixtures are compiled into the binary (`suite/src/fixtures.rs`); a change to any of
//! them must rebuild it, which `include_dir!` alone does not ask for on stable Rust.
fn main() {
    println!("cargo:rerun-if-changed=../fixtures");
}
