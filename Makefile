# Two commands for a fresh machine: `make run` (dashboard) and `make test` (the whole suite).
# Both create or refresh .venv; pip runs again only when requirements.txt changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
PORT ?= 8501

.PHONY: run test test-fast browser-deps pacs-deps pacs bench soak lint format clean-venv sign-weights

# requirements.txt pins every version; the project itself is installed editable (no sys.path tricks anywhere).
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	cat requirements.txt pyproject.toml > $(STAMP)

# The verified ONNX export (the dashboard's probabilities, torch-free predict) is made in the background the first
# time; the dashboard's own warm-up waits for it rather than making a second one.
run: $(STAMP)
	nice $(PY) -m xray_core export-onnx --if-missing >/dev/null & $(VENV)/bin/streamlit run dashboard/app.py --server.port $(PORT)

# Debian's Chromium for the real-browser tests (Playwright drives it; it never downloads a browser) and
# poppler-utils (pdftotext, pdftoppm) for reading the PDF reports back in tests.
browser-deps:
	@test -x /usr/bin/chromium -a -x /usr/bin/pdftotext -a -x /usr/bin/pdftoppm || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium poppler-utils >/dev/null; }

# Debian's Orthanc and its DICOMweb plugin (a real PACS for tests, demos and benches) and dicom3tools (dciodvfy
# validates what we send). The packaged service is stopped and disabled: our own instances run on loopback only.
pacs-deps:
	@test -x /usr/sbin/Orthanc -a -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so -a -x /usr/bin/dciodvfy || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq orthanc orthanc-dicomweb dicom3tools >/dev/null; \
		{ $$SUDO systemctl disable --now orthanc || { $$SUDO service orthanc stop; $$SUDO update-rc.d orthanc disable; }; } \
			>/dev/null 2>&1 || true; }

# A private Orthanc on 127.0.0.1 (a free port, or PACS_PORT=...) with the demo worklist; Ctrl-C stops it.
pacs: $(STAMP) pacs-deps
	$(PY) -m xray_core pacs serve --demo $(if $(PACS_PORT),--port $(PACS_PORT))

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .

test: lint browser-deps pacs-deps
	$(PY) -m pytest -q

# Everything except the real-browser tests.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not browser"

bench: $(STAMP) browser-deps pacs-deps
	for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# 4 concurrent browser sessions with hostile files against one server: memory, latency, no names across users.
soak: $(STAMP) browser-deps
	$(PY) bench/bench_soak.py

# After replacing a file in weights/: verify each file's own hash and re-pin them all in weights/SHA256SUMS.
sign-weights: $(STAMP)
	$(PY) -m xray_core sign-weights

clean-venv:
	rm -rf $(VENV)
