"""The local stack: real Apache Kafka (KRaft), SecantusDB and stripe-mock as processes on
127.0.0.1, beside our own fake Stripe server (``devstack.fake_stripe``: state, declines,
3-D Secure, idempotent replay, faults, counted charges).

For machines without a Docker engine. ``devstack up`` installs each component once into a
cache (Kafka jars through Maven, SecantusDB from PyPI into its own virtual environment,
stripe-mock through the Go toolchain), starts them, and waits until each really answers;
``devstack down`` stops exactly what it started.
Logs, pid files and data live in one ignored folder (``.devstack/`` at the repository root).
"""
