"""What both rollout benches share: the sandbox's service, its truth, pinning and timings.

bench/wait.py (real clock) and bench/seed_timings.py (virtual clock) each import
this; neither imports the other. Its name starts with "_" so `make bench` does not
run it as a bench.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CLUSTER, SERVICE, LB = "AkkaCluster", "akka-firehose-service", "akkaElb"
SPEC = "environments/sandbox/services/akka-firehose.json"


def truly_stable(sandbox: Any, before_deployment: str) -> bool:
    from moto.backends import get_backend

    emulator = sandbox.emulator
    with emulator.lock:
        backend = get_backend("ecs")[sandbox.account][sandbox.region]
        service = backend.services.get(f"{CLUSTER}:{SERVICE}")
        if service is None or len(service.deployments) != 1:
            return False
        primary = service.deployments[0]
        if primary["id"] == before_deployment:
            return False
        revision = primary["taskDefinition"]
        tasks = [t for t in backend.tasks.get(CLUSTER, {}).values()
                 if t.group == f"service:{SERVICE}" and t.last_status != "STOPPED"]
        if any(t.task_definition_arn != revision for t in tasks):
            return False
        running = [t for t in tasks if t.last_status == "RUNNING" and t.desired_status == "RUNNING"]
        if len(running) != service.desired_count:
            return False
        health = {h["InstanceId"]: h for h in emulator.instance_health(LB, [])}
        if any("deregistration" in h["Description"] for h in health.values()):
            return False
        instances = {ci.container_instance_arn: ci.ec2_instance_id
                     for ci in backend.container_instances.get(CLUSTER, {}).values()}
        return all(health.get(instances.get(t.container_instance_arn), {}).get("State")
                   == "InService" for t in running)


def primary_id(sandbox: Any) -> str:
    ecs = sandbox.client("ecs")
    service = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    return next(d["id"] for d in service["deployments"] if d["status"] == "PRIMARY")


def pin(sandbox: Any, tag: str) -> str:
    digest = sandbox.put_image(tag)
    path = sandbox.repo / SPEC
    doc = json.loads(path.read_text())
    doc["image"].update(tag=tag, digest=digest)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return digest


def prepare_repo(repo: Path, interval: int, draining: int) -> None:
    env_path = repo / "environments" / "sandbox" / "environment.json"
    doc = json.loads(env_path.read_text())
    doc["loadBalancer"]["healthCheck"].update(interval=interval, healthyThreshold=2,
                                              unhealthyThreshold=2, timeout=3)
    doc["loadBalancer"]["connectionDraining"].update(enabled=True, timeout=draining)
    env_path.write_text(json.dumps(doc, indent=2) + "\n")
