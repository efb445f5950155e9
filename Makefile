# imgtool's own entry points. `make demo` and `make test` each do all set-up first.
VENV ?= .venv
export VENV

.PHONY: setup demo test bench clean

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

clean:
	rm -rf out build *.egg-info
