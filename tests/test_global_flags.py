"""The global flags go before or after the command name, for every command (the `keys` group's
too); given in both places, the one after the command name wins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from conftest import write_config

from gatewayproxy.aws import Aws
from gatewayproxy.cli import main
from gatewayproxy.errors import ConfigError, GatewayProxyError
from gatewayproxy.state import State, default_path

OTHER_REGION = "us-west-2"


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input="")


def other_stack(tmp_path: Path) -> Path:
    """A second config file, whose stack is called `other`."""
    return write_config(tmp_path / "other.toml", **{'name = "quizapi"': 'name = "other"'})


@pytest.fixture
def tagged_vpc(moto_account: None) -> str:
    """A VPC tagged with stack quizapi in a region that is not the config's."""
    ec2 = boto3.client("ec2", region_name=OTHER_REGION)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=[{
        "ResourceType": "vpc", "Tags": [{"Key": "gatewayproxy:stack", "Value": "quizapi"}]}])
    return str(vpc["Vpc"]["VpcId"])


def untracked(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output)["untracked"])


def test_region_before_or_after_the_command_is_where_aws_is_asked(tagged_vpc: str,
                                                                  config_file: Path) -> None:
    def found(*args: str) -> list[str]:
        return untracked(cli(*args, "-c", config_file))

    there = [f"arn:aws:ec2:{OTHER_REGION}:123456789012:vpc/{tagged_vpc}"]
    assert found("status", "--json") == []  # the config's region, eu-west-1
    assert found("--region", OTHER_REGION, "status", "--json") == there
    assert found("status", "--json", "--region", OTHER_REGION) == there
    # Given in both places: the one after the command name wins.
    assert found("--region", "eu-west-1", "status", "--json", "--region", OTHER_REGION) == there
    assert found("--region", OTHER_REGION, "status", "--json", "--region", "eu-west-1") == []


@pytest.mark.parametrize("args", [
    ["-c", "{other}", "url"],
    ["url", "-c", "{other}"],
    ["-c", "{quizapi}", "url", "-c", "{other}"],
])
def test_config_before_or_after_the_command_is_the_stack_used(
        config_file: Path, tmp_path: Path, args: list[str]) -> None:
    paths = {"other": other_stack(tmp_path), "quizapi": config_file}
    result = cli(*(a.format(**paths) for a in args))
    assert result.exit_code == 1
    assert result.output == ("Error: stack other has no invoke URL yet: run "
                             "`gatewayproxy up`\n")


def test_config_before_or_after_a_keys_subcommand(moto_account: None, config_file: Path,
                                                  tmp_path: Path) -> None:
    other = other_stack(tmp_path)
    said = "stack other has no API keys (create one: gatewayproxy keys create NAME)\n"
    for args in (["-c", other, "keys", "list"], ["keys", "list", "-c", other],
                 ["-c", config_file, "keys", "list", "-c", other]):
        result = cli(*args)
        assert (result.exit_code, result.output) == (0, said), args


def test_state_before_the_command_is_the_state_read(config_file: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    State.load(elsewhere, "quizapi").record("rest_api", "invoke_url", "https://x.example/live")
    assert cli("--state", elsewhere, "url", "-c", config_file).output == "https://x.example/live\n"
    assert cli("url", "-c", config_file, "--state", elsewhere).output == "https://x.example/live\n"
    assert not default_path(config_file, "quizapi").exists()


@pytest.fixture
def first_call(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Where the first AWS call would go; the call is not sent (nothing listens there)."""
    seen: dict[str, Any] = {}

    def call(aws: Aws, service: str, operation: str, **params: Any) -> Any:
        seen.update(endpoint_url=aws.endpoint_url, region=aws.region)
        raise GatewayProxyError("stopped before sending")

    monkeypatch.setattr(Aws, "call", call)
    return seen


@pytest.mark.parametrize("args", [
    ["--endpoint-url", "http://127.0.0.1:4599", "keys", "list"],
    ["keys", "list", "--endpoint-url", "http://127.0.0.1:4599"],
    ["--endpoint-url", "http://127.0.0.1:1", "logs", "--endpoint-url", "http://127.0.0.1:4599"],
])
def test_endpoint_before_or_after_the_command_is_where_calls_go(
        first_call: dict[str, Any], config_file: Path, args: list[str]) -> None:
    result = cli(*args, "-c", config_file)
    assert result.output == "Error: stopped before sending\n"
    assert first_call == {"endpoint_url": "http://127.0.0.1:4599", "region": "eu-west-1"}


@pytest.mark.parametrize("args", [["--profile", "nope", "up"], ["up", "--profile", "nope"],
                                  ["--profile", "nope", "keys", "revoke", "k1"],
                                  ["keys", "revoke", "k1", "--profile", "nope"]])
def test_profile_before_or_after_the_command(config_file: Path, args: list[str]) -> None:
    result = cli(*args, "-c", config_file)
    assert result.output == "Error: AWS profile 'nope' is not configured\n"
    assert not default_path(config_file, "quizapi").exists()


@pytest.mark.parametrize("args", [["--sandbox", "up"], ["up", "--sandbox"],
                                  ["--sandbox", "keys", "list"], ["keys", "list", "--sandbox"]])
def test_sandbox_before_or_after_the_command(config_file: Path, args: list[str]) -> None:
    result = cli(*args, "-c", config_file)
    assert result.output == ("Error: no sandbox is running: start one with "
                             "`gatewayproxy sandbox start`\n")


@pytest.mark.parametrize("args", [["-v", "up"], ["up", "-v"], ["--verbose", "keys", "list"],
                                  ["keys", "list", "--verbose"]])
def test_verbose_before_or_after_the_command_shows_the_traceback(
        config_file: Path, args: list[str]) -> None:
    result = cli(*args, "-c", config_file, "--profile", "nope")
    assert isinstance(result.exception, ConfigError)  # -v: raised as is, not one line


@pytest.mark.parametrize("args", [["-v", "sandbox", "status"], ["sandbox", "status", "-v"]])
def test_verbose_is_taken_by_commands_without_stack_options(args: list[str]) -> None:
    result = cli(*args)
    assert (result.exit_code, result.output) == (1, "no sandbox is running\n")


def test_config_before_init_is_the_file_written(tmp_path: Path) -> None:
    target = tmp_path / "api.toml"
    result = cli("-c", target, "init", "--name", "quizapi")
    assert result.exit_code == 0, result.output
    assert 'name = "quizapi"' in target.read_text()


def test_help_lists_the_global_flags_and_which_one_wins() -> None:
    text = " ".join(cli("--help").output.split())
    for flag in ("-v, --verbose", "-c, --config", "--state", "--profile", "--region",
                 "--endpoint-url", "--sandbox"):
        assert flag in text
    assert "given in both places, the one after the command name wins" in text
    assert "the one after the command name wins" in " ".join(cli("up", "--help").output.split())
