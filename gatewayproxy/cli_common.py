"""What every command module shares: the stack options, the error handling that turns a failure
into one line, and building a stack's config, state, AWS clients and engine from the options.

Kept apart from cli.py so that command groups in modules of their own (cli_keys.py) use it
without importing cli.py back. Heavy modules are imported inside the functions: `--help` stays fast.
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gatewayproxy.config import CONFIG_FILE

if TYPE_CHECKING:
    from gatewayproxy.aws import Aws
    from gatewayproxy.config import Config
    from gatewayproxy.engine import Engine
    from gatewayproxy.state import State

F = TypeVar("F", bound=Callable[..., Any])
CHANGING_COMMANDS = {"up", "down", "import"}


@dataclass
class Options:
    config: Path
    state: Path | None
    profile: str | None
    region: str | None
    endpoint_url: str | None
    sandbox: bool


def stack_options(command: F) -> F:
    """The options every stack command takes."""
    options = [
        click.option("-c", "--config", "config", type=click.Path(dir_okay=False, path_type=Path),
                     default=Path(CONFIG_FILE), show_default=True,
                     help="The stack's config file."),
        click.option("--state", "state", type=click.Path(dir_okay=False, path_type=Path),
                     help="State file [default: .gatewayproxy/<stack>.state.json beside the config]."),
        click.option("--profile", help="AWS profile (default: the usual AWS chain)."),
        click.option("--region", help="AWS region (overrides stack.region and the environment)."),
        click.option("--endpoint-url", help="Send AWS calls here (AWS_ENDPOINT_URL works too)."),
        click.option("--sandbox", is_flag=True,
                     help="Use the running local sandbox (gatewayproxy sandbox start)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def handle_errors(command: F) -> F:
    """One clear line and exit 1 for every known failure; a traceback only with -v."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from gatewayproxy.errors import GatewayProxyError

        verbose = bool(click.get_current_context().find_root().params.get("verbose"))
        try:
            return command(*args, **kwargs)
        except GatewayProxyError as exc:
            if verbose:
                raise
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            name = click.get_current_context().command.name
            if name in CHANGING_COMMANDS:
                click.echo(f"\ninterrupted: everything made so far is in the state; run "
                           f"`gatewayproxy {name}` to resume", err=True)
            sys.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - last resort: still one line
            if verbose:
                raise
            raise click.ClickException(
                f"unexpected error: {type(exc).__name__}: {exc} (run with -v for details)"
            ) from None

    return wrapper  # type: ignore[return-value]


def load(options: Options) -> tuple[Config, State]:
    from gatewayproxy import config as config_module
    from gatewayproxy import state as state_module

    cfg = config_module.load(options.config)
    path = options.state or state_module.default_path(options.config, cfg.name)
    return cfg, state_module.State.load(path, cfg.name)


def aws(options: Options, cfg: Config) -> Aws:
    from gatewayproxy import sandbox
    from gatewayproxy.aws import Aws, Target

    if options.sandbox:
        running = sandbox.current()
        if running is None:
            raise click.ClickException("no sandbox is running: start one with "
                                       "`gatewayproxy sandbox start`")
        sandbox.use(running)
    return Aws(Target(profile=options.profile, region=options.region or cfg.region,
                      endpoint_url=options.endpoint_url))


def engine(options: Options, cfg: Config, state: State, live: bool,
            quiet: bool = False) -> Engine:
    from gatewayproxy import steps
    from gatewayproxy.engine import Engine
    from gatewayproxy.progress import LiveReporter, Reporter
    from gatewayproxy.steps.base import Context

    clients = aws(options, cfg)
    err = console(stderr=True)
    reporter: Reporter
    if live and err.is_terminal and not err.is_dumb_terminal:
        reporter = LiveReporter(err, steps.NAMES, clients.clock.now)
    else:
        reporter = Reporter(io.StringIO() if quiet else sys.stderr, steps.NAMES,
                            clients.clock.now)
    return Engine(Context(config=cfg, state=state, aws=clients), reporter)


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)
