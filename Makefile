# One-command set-up: every target creates .venv and installs the project if needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: torture run test lint bench format clean system-packages ui-packages translations screenshots

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || $(MAKE) --no-print-directory system-packages
	@$(MAKE) --no-print-directory ui-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); $(MAKE) --no-print-directory system-packages && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kiosk run --sim

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench all

# The reliability and security campaign, full length (the short run is in `make test`):
# prints its figures and writes them to docs/reliability.md.
torture: $(STAMP)
	$(BIN)/python -m tests.torture --doc docs/reliability.md

# Message catalogues: extract the keys from the code and kv files, merge them into the
# Persian and English catalogues (new keys arrive empty: a test fails until translated),
# compile the .mo files the app loads.
translations: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k t -k tr -k say -k N_ -k _message \
		--no-location --sort-output --omit-header -o kiosk/locale/kiosk.pot .
	$(BIN)/pybabel -q update -i kiosk/locale/kiosk.pot -d kiosk/locale -D kiosk \
		--no-fuzzy-matching --ignore-obsolete --no-wrap
	$(BIN)/pybabel -q compile -d kiosk/locale -D kiosk

# Every screen at 800x480, in Persian and in English, into docs/screenshots/.
screenshots: $(STAMP)
	SDL_VIDEODRIVER=offscreen $(BIN)/python -m kiosk.ui.screenshots docs/screenshots

# Debian packages the project needs: Python 3.11 with venv. Installed only when missing.
system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq python3.11 python3.11-venv; \
	else \
		echo "Please install Python 3.11 with venv (Debian: sudo apt-get install python3.11 python3.11-venv)"; exit 1; \
	fi

# The touch app draws with OpenGL (Mesa) and reads touchscreens through mtdev; Kivy's
# wheel brings SDL2 but not these. Installed when missing and root; otherwise the UI tests
# skip and say why.
UI_LIBS := libGL.so.1 libEGL.so.1 libmtdev.so.1
ui-packages:
	@missing=""; for lib in $(UI_LIBS); do ldconfig -p | grep -q "$$lib" || missing="$$missing $$lib"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && apt-get install -y -qq libgl1 libegl1 libgl1-mesa-dri libmtdev1; \
		else \
			echo "note: missing$$missing; the touch app needs: sudo apt-get install libgl1 libegl1 libgl1-mesa-dri libmtdev1"; \
		fi; \
	fi

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
