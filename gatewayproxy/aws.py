"""The one place that talks to boto3: sessions, clients, retries, rate limits, waits, error mapping.

Step code calls `Aws.call(service, operation, **params)` and catches `AwsError` by code; it never
sees botocore. Waiting goes through `Aws.wait`, whose clock and sleep are injectable so tests
never really sleep.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import boto3
import botocore.config
import botocore.exceptions
import botocore.loaders
import botocore.session

from gatewayproxy import arns
from gatewayproxy.errors import (
    AwsError,
    Cancelled,
    ConfigError,
    GatewayProxyError,
    WaitTimeout,
    WouldWrite,
)

log = logging.getLogger("gatewayproxy.aws")

# The longest poll: `up`'s critical path is a chain of waits (NAT gateway, tasks, targets), each
# seen on average half a poll late; at 5 s a describe every 5 s per wait stays far inside the
# EC2/ELB/ECS describe throttles (benchmarks/run.py measures the chain).
DEFAULT_POLL_SECONDS = 5.0
FIRST_POLL_SECONDS = 1.0
# The longest poll of a deletion's wait (`gone`), as a share of the longest poll: 2 s of 5 s.
# Deletions are short (20 s to a minute, against minutes for a creation) and in `down` each one's
# end lets the next start (the VPC link, then the NLB, then the subnets, then the VPC): at 5 s a
# deletion is seen on average 2.5 s late, up to a tenth of a 20 s wait, once per link of the
# chain; at 2 s, 1 s, for some 15 more describes a minute (benchmarks/run.py measures `down`).
DELETION_POLL_SHARE = 0.4

# API Gateway control-plane limits that botocore's retries cannot absorb (calls per second).
MIN_INTERVAL: dict[tuple[str, str], float] = {
    ("apigateway", "create_rest_api"): 3.0,
    ("apigateway", "delete_rest_api"): 30.0,
    ("apigateway", "create_deployment"): 5.0,
}
# Answers that mean "wait a little and ask again" beyond botocore's own retries.
THROTTLED = {"TooManyRequestsException", "Throttling", "ThrottlingException",
             "RequestLimitExceeded"}
READ_PREFIXES = ("describe_", "get_", "list_")


@dataclass
class Clock:
    """Time and sleep, swappable in tests so waits cost nothing."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Target:
    """Where the stack lives: what the flags and environment ask for."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None


@dataclass
class CallLog:
    """Counts every AWS call by service and operation (for -v, benchmarks and tests)."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, service: str, operation: str) -> None:
        with self.lock:
            self.counts[(service, operation)] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def writes(self) -> Counter[tuple[str, str]]:
        return Counter({k: v for k, v in self.counts.items() if not k[1].startswith(READ_PREFIXES)})


def default_clock(cancel: threading.Event) -> Clock:
    """Real time; a sleep ends early when the run is cancelled (Ctrl-C, another step failed)."""

    def sleep(seconds: float) -> None:
        cancel.wait(seconds)

    return Clock(now=time.monotonic, sleep=sleep)


def poll_seconds() -> float:
    raw = os.environ.get("GATEWAYPROXY_POLL_SECONDS")
    if raw is None or raw == "":
        return DEFAULT_POLL_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"GATEWAYPROXY_POLL_SECONDS={raw!r} is not a number of seconds") from None
    if value < 0:
        raise ConfigError("GATEWAYPROXY_POLL_SECONDS must not be negative")
    return value


def requested_region(target: Target) -> str | None:
    """--region or stack.region, else AWS_REGION; None leaves it to botocore, which reads
    AWS_DEFAULT_REGION and then the profile's region (botocore itself ignores AWS_REGION)."""
    return target.region or os.environ.get("AWS_REGION") or None


def is_loopback(url: str | None) -> bool:
    if not url:
        return False
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Aws:
    """Clients for one account and region, with the project's retry, rate-limit and wait rules."""

    def __init__(self, target: Target, clock: Clock | None = None,
                 max_poll: float | None = None) -> None:
        self.endpoint_url = target.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        core = botocore.session.Session()
        core.register_component("data_loader", _shared_loader())
        if target.profile is not None and target.profile not in core.available_profiles:
            raise ConfigError(f"AWS profile {target.profile!r} is not configured")
        try:
            self._session = boto3.session.Session(botocore_session=core,
                                                  profile_name=target.profile,
                                                  region_name=requested_region(target))
        except botocore.exceptions.ProfileNotFound:
            raise ConfigError(f"AWS profile {target.profile!r} is not configured") from None
        self.region: str = self._session.region_name or ""
        if not self.region:
            raise ConfigError(
                "no AWS region: set stack.region in the config, pass --region, or set AWS_REGION"
            )
        # Also against an endpoint URL: the region still names the ARNs, zones and hostnames.
        if self.region not in _known_regions(self._session):
            raise ConfigError(f"{self.region!r} is not an AWS region this botocore knows "
                              "(check stack.region, --region or AWS_REGION)")
        arns.refuse_unsupported_partition(
            self.region, self._session.get_partition_for_region(self.region))
        self.cancel = threading.Event()
        self.read_only = False  # plan and import: look, never change
        self.step = threading.local()  # which step this thread runs, for the plan
        self.clock = clock or default_clock(self.cancel)
        self.max_poll = poll_seconds() if max_poll is None else max_poll
        self.calls = CallLog()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._last_call: dict[tuple[str, str], float] = {}
        self._account_id: str | None = None

    @property
    def emulated(self) -> bool:
        """True against a local emulator: no data plane, nothing to send requests to."""
        return is_loopback(self.endpoint_url)

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                config = botocore.config.Config(
                    retries={"mode": "standard", "max_attempts": 8},
                    user_agent_extra="gatewayproxy",
                )
                self._clients[service] = self._session.client(
                    service, endpoint_url=self.endpoint_url, config=config  # type: ignore[call-overload]
                )
            return self._clients[service]

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = str(self.call("sts", "get_caller_identity")["Account"])
        return self._account_id

    def call(self, service: str, operation: str, /, *, retry: tuple[str, ...] = (),
             retry_for: float = 60.0, state_write: bool = False, **params: Any) -> Any:
        """Call one AWS operation; map its errors to AwsError.

        `retry` names error codes that mean "not yet" (eventual consistency, resources still
        draining), optionally narrowed to a message: "Code" or "Code:words in the message".
        They are retried with backoff for at most `retry_for` seconds.
        `state_write`: a call of the state's own store (S3): neither a cancelled run nor the
        read-only mode of `plan`/`import` stops it, as neither stops a local state file's
        save (an id AWS returned must still be recorded).
        """
        client = self.client(service)
        deadline = self.clock.now() + retry_for
        delay = FIRST_POLL_SECONDS
        while True:
            if self.cancel.is_set() and not state_write:
                raise Cancelled("stopped before " + _title(operation))
            if self.read_only and not state_write and not operation.startswith(READ_PREFIXES) \
                    and service != "sts":
                raise WouldWrite(f"{service}.{operation}")
            self._pace(service, operation)
            started = time.perf_counter()
            self.calls.add(service, operation)
            try:
                result = getattr(client, operation)(**params)
                log.debug("%s.%s %.0f ms", service, operation, (time.perf_counter() - started) * 1e3)
                return result
            except botocore.exceptions.ClientError as exc:
                error = exc.response.get("Error", {})
                code = str(error.get("Code", "Unknown"))
                message = str(error.get("Message", "")) or str(exc)
                log.debug("%s.%s failed: %s", service, operation, code)
                if (code in THROTTLED or _matches(retry, code, message)) \
                        and self.clock.now() < deadline:
                    self.clock.sleep(delay)
                    delay = min(delay * 2, max(self.max_poll, FIRST_POLL_SECONDS))
                    continue
                failure = AwsError(_title(operation), code, message)
                headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                region = headers.get("x-amz-bucket-region") or error.get("Region")
                failure.bucket_region = str(region) if region else None
                raise failure from None
            except botocore.exceptions.NoCredentialsError:
                raise GatewayProxyError(
                    "no AWS credentials found: configure a profile (aws configure), pass "
                    "--profile, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                ) from None
            except botocore.exceptions.EndpointConnectionError as exc:
                raise GatewayProxyError(f"cannot reach AWS at {exc.kwargs.get('endpoint_url')}: "
                                        "is the endpoint right and running?") from None
            except botocore.exceptions.ParamValidationError as exc:
                raise GatewayProxyError(f"{_title(operation)}: invalid parameters: {exc}") from None
            except botocore.exceptions.BotoCoreError as exc:
                raise GatewayProxyError(f"{_title(operation)}: {exc}") from None

    def find(self, service: str, operation: str, /, **params: Any) -> Any | None:
        """The answer of a read, or None when AWS says the resource does not exist (any other
        error, AccessDenied say, is raised: it says nothing about existence)."""
        try:
            return self.call(service, operation, **params)
        except AwsError as exc:
            if is_not_found(exc):
                return None
            raise

    def pages(self, service: str, operation: str, /, *, items: str, token: str,
              send_as: str | None = None, **params: Any) -> Iterator[Any]:
        """Every item of a paginated call, page after page, as the caller reads them (a lookup
        that finds what it wants early asks for no further page). `token` is the answer's key
        for the next page, sent back as `send_as` (the same name unless given: ELBv2 answers
        NextMarker and takes Marker)."""
        params = dict(params)
        while True:
            page = self.call(service, operation, **params)
            yield from page.get(items) or []
            following = page.get(token)
            if not following:
                return
            params[send_as or token] = following

    def _pace(self, service: str, operation: str) -> None:
        interval = MIN_INTERVAL.get((service, operation))
        if interval is None:
            return
        with self._lock:
            last = self._last_call.get((service, operation))
            now = self.clock.now()
            wait = 0.0 if last is None else last + interval - now
            self._last_call[(service, operation)] = now + max(wait, 0.0)
        if wait > 0:
            self.clock.sleep(wait)

    @property
    def deletion_poll(self) -> float:
        """The longest poll of a deletion's wait (DELETION_POLL_SHARE of the longest poll)."""
        return self.max_poll * DELETION_POLL_SHARE

    def wait(self, what: str, check: Callable[[], tuple[bool, str]], timeout: float,
             report: Callable[[str], None] | None = None, longest: float | None = None) -> None:
        """Poll `check` until it says done; back off from 1 s to the longest poll interval
        (`longest`, else the Aws's own).

        `check` returns (done, current state); it raises to fail the wait for good.
        `plan` and `import` only look: they never wait.
        """
        if self.read_only:
            return
        longest = self.max_poll if longest is None else min(longest, self.max_poll)
        started = self.clock.now()
        delay = min(FIRST_POLL_SECONDS, longest)
        while True:
            done, current = check()
            if done:
                return
            elapsed = self.clock.now() - started
            if report:
                report(f"{what} {current} {_clock(elapsed)}")
            if elapsed >= timeout:
                raise WaitTimeout(
                    f"gave up waiting for {what} after {_clock(elapsed)}; its last state: {current}"
                )
            self.clock.sleep(delay)
            if self.cancel.is_set():
                raise Cancelled(f"stopped waiting for {what}")
            delay = min(delay * 1.5, longest) if longest > 0 else 0.0


    def wait_for(self, what: str, read: Callable[[], Any], status: Callable[[Any], str],
                 done: Collection[str], failed: Collection[str] = (), *, timeout: float,
                 report: Callable[[str], None] | None = None,
                 reason: Callable[[Any], str] | None = None, first: Any = None,
                 longest: float | None = None) -> Any:
        """Wait declaratively: `read` describes the resource (None once AWS no longer knows
        it), `status` names its state, `done` ends the wait, `failed` ends it with an error
        carrying `reason`. `first`: an answer already in hand (no read for it). `longest`: the
        longest poll, if shorter than the Aws's own. Returns the last answer."""
        answer: list[Any] = [first]

        def judge(current: Any) -> tuple[bool, str]:
            state = status(current)
            if state in failed:
                why = (reason(current) if reason and current is not None else "") or "no reason given"
                raise GatewayProxyError(f"{what} is {state}: {why}")
            answer[0] = current
            return state in done, state

        if first is not None and judge(first)[0]:
            return first
        self.wait(what, lambda: judge(read()), timeout, report, longest)
        return answer[0]


# What each service answers when a resource is gone (their API references' Errors sections; EC2:
# "Error codes for the Amazon EC2 API", Invalid<Kind>ID.NotFound and NatGatewayNotFound).
NOT_FOUND_CODES = frozenset({
    "NatGatewayNotFound",                                                # ec2
    "ClusterNotFoundException", "ServiceNotFoundException",              # ecs
    "LoadBalancerNotFound", "TargetGroupNotFound", "ListenerNotFound",   # elbv2
    "NotFoundException",                                                 # apigateway, apigatewayv2
    "NoSuchEntity",                                                      # iam
    "ResourceNotFoundException",                                         # logs
})
# ECS has no such code for a task definition: DescribeTaskDefinition of one that does not exist
# answers "ClientException: Unable to describe task definition." (as moto does since #5910).
MISSING_TASK_DEFINITION = ("ClientException", "unable to describe task definition")


def is_not_found(exc: AwsError) -> bool:
    """True only when AWS says the resource does not exist (not: may not look, or too busy)."""
    if exc.code in NOT_FOUND_CODES or (exc.code.startswith("Invalid")
                                       and exc.code.endswith(".NotFound")):
        return True
    code, words = MISSING_TASK_DEFINITION
    return exc.code == code and words in exc.aws_message.lower()


def _matches(retry: tuple[str, ...], code: str, message: str) -> bool:
    for entry in retry:
        want, _, needle = entry.partition(":")
        if want == code and needle.lower() in message.lower():
            return True
    return False


def _known_regions(session: boto3.session.Session) -> set[str]:
    """Every region of every partition in botocore's endpoint data (offline)."""
    return {region for partition in session.get_available_partitions()
            for region in session.get_available_regions("ec2", partition_name=partition)}


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    """One loader per process: parsing the service models is most of a client's start-up cost."""
    return botocore.loaders.create_loader()


def _title(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
