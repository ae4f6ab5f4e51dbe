"""Shared by the API access tests: a config with public, API-key, IAM and Lambda routes, and a
Lambda function in the emulated account (gatewayproxy never creates functions itself)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import boto3
from click.testing import CliRunner, Result
from conftest import REGION

from gatewayproxy.cli import main
from gatewayproxy.cli_keys import keys

ACCESS_CONFIG = """\
[stack]
name = "quizapi"
region = "eu-west-1"

[container]
image = "public.ecr.aws/nginx/nginx:1.27"
port = 8080
desired_count = 2

[api]
stage = "live"
throttle = { rate = 50, burst = 100 }

[api.usage_plan]
rate = 5
burst = 10
quota = 1000
quota_period = "day"

[[api.routes]]
path = "/answers"
methods = ["GET"]

[[api.routes]]
path = "/teams/{team}"
methods = ["GET", "POST"]
auth = "api_key"
throttle = { rate = 2, burst = 4 }

[[api.routes]]
path = "/hook"
methods = ["POST"]
lambda = "quiz-hook"

[[api.routes]]
path = "/admin"
methods = ["ANY"]
auth = "iam"
"""


def write(path: Path, text: str = ACCESS_CONFIG, **replace: str) -> Path:
    for old, new in replace.items():
        text = text.replace(old, new)
    path.write_text(text)
    return path


def run(*args: str, config: Path) -> Result:
    return CliRunner().invoke(main, [*args, "-c", str(config)], input="", catch_exceptions=False)


def run_keys(*args: str, config: Path) -> Result:
    """`gatewayproxy keys ...` (the group itself, so the test does not depend on how cli.py
    registers it), with the help options `gatewayproxy` gives it: click keeps a command's help
    option once made, so a run as its own root would change `gatewayproxy keys --help`."""
    return CliRunner().invoke(keys, [*args, "-c", str(config)], input="", catch_exceptions=False,
                              help_option_names=["-h", "--help"])


def make_function(name: str = "quiz-hook") -> str:
    """A Lambda function of the user's, with its own role: returns its ARN."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    function = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler",
        Code={"ZipFile": code.getvalue()})
    return str(function["FunctionArn"])
