"""Apache Kafka in KRaft combined mode (one broker that is also its own controller).

Install: the broker jars and a logging binding, fetched by Maven from the pom in resources/.
Prepare: ``kafka.tools.StorageTool format`` of the data folder, once. Start: ``kafka.Kafka``.
Ready when an admin client can list topics.
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
            "listeners": f"PLAINTEXT://{self.address},CONTROLLER://{controller}",
            "advertised.listeners": f"PLAINTEXT://{self.address}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
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
                "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.properties_file)
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
