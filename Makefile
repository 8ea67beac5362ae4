# The README's two commands: `make up` runs the platform on a local stack of real components,
# `make test` runs the whole suite. Both set up a fresh machine first (deploy/bootstrap.sh).
SHELL := /bin/bash
.DEFAULT_GOAL := help
BIN := .venv/bin
PYTEST_ARGS ?=

.PHONY: help install lock up down status test test-unit lint topics bench-kafka bench-vault bench-gate bench-timeline bench-uow bench-checkout bench-relay compose-config

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

install:  ## install uv and the workspace into .venv from requirements.lock
	@deploy/bootstrap.sh

lock:  ## re-resolve dependencies after a pyproject change and rewrite requirements.lock
	@uv lock --quiet && uv export --quiet --frozen --all-packages --all-groups --no-emit-workspace \
	  --no-header --format requirements-txt -o requirements.lock && rm -f uv.lock && $(MAKE) -s install

up: install  ## run the platform: Kafka, SecantusDB, stripe-mock, fake Stripe, the topics, the five services
	@$(BIN)/devstack up && eval "$$($(BIN)/devstack env)" && $(BIN)/buybutton-topics provision && \
	  $(BIN)/devstack up --services && $(BIN)/devstack status

down: install  ## stop the local stack and the services
	@$(BIN)/devstack down

status: install  ## show each component and service and whether it answers
	@$(BIN)/devstack status

# Endpoints given in the environment, or a Docker engine (testcontainers), are used as they
# are; otherwise the local stack is started for the run and stopped after it. After pytest,
# `devstack scan-cards` reads the stack's files and every topic for card numbers; the target
# fails if either fails. With testcontainers there is nothing left to scan: they are gone.
TEST_THEN_SCAN = $(BIN)/pytest $(PYTEST_ARGS); tests=$$?; $(BIN)/devstack scan-cards; scan=$$?; \
  exit $$(( tests ? tests : scan ))
test: install  ## run every test against real Kafka, MongoDB and stripe-mock, then scan for card numbers
	@if [ -n "$$KAFKA_BOOTSTRAP_SERVERS" ]; then \
	  $(TEST_THEN_SCAN); \
	elif docker info >/dev/null 2>&1; then \
	  $(BIN)/pytest $(PYTEST_ARGS); tests=$$?; \
	  echo "scan-cards: not run, the test containers are gone"; exit $$tests; \
	else \
	  $(BIN)/devstack run -- bash -c '$(TEST_THEN_SCAN)'; \
	fi

test-unit: install  ## run only the tests that need no running component
	@$(BIN)/pytest -m "not stack" $(PYTEST_ARGS)

lint: install  ## ruff and mypy
	@$(BIN)/ruff check . && $(BIN)/ruff format --check . && \
	  $(BIN)/mypy shared/buybutton deploy/devstack/devstack services/*/*_*/

topics: install  ## provision the registry's topics on KAFKA_BOOTSTRAP_SERVERS (or the local stack)
	@[ -n "$$KAFKA_BOOTSTRAP_SERVERS" ] || eval "$$($(BIN)/devstack env)"; $(BIN)/buybutton-topics provision

bench-kafka: install  ## baseline: produce->consume hop latency and throughput on the local broker
	@$(BIN)/devstack run -- $(BIN)/python bench/kafka_hop.py

bench-vault: install  ## vault saves/reads per second against raw pymongo and raw AES-GCM
	@$(BIN)/devstack run -- $(BIN)/python bench/vault_profiles.py

bench-gate: install  ## rollout gate decisions per second against raw hashing
	@$(BIN)/python bench/rollout_gate.py

bench-timeline: install  ## timeline requests per second against a hello-world endpoint of the same service
	@$(BIN)/devstack run -- $(BIN)/python bench/timeline.py

bench-uow: install  ## unit-of-work commits per second against raw update_one, and the relay's rate
	@$(BIN)/devstack run -- $(BIN)/python bench/unit_of_work.py

# The shop it opens is the end-to-end tests' (tests/e2e/shop_support.py and its test data).
BENCH_SHOP_PATH := tests/e2e:services/checkout-service/tests:shared/tests/support
bench-checkout: install  ## checkout's tap-to-PaymentCaptured latency and sustained orders/s against a Kafka hop and raw writes
	@if [ -n "$$KAFKA_BOOTSTRAP_SERVERS" ]; then \
	  PYTHONPATH=$(BENCH_SHOP_PATH) $(BIN)/python bench/checkout.py; \
	else \
	  PYTHONPATH=$(BENCH_SHOP_PATH) $(BIN)/devstack run -- $(BIN)/python bench/checkout.py; \
	fi

# The relay's receiver and test data are its tests' (services/merchant-relay/tests/relay_support.py).
BENCH_RELAY_PATH := services/merchant-relay/tests
bench-relay: install  ## signed webhooks/s against raw POSTs/s to the same receiver, PaymentCaptured-to-merchant latency
	@if [ -n "$$KAFKA_BOOTSTRAP_SERVERS" ]; then \
	  PYTHONPATH=$(BENCH_RELAY_PATH) $(BIN)/python bench/relay.py; \
	else \
	  PYTHONPATH=$(BENCH_RELAY_PATH) $(BIN)/devstack run -- $(BIN)/python bench/relay.py; \
	fi

compose-config:  ## validate docker-compose.yml
	@if command -v docker-compose >/dev/null; then docker-compose config -q; else docker compose config -q; fi
