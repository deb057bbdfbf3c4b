"""Every cross-document rule: one change that makes it fire, one near miss that keeps it quiet."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from test_rules_grace import GRACE_CASES
from test_rules_service_members import MEMBER_CASES
from test_rules_target_groups import ALB_CASES
from validate_helpers import STAGING_ENV, STAGING_SERVICE, TASKDEF, edit

from release.adapters.apicheck import register_task_definition_problems as botocore_check
from release.core.placeholders import PLACEHOLDER
from release.core.rules import RULES
from release.core.validate import validate_repo

Change = Callable[[Path], None]


def c0(doc):
    return doc["containerDefinitions"][0]


def taskdef(change) -> Change:
    return lambda repo: edit(repo, TASKDEF, change)


def service(change) -> Change:
    return lambda repo: edit(repo, STAGING_SERVICE, change)


def environment(change) -> Change:
    return lambda repo: edit(repo, STAGING_ENV, change)


def both(*changes: Change) -> Change:
    def apply(repo: Path) -> None:
        for change in changes:
            change(repo)

    return apply


def bake(minutes: float = 5, alarms: list[str] | None = None) -> Change:
    """A bake on staging's service over its environment's alarms (UnHealthyHostCount and
    Latency need 3 minutes to go into ALARM, HTTPCode_Backend_5XX one)."""
    names = ["akka-firehose-staging-5xx", "akka-firehose-staging-unhealthy-hosts",
             "akka-firehose-staging-latency"] if alarms is None else alarms
    return service(lambda d: d["release"].update(bake={"minutes": minutes, "alarms": names}))


# Credentials by their shape (core/redact.py), fake but well-formed.
SLACK_TOKEN = "xoxb-0000000000-0000000000000-fakefakefakefake"
STRIPE_KEY = "sk_live_" + "0" * 24
SLACK_WEBHOOK = "https://hooks.slack.com/services/T00000000/B00000000/" + "X" * 24

# A third-party image pinned the way the taskdef-image rule asks: by digest.
SIDECAR_IMAGE = "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0@sha256:" + "ab" * 32


def sidecar(**fields):
    """A non-essential second container; image=None leaves its image out."""
    def add(doc):
        container = {"name": "sidecar", "image": SIDECAR_IMAGE, "memory": 64, "essential": False,
                     **fields}
        if container["image"] is None:
            del container["image"]
        doc["containerDefinitions"].append(container)

    return add


def big_environment(kib: int) -> list[dict[str, str]]:
    """Environment variables that add about `kib` KiB to a task definition."""
    return [{"name": f"BIG_{i}", "value": "x" * 1000} for i in range(kib)]


def spare_taskdef(point_staging_at_it: bool) -> Change:
    def apply(repo: Path) -> None:
        doc = json.loads((repo / TASKDEF).read_text())
        doc["family"] = "spare"
        (repo / "taskdefs/spare.json").write_text(json.dumps(doc))
        if point_staging_at_it:
            edit(repo, STAGING_SERVICE, lambda d: d.update(
                taskDefinition={"file": "taskdefs/spare.json", "family": "spare"}))

    return apply


def second_service(name: str) -> Change:
    def apply(repo: Path) -> None:
        doc = json.loads((repo / STAGING_SERVICE).read_text())
        doc["service"]["serviceName"] = name
        (repo / "environments/staging/services/second.json").write_text(json.dumps(doc))

    return apply


def canary(count: int, bake_minutes: float = 10) -> Change:
    return service(lambda d: d["release"].update(
        canary={"count": count, "bakeMinutes": bake_minutes}))


three_instances = environment(lambda d: d["instances"].update(count=3))


def rename_container(doc):
    c0(doc)["name"] = "web"


def staging_uses_web(doc):
    doc["service"]["loadBalancers"][0]["containerName"] = "web"
    doc["image"]["container"] = "web"
    doc["overrides"]["containers"] = {"web": doc["overrides"]["containers"]["akka-firehose"]}


def built_into_one_repository(context: str):
    """/images: the application and a `worker` built from `context`, both into the
    environment's repository (neither names one)."""
    def change(doc):
        pin = {k: doc["image"][k] for k in ("tag", "digest")}
        doc["images"] = {"akka-firehose": {**pin, "build": doc.pop("build")},
                         "worker": {**pin, "build": {"context": context}}}
        del doc["image"]
    return change


TG_ARN = ("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/akka-blue/"
          "0123456789abcdef")
ADVANCED = {"alternateTargetGroupArn": TG_ARN.replace("blue", "green"),
            "productionListenerRule": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:"
            "listener-rule/app/akka/0123456789abcdef/0123456789abcdef/0123456789abcdef",
            "roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers"}


def native(strategy: str, advanced: bool = True, **settings) -> Change:
    """The staging service on a target group (with the traffic-shift fields) and `strategy`."""
    def change(doc):
        lb = {"targetGroupArn": TG_ARN, "containerName": "akka-firehose", "containerPort": 8080}
        if advanced:
            lb["advancedConfiguration"] = dict(ADVANCED)
        doc["service"]["loadBalancers"] = [lb]
        doc["service"]["deploymentConfiguration"] = {"strategy": strategy, **settings}
    return service(change)


def pause_at(stage: str) -> Change:
    return native("BLUE_GREEN", bakeTimeInMinutes=5,
                  lifecycleHooks=[{"targetType": "PAUSE", "lifecycleStages": [stage]}])


STREAM = "/overrides/containers/akka-firehose/environment/FIREHOSE_STREAM"


def stream(value: str) -> Callable[[dict], None]:
    """The staging service's stream name is `value` (a template, in these cases)."""
    return lambda d: d["overrides"]["containers"]["akka-firehose"]["environment"].update(
        FIREHOSE_STREAM=value)


# rule id, change that fires it (staging), file and pointer it names, near miss that stays quiet
CASES: list[tuple[str, Change, str, str, Change]] = [
    ("init-placeholder", taskdef(lambda d: c0(d)["environment"][0].update(value=PLACEHOLDER)),
     TASKDEF, "/containerDefinitions/0/environment/0/value",
     taskdef(lambda d: c0(d)["environment"][0].update(value="8081"))),
    ("before-deploy-container", service(lambda d: d.setdefault("release", {}).update(
        beforeDeploy={"command": ["bin/migrate"], "container": "akka"})),
     STAGING_SERVICE, "/release/beforeDeploy/container",
     service(lambda d: d.setdefault("release", {}).update(
         beforeDeploy={"command": ["bin/migrate"], "container": "akka-firehose"}))),
    ("taskdef-file", service(lambda d: d["taskDefinition"].update(file="taskdefs/nope.json")),
     STAGING_SERVICE, "/taskDefinition/file", spare_taskdef(point_staging_at_it=True)),
    ("taskdef-family", service(lambda d: d["taskDefinition"].update(family="akka")),
     STAGING_SERVICE, "/taskDefinition/family",
     both(taskdef(lambda d: d.update(family="akka")),
          service(lambda d: d["taskDefinition"].update(family="akka")))),
    ("taskdef-image", taskdef(sidecar(image="nginx")), TASKDEF, "/containerDefinitions/1/image",
     taskdef(sidecar(image="nginx@sha256:" + "0f" * 32))),
    ("taskdef-image", taskdef(sidecar(image="public.ecr.aws/nginx/nginx:latest")),
     TASKDEF, "/containerDefinitions/1/image",
     taskdef(sidecar(image="public.ecr.aws/nginx/nginx:1.27@sha256:" + "0f" * 32))),
    # a container nothing fills: the staging service pins only akka-firehose (/image)
    ("taskdef-image-missing", taskdef(sidecar(image=None)), STAGING_SERVICE, "/image",
     taskdef(sidecar())),
    ("scan-gate-date", environment(lambda d: d["ecr"].update(scanGate={
        "severities": ["CRITICAL"], "allow": [{"id": "CVE-1", "until": "2026-02-30",
                                               "reason": "not reachable"}]})),
     STAGING_ENV, "/ecr/scanGate/allow/0/until", environment(lambda d: d["ecr"].update(
         scanGate={"severities": ["CRITICAL"], "allow": [{"id": "CVE-1", "until": "2026-02-28",
                                                          "reason": "not reachable"}]}))),
    ("container-essential", taskdef(lambda d: c0(d).update(essential=False)),
     TASKDEF, "/containerDefinitions", taskdef(sidecar())),
    ("container-names-unique", taskdef(sidecar(name="akka-firehose")),
     TASKDEF, "/containerDefinitions/1/name", taskdef(sidecar(name="logger"))),
    ("host-ports-unique",
     taskdef(sidecar(portMappings=[{"containerPort": 9000, "hostPort": 80}])),
     TASKDEF, "/containerDefinitions/1/portMappings/0/hostPort",
     taskdef(sidecar(portMappings=[{"containerPort": 9000, "hostPort": 81}]))),
    ("container-memory", taskdef(lambda d: c0(d).pop("memory")),
     TASKDEF, "/containerDefinitions/0",
     taskdef(lambda d: c0(d).update(memoryReservation=c0(d).pop("memory")))),
    ("container-memory", taskdef(lambda d: c0(d).update(memoryReservation=1025)),
     TASKDEF, "/containerDefinitions/0/memoryReservation",
     taskdef(lambda d: c0(d).update(memoryReservation=1024))),
    ("resources-task-size", taskdef(lambda d: d.update(cpu="512")), TASKDEF, "/cpu",
     taskdef(lambda d: d.update(cpu="1 vCPU"))),
    ("resources-task-size",
     service(lambda d: d["overrides"].update(memory="512")), STAGING_SERVICE, "/overrides",
     service(lambda d: d["overrides"].update(memory="1GB"))),
    # A t2.medium registers 3943 MiB with ECS, not its 4096 installed (release/core/rolling.py).
    ("resources-instance", taskdef(lambda d: c0(d).update(memory=3944)),
     TASKDEF, "/containerDefinitions", taskdef(lambda d: c0(d).update(memory=3943))),
    ("resources-instance", service(lambda d: d["overrides"].update(cpu="4 vCPU")),
     STAGING_SERVICE, "/overrides/cpu", service(lambda d: d["overrides"].update(cpu="2 vCPU"))),
    ("lb-container-name",
     service(lambda d: d["service"]["loadBalancers"][0].update(containerName="akka")),
     STAGING_SERVICE, "/service/loadBalancers/0/containerName",
     both(taskdef(rename_container), service(staging_uses_web))),
    ("lb-container-port",
     service(lambda d: d["service"]["loadBalancers"][0].update(containerPort=9090)),
     STAGING_SERVICE, "/service/loadBalancers/0/containerPort",
     both(taskdef(lambda d: c0(d)["portMappings"][0].update(containerPort=9090)),
          service(lambda d: d["service"]["loadBalancers"][0].update(containerPort=9090)))),
    ("lb-instance-port", taskdef(lambda d: c0(d)["portMappings"][0].update(hostPort=8081)),
     STAGING_SERVICE, "/service/loadBalancers/0",
     both(taskdef(lambda d: c0(d)["portMappings"][0].update(hostPort=8081)),
          environment(lambda d: (d["loadBalancer"]["listener"].update(instancePort=8081),
                                 d["loadBalancer"]["healthCheck"].update(
                                     target="HTTP:8081/api/healthcheck"))))),
    ("lb-instance-port", taskdef(lambda d: c0(d)["portMappings"][0].pop("hostPort")),
     STAGING_SERVICE, "/service/loadBalancers/0",
     taskdef(lambda d: c0(d)["portMappings"][0].update(hostPort=80, protocol="tcp"))),
    ("lb-health-check-port",
     environment(lambda d: d["loadBalancer"]["healthCheck"].update(target="TCP:8080")),
     STAGING_ENV, "/loadBalancer/healthCheck/target",
     environment(lambda d: d["loadBalancer"]["healthCheck"].update(target="TCP:80"))),
    ("deploy-capacity", service(lambda d: d["service"].update(desiredCount=3)),
     STAGING_SERVICE, "/service/desiredCount",
     both(service(lambda d: d["service"].update(desiredCount=3)),
          environment(lambda d: d["instances"].update(count=3)))),
    ("deploy-placement",
     service(lambda d: d["service"]["deploymentConfiguration"].update(minimumHealthyPercent=100)),
     STAGING_SERVICE, "/service/deploymentConfiguration/minimumHealthyPercent",
     both(service(lambda d: d["service"]["deploymentConfiguration"].update(
         minimumHealthyPercent=100, maximumPercent=150)),
         environment(lambda d: d["instances"].update(count=3)))),
    # 2 waves x (2 x 30 s health checks + 300 s draining + 30 s stopTimeout) = 780 s
    # 2 waves × (30 s placement + 2 × 30 s health checks + 300 s draining + 30 s stopTimeout)
    ("timing-release-timeout", service(lambda d: d["release"].update(timeout=839)),
     STAGING_SERVICE, "/release/timeout", service(lambda d: d["release"].update(timeout=840))),
    ("secret-in-environment",
     taskdef(lambda d: c0(d)["environment"].append({"name": "DB_PASSWORD", "value": "hunter2"})),
     TASKDEF, "/containerDefinitions/0/environment/1",
     taskdef(lambda d: (c0(d)["environment"].append(
         {"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db"}), c0(d).update(secrets=[
             {"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db"}
         ]), d.update(executionRoleArn="ecsTaskExecutionRole")))),
    ("secret-in-environment",
     service(lambda d: d["overrides"]["containers"]["akka-firehose"]["environment"].update(
         DATABASE_URL="postgres://app:s3cret@db:5432/app")),
     STAGING_SERVICE, "/overrides/containers/akka-firehose/environment/DATABASE_URL",
     service(lambda d: d["overrides"]["containers"]["akka-firehose"]["environment"].update(
         DATABASE_URL="postgres://db:5432/app"))),
    ("taskdef-size", taskdef(lambda d: c0(d)["environment"].extend(big_environment(70))),
     TASKDEF, "", taskdef(lambda d: c0(d)["environment"].extend(big_environment(60)))),
    ("taskdef-size",
     both(taskdef(lambda d: c0(d)["environment"].extend(big_environment(62))),
          service(lambda d: d["overrides"]["containers"]["akka-firehose"]["environment"].update(
              {f"EXTRA_{i}": "y" * 1000 for i in range(3)}))),
     STAGING_SERVICE, "/overrides",
     taskdef(lambda d: c0(d)["environment"].extend(big_environment(62)))),
    ("taskdef-tags", taskdef(lambda d: d.update(tags=[{"key": "team", "value": "a"},
                                                      {"key": "release:env", "value": "x"}])),
     TASKDEF, "/tags/1/key", taskdef(lambda d: d.update(tags=[{"key": "team", "value": "a"},
                                                              {"key": "env", "value": "x"}]))),
    ("taskdef-tags", taskdef(lambda d: d.update(tags=[{"key": "team", "value": "a"},
                                                      {"key": "team", "value": "b"}])),
     TASKDEF, "/tags/1/key", taskdef(lambda d: d.update(tags=[{"key": "team", "value": "a"}]))),
    ("taskdef-tags", taskdef(lambda d: d.update(tags=[{"key": f"k{i}"} for i in range(23)])),
     TASKDEF, "/tags/22", taskdef(lambda d: d.update(tags=[{"key": f"k{i}"} for i in range(22)]))),
    ("container-references", taskdef(sidecar(links=["akka"])),
     TASKDEF, "/containerDefinitions/1/links/0", taskdef(sidecar(links=["akka-firehose:app"]))),
    ("container-references",
     both(taskdef(sidecar(essential=True)),
          taskdef(lambda d: c0(d).update(dependsOn=[{"containerName": "sidecar",
                                                     "condition": "COMPLETE"}]))),
     TASKDEF, "/containerDefinitions/0/dependsOn/0/condition",
     both(taskdef(sidecar()), taskdef(lambda d: c0(d).update(
         dependsOn=[{"containerName": "sidecar", "condition": "COMPLETE"}])))),
    ("container-references",
     both(taskdef(sidecar()), taskdef(lambda d: c0(d).update(
         dependsOn=[{"containerName": "sidecar", "condition": "HEALTHY"}]))),
     TASKDEF, "/containerDefinitions/0/dependsOn/0/condition",
     both(taskdef(sidecar(healthCheck={"command": ["CMD", "/bin/true"]})),
          taskdef(lambda d: c0(d).update(
              dependsOn=[{"containerName": "sidecar", "condition": "HEALTHY"}])))),
    ("container-references",
     taskdef(lambda d: c0(d).update(dependsOn=[{"containerName": "db", "condition": "START"}])),
     TASKDEF, "/containerDefinitions/0/dependsOn/0/containerName",
     both(taskdef(sidecar(name="db")), taskdef(lambda d: c0(d).update(
         dependsOn=[{"containerName": "db", "condition": "START"}])))),
    ("container-references",
     taskdef(lambda d: c0(d).update(mountPoints=[{"sourceVolume": "data",
                                                  "containerPath": "/data"}])),
     TASKDEF, "/containerDefinitions/0/mountPoints/0/sourceVolume",
     taskdef(lambda d: (c0(d).update(mountPoints=[{"sourceVolume": "data",
                                                   "containerPath": "/data"}]),
                        d.update(volumes=[{"name": "data"}])))),
    ("container-network-mode",
     taskdef(lambda d: c0(d)["portMappings"].append({"containerPort": 8080, "hostPort": 81})),
     TASKDEF, "/containerDefinitions/0/portMappings/1",
     taskdef(lambda d: c0(d)["portMappings"].append({"containerPort": 8081, "hostPort": 81}))),
    ("container-network-mode", taskdef(lambda d: d.update(networkMode="host")),
     TASKDEF, "/containerDefinitions/0/portMappings/0/hostPort",
     both(taskdef(lambda d: (d.update(networkMode="host"), c0(d).update(
         portMappings=[{"containerPort": 80, "hostPort": 80}]))),
         service(lambda d: d["service"]["loadBalancers"][0].update(containerPort=80)))),
    ("container-network-mode",
     taskdef(lambda d: c0(d)["portMappings"].append({"containerPortRange": "9000-8000"})),
     TASKDEF, "/containerDefinitions/0/portMappings/1/containerPortRange",
     taskdef(lambda d: c0(d)["portMappings"].append({"containerPortRange": "8000-9000"}))),
    ("resources-task-cpu", taskdef(lambda d: d.update(cpu="200 vCPU")), TASKDEF, "/cpu",
     taskdef(lambda d: d.update(cpu="1 vCPU"))),
    ("resources-task-cpu", service(lambda d: d["overrides"].update(cpu="100")),
     STAGING_SERVICE, "/overrides/cpu", service(lambda d: d["overrides"].update(cpu="1024"))),
    ("container-log-configuration",
     taskdef(lambda d: c0(d).update(logConfiguration={
         "logDriver": "awslogs", "options": {"awslogs-group": "/ecs/akka"}})),
     TASKDEF, "/containerDefinitions/0/logConfiguration/options",
     taskdef(lambda d: c0(d).update(logConfiguration={
         "logDriver": "awslogs", "options": {"awslogs-group": "/ecs/akka",
                                             "awslogs-region": "us-east-1",
                                             "awslogs-stream-prefix": "ecs"}}))),
    ("container-limits",
     taskdef(lambda d: c0(d).update(ulimits=[{"name": "nofile", "softLimit": 4096,
                                              "hardLimit": 1024}])),
     TASKDEF, "/containerDefinitions/0/ulimits/0/softLimit",
     taskdef(lambda d: c0(d).update(ulimits=[{"name": "nofile", "softLimit": 1024,
                                              "hardLimit": 4096}]))),
    ("container-limits", taskdef(lambda d: c0(d).update(healthCheck={"command": ["CMD-SHELL"]})),
     TASKDEF, "/containerDefinitions/0/healthCheck/command",
     taskdef(lambda d: c0(d).update(healthCheck={"command": ["CMD-SHELL", "exit 0"]}))),
    ("secret-in-environment",
     taskdef(lambda d: c0(d)["environment"].append({"name": "DB_PASS", "value": "hunter2"})),
     TASKDEF, "/containerDefinitions/0/environment/1",
     taskdef(lambda d: c0(d)["environment"].append({"name": "BYPASS_CACHE", "value": "1"}))),
    ("secret-in-container",
     taskdef(lambda d: c0(d).update(command=["java", "-Ddb.password=hunter2", "-jar", "a.jar"])),
     TASKDEF, "/containerDefinitions/0/command/1",
     taskdef(lambda d: c0(d).update(command=["java", "-Ddb.user=app", "-jar", "a.jar"]))),
    ("secret-in-container",
     taskdef(lambda d: c0(d).update(dockerLabels={"api_token": "abc123"})),
     TASKDEF, "/containerDefinitions/0/dockerLabels/api_token",
     taskdef(lambda d: c0(d).update(dockerLabels={"team": "payments"}))),
    ("secret-in-container",
     taskdef(lambda d: c0(d).update(entryPoint=["sh", "-c", "AWS_KEY=AKIAIOSFODNN7EXAMPLE run"])),
     TASKDEF, "/containerDefinitions/0/entryPoint/2",
     taskdef(lambda d: c0(d).update(entryPoint=["sh", "-c", "exec run"]))),
    ("secret-value-from",
     taskdef(lambda d: (d.update(executionRoleArn="ecsTaskExecutionRole"), c0(d).update(
         secrets=[{"name": "DB", "valueFrom": "hunter 2!"}]))),
     TASKDEF, "/containerDefinitions/0/secrets/0/valueFrom",
     taskdef(lambda d: (d.update(executionRoleArn="ecsTaskExecutionRole"), c0(d).update(
         secrets=[{"name": "DB", "valueFrom": "/staging/db/password"}])))),
    ("secret-value-from",
     both(taskdef(lambda d: d.update(executionRoleArn="ecsTaskExecutionRole")),
          service(lambda d: d["overrides"]["containers"]["akka-firehose"].update(
              secrets={"DB": "arn:aws:s3:::bucket/db"}))),
     STAGING_SERVICE, "/overrides/containers/akka-firehose/secrets/DB",
     both(taskdef(lambda d: d.update(executionRoleArn="ecsTaskExecutionRole")),
          service(lambda d: d["overrides"]["containers"]["akka-firehose"].update(secrets={
              "DB": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"})))),
    ("secret-value-from",  # a Slack token has the shape of an SSM parameter name
     taskdef(lambda d: (d.update(executionRoleArn="ecsTaskExecutionRole"), c0(d).update(
         secrets=[{"name": "SLACK", "valueFrom": SLACK_TOKEN}]))),
     TASKDEF, "/containerDefinitions/0/secrets/0/valueFrom",
     taskdef(lambda d: (d.update(executionRoleArn="ecsTaskExecutionRole"), c0(d).update(
         secrets=[{"name": "SLACK", "valueFrom": "/staging/slack/bot-token"}])))),
    ("secret-in-environment",
     taskdef(lambda d: c0(d)["environment"].append({"name": "PAYMENTS", "value": STRIPE_KEY})),
     TASKDEF, "/containerDefinitions/0/environment/1",
     taskdef(lambda d: c0(d)["environment"].append(
         {"name": "PAYMENTS", "value": "pk_live_" + "0" * 24}))),  # a publishable key
    ("secret-in-environment",
     service(lambda d: d["overrides"]["containers"]["akka-firehose"]["environment"].update(
         CHAT=SLACK_WEBHOOK)),
     STAGING_SERVICE, "/overrides/containers/akka-firehose/environment/CHAT",
     service(lambda d: d["overrides"]["containers"]["akka-firehose"]["environment"].update(
         CHAT="https://chat.example.com/hooks"))),
    ("secret-in-document",
     service(lambda d: d["service"].update(tags=[{"key": "chat", "value": SLACK_TOKEN}])),
     STAGING_SERVICE, "/service/tags/0/value",
     service(lambda d: d["service"].update(tags=[{"key": "chat", "value": "#payments"}]))),
    ("secret-in-document",
     service(lambda d: d["service"].update(tags=[{"key": "api-token",
                                                  "value": "c2VjcmV0LXZhbHVl"}])),
     STAGING_SERVICE, "/service/tags/0/value",
     service(lambda d: d["service"].update(tags=[{"key": "api-token-ttl", "value": "15m"}]))),
    ("secret-in-document",
     environment(lambda d: d.update(endpoints={"aws": "https://admin:Pa55w0rd@aws.example"})),
     STAGING_ENV, "/endpoints/aws",
     environment(lambda d: d.update(endpoints={"aws": "https://aws.example"}))),
    ("secret-in-document",
     taskdef(lambda d: d.update(tags=[{"key": "billing", "value": STRIPE_KEY}])),
     TASKDEF, "/tags/0/value",
     taskdef(lambda d: d.update(tags=[{"key": "billing", "value": "team-payments"}]))),
    ("secret-execution-role",
     taskdef(lambda d: c0(d).update(secrets=[{"name": "DB", "valueFrom": "/staging/db"}])),
     TASKDEF, "/containerDefinitions/0/secrets",
     taskdef(lambda d: (d.update(executionRoleArn="ecsTaskExecutionRole"), c0(d).update(
         secrets=[{"name": "DB", "valueFrom": "/staging/db"}])))),
    ("secret-execution-role",
     service(lambda d: d["overrides"]["containers"]["akka-firehose"].update(
         secrets={"DB": "/staging/db"})),
     STAGING_SERVICE, "/overrides/containers/akka-firehose/secrets",
     both(taskdef(lambda d: d.update(executionRoleArn="ecsTaskExecutionRole")),
          service(lambda d: d["overrides"]["containers"]["akka-firehose"].update(
              secrets={"DB": "/staging/db"})))),
    ("lb-container-essential",
     both(taskdef(sidecar(essential=True)), taskdef(lambda d: c0(d).update(essential=False))),
     TASKDEF, "/containerDefinitions/0/essential", taskdef(sidecar(essential=True))),
    ("lb-health-check",
     environment(lambda d: d["loadBalancer"]["healthCheck"].update(timeout=30)),
     STAGING_ENV, "/loadBalancer/healthCheck/timeout",
     environment(lambda d: d["loadBalancer"]["healthCheck"].update(timeout=29))),
    ("lb-health-check",
     environment(lambda d: d["loadBalancer"]["healthCheck"].update(target="TCP:99999")),
     STAGING_ENV, "/loadBalancer/healthCheck/target",
     environment(lambda d: d["loadBalancer"]["healthCheck"].update(target="TCP:80"))),
    ("image-pin-mutable", service(lambda d: d.update(image={"tag": "latest"})),
     STAGING_SERVICE, "/image/tag",
     service(lambda d: d["image"].update(tag="latest"))),
    ("image-container", service(lambda d: d["image"].update(container="web")),
     STAGING_SERVICE, "/image/container",
     service(lambda d: d["image"].pop("container"))),
    ("image-build-context",
     service(lambda d: d["build"].update(context="../app-checkout")),
     STAGING_SERVICE, "/build/context",
     service(lambda d: d["build"].update(context="./examples/../examples/akka-firehose"))),
    ("ref-load-balancer",
     service(lambda d: d["service"]["loadBalancers"][0].update(loadBalancerName="otherElb")),
     STAGING_SERVICE, "/service/loadBalancers/0/loadBalancerName",
     both(service(lambda d: d["service"]["loadBalancers"][0].update(loadBalancerName="otherElb")),
          environment(lambda d: d["loadBalancer"].update(name="otherElb")))),
    ("ref-cluster", service(lambda d: d["service"].update(cluster="Other")),
     STAGING_SERVICE, "/service/cluster",
     service(lambda d: d["service"].update(
         cluster="arn:aws:ecs:us-east-1:123456789012:cluster/AkkaCluster"))),
    ("ref-role", service(lambda d: d["service"].update(role="otherRole")),
     STAGING_SERVICE, "/service/role",
     service(lambda d: d["service"].update(role="arn:aws:iam::123456789012:role/ecsServiceRole"))),
    ("ref-repository", service(built_into_one_repository("examples/worker")),
     STAGING_SERVICE, "/images/worker/build/context",
     service(lambda d: d["image"].update(repository="a-repository-of-its-own"))),
    ("ref-environment-name", environment(lambda d: d.update(name="prod")), STAGING_ENV, "/name",
     environment(lambda d: d.pop("name"))),
    ("ref-service-name", second_service("akka-firehose-service"),
     "environments/staging/services/second.json", "/service/serviceName",
     second_service("akka-firehose-worker")),
    ("canary-classic-elb",
     both(canary(1), three_instances, service(lambda d: d["service"].update(loadBalancers=[
         {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
          "targetgroup/web/0123456789abcdef", "containerName": "akka-firehose",
          "containerPort": 8080}]))),
     STAGING_SERVICE, "/release/canary", both(canary(1), three_instances)),
    ("canary-count", both(canary(2), environment(lambda d: d["instances"].update(count=4))),
     STAGING_SERVICE, "/release/canary/count", both(canary(1), three_instances)),
    ("canary-capacity", canary(1), STAGING_SERVICE, "/release/canary/count",
     both(canary(1), three_instances)),
    # the canary beside 3 tasks fits 4 instances, but with minimumHealthyPercent 100 the
    # rolling update then has no free instance to start on
    ("canary-capacity",
     both(canary(1), environment(lambda d: d["instances"].update(count=4)),
          service(lambda d: d["service"].update(desiredCount=3)),
          service(lambda d: d["service"]["deploymentConfiguration"].update(
              minimumHealthyPercent=100, maximumPercent=200))),
     STAGING_SERVICE, "/release/canary/count",
     both(canary(1), environment(lambda d: d["instances"].update(count=5)),
          service(lambda d: d["service"].update(desiredCount=3)),
          service(lambda d: d["service"]["deploymentConfiguration"].update(
              minimumHealthyPercent=100, maximumPercent=200)))),
    ("canary-name", both(canary(1), three_instances,
                         second_service("akka-firehose-service-canary")),
     STAGING_SERVICE, "/service/serviceName",
     both(canary(1), three_instances, second_service("akka-firehose-worker"))),
    ("strategy-load-balancer", service(lambda d: d["service"]["deploymentConfiguration"].update(
        strategy="BLUE_GREEN", bakeTimeInMinutes=5)),
     STAGING_SERVICE, "/service/deploymentConfiguration/strategy",
     service(lambda d: d["service"]["deploymentConfiguration"].update(strategy="ROLLING"))),
    ("template-syntax", service(stream("{{ sssm `/akka/stream` }}")), STAGING_SERVICE, STREAM,
     service(stream("{{ ssm `/akka/stream` }}"))),
    ("template-place", service(lambda d: d["service"].update(serviceName="{{ env `N` `a` }}")),
     STAGING_SERVICE, "/service/serviceName",
     service(lambda d: d["service"].update(role="{{ env `ROLE` `ecsServiceRole` }}"))),
    ("template-source", service(stream("{{ tfstate `output.stream` }}")), STAGING_SERVICE,
     STREAM, both(service(stream("{{ tfstate `output.stream` }}")), environment(
         lambda d: d.update(values={"tfstate": "infra/terraform.tfstate"})))),
]

WARNING_CASES: list[tuple[str, Change, str, str, Change]] = [
    ("logs-stream-prefix",
     taskdef(lambda d: c0(d)["logConfiguration"]["options"].pop("awslogs-stream-prefix")),
     TASKDEF, "/containerDefinitions/0/logConfiguration/options",
     taskdef(lambda d: c0(d)["logConfiguration"]["options"].update(
         {"awslogs-stream-prefix": "app"}))),
    ("logs-region",
     taskdef(lambda d: c0(d)["logConfiguration"]["options"].update(
         {"awslogs-region": "eu-west-1"})),
     TASKDEF, "/containerDefinitions/0/logConfiguration/options/awslogs-region",
     taskdef(lambda d: c0(d)["logConfiguration"]["options"].update(
         {"awslogs-region": "us-east-1"}))),
    ("timing-draining",
     environment(lambda d: d["loadBalancer"]["connectionDraining"].update(enabled=False)),
     STAGING_ENV, "/loadBalancer/connectionDraining",
     environment(lambda d: d["loadBalancer"]["connectionDraining"].update(timeout=1))),
    ("taskdef-unused", spare_taskdef(point_staging_at_it=False), "taskdefs/spare.json", "",
     spare_taskdef(point_staging_at_it=True)),
    ("taskdef-image", taskdef(sidecar(image="localhost:5000/tools/envoy:v1.29")),
     TASKDEF, "/containerDefinitions/1/image",
     taskdef(sidecar(image="localhost:5000/tools/envoy:v1.29@sha256:" + "0f" * 32))),
    ("taskdef-image-pinned", taskdef(lambda d: c0(d).update(image="<IMAGE>")),
     TASKDEF, "/containerDefinitions/0/image", taskdef(lambda d: c0(d).pop("image", None))),
    ("image-pin-mutable",
     both(service(lambda d: d["image"].pop("digest")),
          environment(lambda d: d["ecr"].update(tagImmutability=False))),
     STAGING_SERVICE, "/image", service(lambda d: d["image"].pop("digest"))),
    ("env-promotion-order", environment(lambda d: d["promotion"].update(order=2)),
     "environments/staging/environment.json", "/promotion/order",
     environment(lambda d: d["promotion"].update(order=5))),
    ("deploy-zero-tasks", service(lambda d: d["service"].update(desiredCount=0)),
     STAGING_SERVICE, "/service/desiredCount",
     service(lambda d: d["service"].update(desiredCount=2))),
    ("resources-instance", environment(lambda d: d["instances"].update(type="x9.huge")),
     STAGING_ENV, "/instances/type", environment(lambda d: d["instances"].update(type="m5.large"))),
    ("bake-shorter-than-alarm", bake(minutes=2), STAGING_SERVICE, "/release/bake/minutes",
     bake(minutes=3)),
    ("bake-no-alarms", bake(alarms=[]), STAGING_SERVICE, "/release/bake",
     bake(alarms=["akka-firehose-staging-5xx"])),

    ("notify-url-secret", environment(lambda d: d.update(notify={
        "url": "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"})),
     STAGING_ENV, "/notify/url", environment(lambda d: d.update(notify={
         "url": "https://chat.example.com/hooks/release-notices"}))),
    ("notify-url-secret", environment(lambda d: d.update(notify={
        "url": "https://chat.example.com/hook?token=abc"})),
     STAGING_ENV, "/notify/url", environment(lambda d: d.update(notify={
         "urlFromEnv": "SLACK_WEBHOOK_URL"}))),
    ("canary-bake", both(canary(1, bake_minutes=0), three_instances,
                         service(lambda d: d["release"].pop("bake", None))), STAGING_SERVICE,
     "/release/canary/bakeMinutes", both(canary(1, bake_minutes=5), three_instances)),
]


# Native strategies on a target group: the staging environment is a classic-ELB one, so the
# near miss is judged by this rule alone (what a target group asks of the environment is the
# load-balancer rules' business).
STRATEGY_CASES: list[tuple[str, Change, str, str, Change]] = [
    ("strategy-traffic-shift", native("BLUE_GREEN", advanced=False, bakeTimeInMinutes=5),
     STAGING_SERVICE, "/service/loadBalancers/0", native("BLUE_GREEN", bakeTimeInMinutes=5)),
    ("strategy-settings", native("BLUE_GREEN"), STAGING_SERVICE,
     "/service/deploymentConfiguration", native("BLUE_GREEN", bakeTimeInMinutes=0)),
    ("strategy-settings", native("CANARY", canaryConfiguration={"canaryPercent": 0.15}),
     STAGING_SERVICE, "/service/deploymentConfiguration/canaryConfiguration/canaryPercent",
     native("CANARY", canaryConfiguration={"canaryPercent": 0.2})),
    ("strategy-settings", native("LINEAR", canaryConfiguration={"canaryPercent": 10}),
     STAGING_SERVICE, "/service/deploymentConfiguration/canaryConfiguration",
     native("LINEAR", linearConfiguration={"stepPercent": 25.0, "stepBakeTimeInMinutes": 1})),
    ("strategy-hooks", pause_at("PRODUCTION_TRAFFIC_SHIFT"), STAGING_SERVICE,
     "/service/deploymentConfiguration/lifecycleHooks/0/lifecycleStages",
     pause_at("POST_PRODUCTION_TRAFFIC_SHIFT")),
]


def findings_of(repo: Path, rule: str, **kwargs):
    report = validate_repo(repo, **kwargs)
    assert not [f for f in report.findings if f.rule == "internal-error"], report.findings
    return report, [f for f in report.findings if f.rule == rule]


def _id(case) -> str:
    return f"{case[0]}:{case[3] or case[2]}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_rule_fires_with_file_and_pointer(repo: Path, case) -> None:
    rule, fire, file, pointer, _ = case
    fire(repo)
    report, found = findings_of(repo, rule, envs=["staging"])
    assert (file, pointer) in {(f.file, f.pointer) for f in found}, report.findings
    assert all(f.severity == "error" and f.message and f.fix for f in found)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_rule_stays_quiet_on_a_near_miss(repo: Path, case) -> None:
    rule, _, _, _, quiet = case
    quiet(repo)
    report, found = findings_of(repo, rule, envs=["staging"])
    assert found == []
    assert report.findings == [], report.findings


@pytest.mark.parametrize("case", WARNING_CASES, ids=[_id(c) for c in WARNING_CASES])
def test_warning_rule_fires_as_warning_only(repo: Path, case) -> None:
    rule, fire, file, pointer, quiet = case
    fire(repo)
    report, found = findings_of(repo, rule)
    assert [(f.file, f.pointer, f.severity) for f in found] == [(file, pointer, "warning")]
    assert report.errors == [] and not report.failed() and report.failed(strict=True)


@pytest.mark.parametrize("case", WARNING_CASES, ids=[_id(c) for c in WARNING_CASES])
def test_warning_rule_stays_quiet_on_a_near_miss(repo: Path, case) -> None:
    rule, _, _, _, quiet = case
    quiet(repo)
    report, found = findings_of(repo, rule)
    assert found == [] and report.findings == []


@pytest.mark.parametrize("case", STRATEGY_CASES, ids=[_id(c) for c in STRATEGY_CASES])
def test_strategy_rule_fires_and_its_near_miss_is_quiet(repo: Path, case) -> None:
    rule, fire, file, pointer, quiet = case
    fire(repo)
    report, found = findings_of(repo, rule, envs=["staging"])
    assert (file, pointer) in {(f.file, f.pointer) for f in found}, report.findings
    assert all(f.severity == "error" and f.message and f.fix for f in found)
    quiet(repo)
    assert findings_of(repo, rule, envs=["staging"])[1] == []


def test_every_rule_has_a_fire_and_a_quiet_case() -> None:
    tested = {c[0] for c in CASES + WARNING_CASES + ALB_CASES + STRATEGY_CASES + MEMBER_CASES
              + GRACE_CASES}
    document_layer = {r for r in RULES if r.startswith(("schema-", "json-", "repo-", "document-"))}
    elsewhere = {"unknown-environment", "internal-error", "api-register-task-definition"}
    assert set(RULES) - document_layer - elsewhere <= tested


def test_botocore_parameter_validation_catches_what_the_schema_lets_through(repo: Path) -> None:
    # JSON Schema calls 1024.0 an integer; the ECS API model (botocore) does not.
    edit(repo, TASKDEF, lambda d: c0(d).update(cpu=1024.0))
    _, found = findings_of(repo, "api-register-task-definition", envs=["staging"],
                          api_check=botocore_check)
    assert [(f.file, f.severity) for f in found] == [(STAGING_SERVICE, "error")]
    assert "containerDefinitions[0].cpu" in found[0].message


def test_botocore_parameter_validation_quiet_on_the_project_documents(repo: Path) -> None:
    report, found = findings_of(repo, "api-register-task-definition",
                                api_check=botocore_check)
    assert found == [] and report.findings == []


def test_botocore_check_is_skipped_when_not_asked_for(repo: Path) -> None:
    edit(repo, TASKDEF, lambda d: c0(d).update(cpu=1024.0))
    _, found = findings_of(repo, "api-register-task-definition", api_check=None)
    assert found == []


def test_unknown_environment_is_an_error_and_a_known_one_is_not(repo: Path) -> None:
    _, found = findings_of(repo, "unknown-environment", envs=["nope"])
    assert [f.message for f in found] == ["unknown environment 'nope'"]
    assert "staging" in found[0].fix
    _, found = findings_of(repo, "unknown-environment", envs=["staging"])
    assert found == []


def test_env_filter_checks_only_that_environment_and_its_task_definitions(repo: Path) -> None:
    edit(repo, "environments/production/services/akka-firehose.json",
         lambda d: d["image"].update(tag="latest", digest=None) or d["image"].pop("digest"))
    report = validate_repo(repo, ["staging"])
    assert report.findings == []
    assert "environments/production/environment.json" not in report.documents
    assert TASKDEF in report.documents
    assert validate_repo(repo, ["production"]).errors


def test_a_broken_task_definition_is_reported_once_not_per_service(repo: Path) -> None:
    edit(repo, TASKDEF, sidecar(image="nginx"))  # used by three environments' services
    report = validate_repo(repo)
    assert [f.rule for f in report.errors] == ["taskdef-image"]


def test_rules_skip_documents_that_failed_their_schema(repo: Path) -> None:
    # A service whose schema fails is not also reported by rules that would read bad values.
    edit(repo, STAGING_SERVICE, lambda d: d["service"].update(desiredCount="two"))
    report = validate_repo(repo)
    assert {f.rule for f in report.errors} == {"schema-type"}



def test_the_documented_rules_table_is_the_code_s() -> None:
    from validate_helpers import PROJECT

    from release.core.rules import rules_table

    assert rules_table() in (PROJECT / "docs/validation.md").read_text()


def test_a_service_scaled_to_zero_is_budgeted_for_draining_not_zero_waves() -> None:
    from validate_helpers import PROJECT

    from release.core import config, plan

    repo = config.load_repo(PROJECT, ["staging"])
    spec = repo.services_of("staging")[0]
    spec = dataclasses.replace(spec, service={**spec.service, "desiredCount": 0})
    env = repo.environment("staging")
    budget = plan.budget_for(env, spec, repo.taskdef_for(spec).doc)
    assert budget.waves == 0
    assert budget.seconds == 30 + 300 + 60  # stop + staging's 300 s draining + margin
    assert "desiredCount 0" in budget.explanation and "0 waves" not in budget.explanation


FARGATE_TASKDEF = "taskdefs/akka-firehose-fargate.json"


def test_a_fargate_task_is_not_fitted_to_the_environment_s_instances(repo: Path) -> None:
    # sandbox-alb's instances are t2.medium (3943 MiB); its Fargate tasks never run there
    edit(repo, FARGATE_TASKDEF, lambda d: d.update(cpu="4096", memory="8192"))
    report = validate_repo(repo, ["sandbox-alb"])
    assert report.findings == []


def test_task_sizes_in_vcpu_and_gb_with_a_leading_dot_are_understood(repo: Path) -> None:
    # the developer guide's ECS Exec example registers "cpu": ".25 vcpu", "memory": ".5 gb"
    edit(repo, FARGATE_TASKDEF, lambda d: d.update(cpu=".5 vcpu", memory="1 gb"))
    assert validate_repo(repo, ["sandbox-alb"]).findings == []
    edit(repo, FARGATE_TASKDEF, lambda d: d.update(cpu=".5 vcpu", memory="5 gb"))
    assert [f.rule for f in validate_repo(repo, ["sandbox-alb"]).errors] == ["fargate-task-size"]


def test_a_fargate_service_of_a_task_definition_for_ec2_and_fargate_needs_no_instance(
        repo: Path) -> None:
    # sandbox-alb runs no instances; its service's launchType FARGATE decides where tasks run
    edit(repo, FARGATE_TASKDEF, lambda d: d.update(requiresCompatibilities=["EC2", "FARGATE"]))
    assert validate_repo(repo, ["sandbox-alb"]).findings == []
