"""`gatewayproxy doctor`: every hop of a healthy stack is ok; each broken one is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from access_fixtures import run

from gatewayproxy import doctor


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """As against the sandbox (an endpoint URL): no test invocation."""
    monkeypatch.setattr(doctor, "real_aws", lambda ctx: False)


def test_healthy_stack_passes(moto_account: None, config_file: Path, sandbox: None) -> None:
    assert run("up", config=config_file).exit_code == 0
    result = run("doctor", config=config_file)
    print(result.output)
    assert result.exit_code == 0, result.output
    hops = json.loads(run("doctor", "--json", config=config_file).stdout)
    print(json.dumps(hops, indent=1))
