"""Two Kafka admin requests that aiokafka's admin client does not offer, as wire structs for its
protocol layer: AlterUserScramCredentials (API 51, KIP-554: create or replace a user's SCRAM
credential, stored by the KRaft controller) and CreateAcls v2 (API 30, the flexible version
every broker from 2.6 to 4.x accepts).

Consumes nothing and produces nothing by itself: ``broker_access`` builds these and sends them
through an ``AIOKafkaAdminClient``. The rule it keeps: a SCRAM credential goes over the wire as
salt, iterations and salted password (RFC 5802's Hi), never the password itself.

(aiokafka ships no type information, hence the ``type: ignore[misc]`` on each subclass.)
"""

from __future__ import annotations

from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

SCRAM_SHA_512 = 2  # Kafka's ScramMechanism code (SCRAM-SHA-256 is 1)

# AclResourceType, PatternType, AclOperation and AclPermissionType codes (Kafka's common.acl)
RESOURCE_TOPIC = 2
RESOURCE_GROUP = 3
PATTERN_LITERAL = 3
PATTERN_PREFIXED = 4
OPERATION_READ = 3
OPERATION_DESCRIBE = 8
PERMISSION_ALLOW = 3

Acl = tuple[int, str, int, str, str, int, int]
"""(resource type, resource name, pattern type, principal, host, operation, permission)."""


class AlterUserScramCredentialsResponse_v0(Response):  # type: ignore[misc]
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest_v0(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = AlterUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest(Request[AlterUserScramCredentialsRequest_v0]):  # type: ignore[misc]
    API_KEY = 51

    def __init__(self, user: str, *, iterations: int, salt: bytes, salted_password: bytes) -> None:
        self._upsertion: tuple[object, ...] = (user, SCRAM_SHA_512, iterations, salt, salted_password, {})

    def build(
        self, request_struct_class: type[AlterUserScramCredentialsRequest_v0]
    ) -> AlterUserScramCredentialsRequest_v0:
        return request_struct_class([], [self._upsertion], {})


class CreateAclsResponse_v2(Response):  # type: ignore[misc]
    API_KEY = 30
    API_VERSION = 2
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class CreateAclsRequest_v2(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 30
    API_VERSION = 2
    RESPONSE_TYPE = CreateAclsResponse_v2
    SCHEMA = Schema(
        (
            "creations",
            CompactArray(
                ("resource_type", Int8),
                ("resource_name", CompactString("utf-8")),
                ("resource_pattern_type", Int8),
                ("principal", CompactString("utf-8")),
                ("host", CompactString("utf-8")),
                ("operation", Int8),
                ("permission_type", Int8),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class CreateAclsRequest(Request[CreateAclsRequest_v2]):  # type: ignore[misc]
    API_KEY = 30

    def __init__(self, acls: list[Acl]) -> None:
        self._acls = acls

    def build(self, request_struct_class: type[CreateAclsRequest_v2]) -> CreateAclsRequest_v2:
        return request_struct_class([(*acl, {}) for acl in self._acls], {})
