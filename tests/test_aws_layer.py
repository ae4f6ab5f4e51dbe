"""The AWS layer's shared primitives on fake clients: what they send, when they stop, what they
raise."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest
from conftest import FakeClock

from gatewayproxy.aws import Aws, Target
from gatewayproxy.errors import AwsError


class Pages:
    """Answers describe_target_groups from fixed pages, as ELBv2 does (NextMarker -> Marker)."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.sent: list[dict[str, Any]] = []

    def describe_target_groups(self, **params: Any) -> dict[str, Any]:
        self.sent.append(params)
        return self.pages[len(self.sent) - 1]


def _aws(client: Pages, clock: FakeClock) -> Aws:
    aws = Aws(Target(region="eu-west-1"), clock=clock, max_poll=0)
    aws._clients["elbv2"] = client
    return aws


PAGES = [{"TargetGroups": [{"n": 1}, {"n": 2}], "NextMarker": "m1"},
         {"TargetGroups": [{"n": 3}], "NextMarker": "m2"},
         {"TargetGroups": []}]


def test_pages_follows_the_token_under_the_name_the_call_takes(clock: FakeClock) -> None:
    client = Pages(PAGES)
    found = list(_aws(client, clock).pages("elbv2", "describe_target_groups", items="TargetGroups",
                                           token="NextMarker", send_as="Marker", PageSize=2))
    assert [g["n"] for g in found] == [1, 2, 3]
    assert client.sent == [{"PageSize": 2}, {"PageSize": 2, "Marker": "m1"},
                           {"PageSize": 2, "Marker": "m2"}]


def test_a_lookup_that_finds_early_asks_for_no_further_page(clock: FakeClock) -> None:
    client = Pages(PAGES)
    pages = _aws(client, clock).pages("elbv2", "describe_target_groups", items="TargetGroups",
                                      token="NextMarker", send_as="Marker")
    assert next(g for g in pages if g["n"] == 2) == {"n": 2}
    assert len(client.sent) == 1


class Roles:
    """Answers get_role the way IAM does for a missing role, and for a caller not allowed to look."""

    def __init__(self, code: str) -> None:
        self.code = code

    def get_role(self, **params: Any) -> dict[str, Any]:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": self.code, "Message": "no"}}, "GetRole")


def test_find_is_none_only_when_aws_says_the_resource_does_not_exist(clock: FakeClock) -> None:
    aws = Aws(Target(region="eu-west-1"), clock=clock, max_poll=0)
    aws._clients["iam"] = Roles("NoSuchEntity")
    assert aws.find("iam", "get_role", RoleName="gone") is None
    aws._clients["iam"] = Roles("AccessDenied")
    with pytest.raises(AwsError) as denied:
        aws.find("iam", "get_role", RoleName="hidden")
    assert denied.value.code == "AccessDenied"
