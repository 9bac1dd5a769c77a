//! Writes the UI's TypeScript bindings (`ui/src/bindings.ts`) from the app's commands:
//! `cargo run -p enrollment-station --example export_bindings`. The
//! `the_typescript_bindings_match_the_commands` test fails until they are written again after a
//! command or a payload changes.

fn main() -> anyhow::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts");
    enrollment_station::export_bindings(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}
