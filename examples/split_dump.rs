//! Write a voice's encoder and decoder halves (as the engine cuts them) to a folder, for
//! profiling them with other tools: `cargo run --release --example split_dump -- VOICE.onnx DIR`.
fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, voice, dir] = &args[..] else {
        return Err("usage: split_dump VOICE.onnx DIR".into());
    };
    let bytes = std::fs::read(voice).map_err(|e| e.to_string())?;
    let split = audioby::tts::graph::split_voice(bytes).map_err(|e| e.reason)?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for (name, b) in [
        ("encoder.onnx", &split.encoder),
        ("decoder.onnx", &split.decoder),
    ] {
        std::fs::write(format!("{dir}/{name}"), b).map_err(|e| e.to_string())?;
    }
    println!(
        "hop {} context {} planar {}",
        split.hop, split.context, split.planar
    );
    Ok(())
}
