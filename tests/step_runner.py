"""Drive one resource-based step's resources through the engine, alone (the steps it reads
are not run): for tests of a step whose neighbours are not made."""

from __future__ import annotations

import io
from types import ModuleType

from gatewayproxy.context import Context
from gatewayproxy.engine import Engine, RunResult, _Run
from gatewayproxy.graph import build, node_id
from gatewayproxy.progress import Reporter


def _run(ctx: Context, module: ModuleType, command: str) -> RunResult:
    report = ctx.report
    engine = Engine(ctx, Reporter(io.StringIO(), ()), sequential=True)
    ctx.report = report
    graph = build(ctx, [module])
    ctx.command = command
    run = _Run(engine, graph, command)
    if command == "up":
        return run.execute(run.converge, run.up_waits)
    return run.execute(run.remove, lambda r: graph.down_waits(node_id(r)))


def up(ctx: Context, module: ModuleType) -> RunResult:
    return _run(ctx, module, "up")


def down(ctx: Context, module: ModuleType) -> RunResult:
    return _run(ctx, module, "down")
