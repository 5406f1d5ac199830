"""sherpa-onnx 1.13.8 (PyPI) as a benchmark peer for `make bench` (scripts/bench.py).

  sherpa_tts.py prepare VOICE.onnx ESPEAK_DATA OUTDIR   copy the voice with sherpa's metadata,
                                                      write tokens.txt, link espeak-ng-data
  sherpa_tts.py synth OUTDIR TEXT_FILE OUT.wav         one text, one process (the cold run)
  sherpa_tts.py steady OUTDIR TEXT_FILE...             every text through one loaded model;
                                                      prints {"audio_s", "cpu_s", "wall_s"}

sherpa-onnx runs a Piper voice once the model carries the metadata its VITS loader reads
(model_type, comment=piper, language, voice, has_espeak, n_speakers, sample_rate) and a
tokens.txt from the voice's phoneme_id_map; sherpa-onnx 1.x bundles espeak-ng but not its
data, which comes from the piper-tts wheel. Threads: 2, the machine's cores.
"""
import json, os, resource, sys, time, wave


def prepare(voice, espeak_data, out):
    import onnx

    os.makedirs(out, exist_ok=True)
    with open(voice + ".json") as f:
        config = json.load(f)
    model = onnx.load(voice)
    meta = {
        "model_type": "vits",
        "comment": "piper",
        "language": "English",
        "voice": config["espeak"]["voice"],
        "has_espeak": "1",
        "n_speakers": str(config.get("num_speakers", 1)),
        "sample_rate": str(config["audio"]["sample_rate"]),
    }
    del model.metadata_props[:]
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    onnx.save(model, os.path.join(out, "model.onnx"))
    with open(os.path.join(out, "tokens.txt"), "w") as f:
        for symbol, ids in config["phoneme_id_map"].items():
            f.write(f"{symbol} {ids[0]}\n")
    link = os.path.join(out, "espeak-ng-data")
    if not os.path.exists(link):
        os.symlink(os.path.abspath(espeak_data), link)


def load(d):
    import sherpa_onnx

    config = sherpa_onnx.OfflineTtsConfig(
        model=sherpa_onnx.OfflineTtsModelConfig(
            vits=sherpa_onnx.OfflineTtsVitsModelConfig(
                model=os.path.join(d, "model.onnx"),
                tokens=os.path.join(d, "tokens.txt"),
                data_dir=os.path.join(d, "espeak-ng-data"),
                lexicon="",
            ),
            provider="cpu",
            num_threads=2,
            debug=False,
        ),
        max_num_sentences=1,
    )
    if not config.validate():
        raise SystemExit("sherpa_tts: invalid config")
    return sherpa_onnx.OfflineTts(config)


def generate(tts, path):
    with open(path) as f:
        text = f.read()
    audio = tts.generate(text, sid=0, speed=1.0)
    return audio.samples, audio.sample_rate


def write_wav(path, samples, rate):
    import numpy as np

    pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1, 1) * 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    cmd, *args = sys.argv[1:]
    if cmd == "prepare":
        prepare(*args)
    elif cmd == "synth":
        d, text, out = args
        samples, rate = generate(load(d), text)
        write_wav(out, samples, rate)
    elif cmd == "steady":
        d, *texts = args
        tts = load(d)
        generate(tts, texts[0])  # warm-up, not counted: loading is what steady state amortizes
        c, t, audio = cpu(), time.perf_counter(), 0.0
        for path in texts:
            samples, rate = generate(tts, path)
            audio += len(samples) / rate
        print(json.dumps({"audio_s": audio, "cpu_s": cpu() - c, "wall_s": time.perf_counter() - t}))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
