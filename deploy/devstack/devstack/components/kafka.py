"""Apache Kafka in KRaft combined mode (one broker that is also its own controller).

Install: the broker jars and a logging binding, fetched by Maven from the pom in resources/.
Prepare: ``kafka.tools.StorageTool format`` of the data folder, once. Start: ``kafka.Kafka``.
Ready when an admin client can list topics on the platform's listener.

Two client listeners. PLAINTEXT (``kafka_port``) is the platform's: its connections are
User:ANONYMOUS, a super user, so the platform's services work as they did before ACLs existed.
MERCHANT (``kafka_merchant_port``, SASL_PLAINTEXT with SCRAM-SHA-512) is the partner merchants':
each authenticates with the credential created when it was onboarded and the StandardAuthorizer
lets it do only what its ACLs allow (no ACL found = refused). The controller listener is
PLAINTEXT too, so the broker's own calls to its controller are the super user's.

Configuration is written on every start and a data folder formatted by an earlier version keeps
working; a broker that is still running from before the merchant listener existed is reported by
``configuration_drift`` (a restart picks the new configuration up).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import uuid
from importlib.resources import files
from pathlib import Path

from devstack.components.base import Component, content_key, require_tool, run_logged

RESOURCES = Path(str(files("devstack") / "resources" / "kafka"))


class Kafka(Component):
    name = "kafka"

    def cache_key(self) -> str:
        return content_key(RESOURCES / "pom.xml")

    def check_tools(self) -> None:
        require_tool(
            "java", "Kafka needs a Java runtime 17+ (Debian: apt-get install openjdk-17-jdk-headless)"
        )
        require_tool("mvn", "Kafka's jars are fetched with Maven (Debian: apt-get install maven)")

    def install(self) -> None:
        run_logged(
            [
                "mvn",
                "-B",
                "-q",
                "-f",
                str(RESOURCES / "pom.xml"),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={self.install_dir / 'libs'}",
            ],
            log_file=self.install_dir / "install.log",
            cwd=self.install_dir,
            what="fetching the Kafka jars with Maven",
        )

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir / "kafka"

    @property
    def properties_file(self) -> Path:
        return self.settings.run_dir / "kafka.properties"

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.settings.kafka_port}"

    @property
    def merchant_address(self) -> str:
        """The merchants' SASL/SCRAM listener (bootstrap address for merchants' clients)."""
        return f"{self.settings.host}:{self.settings.kafka_merchant_port}"

    def merchant_listener_answers(self) -> bool:
        try:
            with socket.create_connection((self.settings.host, self.settings.kafka_merchant_port), timeout=1):
                return True
        except OSError:
            return False

    def configuration_drift(self) -> str | None:
        """Why the running broker does not have this configuration, or None if it does."""
        if self.merchant_listener_answers():
            return None
        return (
            f"the broker on {self.address} has no merchant listener on {self.merchant_address} "
            "(it was started before SASL/ACLs were configured); restart it when nobody relies "
            "on it: devstack down && devstack up"
        )

    def _java(self, main_class: str, *args: str) -> list[str]:
        heap = self.settings.kafka_heap
        return [
            "java",
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{RESOURCES / 'log4j.properties'}",
            "-cp",
            str(self.install_dir / "libs" / "*"),
            main_class,
            *args,
        ]

    def _write_properties(self) -> None:
        s = self.settings
        controller = f"{s.host}:{s.kafka_controller_port}"
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{controller}",
            "listeners": (
                f"PLAINTEXT://{self.address},CONTROLLER://{controller},MERCHANT://{self.merchant_address}"
            ),
            "advertised.listeners": f"PLAINTEXT://{self.address},MERCHANT://{self.merchant_address}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": (
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,MERCHANT:SASL_PLAINTEXT"
            ),
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.merchant.sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.merchant.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            # the platform's listener and the controller's are unauthenticated: their principal
            # is ANONYMOUS, which keeps every right; merchants get only what an ACL grants
            "super.users": "User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
            "log.dirs": str(self.data_dir),
            "num.partitions": "3",
            # topics are declared in the registry and provisioned; a typo must fail, not create
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "min.insync.replicas": "1",
            "log.retention.check.interval.ms": "60000",
        }
        self.properties_file.parent.mkdir(parents=True, exist_ok=True)
        self.properties_file.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))

    def prepare(self) -> None:
        self._write_properties()
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        run_logged(
            self._java(
                # one argument: an id that starts with "-" (1 in 64) would be read as an option
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",
                "-c",
                str(self.properties_file),
            ),
            log_file=self.settings.log_file(self.name),
            cwd=self.settings.state_dir,
            what="formatting the Kafka data folder",
        )

    def command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.properties_file))

    def probe(self) -> None:
        # a refused connection is the common case while the JVM starts: answer it cheaply and
        # without the client's own error logging
        with socket.create_connection((self.settings.host, self.settings.kafka_port), timeout=1):
            pass
        asyncio.run(_list_topics(self.address))


async def _list_topics(bootstrap: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    await admin.start()
    try:
        await admin.list_topics()
    finally:
        await admin.close()
