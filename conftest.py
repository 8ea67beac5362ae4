"""Fixtures for every test in the repository: the real components' endpoints and per-test
isolation (topics, consumer groups, databases). See deploy/devstack/devstack/pytest_fixtures.py."""

pytest_plugins = ["devstack.pytest_fixtures"]
