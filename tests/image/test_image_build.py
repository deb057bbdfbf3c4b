"""`release build` against the real engine, a real registry and moto's ECR."""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from image_support import (
    REPOSITORY,
    build_args,
    commit_all,
    dead_docker_host,
    point_sandbox_at,
    registry_manifest_digest,
    run_release,
)

from release.core.errors import Unreachable
from release_sandbox.registry import Registry

CONTEXT = "examples/akka-firehose"


def test_build_and_push_reports_the_digest_the_registry_computed(config_repo, local_ecr,
                                                                 docker_client, tmp_path):
    commit = config_repo.head.commit.hexsha
    home = tmp_path / "home"
    home.mkdir()

    run = run_release(*build_args(config_repo, "--push", "--format", "json"),
                      env={"HOME": str(home)})

    assert run.exit_code == 0, run.output
    result = run.event("build.result")
    assert result["tag"] == commit[:12]
    assert result["digest"] == registry_manifest_digest(local_ecr.registry, result["tag"])
    assert result["reference"] == (f"{local_ecr.registry.address}/{REPOSITORY}@"
                                   f"{result['digest']}")
    listed = local_ecr.ecr.describe_images(repositoryName=REPOSITORY,
                                           imageIds=[{"imageTag": result["tag"]}])
    assert listed["imageDetails"][0]["imageDigest"] == result["digest"]
    assert result["built"] and result["pushed"] and not result["existing"]
    # Build output and push progress came through the reporter as events.
    assert any(e["event"] == "build.output" and e["message"].startswith("Step ")
               for e in run.events)
    assert "push.layer" in run.kinds()
    # The ECR login went with the request only: no docker config file was written.
    assert list(home.iterdir()) == []
    assert local_ecr.password not in run.output


def test_image_carries_oci_labels_naming_its_commit(config_repo, docker_client):
    commit = config_repo.head.commit.hexsha

    run = run_release(*build_args(config_repo, "--format", "json"))

    assert run.exit_code == 0, run.output
    result = run.event("build.result")
    assert result["digest"] is None and not result["pushed"]
    labels = docker_client.images.get(result["image"]).labels
    assert labels["org.opencontainers.image.revision"] == commit
    assert labels["org.opencontainers.image.version"] == commit[:12]
    assert labels["org.opencontainers.image.source"] == CONTEXT
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                        labels["org.opencontainers.image.created"])


def test_second_build_of_the_same_commit_returns_the_existing_digest_quickly(config_repo):
    first = run_release(*build_args(config_repo, "--push", "--format", "json"))
    assert first.exit_code == 0, first.output

    started = time.monotonic()
    second = run_release(*build_args(config_repo, "--push", "--format", "json"))
    elapsed = time.monotonic() - started

    assert second.exit_code == 0, second.output
    result = second.event("build.result")
    assert result["existing"] and not result["built"] and not result["pushed"]
    assert result["digest"] == first.event("build.result")["digest"]
    assert "build.start" not in second.kinds()
    assert elapsed < 2.0, f"skipping took {elapsed:.2f} s"


def test_a_commit_outside_the_context_keeps_the_tag(config_repo):
    tag_before = run_release(*build_args(config_repo, "--format", "json")).event("build.result")
    spec = Path(config_repo.working_tree_dir) / "environments/sandbox/services/akka-firehose.json"
    doc = json.loads(spec.read_text())
    doc["overrides"]["containers"]["akka-firehose"]["environment"]["LOG_LEVEL"] = "debug"
    spec.write_text(json.dumps(doc, indent=2) + "\n")
    config_repo.git.add(A=True)
    config_repo.index.commit("more logging")

    after = run_release(*build_args(config_repo, "--format", "json")).event("build.result")

    assert after["tag"] == tag_before["tag"]


def test_wrong_registry_password_exits_5_without_showing_the_secret(config_repo, local_ecr,
                                                                   tmp_path):
    with Registry(tmp_path / "other-registry", "not-the-ecr-password") as other:
        point_sandbox_at(Path(config_repo.working_tree_dir), local_ecr.endpoint, other.address)
        commit_all(config_repo, "point at a registry with another password")
        text = run_release(*build_args(config_repo, "--push"))
        as_json = run_release(*build_args(config_repo, "--push", "--format", "json"))

    for run in (text, as_json):
        assert run.exit_code == 5, run.output
        assert "refused the ECR credentials" in run.output
        assert local_ecr.password not in run.output
        assert local_ecr.token not in run.output
    assert as_json.event("error")["hint"]


def test_no_docker_engine_exits_5_naming_where_it_looked(config_repo, tmp_path):
    host = dead_docker_host(tmp_path)

    run = run_release(*build_args(config_repo, "--push"), env={"DOCKER_HOST": host})

    assert run.exit_code == 5, run.output
    assert host in run.output and "$DOCKER_HOST" in run.output


def test_missing_ecr_repository_exits_5_and_points_to_bootstrap(config_repo, local_ecr):
    point_sandbox_at(Path(config_repo.working_tree_dir), local_ecr.endpoint,
                     local_ecr.registry.address, repository="not-created-yet")
    commit_all(config_repo, "another repository")

    run = run_release(*build_args(config_repo, "--push"))

    assert run.exit_code == 5, run.output
    assert "not-created-yet" in run.output and "release bootstrap" in run.output


def test_unreachable_ecr_exits_5(config_repo, local_ecr):
    from release_sandbox.registry import free_port

    point_sandbox_at(Path(config_repo.working_tree_dir), f"http://127.0.0.1:{free_port()}",
                     local_ecr.registry.address)
    commit_all(config_repo, "nobody listens there")

    run = run_release(*build_args(config_repo, "--push"))

    assert run.exit_code == 5, run.output
    assert "cannot reach" in run.output


def test_broken_dockerfile_exits_1_naming_the_failing_step(config_repo):
    dockerfile = Path(config_repo.working_tree_dir) / CONTEXT / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "COPY does-not-exist.txt /etc/\n")
    commit_all(config_repo, "break the Dockerfile")

    run = run_release(*build_args(config_repo, "--format", "json"))

    assert run.exit_code == 1, run.output
    error = run.event("error")
    assert re.search(r"at Step \d+/\d+ : COPY does-not-exist.txt", error["message"])
    assert "does-not-exist.txt" in error["message"]


def test_dirty_context_is_refused(config_repo):
    source = Path(config_repo.working_tree_dir) / CONTEXT / "src/server.c"
    source.write_text(source.read_text() + "/* local experiment */\n")

    run = run_release(*build_args(config_repo))

    assert run.exit_code == 1, run.output
    assert "uncommitted changes" in run.output and "src/server.c" in run.output
    assert "--allow-dirty" in run.output


def test_dirty_context_allowed_is_tagged_as_dirty(config_repo):
    commit = config_repo.head.commit.hexsha
    source = Path(config_repo.working_tree_dir) / CONTEXT / "src/server.c"
    source.write_text(source.read_text() + "/* local experiment */\n")

    run = run_release(*build_args(config_repo, "--allow-dirty", "--format", "json"))

    assert run.exit_code == 0, run.output
    tag = run.event("build.result")["tag"]
    assert re.fullmatch(rf"{commit[:12]}-dirty-[0-9a-f]{{8}}", tag)
    source.write_text(source.read_text() + "/* another one */\n")
    again = run_release(*build_args(config_repo, "--allow-dirty", "--format", "json"))
    assert again.event("build.result")["tag"] != tag


def test_untracked_file_in_context_counts_as_dirty(config_repo):
    (Path(config_repo.working_tree_dir) / CONTEXT / "notes.txt").write_text("draft\n")

    run = run_release(*build_args(config_repo))

    assert run.exit_code == 1, run.output
    assert "notes.txt" in run.output


def test_a_context_outside_the_config_repository_is_refused(tmp_path, config_repo):
    """Outside git or in another checkout: refused before the engine, never tagged with a
    commit this repository's history does not hold (docs/image.md)."""
    import shutil

    import git

    loose = tmp_path / "loose-context"
    shutil.copytree(Path(config_repo.working_tree_dir) / CONTEXT, loose)
    other = tmp_path / "other-checkout"
    shutil.copytree(Path(config_repo.working_tree_dir) / CONTEXT, other)
    checkout = git.Repo.init(other)
    commit_all(checkout, "another project's commit")

    for context in (loose, other):
        run = run_release(*build_args(config_repo, "--context", str(context)))
        assert run.exit_code == 1, run.output
        assert "outside the config repository" in run.output
        assert checkout.head.commit.hexsha[:12] not in run.output


def test_gitignored_binary_does_not_make_the_context_dirty(config_repo):
    binary = Path(config_repo.working_tree_dir) / CONTEXT / "bin/akka-firehose"
    assert binary.is_file()
    assert not config_repo.is_dirty(untracked_files=True)


def test_missing_binary_points_to_the_context_makefile(config_repo):
    (Path(config_repo.working_tree_dir) / CONTEXT / "bin/akka-firehose").unlink()

    run = run_release(*build_args(config_repo, "--format", "json"))

    assert run.exit_code == 1, run.output
    error = run.event("error")
    assert "COPY bin/akka-firehose" in error["message"]
    assert "make -C" in error["hint"]


def sandbox_env(config_repo):
    from release.core import config

    return config.load_repo(Path(config_repo.working_tree_dir), ["sandbox"]).environment(
        "sandbox")


def test_confirmation_gives_up_after_its_timeout_on_the_clock(config_repo):
    from release.adapters.ecr_images import confirm_digest, ecr_clients
    from release.core.clock import VirtualClock

    env = sandbox_env(config_repo)
    clock = VirtualClock()
    started_virtual, started_real = clock.now(), time.monotonic()

    with pytest.raises(Unreachable) as raised:
        confirm_digest(ecr_clients(env), env, "never-pushed", "sha256:" + "0" * 64, clock)

    assert "does not list" in raised.value.message
    assert clock.now() - started_virtual >= 10
    assert time.monotonic() - started_real < 5


def test_confirmation_refuses_a_digest_ecr_does_not_have(config_repo):
    from release.adapters.ecr_images import confirm_digest, ecr_clients

    pushed = run_release(*build_args(config_repo, "--push", "--format", "json"))
    result = pushed.event("build.result")
    env = sandbox_env(config_repo)

    with pytest.raises(Unreachable) as raised:
        confirm_digest(ecr_clients(env), env, result["tag"], "sha256:" + "1" * 64)

    assert result["digest"] in raised.value.message


def _cutting_proxy(path: Path, engine: str) -> tuple[Any, list[bytes]]:
    """A unix socket in front of the real engine that drops the build's connection right
    after the first bytes of its answer: what the SDK sees when dockerd is killed mid-build."""
    import socket
    import threading

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    cut: list[bytes] = []

    def pump(source: socket.socket, sink: socket.socket, cut_after_first: bool) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if cut_after_first:
                    cut.append(data[:40])
                    break
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(engine)
            request = client.recv(65536)
            upstream.sendall(request)
            is_build = b"/build" in request.split(b"\r\n", 1)[0]
            threading.Thread(target=pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client, is_build), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return server, cut


def test_an_engine_lost_mid_build_exits_5_saying_what_to_check(config_repo, tmp_path):
    engine = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
    server, cut = _cutting_proxy(tmp_path / "cut.sock", engine)
    try:
        run = run_release(*build_args(config_repo), env={"DOCKER_HOST":
                                                         f"unix://{tmp_path / 'cut.sock'}"})
    finally:
        server.close()

    assert cut, "the build's connection was never cut"
    assert run.exit_code == 5, run.output
    assert "lost the Docker engine" in run.output and "dockerd" in run.output
    assert "Traceback" not in run.output
