"""audioby benchmarks. Run through `make bench` (which builds the release binary first)."""
import json, os, re, signal, statistics, subprocess, sys, tempfile, time, urllib.request, wave

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
BIN = "./target/release/audioby"
PIPER = ".deps/bench-venv/bin/piper"
SHERPA = [".deps/sherpa-venv/bin/python", "scripts/sherpa_tts.py"]
SHERPA_DIR = ".deps/sherpa-joe"  # the voice with sherpa-onnx's metadata (scripts/bench makes it)
# The voice's arithmetic per second of audio (issue 18's count: 2.0 GMAC decoder, 0.6 flow,
# 0.3 text encoder and duration predictor = 2.9 GMAC = 5.7 GFLOP), for GFLOP/s per core.
GFLOP_PER_AUDIO_SECOND = 5.7
STEADY_RUNS = int(os.environ.get("BENCH_STEADY_RUNS", "1"))
VOICE = "voices/en_US-joe-medium.onnx"
SEED = "player/seed-article.txt"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
VARIANTS = int(os.environ.get("BENCH_VARIANTS", "20"))
SKIP = set(os.environ.get("BENCH_SKIP", "").split(","))
out_lines = []


def say(line=""):
    print(line, flush=True)
    out_lines.append(line)


LAST_CPU = [0.0]  # user + system CPU seconds of the last run_measured child
LAST_ERR = [""]  # its stderr


def run_measured(cmd, stdin_path=None, env=None):
    """Wall seconds and peak RSS (MiB) of one child process (wait4: exact for that child).
    Its CPU seconds (user + system) are left in LAST_CPU[0]."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    LAST_ERR[0] = err.decode(errors="replace")
    if status != 0:
        raise SystemExit(f"bench: {cmd[0]} failed: {LAST_ERR[0][-2000:]}")
    return wall, usage.ru_maxrss / 1024


def wav_seconds(path):
    with wave.open(path) as w:
        return w.getnframes() / w.getframerate()


def synth_vs_piper():
    say("## Synthesis: audioby synth vs piper-tts 1.8.0 and sherpa-onnx 1.13.8 (seed article, en_US-joe-medium)")
    say()
    tmp = tempfile.mkdtemp()
    rows = {"audioby": [], "audioby, session cache off": [], "audioby, whole graph": [],
            "piper-tts": [], "sherpa-onnx": []}
    whole_env = dict(os.environ, AUDIOBY_ENGINE__SPLIT_VOICE="false")
    no_cache_env = dict(os.environ, AUDIOBY_ENGINE__SESSION_CACHE="false")
    # The session cache (`[engine] session_cache`, on by default) is filled by the first
    # run on a machine; this warm-up run makes every measured audioby run start from it.
    run_measured([BIN, "synth", "-q", "--format", "wav", "-o", os.path.join(tmp, "w.wav")], SEED)
    for i in range(RUNS):  # alternate, so drift and neighbours hit all alike
        a = os.path.join(tmp, "a.wav")
        wall, rss = run_measured([BIN, "synth", "-q", "--format", "wav", "-o", a], SEED)
        rows["audioby"].append((wav_seconds(a), wall, rss, LAST_CPU[0]))
        # Every start optimizing the encoder graph again, as before the session cache.
        wall, rss = run_measured([BIN, "synth", "-q", "--format", "wav", "-o", a], SEED, env=no_cache_env)
        rows["audioby, session cache off"].append((wav_seconds(a), wall, rss, LAST_CPU[0]))
        # The same binary with the voice run whole (`[engine] split_voice = false`), as
        # before the encoder/decoder cut: what the cut itself is worth, measured alongside.
        wall, rss = run_measured([BIN, "synth", "-q", "--format", "wav", "-o", a], SEED, env=whole_env)
        rows["audioby, whole graph"].append((wav_seconds(a), wall, rss, LAST_CPU[0]))
        p = os.path.join(tmp, "p.wav")
        wall, rss = run_measured([PIPER, "-m", VOICE, "-f", p], SEED)
        rows["piper-tts"].append((wav_seconds(p), wall, rss, LAST_CPU[0]))
        s = os.path.join(tmp, "s.wav")
        wall, rss = run_measured(SHERPA + ["synth", SHERPA_DIR, SEED, s])
        rows["sherpa-onnx"].append((wav_seconds(s), wall, rss, LAST_CPU[0]))
    say("| tool | audio s | wall s (median) | CPU s (median) | real-time factor | audio-s per wall-s | peak RSS MiB (median) |")
    say("|---|---|---|---|---|---|---|")
    thr = {}
    for name, r in rows.items():
        audio = statistics.median(x[0] for x in r)
        wall = statistics.median(x[1] for x in r)
        rss = statistics.median(x[2] for x in r)
        cpu = statistics.median(x[3] for x in r)
        thr[name] = statistics.median(x[0] / x[1] for x in r)
        say(f"| {name} | {audio:.1f} | {wall:.2f} | {cpu:.2f} | {wall / audio:.3f} | {thr[name]:.2f} | {rss:.0f} |")
    say()
    say(f"Whole-graph engine / piper-tts: {thr['audioby, whole graph'] / thr['piper-tts']:.2f}x; "
        f"session cache off / piper-tts: {thr['audioby, session cache off'] / thr['piper-tts']:.2f}x.")
    say(f"Throughput ratio audioby / piper-tts: **{thr['audioby'] / thr['piper-tts']:.2f}x**, "
        f"audioby / sherpa-onnx: **{thr['audioby'] / thr['sherpa-onnx']:.2f}x** "
        f"(median of {RUNS} alternating runs each, whole process incl. model load).")
    say()


def startup():
    """Issue 18's startup: process start to the first inference done, on a one-word text
    (whole process: load, one inference, WAV written), with the session cache warm and cold
    (a fresh data folder each run), against piper-tts on the same word."""
    say("## Startup: one word, whole process (load + first inference)")
    say()
    tmp = tempfile.mkdtemp()
    word = os.path.join(tmp, "word.txt")
    with open(word, "w") as f:
        f.write("Hello.\n")
    out = os.path.join(tmp, "o.wav")
    rows = {"audioby, session cache warm": [], "audioby, session cache cold": [], "piper-tts": []}
    # The engine logs how long the voice took to be ready for inference ("voice loaded ms=").
    logged = dict(os.environ, RUST_LOG="audioby::tts::engine=info", NO_COLOR="1")
    loaded = {"audioby, session cache warm": [], "audioby, session cache cold": []}

    def voice_loaded_ms():
        plain = re.sub(r"\x1b\[[0-9;]*m", "", LAST_ERR[0])
        m = re.search(r"voice loaded.*?ms=(\d+)", plain)
        return int(m.group(1)) if m else None

    run_measured([BIN, "synth", "-q", "--format", "wav", "-o", out], word)  # fills the cache
    for i in range(max(RUNS, 5)):
        rows["audioby, session cache warm"].append(
            run_measured([BIN, "synth", "-q", "--format", "wav", "-o", out], word, env=logged))
        loaded["audioby, session cache warm"].append(voice_loaded_ms())
        cold = dict(logged, AUDIOBY_DATA_DIR=tempfile.mkdtemp(dir=tmp))
        rows["audioby, session cache cold"].append(
            run_measured([BIN, "synth", "-q", "--format", "wav", "-o", out], word, env=cold))
        loaded["audioby, session cache cold"].append(voice_loaded_ms())
        rows["piper-tts"].append(run_measured([PIPER, "-m", VOICE, "-f", out], word))
    say("| tool | whole process, wall s (median) | min | max | voice ready, s (median of the engine's log) | peak RSS MiB (median) |")
    say("|---|---|---|---|---|---|")
    for name, r in rows.items():
        walls = [x[0] for x in r]
        ready = [x for x in loaded.get(name, []) if x is not None]
        ready = f"{statistics.median(ready) / 1000:.3f}" if ready else "n/a"
        say(f"| {name} | {statistics.median(walls):.3f} | {min(walls):.3f} | {max(walls):.3f} | "
            f"{ready} | {statistics.median(x[1] for x in r):.0f} |")
    say()
    say(f"Target (issue 18): startup to first inference <= 0.35 s ({max(RUNS, 5)} alternating runs; "
        f"the whole process also includes exec, the lexicon, one inference and writing the file).")
    say()


def steady_state():
    """Issue 18's steady state: VARIANTS articles through one process each (loading amortized),
    audio-seconds per CPU-second, and the GFLOP/s per core that implies."""
    say(f"## Steady state: {VARIANTS} articles through one process (audio-seconds per CPU-second)")
    say()
    with open(SEED) as f:
        seed = f.read()
    tmp = tempfile.mkdtemp()
    texts = []
    for n in range(VARIANTS):
        path = os.path.join(tmp, f"v{n}.txt")
        with open(path, "w") as f:
            f.write(variant(seed, n % len(NUMS)))
        texts.append(path)
    everything = os.path.join(tmp, "all.txt")
    with open(everything, "w") as f:
        f.write("\n\n".join(open(t).read() for t in texts))
    rows = {"audioby": [], "piper-tts": [], "sherpa-onnx": []}
    for _ in range(STEADY_RUNS):  # alternating, like the cold runs
        a = os.path.join(tmp, "a.wav")
        wall, rss = run_measured([BIN, "synth", "-q", "--format", "wav", "-o", a], everything)
        rows["audioby"].append((wav_seconds(a), LAST_CPU[0], wall, rss))
        p = os.path.join(tmp, "p.wav")
        wall, rss = run_measured([PIPER, "-m", VOICE, "-f", p], everything)
        rows["piper-tts"].append((wav_seconds(p), LAST_CPU[0], wall, rss))
        s = os.path.join(tmp, "s.wav")
        wall, rss = run_measured(SHERPA + ["synth", SHERPA_DIR, everything, s])
        rows["sherpa-onnx"].append((wav_seconds(s), LAST_CPU[0], wall, rss))
    say("| tool | audio s | CPU s | wall s | audio-s per CPU-s | GFLOP/s per core | peak RSS MiB |")
    say("|---|---|---|---|---|---|---|")
    eff = {}
    for name, r in rows.items():
        audio = statistics.median(x[0] for x in r)
        cpu = statistics.median(x[1] for x in r)
        wall = statistics.median(x[2] for x in r)
        rss = statistics.median(x[3] for x in r)
        eff[name] = statistics.median(x[0] / x[1] for x in r)
        say(f"| {name} | {audio:.0f} | {cpu:.1f} | {wall:.1f} | {eff[name]:.2f} | "
            f"{eff[name] * GFLOP_PER_AUDIO_SECOND:.0f} | {rss:.0f} |")
    say()
    say(f"audio-s per CPU-s, audioby / piper-tts: **{eff['audioby'] / eff['piper-tts']:.2f}x**, "
        f"audioby / sherpa-onnx: **{eff['audioby'] / eff['sherpa-onnx']:.2f}x** "
        f"({STEADY_RUNS} alternating run(s) of {VARIANTS} articles each; GFLOP/s per core = "
        f"{GFLOP_PER_AUDIO_SECOND} GFLOP per audio-second × audio-s per CPU-s).")
    say()


def text_speed():
    say("## Text pipeline: extract + normalize + segment, 10,000-word article")
    say()
    r = json.loads(subprocess.check_output(["./target/release/examples/text_bench"]).decode())
    say(f"{r['words']} words, {r['segments']} segments: median **{r['median_ms']} ms** (min {r['min_ms']}, max {r['max_ms']}; 21 runs)")
    say()
    # Wall time of the inputs the test suite checks for linear work (it counts allocated bytes).
    say(f"Normalizing a line without punctuation: 1 MB {r['normalize_1mb_ms']} ms, 2 MB {r['normalize_2mb_ms']} ms "
        f"(**{r['normalize_2mb_ms'] / r['normalize_1mb_ms']:.2f}x** for twice the input; medians of 5). "
        f"A 1000-entry lexicon on 10,000 words: {r['lexicon_1000_entries_ms']} ms per apply (median of 21).")
    say()


def extraction_quality():
    # Issue 17: token P/R/F1 of each extraction candidate on the development set
    # (tests/fixtures/extract/dev), and each one's median time on a 10,000-word page.
    say("## Extraction: development set (token precision / recall / F1)")
    say()
    for line in subprocess.check_output(["./target/release/examples/extract_eval"]).decode().splitlines():
        say(line)
    say()


def variant(text, n):
    # Every sentence gets a variant-specific word, so no segment is shared between variants:
    # the pipeline must synthesize everything, like plain synth does.
    return re.sub(r"([.!?])(\s|$)", lambda m: f" {NUMS[n]}{m.group(1)}{m.group(2)}", text)


NUMS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]


def start_server(data, role="all", env=None):
    p = subprocess.Popen([BIN, "serve", "--role", role, "--listen", "127.0.0.1:0", "--data-dir", data], stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, env={**(env or os.environ), "AUDIOBY_API_KEYS": "bench", "AUDIOBY_DEMO": "false", "RUST_LOG": "info"}, text=True)
    for line in p.stderr:
        m = re.search(r"listening on http://(\S+)", line)
        if m:
            return p, "http://" + m.group(1)
    raise SystemExit("bench: server did not start")


def http(method, url, body=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"authorization": "Bearer bench", "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"null")


def pipeline_overhead():
    say(f"## Pipeline: prefetch {VARIANTS} variants of the seed article vs audioby synth on the same texts")
    say()
    seed = open(SEED).read()
    tmp = tempfile.mkdtemp()
    texts = [variant(seed, n % len(NUMS)) + f"\nVariant {NUMS[n % len(NUMS)]} ends here." for n in range(VARIANTS)]
    # Plain synthesis of all texts in one `audioby synth` process (one voice load, like the
    # one server), so the difference is what the pipeline adds: queue, cache, Opus + MP3.
    path = os.path.join(tmp, "all.txt")
    open(path, "w").write("\n\n".join(texts))
    o = os.path.join(tmp, "o.wav")
    synth_wall, _ = run_measured([BIN, "synth", "-q", "--format", "wav", "-o", o], path)
    synth_audio = wav_seconds(o)
    # The pipeline: push all, wait for all (queue, cache, Opus + MP3 encoding, manifest).
    data = os.path.join(tmp, "data")
    srv, base = start_server(data)
    try:
        t0 = time.perf_counter()
        jobs = [http("PUT", f"{base}/v1/articles/v{i}", {"text": t})["job"]["id"] for i, t in enumerate(texts)]
        audio = 0.0
        for j in jobs:
            while True:
                v = http("GET", f"{base}/v1/jobs/{j}?wait=60")
                if v["status"] in ("ready", "failed"):
                    break
            audio += v["audio_seconds"] or 0.0
        pipe_wall = time.perf_counter() - t0
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait()
    s_thr, p_thr = synth_audio / synth_wall, audio / pipe_wall
    say("| path | audio s | wall s | audio-s per wall-s |")
    say("|---|---|---|---|")
    say(f"| audioby synth, {VARIANTS} texts in one process (WAV) | {synth_audio:.0f} | {synth_wall:.1f} | {s_thr:.2f} |")
    say(f"| pipeline (server, queue, cache, Opus+MP3) | {audio:.0f} | {pipe_wall:.1f} | {p_thr:.2f} |")
    say()
    say(f"Pipeline throughput relative to synth: **{p_thr / s_thr:.2f}** (overhead {max(0.0, 1 - p_thr / s_thr) * 100:.1f}%).")
    ids = os.path.join(tmp, "ids.txt")
    open(ids, "w").write("\n".join(f"v{i}" for i in range(VARIANTS)))
    t0 = time.perf_counter()
    r = subprocess.run([BIN, "prefetch", "--json", "--ids", ids, "--data-dir", data], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    summary = json.loads(r.stdout)
    say(f"Second run (`audioby prefetch --ids`, all cached): {summary['cached']}/{summary['total']} cached, cache hit ratio **{summary['cache_hit_ratio'] * 100:.0f}%**, "
        f"**{wall:.2f} s** wall for the whole command (the voice file is hashed for the cache keys; its sessions never start), {summary['wall_seconds']:.3f} s inside the run.")
    say()


def queue_speed():
    say("## Queue: claims per second and enqueue-to-claim latency (`queue_bench claims`)")
    say()
    r = subprocess.run(["./target/release/examples/queue_bench", "claims"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bench: queue_bench failed: {r.stderr[-2000:]}")
    for line in r.stdout.splitlines():
        say(line)
    say()


def worker_processes():
    """The pipeline on PostgreSQL with one API process and 1, then 2, worker processes."""
    say(f"## Worker processes on PostgreSQL: {VARIANTS} variants of the seed article, one `api` + N `worker`")
    say()
    say("| worker processes | audio s | wall s | audio-s per wall-s |")
    say("|---|---|---|---|")
    seed = open(SEED).read()
    texts = [variant(seed, n % len(NUMS)) + f"\nVariant {NUMS[n % len(NUMS)]} ends here." for n in range(VARIANTS)]
    results = {}
    for n in (1, 2):
        cluster = subprocess.Popen(["./target/release/examples/queue_bench", "cluster"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        url = cluster.stdout.readline().strip()
        env = {**os.environ, "AUDIOBY_DATABASE__URL": url}
        data = tempfile.mkdtemp()
        procs = []
        try:
            api, base = start_server(data, role="api", env=env)
            procs.append(api)
            for _ in range(n):
                procs.append(start_server(data, role="worker", env=env)[0])
            t0 = time.perf_counter()
            jobs = [http("PUT", f"{base}/v1/articles/v{i}", {"text": t})["job"]["id"] for i, t in enumerate(texts)]
            audio = 0.0
            for j in jobs:
                while True:
                    v = http("GET", f"{base}/v1/jobs/{j}?wait=60")
                    if v["status"] in ("ready", "failed"):
                        break
                audio += v["audio_seconds"] or 0.0
            wall = time.perf_counter() - t0
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
                p.wait()
            cluster.stdin.close()
            cluster.wait()
        results[n] = audio / wall
        say(f"| {n} | {audio:.0f} | {wall:.1f} | {audio / wall:.2f} |")
    say()
    say(f"2 processes relative to 1: **{results[2] / results[1]:.2f}×** (the cores are the limit; the point is no loss).")
    say()


def main():
    say(f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores with `make bench` "
        f"(BENCH_RUNS={RUNS}, BENCH_VARIANTS={VARIANTS}).")
    say()
    if "startup" not in SKIP:
        startup()
    if "synth" not in SKIP:
        synth_vs_piper()
    if "steady" not in SKIP:
        steady_state()
    if "text" not in SKIP:
        text_speed()
    if "extract" not in SKIP:
        extraction_quality()
    if "pipeline" not in SKIP:
        pipeline_overhead()
    if "queue" not in SKIP:
        queue_speed()
    if "workers" not in SKIP:
        worker_processes()
    if "http" not in SKIP and os.path.exists("scripts/bench-http"):
        subprocess.run(["scripts/bench-http"], check=False)
    if "s3" not in SKIP and os.path.exists("scripts/bench-s3"):
        subprocess.run(["scripts/bench-s3"], check=False)
    with open("bench-results.md", "w") as f:
        f.write("\n".join(out_lines) + "\n")
    print("\nbench: results written to bench-results.md (copy into BENCHMARKS.md)", file=sys.stderr)


main()
