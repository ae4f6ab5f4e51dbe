"""What every step and resource gets: the Context (config, state, AWS, outputs, progress),
the stack's tags, and the Outputs resources hand to the ones that read them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gatewayproxy.aws import Aws
from gatewayproxy.config import Config
from gatewayproxy.errors import Cancelled, GatewayProxyError
from gatewayproxy.state import State

STACK_TAG = "gatewayproxy:stack"
STEP_TAG = "gatewayproxy:step"
RESOURCE_TAG = "gatewayproxy:resource"

# How long `down` keeps retrying "still in use" while network interfaces drain.
DRAIN_SECONDS = 20 * 60


class Outputs:
    """Values steps hand to later steps; `need` waits until the producing step publishes."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._failed: set[str] = set()
        self._finished: set[str] = set()
        self._cond = threading.Condition()
        # plan: nothing is created, so a value not published yet is one known only after apply
        self.planning = False

    def publish(self, key: str, value: Any) -> None:
        with self._cond:
            self._values[key] = value
            self._cond.notify_all()

    def fail(self, step: str) -> None:
        """A step stopped: wake everyone waiting on its outputs."""
        with self._cond:
            self._failed.add(step)
            self._cond.notify_all()

    def finish(self, step: str) -> None:
        """A step returned: whatever it did not publish, it never will."""
        with self._cond:
            self._finished.add(step)
            self._cond.notify_all()

    def need(self, key: str) -> Any:
        step = key.split(".", 1)[0]
        with self._cond:
            while key not in self._values:
                if self.planning:
                    return None
                if step in self._failed:
                    raise Cancelled(f"step {step} did not finish")
                if step in self._finished:
                    raise GatewayProxyError(f"step {step} finished without providing {key}")
                self._cond.wait(timeout=1.0)
            return self._values[key]

    def get(self, key: str) -> Any:
        with self._cond:
            return self._values.get(key)


@dataclass
class Context:
    """Everything a step may use: the config, the state, AWS, outputs and a progress line."""

    config: Config
    state: State
    aws: Aws
    outputs: Outputs = field(default_factory=Outputs)
    report: Callable[[str, str], None] = lambda step, message: None
    # Reads that serve a whole family of resources for one command (ec2.Family): one
    # describe of the stack's subnets answers every subnet's lookup, in every step.
    reads: dict[str, Any] = field(default_factory=dict)
    # The command the engine runs ("up", "down", "plan", "status", "import"): a description
    # whose leftovers depend on it says so (e.g. `down` deletes every target group).
    command: str = ""
    reads_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def stack(self) -> str:
        return self.config.name

    def name(self, suffix: str) -> str:
        """A per-account AWS name for this stack's resource."""
        return f"gatewayproxy-{self.stack}-{suffix}"

    def tags(self, step: str, resource: str) -> dict[str, str]:
        return {STACK_TAG: self.stack, STEP_TAG: step, RESOURCE_TAG: resource,
                "Name": f"{self.stack}-{resource}"}

    def tag_list(self, step: str, resource: str) -> list[dict[str, str]]:
        """Tags as EC2, ELBv2 and IAM take them."""
        return [{"Key": k, "Value": v} for k, v in self.tags(step, resource).items()]

    def tag_specs(self, kind: str, step: str, resource: str) -> list[dict[str, Any]]:
        """EC2 TagSpecifications, so the tag exists from the moment the resource does."""
        return [{"ResourceType": kind, "Tags": self.tag_list(step, resource)}]

    def owns(self, tags: Any) -> bool:
        """True if a tag list or dict carries this stack's tag."""
        return tag_value(tags, STACK_TAG) == self.stack


def tag_value(tags: Any, key: str) -> str | None:
    if isinstance(tags, dict):
        value = tags.get(key)
        return value if isinstance(value, str) else None
    for tag in tags or []:
        if tag.get("Key", tag.get("key")) == key:
            return str(tag.get("Value", tag.get("value")))
    return None
