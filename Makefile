# audioby: two commands for a new user.
#   make run    set up if needed, build in release mode, serve on 127.0.0.1:8080
#   make test   set up if needed, run every test (real voice, real encoders, real browser)
# Other targets: make setup, make build, make bench, make reliability, make fuzz, make lint,
# make clean

CARGO ?= cargo
LISTEN ?= 127.0.0.1:8080
FUZZ_SECONDS ?= 60

.PHONY: run test setup build bench fuzz lint clean reliability

setup:
	@scripts/setup

build: setup
	$(CARGO) build --release --locked

run: build
	./target/release/audioby serve --listen $(LISTEN)

test: setup
	@scripts/test-setup
	$(CARGO) test --locked --no-fail-fast

# The reliability suite of docs/RELIABILITY.md: its fault tests (they also run in
# `make test`; the disk-full test needs root to mount a tmpfs and is skipped with a message
# otherwise), then the load run against the release build: 60 s of mixed load at 200
# connections, an events fill and a SIGKILL loop (examples/reliability_load.rs).
RELIABILITY_ARGS ?=
reliability: setup
	@scripts/test-setup
	$(CARGO) test --locked --test api -- --nocapture http_hostile storage_faults voices:: pipeline::cancelling pipeline::a_listener pipeline::sigkill
	$(CARGO) build --release --locked --bin audioby --example reliability_load
	./target/release/examples/reliability_load $(RELIABILITY_ARGS)

bench: build
	scripts/bench

fuzz: setup
	scripts/fuzz $(FUZZ_SECONDS)

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
