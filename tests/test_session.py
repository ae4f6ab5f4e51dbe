"""StackSession: one command's config, state, AWS clients, lock and target check."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FakeClock

from gatewayproxy.errors import ConfigError, StateError, WrongTargetError
from gatewayproxy.session import Options, StackSession
from gatewayproxy.state import default_path


def test_open_loads_the_config_and_its_state_beside_it(config_file: Path) -> None:
    session = StackSession.open(Options(config=config_file))
    assert session.config.name == "quizapi"
    assert session.state.path == default_path(config_file, "quizapi")


def test_aws_is_built_on_first_use_from_the_options(config_file: Path,
                                                    clock: FakeClock) -> None:
    session = StackSession.open(Options(config=config_file, sandbox=True))
    assert session.state.is_empty  # no sandbox runs, yet reading the state needs none
    with pytest.raises(ConfigError, match="no sandbox is running"):
        session.aws  # noqa: B018 - the property builds the clients
    session = StackSession.open(Options(config=config_file, region="us-west-2"), clock=clock,
                                max_poll=0.0)
    assert (session.aws.region, session.aws.clock, session.aws.max_poll) == (
        "us-west-2", clock, 0.0)
    assert session.ctx.aws is session.aws


def test_locked_refuses_a_second_writer(config_file: Path) -> None:
    session = StackSession.open(Options(config=config_file))
    with session.locked("up"), pytest.raises(StateError, match="another gatewayproxy \\(up"), \
            StackSession.open(Options(config=config_file)).locked("down"):
        pass
    with session.locked("down"):  # released when the first command ended
        pass


def test_check_target_refuses_another_region_and_keeps_the_progress_hook(
        moto_account: None, config_file: Path) -> None:
    session = StackSession.open(Options(config=config_file))
    session.state.set_target(account_id="123456789012", region="us-west-2", endpoint_url=None)

    def report(step: str, message: str) -> None:
        """The hook a running engine set."""

    session.ctx.report = report
    with pytest.raises(WrongTargetError, match="lives in region us-west-2"):
        session.check_target()
    assert session.ctx.report is report
    StackSession.open(Options(config=config_file, region="us-west-2")).check_target()
