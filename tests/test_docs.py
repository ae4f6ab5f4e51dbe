"""The docs stay true: every transcript in them is what the commands print now, and every relative
link in README.md and docs/*.md leads to a file (and heading) that exists."""

from __future__ import annotations

import importlib.util
import re
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _load_script() -> ModuleType:
    """scripts/transcripts is a script (no .py): load it as a module (registered, as its
    dataclasses need)."""
    name = "scripts_transcripts"
    loader = SourceFileLoader(name, str(ROOT / "scripts" / "transcripts"))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


transcripts = _load_script()


def test_transcripts_in_the_docs_are_what_the_commands_print_now(moto_account: None,
                                                                   tmp_path: Path) -> None:
    found = transcripts.generate(tmp_path)
    problems = transcripts.stale(transcripts.DOCS, found)
    assert not problems, "\n" + "\n".join(transcripts.describe(problems))
    embedded = {match["name"] for path in transcripts.DOCS
                for match in transcripts.MARKER.finditer(path.read_text())}
    assert set(found) <= embedded, f"transcripts no doc shows: {sorted(set(found) - embedded)}"


def test_a_stale_transcript_is_named_with_its_file_and_the_fix(tmp_path: Path) -> None:
    doc = tmp_path / "commands.md"
    doc.write_text("intro\n<!-- transcript:up -->\n```\n$ gatewayproxy up\nold\n```\n"
                   "<!-- /transcript -->\n<!-- transcript:down -->\n```\n$ gatewayproxy down\n```\n"
                   "<!-- /transcript -->\n")
    now = {"up": "$ gatewayproxy up\nnew\n", "down": "$ gatewayproxy down\n"}
    problems = transcripts.stale([doc], now)
    assert [(path, name) for path, name, _ in problems] == [(doc, "up")]
    assert transcripts.describe(problems) == [
        f"{doc}: transcript up differs from what the commands print now: run scripts/transcripts"]

    assert transcripts.rewrite([doc], now) == [(doc, "up")]
    assert "new\n```\n<!-- /transcript -->" in doc.read_text()
    assert doc.read_text().startswith("intro\n") and transcripts.stale([doc], now) == []


def test_the_normaliser_makes_ids_and_times_stable() -> None:
    normalise = transcripts.Normaliser()
    normalise.api_ids = {"k0t1s6zkro": "restapi"}
    text = normalise("[0:07] 2. cluster done in 0.4s\n[0:01] 1. task_definition started\n"
                     "VPC vpc-465fe2230a6bdffaa, vpc-9999fe2230a6bdffa, vpc-465fe2230a6bdffaa\n"
                     "https://k0t1s6zkro.execute-api.us-east-1.amazonaws.com/prod\n"
                     "arn:aws:ecs:us-east-1:210987654321:cluster/x 2026-11-25 22:10:55+00:00")
    assert text == ("[m:ss] 1. task_definition started\n[m:ss] 2. cluster done in N.Ns\n"
                    "VPC vpc-00000000000000001, vpc-00000000000000002, vpc-00000000000000001\n"
                    "https://restapi001.execute-api.us-east-1.amazonaws.com/prod\n"
                    "arn:aws:ecs:us-east-1:123456789012:cluster/x 2025-01-01 00:00:00+00:00")


def test_progress_lines_come_out_in_one_order_whatever_order_the_threads_ran() -> None:
    normalise = transcripts.Normaliser()
    down = normalise("[0:00] 1. task_definition started\n[0:00] 9. rest_api started\n"
                     "[0:01] 9. rest_api done in 0.1s\nstack quizapi is down", reverse=True)
    assert down.splitlines() == ["[m:ss] 9. rest_api started", "[m:ss] 9. rest_api done in N.Ns",
                                 "[m:ss] 1. task_definition started", "stack quizapi is down"]
    other = "[0:01] ~ service  quizapi\n[0:00] + NAT gateway  quizapi-nat\nApply complete"
    assert normalise(other).splitlines() == [
        "[m:ss] + NAT gateway  quizapi-nat", "[m:ss] ~ service  quizapi", "Apply complete"]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    return {_slug(m[1]) for m in re.finditer(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}


def test_every_relative_link_in_the_docs_leads_somewhere() -> None:
    broken = []
    for doc in transcripts.DOCS:
        text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.DOTALL)
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            file, _, anchor = target.partition("#")
            path = (doc.parent / file).resolve() if file else doc
            if not path.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
