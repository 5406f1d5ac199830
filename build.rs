//! Link fixes for the offline Piper build (see docs/ARCHITECTURE.md and scripts/setup):
//! espeak-ng is built against Debian's libsonic, and the binary finds the ONNX Runtime library
//! that setup placed in `.deps/` through an rpath, so no `LD_LIBRARY_PATH` is needed. It also
//! reruns when `migrations/` changes, which `sqlx::migrate!` embeds.
fn main() {
    println!("cargo:rustc-link-lib=sonic");
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let ort = format!("{root}/.deps/onnxruntime/lib");
    // $ORIGIN first: an installed binary can ship the library beside itself.
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN:$ORIGIN/lib:{ort}");
    // Relink when setup installs another ONNX Runtime release: a binary only loads the exact
    // release it was linked against (symbol versions such as VERS_1.32.0).
    println!("cargo:rerun-if-changed={ort}/libonnxruntime.so.1");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=migrations");
}
