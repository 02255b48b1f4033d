# One-command set-up: every target creates .venv and installs the project if needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: torture run test lint bench format clean system-packages ui-packages translations screenshots \
	hub hub-db hub-stop hub-packages browser-packages gettext-package panel-screenshots \
	image appliance-test image-packages appliance-packages

# The development venv has the kiosk and the hub (editable), so that the tests can drive
# the kiosk's real client against a real hub, and mypy can check both.
$(STAMP): pyproject.toml hub/pyproject.toml
	@command -v $(PYTHON) >/dev/null || $(MAKE) --no-print-directory system-packages
	@$(MAKE) --no-print-directory ui-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); $(MAKE) --no-print-directory system-packages && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e './hub[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kiosk run --sim

# The hub's tests start PostgreSQL clusters of their own (or use HUB_TEST_DATABASE_URL):
# the server is installed here when missing (as root); without it they skip and say why.
# The suite runs on every core, a test file per process at a time (pytest-xdist; a file's
# fixtures stay in one process); `make test PYTEST_ARGS="-k hub -x"` passes options on.
test: $(STAMP)
	@hub/local_postgres.sh install || echo "note: the hub's tests need PostgreSQL (see docs/hub.md)"
	@$(MAKE) --no-print-directory browser-packages
	$(BIN)/python -m pytest -n auto --dist loadfile $(PYTEST_ARGS)

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
translations: $(STAMP) panel-translations
	$(BIN)/pybabel -q extract -F babel.cfg -k t -k tr -k say -k N_ -k _message \
		--no-location --sort-output --omit-header -o kiosk/locale/kiosk.pot .
	$(BIN)/pybabel -q update -i kiosk/locale/kiosk.pot -d kiosk/locale -D kiosk \
		--no-fuzzy-matching --ignore-obsolete --no-wrap
	$(BIN)/pybabel -q compile -d kiosk/locale -D kiosk

# The panel's (docs/panel.md, "Translations"): Django's makemessages and
# compilemessages (GNU gettext does the work), a Persian catalogue for the panel's own
# pages (hub/panel/locale) and one per part (settings.PANEL_PARTS,
# hub/panel/<part>/locale); the .mo files are committed (tests/panel/test_formats.py).
# A part's templates are in templates/panel/<part>/, outside its folder, and
# makemessages files a string under the nearest locale folder above it (or the first of
# LOCALE_PATHS): so each catalogue is made in a folder of its own, of symbolic links to
# exactly its files (a part's code and templates; the panel's, all the rest) next to a
# link to its locale (tests/panel/test_catalogues_cover_templates.py checks the result).
.PHONY: panel-translations
panel-translations: $(STAMP)
	@command -v xgettext >/dev/null || $(MAKE) --no-print-directory gettext-package
	set -e; export HUB_DATA_DIR=$(CURDIR)/var/hub DJANGO_SETTINGS_MODULE=hub.settings; \
	panel=$(CURDIR)/hub/panel; python=$(CURDIR)/$(BIN)/python; \
	parts=$$($$python -c 'from hub.settings import PANEL_PARTS; print(*PANEL_PARTS)'); \
	farm=$$(mktemp -d); trap 'rm -rf "$$farm"' EXIT; \
	for part in panel $$parts; do \
		mkdir "$$farm/$$part"; files=$$farm/$$part/files; \
		if [ $$part = panel ]; then \
			locale=$$panel/locale; cp -rs $$panel $$files; \
			for other in $$parts; do rm -rf $$files/$$other $$files/templates/panel/$$other; done; \
		else \
			locale=$$panel/$$part/locale; mkdir $$files; \
			[ ! -d $$panel/$$part ] || cp -rs $$panel/$$part $$files/code; \
			[ ! -d $$panel/templates/panel/$$part ] || cp -rs $$panel/templates/panel/$$part $$files/templates; \
		fi; \
		find $$files -depth -type d -name locale -exec rm -rf {} +; \
		mkdir -p $$locale; ln -s $$locale $$farm/$$part/locale; \
		(cd $$farm/$$part && $$python -m django makemessages -l fa --no-location --no-obsolete -v 0); \
		po=$$locale/fa/LC_MESSAGES/django.po; \
		if [ -f $$po ]; then sed -i '/^"POT-Creation-Date: /d' $$po; else rmdir $$locale 2>/dev/null || true; fi; \
	done; \
	cd $$panel && $$python -m django compilemessages -v 0

# Every screen at 800x480, in Persian and in English, into docs/screenshots/.
screenshots: $(STAMP)
	SDL_VIDEODRIVER=offscreen $(BIN)/python -m kiosk.ui.screenshots docs/screenshots

# The owner's panel's pages in both languages at 1366x768 and 390x844 (a real hub and
# Chromium, as its tests run), into docs/screenshots/panel-*.png.
panel-screenshots: $(STAMP) browser-packages
	PANEL_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/panel -k screenshots

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

# -- the hub (docs/hub.md) ----------------------------------------------------------------
# `make hub`: PostgreSQL (installed when missing) with a cluster of its own in ./var/hub/pg,
# on a Unix socket in ./var/hub/socket and on 127.0.0.1:$(HUB_DB_PORT); the hub in a venv of
# its own (.venv-hub: only the hub's distribution and its dependencies, as on a server, no
# Kivy; editable, so a restart runs your changes), migrated, a demo chain, served on
# 127.0.0.1:$(HUB_PORT). Ctrl-C stops serving; `make hub-stop` stops the database.
HUB_VENV := .venv-hub
HUB_STAMP := $(HUB_VENV)/.installed
HUB_DIR := var/hub
HUB_PORT ?= 8470
HUB_DB_PORT ?= 5470
HUB = . ./$(HUB_DIR)/env && $(HUB_VENV)/bin/hub

$(HUB_STAMP): hub/pyproject.toml
	@command -v $(PYTHON) >/dev/null || $(MAKE) --no-print-directory system-packages
	test -x $(HUB_VENV)/bin/python || $(PYTHON) -m venv $(HUB_VENV) || { rm -rf $(HUB_VENV); $(MAKE) --no-print-directory system-packages && $(PYTHON) -m venv $(HUB_VENV); }
	$(HUB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(HUB_VENV)/bin/python -m pip install --quiet -e ./hub
	touch $(HUB_STAMP)

hub: $(HUB_STAMP) hub-db
	$(HUB) migrate
	$(HUB) demo
	@echo "the hub serves on http://127.0.0.1:$(HUB_PORT); in another terminal, a code for a kiosk:"
	@echo "  . $(HUB_DIR)/env && $(HUB_VENV)/bin/hub device add --branch Valiasr"
	@echo "the owner's panel on http://127.0.0.1:$(HUB_PORT)/panel/ (docs/panel.md): the owner printed above"
	@echo "  signs in (the first time only); more users: . $(HUB_DIR)/env && $(HUB_VENV)/bin/hub user add NAME --role owner"
	$(HUB) serve --bind 127.0.0.1:$(HUB_PORT)

# The database only (started if it is not running). var/hub/env sets the hub's environment
# for a shell: `. var/hub/env && .venv-hub/bin/hub device list`.
hub-db: hub-packages
	@mkdir -p $(HUB_DIR)
	@url=$$(hub/local_postgres.sh start $(HUB_DIR) --port $(HUB_DB_PORT)) && \
		printf "export HUB_DATA_DIR='%s'\nexport HUB_DATABASE_URL='%s'\n" \
			"$(CURDIR)/$(HUB_DIR)" "$$url" > $(HUB_DIR)/env && \
		echo "PostgreSQL for the hub: $$url (environment in $(HUB_DIR)/env)"

hub-stop:
	@hub/local_postgres.sh stop $(HUB_DIR)

# Debian's postgresql, installed when missing (as root, like system-packages).
hub-packages:
	@hub/local_postgres.sh install

# The panel's browser tests drive Debian's Chromium with Playwright (tests/panel): the
# browser and its driver from Debian, installed when missing (as root); Playwright's own
# browser download is never used. Otherwise those tests skip and say why (fail under CI).
browser-packages:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else \
		echo "note: the panel's browser tests need Chromium: sudo apt-get install chromium chromium-driver"; \
	fi

# GNU gettext, for `make translations` (the panel's catalogues): installed when missing.
gettext-package:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext; \
	else \
		echo "Please install GNU gettext (Debian: sudo apt-get install gettext)"; exit 1; \
	fi

# -- the appliance (docs/appliance-test.md) -------------------------------------------------
# `make image`: the flashable Raspberry Pi image (Debian Bookworm arm64: debootstrap, the
# kernel and raspi-firmware from Debian), cached in $(APPLIANCE_DIR) by a hash of
# systemd/image/ and install.sh's package list. `make appliance-test`: that image booted in
# qemu-system-aarch64 (software emulation: long), install.sh run in it, the checks of
# docs/appliance-test.md. Both need root and install their Debian packages when missing;
# neither is part of `make test` or CI.
APPLIANCE_DIR := var/appliance
IMAGE_PACKAGES := debootstrap qemu-user-static binfmt-support mtools dosfstools fdisk e2fsprogs
APPLIANCE_PACKAGES := qemu-system-arm socat openssh-client

image-packages:
	@$(call apt_missing,$(IMAGE_PACKAGES))

appliance-packages:
	@$(call apt_missing,$(APPLIANCE_PACKAGES))

image: image-packages
	systemd/image/build.sh $(APPLIANCE_DIR)

appliance-test: $(STAMP) image appliance-packages
	$(BIN)/python systemd/image/appliance_test.py $(APPLIANCE_DIR)/image.img --cache $(APPLIANCE_DIR)

# apt_missing PACKAGES: install those of PACKAGES not installed yet (as root).
define apt_missing
missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "Please install:$$missing (as root: apt-get install$$missing)"; exit 1; fi; \
fi
endef

clean: hub-stop
	rm -rf $(VENV) $(HUB_VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info hub/*.egg-info
