"""The AWS calls each command makes, against in-process moto: `up` of a new stack, a no-op
`up`, `status`, `plan` (no change, then after an image change), the image change's `up`, and
`down`. Counts reads and writes per command; run it on two revisions to compare.

    .venv/bin/python benchmarks/calls.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from moto import mock_aws

from gatewayproxy import probe
from gatewayproxy.aws import READ_PREFIXES, Aws
from gatewayproxy.cli import main
from gatewayproxy.emulator import patch_moto

CONFIG = """\
[stack]
name = "quizapi"
region = "eu-west-1"

[container]
image = "public.ecr.aws/nginx/nginx:{tag}"
port = 8080
desired_count = 2

[api]
stage = "live"

[[api.routes]]
path = "/answers"
methods = ["GET", "POST"]
"""


def main_() -> None:
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1", "GATEWAYPROXY_POLL_SECONDS": "0"})
    made: Counter[tuple[str, bool]] = Counter()
    operations: Counter[tuple[str, str]] = Counter()  # the no-op up's, per operation
    original = Aws.call

    def counting(self: Aws, service: str, operation: str, /, **kwargs: Any) -> Any:
        made[(command[0], not operation.startswith(READ_PREFIXES))] += 1
        if command[0] == "up (no change)":
            operations[(service, operation)] += 1
        return original(self, service, operation, **kwargs)

    Aws.call = counting  # type: ignore[method-assign]
    probe.check = lambda *a, **k: "ok"  # type: ignore[assignment]
    command = [""]
    with mock_aws(), tempfile.TemporaryDirectory() as folder:
        patch_moto()
        config = Path(folder) / "gatewayproxy.toml"
        config.write_text(CONFIG.format(tag="1.27"))
        steps = [("up (new stack)", ["up", "--no-check"]), ("up (no change)", ["up", "--no-check"]),
                 ("status", ["status"]), ("plan (no change)", ["plan"])]
        image = [("plan (image change)", ["plan"]), ("up (image change)", ["up", "--no-check"]),
                 ("down", ["down", "--yes"])]
        for label, args in steps + image:
            if label == "plan (image change)":
                config.write_text(CONFIG.format(tag="1.28"))
            command[0] = label
            result = CliRunner().invoke(main, [*args, "-c", str(config)])
            if result.exit_code not in (0, 2):
                sys.exit(f"{label} failed: {result.output}")
        print(f"{'command':22} {'calls':>6} {'writes':>6}")
        for label, _ in steps + image:
            reads, writes = made[(label, False)], made[(label, True)]
            print(f"{label:22} {reads + writes:6} {writes:6}")
        print()
        print("up (no change), calls per operation:")
        for (service, operation), n in sorted(operations.items()):
            print(f"  {service}.{operation:34} {n}")


if __name__ == "__main__":
    main_()
