"""The command line: parses, prints, and maps errors to exit codes. No AWS logic lives here.

Heavy modules (boto3, rich, the engine) are imported inside the commands, so `--help` and
`--version` start fast.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gatewayproxy import __version__
from gatewayproxy.cli_common import (
    GLOBAL_FLAGS_HELP,
    Options,
    StackSession,
    given,
    global_options,
    handle_errors,
    stack_options,
    verbose_option,
)
from gatewayproxy.cli_common import console as _console
from gatewayproxy.cli_common import reporter as _reporter
from gatewayproxy.cli_keys import keys
from gatewayproxy.cli_state import state as state_group
from gatewayproxy.cli_state import unlock
from gatewayproxy.config import CONFIG_FILE

if TYPE_CHECKING:
    from gatewayproxy.config import Config
    from gatewayproxy.engine import Engine, RunResult
    from gatewayproxy.state import State


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=GLOBAL_FLAGS_HELP)
@click.version_option(__version__, prog_name="gatewayproxy")
@global_options
def main(**_: Any) -> None:
    """Put a container on the internet the safe way on AWS: ECS Fargate in private subnets,
    an internal NLB, and an API Gateway REST API reaching it through a VPC link.

    \b
    Example:
      gatewayproxy sandbox start
      gatewayproxy up --sandbox
      gatewayproxy status --sandbox
      gatewayproxy down --sandbox --yes
    """


def _summary(result: RunResult, title: str) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("step")
    table.add_column("resources", justify="right")
    table.add_column("time", justify="right")
    from gatewayproxy import steps

    for step in result.results:
        table.add_row(f"{steps.NAMES.index(step.name) + 1}. {step.name}", str(step.resources),
                      f"{step.seconds:.1f}s")
    _console(stderr=True).print(table)


# -- commands -----------------------------------------------------------------------------------
@main.command()
@stack_options
@click.option("--no-check", is_flag=True, help="Do not send a request to the invoke URL at the end.")
@handle_errors
def up(options: Options, no_check: bool) -> None:
    """Create or update the stack, then print its invoke URL.

    \b
    Example:
      gatewayproxy up                      # uses ./gatewayproxy.toml
      gatewayproxy up -c api.toml --region eu-west-1
    """
    from gatewayproxy import probe

    session = StackSession.open(options)
    cfg, state = session.config, session.state
    if session.default_state and not state.exists:
        _refuse_a_renamed_stack(state.path, cfg.name)
    with session.locked("up"):
        engine = session.engine(_reporter(session, live=True))
        try:
            result = engine.up()
        finally:
            engine.reporter.close()
    from gatewayproxy import planned

    _summary(result, f"stack {cfg.name} is up")
    url = result.invoke_url
    domain_url = engine.ctx.outputs.get("rest_api.domain_url")
    # With the default endpoint disabled, only the custom domain answers.
    probed = domain_url.rstrip("/") if domain_url and cfg.domain and \
        cfg.domain.disable_default_endpoint else url
    if probed and not no_check and not engine.ctx.aws.emulated:
        answer = probe.check(probed, cfg, sleep=engine.ctx.aws.clock.sleep)
        click.echo(answer, err=True)
    lines = planned.apply_lines(result.changes)
    for line in lines[:-1]:
        click.echo(line)
    click.echo(f"Invoke URL: {url}")  # `gatewayproxy url` prints it alone, for scripts
    if domain_url:
        click.echo(f"Custom domain URL: {domain_url}")
    dns = engine.ctx.outputs.get("rest_api.domain_dns")
    if dns:
        click.echo(f"{dns} (its hosted zone is not in this account)")
    click.echo(lines[-1])


@main.command()
@click.option("-c", "--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(CONFIG_FILE), show_default=True, help="Where to write it.")
@click.option("--name", help="Stack name [default: from the folder's name].")
@click.option("--image", help="Container image [default: public nginx].")
@click.option("--port", type=click.IntRange(1, 65535), help="Container port [default: 80].")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@verbose_option
@handle_errors
def init(config: Path, name: str | None, image: str | None, port: int | None,
         force: bool, verbose: bool) -> None:
    """Write a commented gatewayproxy.toml to start from.

    Asks for missing values on a terminal; elsewhere, takes the defaults.

    \b
    Example:
      gatewayproxy init --name quizapi --image public.ecr.aws/nginx/nginx:1.27 --port 80
    """
    from gatewayproxy import config as config_module
    from gatewayproxy.init import render, suggested_name

    config = given("config", config)  # `gatewayproxy -c api.toml init` too
    if config.exists() and not force:
        raise click.ClickException(f"{config} exists; pass --force to overwrite it")
    ask = sys.stdin.isatty()
    default_name = suggested_name(config.resolve().parent.name)
    name = name or (click.prompt("stack name", default=default_name) if ask else default_name)
    image = image or (click.prompt("container image", default="public.ecr.aws/nginx/nginx:1.27")
                      if ask else "public.ecr.aws/nginx/nginx:1.27")
    if port is None:
        port = click.prompt("container port", default=80, type=click.IntRange(1, 65535)) \
            if ask else 80
    text = render(name, image, port)
    import tomllib

    config_module.parse(tomllib.loads(text))  # refuse to write a file `up` would reject
    config.write_text(text)
    click.echo(f"wrote {config}: review it, then run `gatewayproxy plan` and `gatewayproxy up`")


@main.command()
@stack_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 with no changes, 2 with changes, 1 on error (for CI).")
@handle_errors
def plan(options: Options, as_json: bool, detailed_exitcode: bool) -> None:
    """Show what `up` would do, resource by resource; change nothing.

    \b
    Symbols: + create, ~ update in place, -/+ replace, - delete.
    Example:
      gatewayproxy plan
      gatewayproxy plan --json
      gatewayproxy plan --detailed-exitcode   # in CI: exit 2 when there is something to do
    """
    import json

    from gatewayproxy import planned

    session = StackSession.open(options)
    cfg = session.config
    engine = session.engine()
    changes = engine.plan()
    if as_json:
        click.echo(json.dumps(planned.plan_json(changes), indent=2))
    else:
        for line in planned.plan_lines(changes):
            click.echo(line)
        for note in engine.notes:
            click.echo(f"Note: {note}", err=True)
        _print_cost(_console(stderr=True), cfg, engine.ctx.aws.region)
    if detailed_exitcode and changes:
        raise SystemExit(2)


def _print_cost(console: Any, cfg: Config, region: str) -> None:
    from gatewayproxy import cost

    for line in cost.describe(cost.estimate(cfg, region), region):
        console.print(line, highlight=False, markup=False)


@main.command()
@stack_options
@click.option("--since", default="10m", show_default=True, help="How far back: 30s, 10m, 2h, 1d.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@handle_errors
def logs(options: Options, since: str, follow: bool) -> None:
    """Print the container's logs (CloudWatch Logs).

    \b
    Example:
      gatewayproxy logs --since 1h
      gatewayproxy logs -f
    """
    from gatewayproxy import logs as logs_module
    from gatewayproxy.steps.task_definition import log_group

    seconds = logs_module.parse_since(since)
    session = StackSession.open(options)
    session.check_target()
    printed = 0
    for line in logs_module.events(session.aws, log_group(session.ctx), seconds, follow):
        click.echo(line)
        printed += 1
    if not printed:
        click.echo(f"no log lines in the last {since}", err=True)


@main.command()
@stack_options
@handle_errors
def url(options: Options) -> None:
    """Print the invoke URL, and nothing else (for scripts).

    With [api.domain], the custom domain's URL, https://<api.domain.name>/.

    \b
    Example:
      curl "$(gatewayproxy url)/answers"
    """
    session = StackSession.open(options)
    cfg, state = session.config, session.state
    found = state.get("rest_api", "domain_url") if cfg.domain else None
    found = found or state.get("rest_api", "invoke_url")
    if not found:
        raise click.ClickException(f"stack {cfg.name} has no invoke URL yet: run `gatewayproxy up`")
    click.echo(found)


def _refuse_a_renamed_stack(path: Path, name: str) -> None:
    """A new stack name beside another stack's state is most likely a rename, which would build
    a second stack and leave the first one billing."""
    from gatewayproxy.errors import GatewayProxyError
    from gatewayproxy.state import State

    for other in sorted(path.parent.glob("*.state.json")):
        stack = other.name.removesuffix(".state.json")
        if stack == name:
            continue
        try:
            existing = State.load(other, stack)
        except GatewayProxyError:
            continue
        if not existing.is_empty:
            raise click.ClickException(
                f"this folder already holds stack {stack!r} ({other}); renaming it to {name!r} "
                f"would build a second stack: run `gatewayproxy down` with the old name first, "
                "or pass --state to keep both")


@main.command()
@stack_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (stable schema).")
@click.option("--watch", is_flag=True, help="Refresh every few seconds until Ctrl-C.")
@handle_errors
def status(options: Options, as_json: bool, watch: bool) -> None:
    """Show what exists, whether it is healthy, and the invoke URL.

    \b
    Example:
      gatewayproxy status
      gatewayproxy status --json | jq .invoke_url
      gatewayproxy status --watch
    """
    session = StackSession.open(options)
    cfg, state = session.config, session.state
    engine = session.engine(_reporter(session, live=False))
    if watch and not as_json:
        from rich.live import Live

        with Live(_status_view(engine, cfg, state), console=_console(),
                  auto_refresh=False) as live:
            while True:
                engine.ctx.aws.clock.sleep(5.0)
                live.update(_status_view(engine, cfg, state), refresh=True)
    report = engine.status()
    orphans = engine.tagged() if state.is_empty else []
    url = state.get("rest_api", "invoke_url")
    target = state.target
    if as_json:
        click.echo(json.dumps({
            "stack": cfg.name,
            "target": target,
            "invoke_url": url,
            "domain_url": state.get("rest_api", "domain_url") if cfg.domain else None,
            "exists": not state.is_empty,
            "healthy": all(s.healthy for s in report),
            "untracked": orphans,
            "steps": [{"name": s.name, "done": s.done, "healthy": s.healthy, "summary": s.summary,
                       "resources": s.resources, "details": s.details} for s in report],
        }, indent=2, default=str))
        _fail_if_unread(report)
        return
    console = _console()
    console.print(_status_table(cfg, report, url))
    if orphans:
        console.print(f"[yellow]the state has no resources, but AWS holds {len(orphans)} tagged "
                      f"gatewayproxy:stack={cfg.name}: run `gatewayproxy import` to track them, "
                      "or `gatewayproxy down` to delete them[/]")
    elif not state.is_empty:
        _print_cost(console, cfg, engine.ctx.aws.region)
    _fail_if_unread(report)


@main.command()
@stack_options
@click.option("--json", "as_json", is_flag=True,
              help="Print the hops as a JSON list of {hop, ok, detail, ...}.")
@handle_errors
def doctor(options: Options, as_json: bool) -> None:
    """Walk a request's way hop by hop (API, stage, routes, VPC link, NLB, listener, targets,
    service, stopped tasks, logs) and say which hop is broken and why. Exit 0 when every hop
    is ok, 1 otherwise.

    \b
    Example:
      gatewayproxy doctor
      gatewayproxy doctor --json | jq '.[] | select(.ok | not)'
    """
    from gatewayproxy import doctor as doctor_module

    session = StackSession.open(options)
    session.check_target()
    session.ctx.command = "doctor"
    hops = doctor_module.examine(session.ctx)
    if as_json:
        click.echo(json.dumps([h.as_json() for h in hops], indent=2, default=str))
    else:
        for line in doctor_module.lines(hops):
            click.echo(line)
    if not all(h.ok for h in hops):
        raise SystemExit(1)


def _fail_if_unread(report: list[Any]) -> None:
    """Unhealthy exits 0 (a finding); a step AWS would not let us read exits 1 (no finding)."""
    unread = [s.name for s in report if "error" in s.details]
    if unread:
        raise click.ClickException(f"could not read {', '.join(unread)}: the AWS error is in "
                                   "the step's summary")


def _status_view(engine: Engine, cfg: Config, state: State) -> Any:
    from rich.console import Group
    from rich.text import Text

    when = Text(f"refreshed {time.strftime('%H:%M:%S')}; Ctrl-C to stop", style="dim")
    return Group(_status_table(cfg, engine.status(), state.get("rest_api", "invoke_url")), when)


def _status_table(cfg: Config, report: list[Any], url: str | None) -> Any:
    from rich.table import Table

    table = Table(title=f"stack {cfg.name}", title_justify="left",
                  caption=f"invoke URL: {url or '(none yet: run gatewayproxy up)'}",
                  caption_justify="left")
    for column in ("step", "done", "health", "summary"):
        table.add_column(column)
    for i, s in enumerate(report, 1):
        health = {True: "[green]healthy[/]", False: "[red]unhealthy[/]", None: "-"}[s.healthy]
        if "error" in s.details:
            health = "[red]error[/]"
        summary = "\n".join([s.summary, *(f"[dim]{e}[/]" for e in s.details.get("events", []))])
        table.add_row(f"{i}. {s.name}", "yes" if s.done else "no", health, summary)
    return table


@main.command()
@stack_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@handle_errors
def down(options: Options, yes: bool) -> None:
    """Delete everything the stack made, in reverse order.

    \b
    Example:
      gatewayproxy down            # asks first
      gatewayproxy down --yes      # for scripts
    """
    session = StackSession.open(options)
    cfg = session.config
    if not yes:
        if not sys.stdin.isatty():
            raise click.ClickException("down deletes the whole stack; pass --yes to confirm "
                                       "when not on a terminal")
        click.confirm(f"Delete every resource of stack {cfg.name}?", abort=True)
    with session.locked("down"):
        engine = session.engine(_reporter(session, live=True))
        try:
            result = engine.down()
        finally:
            engine.reporter.close()
    from gatewayproxy import planned

    _summary(result, f"stack {cfg.name} is down")
    for line in planned.plan_lines(result.changes)[:-1] if result.changes else []:
        click.echo(line)
    click.echo(planned.destroy_line(sum(1 for c in result.changes if c.action == "delete")))


@main.command("import")
@stack_options
@handle_errors
def import_(options: Options) -> None:
    """Rebuild the state file from the resources tagged with the stack's name.

    For a lost or deleted state file: nothing is created or changed in AWS.

    \b
    Example:
      gatewayproxy import && gatewayproxy status
    """
    from gatewayproxy import steps

    session = StackSession.open(options)
    cfg, state = session.config, session.state
    with session.locked("import"):
        missing = session.engine(_reporter(session, live=False)).adopt()
    if state.is_empty:
        state.delete_file()
        click.echo(f"found nothing tagged gatewayproxy:stack={cfg.name}; no state written")
        return
    complete = True
    for i, name in enumerate(steps.NAMES, 1):
        if state.is_done(name):
            mark = "found"
        else:
            complete = False
            mark = (f"incomplete: would need {missing[name]}" if name in missing
                    else "incomplete: an earlier step is")
        click.echo(f"{i}. {name}: {mark}")
    click.echo(f"state written to {state.where}"
               + ("" if complete else "; run `gatewayproxy up` to finish the stack"))


@main.command()
@stack_options
@click.option("--json", "as_json", is_flag=True, help="Print the bare policy document (IAM JSON).")
@click.option("--part", type=click.IntRange(min=1),
              help="With --json: only part N of the document cut to IAM's managed-policy size.")
@handle_errors
def policy(options: Options, as_json: bool, part: int | None) -> None:
    """Print the IAM policy a CI role needs to run every command on this stack.

    Exactly the actions the tool calls, scoped to the stack's names, its tag and its state
    wherever AWS allows; a `# why` line says why each statement is as wide as it is.

    \b
    Example:
      gatewayproxy policy
      gatewayproxy policy --json > policy.json
      gatewayproxy policy --json --part 1 > policy-1.json   # one managed policy's worth
    """
    from gatewayproxy import policy as policy_module

    names = policy_module.names_for(StackSession.bare(options))
    if part is not None:
        documents = policy_module.parts(names)
        if not as_json or part > len(documents):
            raise click.UsageError(f"--part takes --json and a number from 1 to {len(documents)}")
        click.echo(json.dumps(documents[part - 1], indent=2))
        return
    click.echo(json.dumps(policy_module.document(names), indent=2) if as_json
               else policy_module.text(names))


@main.group()
def sandbox() -> None:
    """A local AWS emulator on 127.0.0.1, to try gatewayproxy without an AWS account.

    \b
    Example:
      gatewayproxy sandbox start && gatewayproxy up --sandbox
    """


@sandbox.command("start")
@click.option("--port", type=click.IntRange(1024, 65535), default=4566, show_default=True)
@verbose_option
@handle_errors
def sandbox_start(port: int, verbose: bool) -> None:
    """Start the emulator (does nothing if it runs already).

    \b
    Example:
      gatewayproxy sandbox start --port 4566
    """
    from gatewayproxy import sandbox as sandbox_module

    running = sandbox_module.start(port)
    click.echo(f"sandbox running at {running.url} (pid {running.pid}); use it with --sandbox "
               f"or AWS_ENDPOINT_URL={running.url}")


@sandbox.command("stop")
@verbose_option
@handle_errors
def sandbox_stop(verbose: bool) -> None:
    """Stop the emulator; everything in it is forgotten.

    \b
    Example:
      gatewayproxy sandbox stop
    """
    from gatewayproxy import sandbox as sandbox_module

    click.echo("sandbox stopped" if sandbox_module.stop() else "no sandbox was running")


@sandbox.command("status")
@verbose_option
@handle_errors
def sandbox_status(verbose: bool) -> None:
    """Say whether the emulator runs, and where (exit 1 if it does not).

    \b
    Example:
      gatewayproxy sandbox status || gatewayproxy sandbox start
    """
    from gatewayproxy import sandbox as sandbox_module

    running = sandbox_module.current()
    if running is None:
        click.echo("no sandbox is running")
        sys.exit(1)
    click.echo(f"sandbox running at {running.url} (pid {running.pid})")


main.add_command(keys)  # the `keys` group lives in cli_keys.py
main.add_command(state_group)  # `state` and `unlock` live in cli_state.py
main.add_command(unlock)
