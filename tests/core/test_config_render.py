"""The loader and the renderer on the repository's own documents and small variations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from release.core import config, documents, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    for name in ("taskdefs", "environments"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def edit(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


def test_the_seed_settings_are_what_the_documents_say():
    repo = config.load_repo(ROOT)
    staging = repo.environment("staging")
    assert staging.cluster == "AkkaCluster"
    assert staging.load_balancer.name == "akkaElb"
    hc = staging.load_balancer.health_check
    assert (hc.target, hc.interval, hc.unhealthy_threshold, hc.healthy_threshold, hc.timeout) == (
        "HTTP:80/api/healthcheck", 30, 5, 2, 3)
    assert staging.load_balancer.effective_draining == 300
    assert staging.registry == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    spec = repo.services_of("staging", "akka-firehose-service")[0]
    assert spec.service_name == "akka-firehose-service"
    assert spec.desired_count == 2
    assert [e.name for e in repo.ordered_environments()] == ["sandbox", "staging", "production",
                                                             "sandbox-alb"]
    assert repo.environment("production").requires_approval


def test_render_pins_the_image_by_digest_into_the_image_container(repo: Path):
    loaded = config.load_repo(repo)
    spec = loaded.services_of("staging")[0]
    body = render.render_service(loaded, spec)
    container = body["containerDefinitions"][0]
    assert container["image"] == (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/akka-firehose@" + spec.image.digest)
    assert "$schema" not in body


def test_render_merges_environment_and_secrets_overrides_by_name(repo: Path):
    spec_path = repo / "environments/staging/services/akka-firehose.json"

    def change(doc):
        doc["overrides"]["containers"]["akka-firehose"] = {
            "memory": 2048,
            "environment": {"HTTP_PORT": "9090", "A_NEW": "x"},
            "secrets": {"DB_PASSWORD": "arn:aws:ssm:us-east-1:123456789012:parameter/db"},
        }
    edit(spec_path, change)
    loaded = config.load_repo(repo)
    container = render.render_service(loaded, loaded.services_of("staging")[0])[
        "containerDefinitions"][0]
    assert container["memory"] == 2048
    assert container["environment"] == [{"name": "HTTP_PORT", "value": "9090"},
                                        {"name": "A_NEW", "value": "x"}]
    ssm = "arn:aws:ssm:us-east-1:123456789012:parameter/db"
    assert container["secrets"] == [{"name": "DB_PASSWORD", "valueFrom": ssm}]


def test_render_falls_back_to_the_tag_when_the_pin_has_no_digest(repo: Path):
    spec_path = repo / "environments/sandbox/services/akka-firehose.json"
    edit(spec_path, lambda doc: doc["image"].pop("digest"))
    loaded = config.load_repo(repo)
    body = render.render_service(loaded, loaded.services_of("sandbox")[0])
    assert body["containerDefinitions"][0]["image"].endswith("/akka-firehose:0123456789ab")


def test_unknown_names_say_which_ones_exist():
    repo = config.load_repo(ROOT)
    with pytest.raises(config.UnknownName) as env_err:
        repo.environment("prod")
    assert "production" in env_err.value.hint
    with pytest.raises(config.UnknownName) as svc_err:
        repo.services_of("staging", "nope")
    assert "akka-firehose" in svc_err.value.hint


def test_malformed_json_is_reported_with_line_and_column(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "a": 1,\n  "b": \n}\n')
    with pytest.raises(documents.DocumentError) as err:
        documents.read_json(bad)
    assert (err.value.line, err.value.column) == (4, 1)
    assert "malformed JSON" in err.value.message
