//! Release builds of `fulmar` lay out the functions start-up runs side by side
//! (lld's --symbol-ordering-file, the list in startup.order that bench/startup-order
//! writes): the kernel maps code 64 KiB around each page touched, so scattered
//! start-up code kept ~6 MB of .text resident where ~1.4 MB is now.
//!
//! Only where the linker is known to be lld: x86_64 Linux with Rust ≥ 1.90 (rust-lld
//! is its default linker) and no linker chosen by configuration. Names the list has
//! and the binary has not (an older list) are ignored.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=startup.order");
    println!("cargo:rerun-if-changed=build.rs");
    let target = env::var("TARGET").unwrap_or_default();
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let linker_chosen = env::var_os("RUSTC_LINKER").is_some()
        || env::var("CARGO_ENCODED_RUSTFLAGS")
            .is_ok_and(|f| f.contains("linker") || f.contains("fuse-ld") || f.contains("link-self-contained"));
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let minor = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1)?.split('.').nth(1)?.parse::<u32>().ok())
        .unwrap_or(0);
    let order = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("startup.order");
    if target == "x86_64-unknown-linux-gnu" && release && !linker_chosen && minor >= 90 && order.exists() {
        println!(
            "cargo:rustc-link-arg-bin=fulmar=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=fulmar=-Wl,--no-warn-symbol-ordering");
    }
}
