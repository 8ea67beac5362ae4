"""What onboarding grants, without a broker: exactly three ACLs for the merchant's own principal,
and merchant ids whose group prefix could cover another merchant's groups refused."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from merchant_relay.broker_access import (
    OnboardingRefused,
    merchant_acls,
    merchant_group_prefix,
    onboard_merchant,
)
from merchant_relay.broker_requests import (
    OPERATION_DESCRIBE,
    OPERATION_READ,
    PATTERN_LITERAL,
    PATTERN_PREFIXED,
    RESOURCE_GROUP,
    RESOURCE_TOPIC,
)


def test_a_merchant_is_granted_reading_its_topic_and_its_prefixed_groups_only() -> None:
    acls = merchant_acls("puddle-and-co", "merchant.puddle-and-co.orders.v1")

    granted = {(kind, name, pattern, operation) for kind, name, pattern, _, _, operation, _ in acls}
    assert granted == {
        (RESOURCE_TOPIC, "merchant.puddle-and-co.orders.v1", PATTERN_LITERAL, OPERATION_READ),
        (RESOURCE_TOPIC, "merchant.puddle-and-co.orders.v1", PATTERN_LITERAL, OPERATION_DESCRIBE),
        (RESOURCE_GROUP, "merchant-puddle-and-co.", PATTERN_PREFIXED, OPERATION_READ),
    }
    assert {principal for _, _, _, principal, _, _, _ in acls} == {"User:merchant-puddle-and-co"}


def test_one_merchants_group_prefix_never_covers_anothers_groups() -> None:
    assert not f"{merchant_group_prefix('puddle-and-co')}orders".startswith(merchant_group_prefix("puddle"))


@pytest.mark.parametrize("merchant_id", ["puddle.and.co", "puddle:co", "", "puddle co", "p" * 101])
async def test_ids_that_could_overlap_or_do_not_fit_a_topic_are_refused(merchant_id: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers="127.0.0.1:9")  # never reached: refused first

    with pytest.raises(OnboardingRefused):
        await onboard_merchant(admin, merchant_id)
