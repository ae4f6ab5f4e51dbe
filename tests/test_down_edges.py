"""`down` and `up` where a run was cut short or the account holds what is not ours: every
leftover of the stack goes, what is not ours stays, and a brief "not found" is not a failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from access_fixtures import run
from conftest import REGION, write_config
from inventory import inventory

from gatewayproxy.errors import GatewayProxyError
from gatewayproxy.resources import listener


def left(region: str = REGION) -> dict[str, list[str]]:
    return {kind: items for kind, items in inventory(region).items() if items}


def test_down_after_the_port_was_edited_deletes_the_old_ports_group(
        moto_account: None, config_file: Path) -> None:
    assert run("up", config=config_file).exit_code == 0
    write_config(config_file, **{"port = 8080": "port = 9090"})  # edited, never applied
    result = run("down", "--yes", config=config_file)
    assert result.exit_code == 0, result.output
    assert left() == {}


def test_down_after_a_port_change_cut_short_before_the_listener_moved(
        moto_account: None, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The listener still forwards to the old group: it goes first, then every group."""
    assert run("up", config=config_file).exit_code == 0
    write_config(config_file, **{"port = 8080": "port = 9090"})

    def broken(self: Any, ctx: Any, found: Any, changes: Any) -> Any:
        raise GatewayProxyError("the listener could not move")

    with monkeypatch.context() as patch:
        patch.setattr(listener.Listener, "update", broken)
        assert run("up", config=config_file).exit_code == 1
    result = run("down", "--yes", config=config_file)
    assert result.exit_code == 0, result.output
    assert left() == {}


def test_an_nlb_briefly_unknown_right_after_its_create_is_waited_for(
        moto_account: None, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.elbv2 import exceptions, models

    original = models.ELBv2Backend.describe_load_balancers
    misses = []

    def eventually(self: Any, arns: Any, names: Any) -> Any:
        if arns and not names and not misses:
            misses.append(arns)
            raise exceptions.LoadBalancerNotFoundError()
        return original(self, arns, names)

    monkeypatch.setattr(models.ELBv2Backend, "describe_load_balancers", eventually)
    result = run("up", config=config_file)
    assert result.exit_code == 0, result.output
    assert misses  # it did answer "not found" once


@pytest.mark.parametrize("when", ["before up", "after up"])
def test_down_leaves_a_log_group_that_is_not_ours_and_deletes_the_rest(
        moto_account: None, config_file: Path, when: str) -> None:
    logs = boto3.client("logs", region_name=REGION)
    if when == "before up":  # `up` refuses it, after it made part of the stack
        logs.create_log_group(logGroupName="/gatewayproxy/quizapi")
        assert run("up", config=config_file).exit_code == 1
    else:
        assert run("up", config=config_file).exit_code == 0
        logs.untag_log_group(logGroupName="/gatewayproxy/quizapi", tags=["gatewayproxy:stack"])
    result = run("down", "--yes", config=config_file)
    assert result.exit_code == 0, result.output
    assert left() == {"log_groups": ["/gatewayproxy/quizapi"]}
