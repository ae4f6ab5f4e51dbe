"""One command's stack session: the config, the state, the AWS clients, the steps' context, the
state lock and the target check, built in one place for the CLI, the keys commands, the tests and
the benchmarks.

AWS clients are built on first use, so a command that only reads the state (`url`) never needs
credentials or a running sandbox. Heavy modules are imported inside the methods: `--help` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gatewayproxy.config import CONFIG_FILE
from gatewayproxy.errors import ConfigError

if TYPE_CHECKING:
    from gatewayproxy.aws import Aws, Clock
    from gatewayproxy.config import Config
    from gatewayproxy.engine import Engine
    from gatewayproxy.progress import Reporter
    from gatewayproxy.state import State
    from gatewayproxy.state_store import S3Location, Store
    from gatewayproxy.steps.base import Context


@dataclass(frozen=True)
class Options:
    """Where the stack is and where it lives: what the global flags say."""

    config: Path = Path(CONFIG_FILE)
    state: Path | str | None = None  # a local path or s3://BUCKET/KEY
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    sandbox: bool = False
    verbose: bool = False


class StackSession:
    """A stack as one command sees it. `aws` and `ctx` are built on first use; `engine()` runs
    the steps on that context; `locked()` holds the state lock; `check_target()` refuses a stack
    that lives in another account, region or endpoint."""

    def __init__(self, config: Config, state: State, aws: Aws | None = None, *,
                 options: Options | None = None, clock: Clock | None = None,
                 max_poll: float | None = None) -> None:
        """`aws` given (tests, benchmarks) is used as is; otherwise one is built from `options`,
        `clock` and `max_poll` when first needed."""
        self.config = config
        self.state = state
        self.options = options or Options()
        self._aws = aws
        self._clock = clock
        self._max_poll = max_poll
        self.default_state = False  # True when the state is the file beside the config

    @classmethod
    def open(cls, options: Options, clock: Clock | None = None,
             max_poll: float | None = None) -> StackSession:
        """Load the config file and its state: --state, else GATEWAYPROXY_STATE, else the
        config's `[stack] state`, else the file beside the config (state_store.choose)."""
        from gatewayproxy import config as config_module
        from gatewayproxy.state import State

        cfg = config_module.load(options.config)
        session = cls(cfg, None, options=options, clock=clock, max_poll=max_poll)  # type: ignore[arg-type]
        session.state = State.open(session.store(), cfg.name)
        return session

    @classmethod
    def bare(cls, options: Options, clock: Clock | None = None) -> StackSession:
        """The config and the state's store, the state itself not read (`unlock` and `state
        push/pull` must work on a state they may not be able to load)."""
        from gatewayproxy import config as config_module
        from gatewayproxy.state import State

        cfg = config_module.load(options.config)
        session = cls(cfg, None, options=options, clock=clock)  # type: ignore[arg-type]
        session.state = State(None, {}, scratch=True, store=session.store())
        return session

    def state_location(self) -> S3Location | Path:
        """Where this stack's state lives: --state, else GATEWAYPROXY_STATE, else the config's
        `[stack] state`, else the file beside the config (state_store.choose)."""
        from gatewayproxy import state as state_module
        from gatewayproxy import state_store

        cfg, options = self.config, self.options
        location, self.default_state = state_store.choose(
            options.state, os.environ.get(state_store.ENV_VAR), cfg.state,
            state_module.default_path(options.config, cfg.name), options.config.resolve().parent)
        return location

    def store(self) -> Store:
        """The state's store (an S3 state needs the AWS clients at once)."""
        from gatewayproxy import state_store

        location = self.state_location()
        if isinstance(location, state_store.S3Location):
            from gatewayproxy.s3_state import S3Store

            return S3Store(self.aws, location)
        return state_store.LocalStore(location)

    @property
    def aws(self) -> Aws:
        if self._aws is None:
            self._aws = self._connect()
        return self._aws

    @functools.cached_property
    def ctx(self) -> Context:
        from gatewayproxy.steps.base import Context

        return Context(config=self.config, state=self.state, aws=self.aws)

    def _connect(self) -> Aws:
        """Clients for the flag's region, else the config's, else the AWS chain's."""
        return connect(self.options, self.config.region, self._clock, self._max_poll)

    def quiet_reporter(self) -> Reporter:
        """A reporter whose lines go nowhere (for commands and tests that print their own)."""
        from gatewayproxy import steps
        from gatewayproxy.progress import Reporter

        return Reporter(io.StringIO(), steps.NAMES, self.aws.clock.now)

    def engine(self, reporter: Reporter | None = None, sequential: bool = False) -> Engine:
        """The engine on this session's context; without a reporter its progress is dropped."""
        from gatewayproxy.engine import Engine

        return Engine(self.ctx, reporter or self.quiet_reporter(), sequential=sequential)

    def check_target(self) -> None:
        """Refuse a stack recorded in another account, region or endpoint (Engine.check_target),
        leaving the context's progress hook as it was."""
        report = self.ctx.report
        try:
            self.engine().check_target()
        finally:
            self.ctx.report = report

    @contextlib.contextmanager
    def locked(self, command: str) -> Iterator[StackSession]:
        """Hold the stack's state lock while a command writes (up, down, import, keys). A
        shared (S3) state is read again once the lock is held: another machine may have
        written it since this command read it."""
        with self.state.store.lock(command):
            if not self.state.store.is_local:
                self.state.reload()
            yield self


def connect(options: Options, config_region: str | None, clock: Clock | None = None,
            max_poll: float | None = None) -> Aws:
    """Clients for --region, else `config_region`, else the AWS chain's; the sandbox's with
    --sandbox."""
    from gatewayproxy import sandbox
    from gatewayproxy.aws import Aws, Target

    if options.sandbox:
        running = sandbox.current()
        if running is None:
            raise ConfigError("no sandbox is running: start one with "
                              "`gatewayproxy sandbox start`")
        sandbox.use(running)
    target = Target(profile=options.profile, region=options.region or config_region,
                    endpoint_url=options.endpoint_url)
    return Aws(target, clock=clock, max_poll=max_poll)
