# hallwatch — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS := station,rules,agent,demo,console,dev,insightface
# Installed without its declared deps: see the `insightface` extra in pyproject.toml.
INSIGHTFACE := insightface==2.1
# Real photos and model files for the demo (and the tests): ../shared beside the checkout,
# unless HALLWATCH_SHARED says otherwise. The installed package never looks for them itself.
HALLWATCH_SHARED ?= $(abspath ../shared)
export HALLWATCH_SHARED
# Debian packages the tests drive for real (installed only when missing; needs root).
APT_PACKAGES := mosquitto openssl systemd fonts-wqy-microhei xvfb xdotool x11-apps x11-utils openbox \
                 poppler-utils chromium chromium-driver

.PHONY: venv test demo console bench lint system-deps clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	$(BIN)/pip install --quiet --no-deps $(INSIGHTFACE)
	touch $@

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

lint: venv
	$(BIN)/ruff check .

test: venv system-deps lint
	$(BIN)/pytest

demo: venv
	$(BIN)/hallwatch demo

# The console on the store `make demo` left in demo-out/ (until Ctrl-C).
console: venv
	@test -f demo-out/console.toml || { echo "run 'make demo' first"; exit 1; }
	$(BIN)/hallwatch console --config demo-out/console.toml

bench: venv system-deps
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
