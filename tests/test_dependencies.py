"""The lower bounds in pyproject.toml are ones the code really works with, and CI installs them.

botocore checks every call against its service model before sending it, so a botocore whose model
lacks a parameter we send fails on the user's machine however right the call is for AWS.
scripts/test-lowest runs the lifecycle tests on exactly these bounds; this test keeps the bounds
from falling below what the code sends and keeps that job reading them from pyproject.toml.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import botocore.loaders
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PINNED = ("boto3", "botocore", "click", "rich")

# The first botocore whose model has each newer parameter the code sends (found by reading
# botocore/data/<service>/*/service-2.json in each release's wheel).
FIRST_BOTOCORE_WITH: dict[tuple[str, str, str], str] = {
    ("apigateway", "PutIntegration", "integrationTarget"): "1.41.2",
    ("ec2", "CreateRouteTable", "ClientToken"): "1.34.27",
}


def _requirements(group: str | None = None) -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return {Requirement(text).name: Requirement(text) for text in listed}


def _lower_bound(requirement: Requirement) -> Version:
    [bound] = [spec.version for spec in requirement.specifier if spec.operator == ">="]
    return Version(bound)


def test_botocore_lower_bound_has_every_parameter_the_code_sends() -> None:
    runtime = _requirements()
    assert "botocore" in runtime, "declare botocore's lower bound: it is botocore that refuses"
    declared = _lower_bound(runtime["botocore"])
    for (service, operation, parameter), first in FIRST_BOTOCORE_WITH.items():
        assert declared >= Version(first), f"{service} {operation} {parameter} needs botocore>={first}"


def test_the_table_names_parameters_botocore_knows() -> None:
    loader = botocore.loaders.create_loader()
    for service, operation, parameter in FIRST_BOTOCORE_WITH:
        model = loader.load_service_model(service, "service-2")
        shape = model["operations"][operation]["input"]["shape"]
        assert parameter in model["shapes"][shape]["members"], (service, operation, parameter)


def test_boto3_and_its_stubs_are_not_below_botocore() -> None:
    """boto3 X requires botocore >= X: a lower boto3 bound would promise what cannot install."""
    runtime = _requirements()
    boto3 = _lower_bound(runtime["boto3"])
    assert boto3 == _lower_bound(runtime["botocore"])
    assert _lower_bound(_requirements("dev")["boto3-stubs"]) >= boto3


def test_the_lowest_job_installs_exactly_the_declared_bounds() -> None:
    runtime = _requirements()
    printed = subprocess.run([sys.executable, str(ROOT / "scripts/lowest-constraints")],
                             capture_output=True, text=True, check=True).stdout
    pins = dict(line.split("==") for line in printed.splitlines())
    assert list(pins) == list(PINNED)
    assert {name: Version(v) for name, v in pins.items()} == {
        name: _lower_bound(runtime[name]) for name in PINNED}
    assert "scripts/lowest-constraints" in (ROOT / "scripts/test-lowest").read_text()
    assert "scripts/test-lowest" in (ROOT / ".ci/run").read_text()
