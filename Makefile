# Dual-MTA testbed: sendmail MTA-RX -> amavisd-new -> sendmail MTA-TX, in containers.
# `make` lists the targets. Settings (override on the command line or in the environment):
#   CONFIG=folder          the configuration under test (default config/sample): .mc files,
#                          maps, amavisd-new snippets, policy.toml; missing files come from
#                          the sample (siteconfig/layout.py lists the layout)
#   BASE=auto|pull|local   base image: official debian:trixie-slim, or built with debootstrap
#   RX_SMTP_PORT=2525 RX_SUBMISSION_PORT=5870 OFFICE_SMTP_PORT=2526 SINK_API_PORT=8025  (make up)
#   RX_QUEUE_RUNNERS=N AMAVIS_MAX_SERVERS=N  override the config's R= and $max_servers  (make up)
#   TOPOLOGY=dual|milter   the chain of make build/up/test/capacity: the document's dual-MTA chain
#                          (default), or one sendmail calling amavisd-new through amavisd-milter
#                          (compose.milter.yaml), the setup the document compares it with
#   PYTEST_ARGS=...        extra pytest arguments (make test, make test-unit)
#   TEST_CHAINS=2          make test: pytest-xdist workers, each with a chain of its own (1: one chain)
#   TESTBED_QUEUE_RUNS=asked|persistent  a test waiting for a message asks MTA-RX for a queue run
#                          (`sendmail -q`, default) or waits for the persistent runners (5 s idle sleep)
#   LOADGEN_ARGS=...       extra arguments of `python -m loadgen sweep` (make capacity*)
#   EXPERIMENT_WORKERS=3   worker count of capacity-tmpfs and capacity-runners (the knee here)
#   CLIFF_WORKERS=8 CLIFF_MEMORY=300m  capacity-memory: that many workers in that much memory

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BASE ?= auto
export BASE
export RX_SMTP_PORT ?= 2525
export RX_SUBMISSION_PORT ?= 5870
export OFFICE_SMTP_PORT ?= 2526
export SINK_API_PORT ?= 8025

# The configuration under test, assembled over the sample into .build/config/<id>; its
# images are tagged per configuration so switching back and forth does not rebuild.
CONFIG ?= config/sample
# A folder inside this checkout is named by its path relative to it: every clone then builds the
# same CONFIG build argument, and Docker's layer cache carries over from one clone to the next.
CONFIG_PATH := $(patsubst $(CURDIR)/%,%,$(abspath $(CONFIG)))
CONFIG_ID := $(shell printf '%s' '$(notdir $(abspath $(CONFIG)))' | tr -c 'A-Za-z0-9_.-' _)-$(shell printf '%s' '$(CONFIG_PATH)' | md5sum | cut -c1-6)
export TESTBED_SOURCE_CONFIG := $(abspath $(CONFIG))
export TESTBED_CONFIG := .build/config/$(CONFIG_ID)
export TESTBED_POLICY := $(CURDIR)/$(TESTBED_CONFIG)/policy.toml
export TESTBED_TAG := $(if $(filter $(abspath config/sample),$(abspath $(CONFIG))),latest,$(shell printf '%s' 'cfg-$(CONFIG_ID)' | tr A-Z a-z))

TOPOLOGY ?= dual
# The site's shape (its daemons' ports, queues, amavisd-new's wiring), written by make build
# from the compiled .cf files: compose's variables for make up (siteconfig/shape.py).
SHAPE_ENV = .build/shape/$(CONFIG_ID)/shape-$(TOPOLOGY).env
$(if $(filter-out dual milter,$(TOPOLOGY)),$(error TOPOLOGY must be dual or milter, got '$(TOPOLOGY)'))
export TESTBED_TOPOLOGY := $(TOPOLOGY)
ifeq ($(TOPOLOGY),milter)  # their tests crash, hang and configure the dual chain's daemons
ifneq ($(filter test-faults test-examples,$(MAKECMDGOALS)),)
$(error make $(filter test-faults test-examples,$(MAKECMDGOALS)) runs on the dual chain only: drop TOPOLOGY=milter (make test TOPOLOGY=milter runs the milter topology's tests))
endif
endif
# docker compose (make up, make build, the harness) reads these files.
export COMPOSE_FILE := compose.yaml$(if $(filter milter,$(TOPOLOGY)),:compose.milter.yaml)

# JUnit XML for CI systems, and a Markdown summary fit for a pull-request comment
# Each target writes its own pair, so one run does not overwrite another's: make test
# reports/junit.xml + summary.md; the others junit-<REPORT>.xml + summary-<REPORT>.md
# (quick, capacity, faults, unit, examples-broken, example-<folder>).
REPORT ?=
# make test runs its tests on two chains at once (pytest-xdist); the capacity-sweep tests, which
# start chains of their own, run in make test-capacity. More chains on 2 cores push the load
# average past sendmail's own limits (QueueLA 16,
# RefuseLA 24: 8 and 12 per CPU), and MTA-TX starts queueing while MTA-RX refuses connections.
TEST_CHAINS ?= 2
PARALLEL_ARGS = $(if $(filter-out 0 1,$(TEST_CHAINS)),-n $(TEST_CHAINS) --dist loadgroup)
# The milter topology's runs are named apart (junit-milter.xml, summary-milter.md), so a run of
# each topology leaves both reports and the summary can set them side by side.
REPORT_NAME = $(if $(REPORT),-$(REPORT))$(if $(filter milter,$(TOPOLOGY)),-milter)
REPORT_ARGS = --junitxml=reports/junit$(REPORT_NAME).xml -o junit_suite_name=testbed$(REPORT_NAME)

# The suite of make test: what the other test targets run is theirs (SLOW=0: without the slow rows).
SUITE_MARKS = not faults and not examples and not capacity and not diff and not switch

.PHONY: help prereqs base config build lint-config up down logs adopt diff switch switch-from tag-of test-diff test-switch test-real test test-quick test-capacity test-faults test-examples test-unit lint capacity capacity-quick capacity-tmpfs capacity-runners capacity-memory capacity-dns capacity-dkim accept-rate burst bench clean clean-images

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

prereqs: ## Install and start Docker Engine + compose v2 if missing (Debian/Ubuntu, root)
	@bash scripts/host-prereqs.sh

base: prereqs ## Make the base image (pulled, or built once with debootstrap)
	@mkdir -p .build && bash scripts/base-image.sh >.build/base-image.$$$$ && mv .build/base-image.$$$$ .build/base-image  # runs may share .build
	@echo "base image: $$(cat .build/base-image)"

config: $(VENV)/.installed ## Assemble CONFIG over the sample; print which file came from where
	@$(VENV)/bin/python -m siteconfig.folder $(CONFIG) $(TESTBED_CONFIG)

build: base config ## Build the images of the chain (from CONFIG); a refused file is named with its line (V=1: Docker's output)
	@echo "building the images of $(CONFIG_PATH) (Docker's output: .build/build-$(CONFIG_ID).log)"
	@TESTBED_BASE_IMAGE=$$(cat .build/base-image) $(VENV)/bin/python -m siteconfig.build
	@$(VENV)/bin/python -m siteconfig.shape

lint-config: build ## Check CONFIG: the document's invariants, policy vs the compiled config, sendmail -bt, amavisd-new, BIND
	@$(VENV)/bin/python -m siteconfig.check

$(VENV)/.installed: pyproject.toml constraints.txt scripts/venv.sh
	@bash scripts/host-prereqs.sh --python-only
	@PYTHON=$(PYTHON) bash scripts/venv.sh $(VENV)

up: lint-config ## Run the chain for a person to poke at (prints where to send mail)
	@# Our own running chain holds these ports; only someone else's is a conflict.
	@[ -n "$$(docker compose ps --quiet 2>/dev/null)" ] || \
	  bash scripts/check-ports.sh $(RX_SMTP_PORT) $(RX_SUBMISSION_PORT) $(OFFICE_SMTP_PORT) $(SINK_API_PORT)
	set -a && . $(SHAPE_ENV) && set +a && docker compose up --detach --wait
	@echo
	@echo "The chain is up (project 'testbed', $(TOPOLOGY) topology):"
	@echo "  SMTP in (outside client):            127.0.0.1:$(RX_SMTP_PORT)     e.g. to alice@testbed.example"
	@echo "  submission (MSA):                    127.0.0.1:$(RX_SUBMISSION_PORT)"
	@echo "  SMTP from the trusted LAN (relays):  127.0.0.1:$(OFFICE_SMTP_PORT)     e.g. to anyone@remote.example"
	@echo "  what reached the Internet (sink):    curl http://127.0.0.1:$(SINK_API_PORT)/api/v1/messages"
ifeq ($(TOPOLOGY),milter)
	@echo "  a local mailbox:                     docker compose exec mta cat /var/mail/alice"
	@echo "  the queue (one MTA):                 docker compose exec mta mailq"
else
	@echo "  a local mailbox:                     docker compose exec tx cat /var/mail/alice"
	@echo "  queues:                              docker compose exec rx mailq -C/etc/mail/sendmail-rx.cf; docker compose exec tx mailq"
endif
	@echo "  logs: make logs      stop: make down"

down: ## Stop the chain of `make up` and remove its containers, networks and volumes
	docker compose down --volumes --remove-orphans --timeout 5

logs: ## Follow the logs of all daemons of `make up`
	docker compose logs --follow

test: lint-config $(VENV)/.installed ## Build, lint the config, run the suite (JUnit + Markdown in reports/)
	TESTBED_SESSION_CHAINS=1 $(VENV)/bin/pytest -m "$(if $(filter 0,$(SLOW)),not slow and )$(SUITE_MARKS)" $(PARALLEL_ARGS) $(REPORT_ARGS) $(PYTEST_ARGS)

test-quick: REPORT = quick
test-quick: lint-config $(VENV)/.installed ## A representative subset: every area but the slow tests (about 1 min)
	TESTBED_SESSION_CHAINS=1 $(VENV)/bin/pytest -m "not slow and $(SUITE_MARKS)" $(REPORT_ARGS) $(PYTEST_ARGS)

test-diff: $(VENV)/.installed ## make diff on two changed copies of the sample: exactly their promises reported, comments alone none (~4 min)
	$(VENV)/bin/pytest -m diff tests/test_diff.py --junitxml=reports/junit-test-diff.xml -o junit_suite_name=testbed-diff $(PYTEST_ARGS)

test-switch: $(VENV)/.installed ## make switch from the sample to a changed copy under load, both orders: nothing lost (~6 min)
	$(VENV)/bin/pytest -m switch tests/test_switch.py --junitxml=reports/junit-test-switch.xml -o junit_suite_name=testbed-switch $(PYTEST_ARGS)

test-capacity: REPORT = capacity
test-capacity: lint-config $(VENV)/.installed ## The load generator's tiny sweeps against chains of their own, both topologies (~9 min)
	@# A tiny sweep runs on each topology: the other topology's images too.
	@$(MAKE) --no-print-directory build TOPOLOGY=$(if $(filter milter,$(TOPOLOGY)),dual,milter)
	$(VENV)/bin/pytest -m capacity $(REPORT_ARGS) $(PYTEST_ARGS)

test-faults: REPORT = faults
test-faults: lint-config $(VENV)/.installed ## Crashes, hangs and low disk under load: nothing acknowledged is lost (~15 min)
	$(VENV)/bin/pytest -m faults $(REPORT_ARGS) $(PYTEST_ARGS)

# Real sites' habits (docs/configuration.md, "Real sites' configurations"): each folder runs the modules its
# habits touch (routing, relaying, rejection, submission, greeting and throttles) on one
# chain; `make test CONFIG=config/examples/<folder>` runs the whole suite on it (docs/configuration.md's table).
HABIT_EXAMPLES := fedora-dual freebsd-style debian-habits redhat-legacy
HABIT_TESTS := tests/test_routing.py tests/test_open_relay.py tests/test_rejection.py tests/test_submission.py tests/test_protocol_abuse.py
test-examples: $(VENV)/.installed ## Real sites' habits run, broken configs are refused by lint with file, line and cause, and the features the sample leaves off (~20 min)
	@# The sample's images first: the broken examples' 90 s bound is for their own layers.
	$(MAKE) --no-print-directory build
	$(VENV)/bin/pytest -m examples tests/examples --junitxml=reports/junit-examples-broken.xml -o junit_suite_name=testbed-examples-broken $(PYTEST_ARGS)
	@for example in $(HABIT_EXAMPLES); do \
	  $(MAKE) --no-print-directory test CONFIG=config/examples/$$example REPORT=example-$$example TEST_CHAINS=1 \
	    PYTEST_ARGS="-m 'not slow' $(HABIT_TESTS)" || exit 1; done
	$(MAKE) test CONFIG=config/examples/partial-filtering REPORT=example-partial-filtering TEST_CHAINS=1 PYTEST_ARGS="tests/test_routing.py -k 'unchecked or relay_domain'"
	$(MAKE) test CONFIG=config/examples/dns-world REPORT=example-dns-world TEST_CHAINS=1 PYTEST_ARGS="tests/test_dns.py"
	@# A site shaped unlike the sample: IPv6 daemons, no MSA, MTA-TX on loopback port 24, bulk* queues.
	$(MAKE) test CONFIG=config/examples/lists-bulk REPORT=example-lists-bulk TEST_CHAINS=1 \
	  PYTEST_ARGS="-m 'not slow' $(HABIT_TESTS) tests/test_ports.py tests/test_exposure.py tests/test_advice.py tests/test_queue_only.py"
	@# A Debian site's own milters, run from their packages as shipped (images/common/site-milters).
	$(MAKE) test CONFIG=config/examples/packaged-milters REPORT=example-packaged-milters TEST_CHAINS=1 \
	  PYTEST_ARGS="-m 'not slow' $(HABIT_TESTS) tests/test_site_milters.py"

test-real: build ## Real hosts' .mc files from Debian's sendmail-cf, adopted and run in both topologies, each against its outcome in tests/real/outcomes.toml (~10 min; SITES=, TOPOLOGIES=dual|milter, JOBS=2, RECORD=1 prints what it saw)
	@RECORD=$(RECORD) REAL_TOPOLOGIES="$(TOPOLOGIES)" REAL_JOBS=$(JOBS) $(VENV)/bin/python -m siteconfig.adopt.real $(SITES)

diff: $(VENV)/.installed ## What a change changes: OLD=folder-or-git-revision [NEW=folder, default CONFIG] [EXPECT='section.key ...'] both run side by side; reports/diff.md (~4 min)
	@$(if $(OLD),,$(error make diff needs OLD=the configuration before the change: a folder, or a git revision of NEW's folder (OLD=origin/main)))
	@DIFF_EXPECT="$(EXPECT)" $(VENV)/bin/python -m siteconfig.diff "$(OLD)" "$(or $(NEW),$(CONFIG))"

switch: $(VENV)/.installed ## A chain on OLD switched to NEW under load, as a site deploys (MTA-TX, amavisd-new, MTA-RX in turn; and all at once): OLD= NEW= [ORDERS=rolling,oneshot] [RATE=2]; exit 1 on any loss (~6 min)
	@$(if $(and $(OLD),$(NEW)),,$(error make switch needs OLD=folder (the running configuration) and NEW=folder (the change)))
	@$(MAKE) --no-print-directory lint-config CONFIG="$(NEW)"
	@$(MAKE) --no-print-directory switch-from CONFIG="$(OLD)" TO="$$($(MAKE) -s --no-print-directory tag-of CONFIG="$(NEW)")"

switch-from: lint-config
	$(VENV)/bin/python -m loadgen switch --to-tag $(word 1,$(TO)) --to-config $(word 2,$(TO)) $(if $(ORDERS),--orders $(ORDERS)) $(if $(RATE),--rate $(RATE)) $(LOADGEN_ARGS)

tag-of:  # the image tag and assembled folder of CONFIG, for make switch
	@echo $(TESTBED_TAG) $(TESTBED_CONFIG)

adopt: $(VENV)/.installed ## Split a site's one sendmail .mc into the document's pair: MC=path/to/sendmail.mc [OUT=folder] (seconds)
	@$(if $(MC),,$(error make adopt needs MC=path/to/the site's sendmail.mc (and writes OUT, default adopted/<its name>)))
	@$(VENV)/bin/python -m siteconfig.adopt $(MC) $(OUT)

test-unit: REPORT = unit
test-unit: config ## Unit tests only: no Docker, seconds (the policy comes from the assembled config)
	$(VENV)/bin/pytest tests/unit $(REPORT_ARGS) $(PYTEST_ARGS)

lint: $(VENV)/.installed ## ruff over the harness, siteconfig, loadgen, the tests and the sink; no import circles among them
	$(VENV)/bin/ruff check harness siteconfig loadgen tests images/sink images/dns/world_zone.py scripts/import-circles.py
	$(VENV)/bin/python scripts/import-circles.py

EXPERIMENT_WORKERS ?= 3
CLIFF_WORKERS ?= 8
CLIFF_MEMORY ?= 300m
SWEEP = $(VENV)/bin/python -m loadgen sweep

capacity: lint-config $(VENV)/.installed ## Capacity sweep, 1 2 3 5 8 workers: intervals, common-rate latency, cost, knee (~13 min)
	$(SWEEP) $(LOADGEN_ARGS)

capacity-quick: lint-config $(VENV)/.installed ## A short sweep (1 2 4 workers, 28 s saturated each): a first look (~4 min)
	$(SWEEP) --quick --messages 800 $(LOADGEN_ARGS)

capacity-tmpfs: lint-config $(VENV)/.installed ## Experiment: amavisd-new's work directory on tmpfs vs disk (~6 min)
	$(SWEEP) --workers "$(EXPERIMENT_WORKERS)" --variants shipped,tmpfs $(LOADGEN_ARGS)

capacity-runners: lint-config $(VENV)/.installed ## Experiment: R (queue runners) twice amavisd-new's max_servers vs equal (~6 min)
	$(SWEEP) --workers "$(EXPERIMENT_WORKERS)" --variants shipped,runners=2x $(LOADGEN_ARGS)

capacity-dkim: lint-config $(VENV)/.installed ## Experiment: DKIM signing at MTA-TX on (as shipped) vs off: its cost per message (~6 min)
	$(SWEEP) --workers "$(EXPERIMENT_WORKERS)" --variants shipped,no-dkim $(LOADGEN_ARGS)

capacity-dns: lint-config $(VENV)/.installed ## Experiment: SpamAssassin's network tests at DNS latency 0 vs 200 ms (~29 min)
	$(SWEEP) --variants sa-network,sa-network+dns=200ms $(LOADGEN_ARGS)

capacity-memory: lint-config $(VENV)/.installed ## Experiment: too many workers in too little memory (~6 min)
	$(SWEEP) --workers "$(CLIFF_WORKERS)" --variants shipped,memory=$(CLIFF_MEMORY) $(LOADGEN_ARGS)

accept-rate: lint-config $(VENV)/.installed ## MTA-RX's accept rate, a new connection per message: testbed DNS vs Docker's (~5 min)
	$(VENV)/bin/python -m loadgen accept $(LOADGEN_ARGS)

burst: lint-config $(VENV)/.installed ## Experiment: 20 50 100 200 SMTP sessions at once, dual chain vs milter: filter concurrency, time to 250 (~16 min)
	@# Both topologies' chains: the other topology's images too.
	@$(MAKE) --no-print-directory build TOPOLOGY=$(if $(filter milter,$(TOPOLOGY)),dual,milter)
	$(VENV)/bin/python -m loadgen burst $(LOADGEN_ARGS)

bench: $(VENV)/.installed ## The load generator's own msg/s vs Postfix's smtp-source, into a null sink
	$(VENV)/bin/python -m loadgen bench $(LOADGEN_ARGS)

clean: ## Remove this project's containers, networks and volumes (of every run, also failed ones)
	@bash scripts/clean.sh

clean-images: clean ## Also remove the built images, of every CONFIG (the debootstrap base stays cached)
	-docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '^testbed-(rx|tx|milter|amavis|dns|sink):' | xargs -r docker image rm
	rm -rf .build/config
