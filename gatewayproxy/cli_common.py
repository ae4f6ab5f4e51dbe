"""What every command module shares: the global options (before or after the command name), the
error handling that turns a failure into one line, and the progress reporter. The stack itself
(config, state, AWS, lock, target check) is a `StackSession` (session.py).

Kept apart from cli.py so that command groups in modules of their own (cli_keys.py) use it
without importing cli.py back. Heavy modules are imported inside the functions: `--help` stays fast.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from gatewayproxy.config import CONFIG_FILE
from gatewayproxy.session import Options, StackSession

if TYPE_CHECKING:
    from gatewayproxy.progress import Reporter

__all__ = ["Options", "StackSession", "console", "given", "global_options", "handle_errors",
           "reporter", "stack_options", "verbose_option"]

F = TypeVar("F", bound=Callable[..., Any])
CHANGING_COMMANDS = {"up", "down", "import"}
GLOBAL_FLAGS_HELP = """\b
The global options (-v, -c, --state, --profile, --region, --endpoint-url,
--sandbox) go before or after the command name; given in both places, the one
after the command name wins. These two are the same:
  gatewayproxy --region eu-west-1 up
  gatewayproxy up --region eu-west-1
"""
AFTER_WINS = ("\n\nThe global options (-v, -c, --state, --profile, --region, --endpoint-url, "
              "--sandbox) may also go before the command name; given in both places, the one "
              "after the command name wins.")
_GIVEN = {ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT, ParameterSource.PROMPT}


def given(name: str, value: Any) -> Any:
    """A global flag's value: the one after the command name, else the one before it (on a
    group above the command), else `value` (the command's default)."""
    ctx: click.Context | None = click.get_current_context()
    while ctx is not None:
        if name in ctx.params and ctx.get_parameter_source(name) in _GIVEN:
            return ctx.params[name]
        ctx = ctx.parent
    return value


def _log_calls(ctx: click.Context, param: click.Parameter, verbose: bool) -> bool:
    if verbose:
        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
        logging.getLogger("gatewayproxy").setLevel(logging.DEBUG)
    return verbose


def verbose_option(command: F) -> F:
    """-v, which every command takes, before or after its name."""
    return click.option("-v", "--verbose", is_flag=True, callback=_log_calls,
                        help="Log every AWS call; show tracebacks.")(command)


def global_options(command: F) -> F:
    """The options that go before or after the command name (on `main` and on every stack
    command); `stack_options` merges the two places."""
    options = [
        verbose_option,
        click.option("-c", "--config", "config", type=click.Path(dir_okay=False, path_type=Path),
                     default=Path(CONFIG_FILE), show_default=True,
                     help="The stack's config file."),
        click.option("--state", "state", metavar="PATH|S3URL",
                     help="State file or s3://BUCKET/KEY [default: .gatewayproxy/<stack>."
                          "state.json beside the config]."),
        click.option("--profile", help="AWS profile (default: the usual AWS chain)."),
        click.option("--region", help="AWS region (overrides stack.region and the environment)."),
        click.option("--endpoint-url", help="Send AWS calls here (AWS_ENDPOINT_URL works too)."),
        click.option("--sandbox", is_flag=True,
                     help="Use the running local sandbox (gatewayproxy sandbox start)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def stack_options(command: F) -> F:
    """The options every stack command takes; the command gets them as one `options`, each
    from after the command name if given there, else from before it."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        flags = {f.name: given(f.name, kwargs.pop(f.name)) for f in fields(Options)}
        return command(*args, options=Options(**flags), **kwargs)

    wrapper.__doc__ = inspect.cleandoc(command.__doc__ or "") + AFTER_WINS
    return global_options(wrapper)  # type: ignore[return-value]


def handle_errors(command: F) -> F:
    """One clear line and exit 1 for every known failure; a traceback only with -v."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from gatewayproxy.errors import GatewayProxyError

        verbose = bool(given("verbose", False))
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


def reporter(session: StackSession, live: bool, quiet: bool = False) -> Reporter:
    """Live rows on a terminal, plain lines on stderr elsewhere, nothing when `quiet`."""
    from gatewayproxy import steps
    from gatewayproxy.progress import LiveReporter, Reporter

    err = console(stderr=True)
    if live and err.is_terminal and not err.is_dumb_terminal:
        return LiveReporter(err, steps.NAMES, session.aws.clock.now)
    if quiet:
        return session.quiet_reporter()
    return Reporter(sys.stderr, steps.NAMES, session.aws.clock.now)


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)
