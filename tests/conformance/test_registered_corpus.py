"""Every task definition of the corpora, registered as AWS registers it, plans no change.

The documents: the real-world task definitions of tests/corpus/taskdefs (sources.json says
where each comes from), the documents of tests/validate/corpus that are valid
RegisterTaskDefinition input once rendered (most break a rule of this tool, not the API),
and tests/conformance/taskdefs, one or more per rewrite ECS documents. Each is rendered
as a release renders it (the staging service's pin fills its container; any other
container keeps its image, or gets a digest-pinned one when it has none), checked
against botocore's RegisterTaskDefinition input model, turned into DescribeTaskDefinition's
answer by registered.py (ECS's documented rewrites and defaults; checked against the
output model by botocore's Stubber) with the file's and a release record's tags, and
compared: plan.taskdef_changes must find nothing.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from registered import described, input_problems, validated, with_images

from release.core import ecs_model, plan
from release.core.config import TaskDefinition, load_repo
from release.core.records import Record
from release.core.registration import Where, merged_tags
from release.core.render import render_taskdef

ROOT = Path(__file__).resolve().parents[2]
# source → (folder, which files); the validate corpus's task definitions are its td-* files
SOURCES = {"tests/corpus/taskdefs": (ROOT / "tests/corpus/taskdefs", "*.json"),
           "tests/validate/corpus": (ROOT / "tests/validate/corpus", "td-*.json"),
           "tests/conformance/taskdefs": (ROOT / "tests/conformance/taskdefs", "*.json")}
NOT_DOCUMENTS = {"sources.json"}
REPO = load_repo(ROOT)
ENV = REPO.environment("staging")
SPEC = dataclasses.replace(REPO.services_of("staging")[0], overrides={})
RECORD = Record(env="staging", service=SPEC.service_name, commit="3f2a9c1d0b7e",
                image=SPEC.image.digest, by="jenkins", at="2026-11-30T09:15:02Z",
                outcome="completed").tags()


def _body(text: str) -> dict[str, Any] | str:
    """The task definition a file holds (a DescribeTaskDefinition answer unwrapped, what
    ECS adds dropped), or why it holds none."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return f"not JSON ({exc.__class__.__name__})"
    if isinstance(doc, dict) and isinstance(doc.get("taskDefinition"), dict):
        doc = {**doc["taskDefinition"], **({"tags": doc["tags"]} if doc.get("tags") else {})}
    if not isinstance(doc, dict) or not isinstance(doc.get("containerDefinitions"), list):
        return "not a task definition"
    added = ecs_model.added_by_ecs()
    return {k: v for k, v in doc.items() if k not in added}


def _render(rel: str, body: dict[str, Any]) -> dict[str, Any] | str:
    try:
        rendered = with_images(render_taskdef(ENV, SPEC, TaskDefinition(rel, body)))
    except (KeyError, TypeError, AttributeError) as exc:
        return f"cannot be rendered ({exc.__class__.__name__}: {exc})"
    problems = input_problems(rendered)
    return f"not RegisterTaskDefinition input: {problems.splitlines()[-1]}" if problems \
        else rendered


def _corpus() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    documents, left_out = {}, {}
    for where, (folder, pattern) in SOURCES.items():
        for path in sorted(folder.glob(pattern)) if folder.is_dir() else []:
            if path.name in NOT_DOCUMENTS:
                continue
            rel = f"{where}/{path.name}"
            body = _body(path.read_text(errors="replace"))
            rendered = _render(rel, body) if isinstance(body, dict) else body
            if isinstance(rendered, dict):
                documents[rel] = rendered
            else:
                left_out[rel] = rendered
    return documents, left_out


DOCUMENTS, LEFT_OUT = _corpus()


@pytest.mark.parametrize("rel", sorted(DOCUMENTS))
def test_the_registered_shape_plans_nothing_to_change(rel: str) -> None:
    desired = DOCUMENTS[rel]
    tags = merged_tags(desired.get("tags"), RECORD)
    answer = validated(described(desired, 7, account=ENV.account, region=ENV.region,
                                 tags=tags), ENV.region)
    live_tags = {t["key"]: t.get("value", "") for t in answer["tags"]}
    changes = plan.taskdef_changes(answer["taskDefinition"], desired, live_tags,
                                   Where(ENV.account, ENV.region))
    assert [c.one_line() for c in changes] == []


def test_the_corpus_figures() -> None:
    """How many documents there are, and why any is left out (printed with -s or -rP)."""
    by_source = {where: sum(rel.startswith(where + "/") for rel in DOCUMENTS)
                 for where in SOURCES}
    print(f"\n{len(DOCUMENTS)} task definitions compared ({by_source}); "
          f"{len(LEFT_OUT)} files left out:")
    for rel, why in sorted(LEFT_OUT.items()):
        print(f"  {rel}: {why}")
    folder, pattern = SOURCES["tests/conformance/taskdefs"]
    assert by_source["tests/conformance/taskdefs"] == len(list(folder.glob(pattern)))
    assert by_source["tests/validate/corpus"] >= 30
    # a file is left out only for what botocore or JSON says, never for a crash here
    assert all(why.startswith(("not ", "cannot be rendered")) for why in LEFT_OUT.values())
