"""Shared fixtures: an offline moto account, a config on disk, and a clock that never sleeps."""

from __future__ import annotations

import functools
import gc
import ipaddress
import logging
import os
import socket
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore
import botocore.session
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws
from moto.core import base_backend as moto_base_backend
from moto.core import models as moto_models
from moto.core import responses as moto_responses
from moto.core.base_backend import BackendDict

from gatewayproxy import aws as aws_module
from gatewayproxy import config, probe
from gatewayproxy.aws import Aws, Clock, Target
from gatewayproxy.emulator import patch_moto
from gatewayproxy.session import StackSession
from gatewayproxy.state import State

REGION = "eu-west-1"

CONFIG = """\
[stack]
name = "quizapi"
region = "eu-west-1"

[container]
image = "public.ecr.aws/nginx/nginx:1.27"
port = 8080
desired_count = 2
environment = { GREETING = "hello" }

[api]
stage = "live"

[[api.routes]]
path = "/answers"
methods = ["GET", "POST"]

[[api.routes]]
path = "/teams/{team}"
methods = ["GET"]
"""


def pytest_collection_finish(session: pytest.Session) -> None:
    """What the run has imported by now (botocore's service models, moto's modules) is never
    garbage: frozen out of the cycle collector's sweeps, which then run every 20,000 new
    objects instead of 700 (moto's answers and the crash tests' copies make many). A tenth of
    the suite's CPU, measured side by side."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test gets one tier (pyproject registers them): `crash` where its file says so,
    `e2e` when it runs against an emulated account (the moto_account fixture, or marked so
    because it starts the emulator), otherwise `unit`. `pytest -m unit` is the quick run."""
    for item in items:
        if item.get_closest_marker("crash") or item.get_closest_marker("e2e"):
            continue
        item.add_marker("e2e" if "moto_account" in getattr(item, "fixturenames", ()) else "unit")


class FakeClock(Clock):
    """Time that moves only when someone sleeps: waits finish instantly and deterministically."""

    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()
        self.slept: list[float] = []
        super().__init__(now=self._read, sleep=self._sleep)

    def _read(self) -> float:
        with self._lock:
            return self._now

    def _sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self._now += seconds


@pytest.fixture(scope="session", autouse=True)
def moto_speedups() -> Iterator[None]:
    """Costs moto pays on every request that buy nothing here, gone for the whole run."""
    with pytest.MonkeyPatch.context() as patch:
        # moto lists a response class's methods (inspect.getmembers) on every request: 1.7 ms
        # of each. The classes never change in a run, so the list is read once per class.
        patch.setattr(moto_responses, "method_names_from_class",
                      functools.cache(moto_responses.method_names_from_class))
        # State saves fsync the file and its folder (3 ms each on this disk, 6 ms a save).
        # Nothing in a test can observe a power cut, so the disk may keep the bytes cached.
        patch.setattr(os, "fsync", lambda fd: None)
        # Each mock_aws start registers ~1,300 `responses` callbacks, for calls to AWS made with
        # the `requests` library: nothing here makes one. Without them such a call would pass
        # through to the network, where the loopback guard below fails the test.
        patch.setattr(moto_models, "RESPONSES_METHODS", [])
        # Each start and stop also builds every backend in use afresh before dropping them all.
        patch.setattr(BackendDict, "reset", classmethod(_drop_backends))
        # moto makes a new 2048-bit RSA key for each certificate ACM is asked for (0.1 s
        # each); one key of each size serves every certificate of the run.
        patch.setattr(rsa, "generate_private_key", _one_key_per_size(rsa.generate_private_key))
        # A botocore client costs 11 ms to build (a class of ~500 methods for EC2, its event
        # handlers) and holds no account data: moto answers whichever client asks, so one
        # client per service, region, endpoint and access key serves every test of the run.
        # Not S3's: its client remembers each bucket's region, which tests move. In process,
        # requests go unsigned (a fifth of a call's cost): moto reads no signature.
        patch.setattr(Aws, "client", _shared_clients(Aws.client))
        patch.setattr(boto3, "client", _shared_boto3_clients(boto3.client))
        yield


def _drop_backends(cls: type[BackendDict[Any]]) -> None:
    """BackendDict.reset without building each backend again first: the same empty account.
    A backend whose class has its own reset (S3's frees the global bucket names) still gets it."""
    with moto_base_backend.backend_lock:
        for services in cls._instances:
            for regions in services.values():
                for backend in dict.values(regions):
                    if type(backend).reset is not moto_base_backend.BaseBackend.reset:
                        backend.reset()
            services.clear()
        cls._instances.clear()


def _one_key_per_size(generate: Any) -> Any:
    made: dict[tuple[Any, ...], Any] = {}

    def key(public_exponent: int, key_size: int, backend: Any = None) -> Any:
        if (public_exponent, key_size) not in made:
            made[public_exponent, key_size] = generate(public_exponent=public_exponent,
                                                       key_size=key_size)
        return made[public_exponent, key_size]

    return key


def _shared_clients(build: Any) -> Any:
    made: dict[tuple[Any, ...], Any] = {}

    def client(aws: Aws, service: str) -> Any:
        if service in aws._clients or service == "s3":  # a test's fake, or S3
            return build(aws, service)
        credentials = aws._session.get_credentials()
        if credentials is None:  # signing is what finds the credentials missing
            return build(aws, service)
        key = (service, aws.region, aws.endpoint_url, credentials.access_key)
        if key not in made:
            made[key] = _unsigned_in_process(build(aws, service), aws.endpoint_url)
        aws._clients.setdefault(service, made[key])
        return made[key]

    return client


def _unsigned_in_process(client: Any, endpoint_url: str | None) -> Any:
    if endpoint_url is None:  # botocore's own way to skip SigV4 for an operation
        client.meta.events.register_first("choose-signer", lambda **kwargs: botocore.UNSIGNED)
    return client


def _shared_boto3_clients(build: Any) -> Any:
    made: dict[tuple[Any, ...], Any] = {}

    def client(*args: Any, **kwargs: Any) -> Any:
        key = (args, tuple(sorted(kwargs.items())),
               *(os.environ.get(name) for name in ("AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
                                                   "AWS_ACCESS_KEY_ID")))
        if "s3" in args or kwargs.get("service_name") == "s3" or key[-1] is None:
            return build(*args, **kwargs)
        if key not in made:
            made[key] = _unsigned_in_process(build(*args, **kwargs), kwargs.get("endpoint_url"))
        return made[key]

    return client


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock,
            request: pytest.FixtureRequest) -> None:
    """No real credentials, profile, endpoint or sandbox ever leak into a test."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION",
                 "AWS_SESSION_TOKEN", "GATEWAYPROXY_POLL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("GATEWAYPROXY_SANDBOX_DIR", str(tmp_path / "sandbox-home"))
    # moto builds ~1,300 AMIs (each with a volume and a snapshot) into every fresh EC2 backend:
    # 0.6 s per test that touches EC2, and as much again to reset them. Fargate uses none.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    monkeypatch.setattr(socket.socket, "connect", _loopback_only(socket.socket.connect))
    # `-v` makes the tool's logger log every call for the rest of the process: not past a test.
    product_log, level = logging.getLogger("gatewayproxy"), logging.getLogger("gatewayproxy").level
    request.addfinalizer(lambda: product_log.setLevel(level))  # setLevel: clears logging's cache
    # Every Aws the CLI builds gets the fake clock: waits and backoffs never really sleep.
    monkeypatch.setattr(aws_module, "default_clock", lambda cancel: clock)


def _loopback_only(connect: Any) -> Any:
    """Tests never reach beyond this machine: a connection to any other address fails loudly."""

    def guarded(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else ""
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(host):
            raise AssertionError(f"a test tried to connect to {address}")
        return connect(sock, address)

    return guarded


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Invoke URLs `up` would check on real AWS (moto in-process looks like real AWS to it)."""
    checked: list[str] = []

    def check(url: str, cfg: Any, **kwargs: Any) -> str:
        checked.append(url)
        return f"answers: GET {url} (test double)"

    monkeypatch.setattr(probe, "check", check)
    return checked


@pytest.fixture
def moto_account(probes: list[str]) -> Iterator[None]:
    """A fresh emulated account with AWS managed policies and ECS services that run."""
    patch_moto()
    with mock_aws():
        # mock_aws resets boto3's default session, so each test's first boto3.client() would
        # parse the service model again (0.9 s for EC2); the process's shared loader has it.
        # mock_aws puts the previous default session back when it stops.
        boto3.DEFAULT_SESSION = boto3.session.Session(botocore_session=_models_once())
        yield


def _models_once() -> botocore.session.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", aws_module._shared_loader())
    return core


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def aws(moto_account: None, clock: FakeClock) -> Aws:
    return Aws(Target(region=REGION), clock=clock, max_poll=5.0)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "gatewayproxy.toml"
    path.write_text(CONFIG)
    return path


def stack_session(state_path: Path, aws: Aws, text: str = CONFIG) -> StackSession:
    """The stack of config `text` with a freshly loaded state, as a new process would have it,
    on a client layer the test shares across commands."""
    cfg = config.parse(tomllib.loads(text))
    return StackSession(cfg, State.load(state_path, cfg.name), aws)


def write_config(path: Path, **replace: Any) -> Path:
    text = CONFIG
    for old, new in replace.items():
        text = text.replace(old, new)
    path.write_text(text)
    return path


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """Every AWS call that reaches botocore, with the parameters sent (moto drops some)."""
    recorded: list[Call] = []
    original = Aws.client

    class Recording:
        def __init__(self, service: str, client: Any) -> None:
            self._service = service
            self._client = client

        def __getattr__(self, name: str) -> Any:
            method = getattr(self._client, name)
            if not callable(method) or name.startswith("_") or name in ("meta", "exceptions"):
                return method

            def call(**kwargs: Any) -> Any:
                recorded.append(Call(self._service, name, dict(kwargs)))
                return method(**kwargs)

            return call

    monkeypatch.setattr(Aws, "client",
                        lambda aws, service: Recording(service, original(aws, service)))
    return recorded


def writes(recorded: list[Call]) -> list[str]:
    return [f"{c.service}.{c.operation}" for c in recorded
            if not c.operation.startswith(("describe_", "get_", "list_"))]


# -- every AWS operation the suite performs through gatewayproxy/aws.py must be in the policy ---
# Each process (xdist worker, or the only one) records what reaches Aws.call; a worker hands
# its set to the controller (workeroutput); the controller's session finish compares the union
# with gatewayproxy/policy.py's table and fails the run naming each operation without a row.
# Only Aws.call counts: the tests' own boto3 set-up calls never pass through it.
PERFORMED: set[tuple[str, str]] = set()
OPERATIONS_KEY = "gatewayproxy_operations"
_performed_key = pytest.StashKey[set[tuple[str, str]]]()
_unlisted_key = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    original = Aws.call
    if getattr(original, "records_operations", False):
        return

    def call(self: Aws, service: str, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        PERFORMED.add((service, operation))
        return original(self, service, operation, *args, **kwargs)

    call.records_operations = True  # type: ignore[attr-defined]
    Aws.call = call  # type: ignore[method-assign]
    config.stash[_performed_key] = set()



@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: a worker's operations join the run's."""
    found = getattr(node, "workeroutput", {}).get(OPERATIONS_KEY, [])
    node.config.stash[_performed_key].update((s, o) for s, o in found)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller compares
        workeroutput[OPERATIONS_KEY] = sorted(PERFORMED)
        return
    performed = session.config.stash[_performed_key] | PERFORMED
    message = unlisted_operations_message(performed)
    if message:
        session.config.stash[_unlisted_key] = message
        session.exitstatus = pytest.ExitCode.TESTS_FAILED



def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    message = config.stash.get(_unlisted_key, None)
    if message:
        terminalreporter.section("AWS operations missing from the IAM policy", red=True)
        terminalreporter.line(message, red=True)


def unlisted_operations_message(performed: set[tuple[str, str]]) -> str:
    """Empty when every real AWS operation performed has a row in gatewayproxy/policy.py;
    otherwise one line per missing operation (fake operations of the layer's own unit tests,
    unknown to botocore, are not AWS's and are left out)."""
    from gatewayproxy import policy

    unlisted = policy.missing(op for op in performed if _is_botocore_operation(*op))
    return "\n".join(f"{name}: performed by the suite but not in gatewayproxy/policy.py's "
                     "OPERATIONS: add its row (IAM action, scope, why)" for name in unlisted)


@functools.cache
def _botocore_operations(service: str) -> frozenset[str]:
    from botocore import xform_name

    try:
        model = aws_module._shared_loader().load_service_model(service, "service-2")
    except Exception:  # noqa: BLE001 - not a botocore service: a test's fake
        return frozenset()
    return frozenset(xform_name(name) for name in model["operations"])


def _is_botocore_operation(service: str, operation: str) -> bool:
    return operation in _botocore_operations(service)
