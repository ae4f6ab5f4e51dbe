"""The smaller commands: init, logs, url, --version, --help, and what start-up imports."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import boto3
import click
import pytest
from click.testing import CliRunner, Result
from conftest import REGION

from gatewayproxy import __version__, config, cost
from gatewayproxy.cli import main


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_init_writes_a_config_that_up_accepts(tmp_path: Path) -> None:
    target = tmp_path / "quiz-api" / "gatewayproxy.toml"
    target.parent.mkdir()
    result = invoke("init", "-c", str(target), "--image", "ghcr.io/acme/quiz:1.0", "--port", "8080")
    assert result.exit_code == 0, result.output
    loaded = config.load(target)
    assert (loaded.name, loaded.image, loaded.port) == ("quiz-api", "ghcr.io/acme/quiz:1.0", 8080)
    assert "# " in target.read_text()  # commented, for a human to read


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "gatewayproxy.toml"
    target.write_text("mine")
    result = invoke("init", "-c", str(target), "--name", "quizapi")
    assert result.exit_code == 1 and "pass --force" in result.output
    assert target.read_text() == "mine"
    assert invoke("init", "-c", str(target), "--name", "quizapi", "--force").exit_code == 0
    assert config.load(target).name == "quizapi"


def test_init_rejects_a_bad_name_before_writing(tmp_path: Path) -> None:
    target = tmp_path / "gatewayproxy.toml"
    result = invoke("init", "-c", str(target), "--name", "Not_Valid")
    assert result.exit_code == 1 and "stack.name" in result.output
    assert not target.exists()


def test_logs_prints_the_container_log_lines(moto_account: None, config_file: Path) -> None:
    assert invoke("up", "-c", str(config_file)).exit_code == 0
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_stream(logGroupName="/gatewayproxy/quizapi", logStreamName="app/app/0123abcd")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="/gatewayproxy/quizapi", logStreamName="app/app/0123abcd",
                        logEvents=[{"timestamp": now - 120_000, "message": "started"},
                                   {"timestamp": now - 1_000, "message": "GET /answers 200"}])
    result = invoke("logs", "-c", str(config_file), "--since", "10m")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(" ", 2)[1:] for line in lines] == [["0123abcd", "started"],
                                                          ["0123abcd", "GET /answers 200"]]
    recent = invoke("logs", "-c", str(config_file), "--since", "30s")
    assert recent.stdout.splitlines()[0].endswith("GET /answers 200")
    assert len(recent.stdout.splitlines()) == 1


@pytest.mark.parametrize("since", ["10", "ten minutes", "5w", "-1m"])
def test_logs_rejects_a_bad_since(config_file: Path, since: str) -> None:
    result = invoke("logs", "-c", str(config_file), "--since", since)
    assert result.exit_code == 1 and "--since" in result.output


def test_url_without_a_stack_says_so(config_file: Path) -> None:
    result = invoke("url", "-c", str(config_file))
    assert result.exit_code == 1 and "run `gatewayproxy up`" in result.output


def test_version() -> None:
    result = invoke("--version")
    assert result.stdout == f"gatewayproxy, version {__version__}\n"


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("command", _commands(main), ids=" ".join)
def test_every_command_has_help_with_an_example(command: tuple[str, ...]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout, command


def test_help_and_version_do_not_import_boto3_or_moto() -> None:
    code = ("import sys\nfrom gatewayproxy.cli import main\n"
            "for args in (['--help'], ['--version'], ['up', '--help']):\n"
            "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
            "heavy = [m for m in ('boto3', 'botocore', 'moto', 'rich') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_usage_errors_exit_2() -> None:
    assert invoke("up", "--no-such-flag").exit_code == 2
    assert invoke("sandbox", "start", "--port", "80").exit_code == 2


def test_cost_estimate_by_component() -> None:
    cfg = config.parse({"stack": {"name": "quizapi"}, "container": {
        "image": "nginx", "cpu": 512, "memory": 1024, "desired_count": 2}})
    found = cost.estimate(cfg, "us-east-1")
    assert found is not None
    monthly = {line.component: line.monthly for line in found.lines}
    assert monthly["NAT gateway"] == pytest.approx(0.045 * 730)
    assert monthly["Network Load Balancer"] == pytest.approx(0.0225 * 730)
    assert monthly["Fargate tasks"] == pytest.approx(2 * 730 * (0.5 * 0.04048 + 1 * 0.004445))
    assert monthly["API Gateway (REST)"] is None
    assert cost.estimate(cfg, "ap-south-2") is None
    assert "no list prices" in cost.describe(None, "ap-south-2")[0]


def test_sandbox_start_refuses_a_port_in_use() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = invoke("sandbox", "start", "--port", str(port))
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.output
