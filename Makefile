# imgtool's own entry points. `make demo` and `make test` each do all set-up first.
VENV ?= .venv
export VENV

.PHONY: setup demo test bench fuzz clean

setup:
	./scripts/setup.sh

demo: setup
	./examples/demo.sh

test: setup
	$(VENV)/bin/python -m pytest -q

bench: setup
	$(VENV)/bin/pip install -q -e ".[bench]"
	$(VENV)/bin/python bench/bench_startup.py
	$(VENV)/bin/python bench/bench_reloc.py
	$(VENV)/bin/python bench/bench_size.py
	$(VENV)/bin/python bench/bench_crc.py
	$(VENV)/bin/python bench/bench_tar.py
	$(VENV)/bin/python bench/bench_rpi.py
	$(VENV)/bin/python bench/bench_uefi.py
	$(VENV)/bin/python bench/bench_compact.py
	$(VENV)/bin/python bench/bench_gce.py
	$(VENV)/bin/python bench/bench_habevents.py

# The long fuzzing campaign (docs/robustness.md): every parser of tests/fuzz_targets.py under
# atheris for FUZZ_RUNS executions; findings land in tests/corpus/ (replayed by the suite).
FUZZ_RUNS ?= 100000
fuzz: setup
	$(VENV)/bin/pip install -q -e ".[fuzz]" || echo "fuzz: atheris did not install; hypothesis runs the campaign"
	$(VENV)/bin/python scripts/fuzz.py --runs $(FUZZ_RUNS)

clean:
	rm -rf out build *.egg-info
