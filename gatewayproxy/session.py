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
    from gatewayproxy.steps.base import Context


@dataclass(frozen=True)
class Options:
    """Where the stack is and where it lives: what the global flags say."""

    config: Path = Path(CONFIG_FILE)
    state: Path | None = None
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

    @classmethod
    def open(cls, options: Options, clock: Clock | None = None,
             max_poll: float | None = None) -> StackSession:
        """Load the config file and its state file (beside it unless `options.state` says)."""
        from gatewayproxy import config as config_module
        from gatewayproxy import state as state_module

        cfg = config_module.load(options.config)
        path = options.state or state_module.default_path(options.config, cfg.name)
        return cls(cfg, state_module.State.load(path, cfg.name), options=options, clock=clock,
                   max_poll=max_poll)

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
        from gatewayproxy import sandbox
        from gatewayproxy.aws import Aws, Target

        options = self.options
        if options.sandbox:
            running = sandbox.current()
            if running is None:
                raise ConfigError("no sandbox is running: start one with "
                                  "`gatewayproxy sandbox start`")
            sandbox.use(running)
        target = Target(profile=options.profile, region=options.region or self.config.region,
                        endpoint_url=options.endpoint_url)
        return Aws(target, clock=self._clock, max_poll=self._max_poll)

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
        """Hold the stack's state lock while a command writes (up, down, import, keys)."""
        from gatewayproxy.state import locked

        with locked(self.state.path, command):
            yield self
