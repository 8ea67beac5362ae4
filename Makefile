# The README's two commands: `make up` runs the platform on a local stack of real components,
# `make test` runs the whole suite. Both set up a fresh machine first (deploy/bootstrap.sh).
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV = $(shell deploy/bootstrap.sh)
PYTEST_ARGS ?=

.PHONY: help install up down status test test-unit lint topics bench-kafka compose-config

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

install:  ## install uv and the Python workspace from uv.lock
	@deploy/bootstrap.sh >/dev/null

up:  ## run the platform: Kafka, FerretDB, stripe-mock, the topics, then the five services
	@uv=$(UV); $$uv run --frozen devstack up && \
	  eval "$$($$uv run --frozen devstack env)" && $$uv run --frozen buybutton-topics provision && \
	  $$uv run --frozen devstack up --services && $$uv run --frozen devstack status

down:  ## stop the local stack
	@$(UV) run --frozen devstack down

status:  ## show the local stack's components and whether they answer
	@$(UV) run --frozen devstack status

# Endpoints given in the environment, or a Docker engine (testcontainers), are used as they
# are; otherwise the local stack is started for the run and stopped after it.
test:  ## run every test against real Kafka, MongoDB and stripe-mock
	@uv=$(UV); \
	if [ -n "$$KAFKA_BOOTSTRAP_SERVERS" ] || docker info >/dev/null 2>&1; then \
	  $$uv run --frozen pytest $(PYTEST_ARGS); \
	else \
	  $$uv run --frozen devstack run -- pytest $(PYTEST_ARGS); \
	fi

test-unit:  ## run only the tests that need no running component
	@$(UV) run --frozen pytest -m "not stack" $(PYTEST_ARGS)

lint:  ## ruff and mypy
	@uv=$(UV); $$uv run --frozen ruff check . && $$uv run --frozen mypy shared/buybutton deploy/devstack/devstack services/*/*_*/

topics:  ## provision the registry's topics on KAFKA_BOOTSTRAP_SERVERS (or the local stack)
	@uv=$(UV); eval "$$($$uv run --frozen devstack env)"; $$uv run --frozen buybutton-topics provision

bench-kafka:  ## baseline: produce->consume hop latency and throughput on the local broker
	@$(UV) run --frozen devstack run -- python bench/kafka_hop.py

compose-config:  ## validate docker-compose.yml
	@if command -v docker-compose >/dev/null; then docker-compose config -q; else docker compose config -q; fi
