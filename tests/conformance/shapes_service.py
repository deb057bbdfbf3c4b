"""ECS and classic-ELB responses in the shapes real AWS returns, replayed through Stubber.

The documents follow the API reference's examples (botocore's examples-1.json for
DescribeServices, DescribeTasks, ListTasks and DescribeInstanceHealth) with the
fields a service behind a classic ELB really carries: deployments WITHOUT
rolloutState (ECS API reference, Deployment.rolloutState: "only returned for
services that use the rolling update (ECS) deployment type that aren't behind a
Classic Load Balancer"), tasks with startedAt/stoppingAt/stoppedAt, containers
with exit codes.

`Replay` puts botocore's Stubber on the real clients of a real `release.adapters.aws.Aws`
and plays a script: fixed calls (`Call`) in order, and `Polls`, a timeline of
moments that answers each wait-loop poll with the moment the virtual clock is in.
Stubber checks every response against the service's output model and every call
against the script; DescribeInstanceHealth is answered as the ELB model says: "If
no instances are specified, the call describes the state of all instances that
are currently registered with the load balancer. If instances are specified,
their state is returned even if they are no longer registered."
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore import xform_name
from botocore.stub import Stubber

ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER = "AkkaCluster"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"
SERVICE = "akka-firehose-service"
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}"
ELB = "akkaElb"
CONTAINER = "akka-firehose"
T0 = 1_700_000_000.0  # VirtualClock's default start

DRAINING = "Instance deregistration currently in progress."
REGISTERING = "Instance registration is still in progress."
NOT_REGISTERED = "Instance is not currently registered with the LoadBalancer."
CRASH = "Essential container in task exited"


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, tz=UTC)


def td_arn(revision: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/akka-demo:{revision}"


def deployment_id(revision: int) -> str:
    return f"ecs-svc/92233705643416236{revision:02d}"


def ci_arn(n: int) -> str:
    return (f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/{CLUSTER}/"
            f"3f4de1c5ffdd4954af7e75b4be0c884{n}")


def ec2(n: int) -> str:
    return f"i-0{n}07d9717afefb49b"


def deployment(revision: int, status: str = "PRIMARY", *, running: int = 0, pending: int = 0,
               desired: int = 2, created: float = 0, dep: str | None = None) -> dict[str, Any]:
    """A Deployment as DescribeServices returns it behind a classic ELB: no rolloutState."""
    return {"id": dep or deployment_id(revision), "status": status,
            "taskDefinition": td_arn(revision),
            "desiredCount": desired, "pendingCount": pending, "runningCount": running,
            "createdAt": at(created), "updatedAt": at(created), "launchType": "EC2"}


def service(deployments: list[dict[str, Any]], *, running: int, pending: int = 0,
            desired: int = 2, events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    primary = next(d for d in deployments if d["status"] == "PRIMARY")
    return {
        "serviceArn": SERVICE_ARN, "serviceName": SERVICE, "clusterArn": CLUSTER_ARN,
        "loadBalancers": [{"loadBalancerName": ELB, "containerName": CONTAINER,
                           "containerPort": 8080}],
        "status": "ACTIVE", "desiredCount": desired, "runningCount": running,
        "pendingCount": pending, "launchType": "EC2", "taskDefinition": primary["taskDefinition"],
        "deploymentConfiguration": {
            "maximumPercent": 100, "minimumHealthyPercent": 50,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
        "deployments": deployments, "events": events or [],
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsServiceRole",
        "healthCheckGracePeriodSeconds": 60, "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"}, "createdAt": at(-86400),
    }


def event(n: int, message: str, seconds: float) -> dict[str, Any]:
    return {"id": f"38c285e5-d335-4b68-8b15-e46dedc8e8{n:02d}", "createdAt": at(seconds),
            "message": f"(service {SERVICE}) {message}"}


def task(name: str, revision: int, instance: int, last: str = "RUNNING", *,
         desired: str | None = None, started: float | None = None,
         stopping: float | None = None, stopped: float | None = None,
         reason: str | None = None, stop_code: str | None = None,
         exit_code: int | None = None, dep: str | None = None) -> dict[str, Any]:
    """A Task as DescribeTasks returns it for a service task on the EC2 launch type."""
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/{name}"
    container: dict[str, Any] = {
        "containerArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container/{CLUSTER}/{name}/c1",
        "taskArn": arn, "name": CONTAINER, "lastStatus": last,
        "networkBindings": [{"bindIP": "0.0.0.0", "containerPort": 8080, "hostPort": 80,
                             "protocol": "tcp"}]}
    if exit_code is not None:
        container["exitCode"] = exit_code
    wanted = desired or ("STOPPED" if last in ("DEACTIVATING", "STOPPING", "DEPROVISIONING",
                                               "STOPPED") else "RUNNING")
    doc: dict[str, Any] = {
        "taskArn": arn, "clusterArn": CLUSTER_ARN, "taskDefinitionArn": td_arn(revision),
        "containerInstanceArn": ci_arn(instance), "lastStatus": last, "desiredStatus": wanted,
        "group": f"service:{SERVICE}", "startedBy": dep or deployment_id(revision),
        "launchType": "EC2", "containers": [container], "cpu": "1024", "memory": "1024",
        "createdAt": at(started - 3 if started is not None else 0), "version": 3,
    }
    for key, seconds in (("startedAt", started), ("stoppingAt", stopping),
                         ("stoppedAt", stopped)):
        if seconds is not None:
            doc[key] = at(seconds)
    if reason is not None:
        doc["stoppedReason"] = reason
    if stop_code is not None:
        doc["stopCode"] = stop_code
    return doc


def replaced(name: str, revision: int, instance: int, stopping: float, stopped: float
             ) -> dict[str, Any]:
    """An old task the rolling update stopped; a JVM answers ECS's SIGTERM with exit 143."""
    return task(name, revision, instance, "STOPPED", started=-86400, stopping=stopping,
                stopped=stopped, stop_code="ServiceSchedulerInitiated", exit_code=143,
                reason=f"Scaling activity initiated by (deployment {deployment_id(revision + 1)})")


def crashed(name: str, revision: int, instance: int, started: float, exit_code: int = 1
            ) -> dict[str, Any]:
    return task(name, revision, instance, "STOPPED", started=started, stopping=started + 4,
                stopped=started + 5, reason=CRASH, stop_code="EssentialContainerExited",
                exit_code=exit_code)


@dataclass(frozen=True)
class Instance:
    """One instance on the classic ELB: what it reports, and whether it is registered."""

    state: str = "InService"
    description: str = "N/A"
    registered: bool = True

    @property
    def reason_code(self) -> str:
        if self.state == "InService":
            return "N/A"
        return "ELB" if self.description == REGISTERING else "Instance"


IN_SERVICE = Instance()
DRAINING_NOW = Instance("InService", DRAINING, registered=False)
REGISTERING_NOW = Instance("OutOfService", REGISTERING)
GONE = Instance("OutOfService", NOT_REGISTERED, registered=False)


@dataclass(frozen=True)
class Moment:
    """The world for a while: the service, its tasks (running and stopped), the ELB."""

    service: dict[str, Any]
    tasks: list[dict[str, Any]]
    elb: dict[str, Instance | None]  # None: an id the ELB refuses (InvalidInstance)


@dataclass
class Call:
    """One scripted call and its answer (or `error`: a ClientError code)."""

    client: str  # ecs | elb | ecr
    operation: str  # snake_case, as boto3 names it
    response: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] | None = None
    error: str | None = None


def no_canary() -> Call:
    """The DescribeServices of the canary a release looks for whatever the spec says: none."""
    name = f"{SERVICE}-canary"
    return Call("ecs", "describe_services", {"services": [], "failures": [{
        "arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{name}",
        "reason": "MISSING"}]}, {"cluster": CLUSTER, "services": [name], "include": ["TAGS"]})


@dataclass
class Polls:
    """Wait-loop polls answered from a timeline: (seconds since the first poll, Moment)."""

    timeline: list[tuple[float, Moment]]
    first_poll_at: float | None = None
    polled_at: list[float] = field(default_factory=list)
    # what the wait reads to show a failing task's last lines (engine/task_logs.py):
    taskdefs: dict[str, dict[str, Any]] = field(default_factory=dict)  # ARN → taskDefinition
    logs: dict[str, list[str]] = field(default_factory=dict)  # stream → its messages

    def moment(self, now: float) -> Moment:
        if self.first_poll_at is None:
            self.first_poll_at = now
        self.polled_at.append(now)
        current = self.timeline[0][1]
        for offset, moment in self.timeline:
            if now - self.first_poll_at >= offset:
                current = moment
        return current


_TASK_OPERATIONS = {"ListTasks", "DescribeTasks", "DescribeContainerInstances"}
_POLL_OPERATIONS = {"DescribeServices", "ListTasks", "DescribeTasks",
                    "DescribeContainerInstances", "DescribeInstanceHealth"}


class Replay:
    """Stubber on each client of `aws`, fed just in time from `script`."""

    def __init__(self, aws: Any, script: list[Call | Polls], now: Callable[[], float]) -> None:
        self.script = list(script)
        self.now = now
        self.clients = {"ecs": aws.ecs, "elb": aws.elb, "ecr": aws.ecr, "logs": aws.logs,
                        "application_autoscaling": aws.application_autoscaling}
        self.stubbers = {name: Stubber(client) for name, client in self.clients.items()}
        self.health_calls: list[dict[str, Any]] = []
        self.task_calls: list[str] = []  # ListTasks/DescribeTasks/... in the order made
        self._final: set[str] = set()
        self._known_instances: set[str] = set()
        self._current: Moment | None = None
        for name, client in self.clients.items():
            service_id = client.meta.service_model.service_id.hyphenize()
            client.meta.events.register(f"provide-client-params.{service_id}",
                                        self._before(name))

    def __enter__(self) -> Replay:
        for stubber in self.stubbers.values():
            stubber.activate()
        return self

    def __exit__(self, *exc: Any) -> None:
        for stubber in self.stubbers.values():
            stubber.deactivate()

    def assert_done(self) -> None:
        left = [c for c in self.script if isinstance(c, Call)]
        assert not left, f"calls the tool never made: {[(c.client, c.operation) for c in left]}"
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()

    def _before(self, name: str) -> Callable[..., None]:
        def handler(params: dict[str, Any], model: Any, **_: Any) -> None:
            if self.stubbers[name]._queue:  # already answered as part of a poll
                return
            self._answer(name, model.name, params)
        return handler

    def _answer(self, client: str, operation: str, params: dict[str, Any]) -> None:
        while self.script and isinstance(self.script[0], Polls):
            polls = self.script[0]
            if client == "ecs" and operation == "DescribeServices":
                self._queue_poll(polls.moment(self.now()))
                return
            if client == "elb" and operation == "DescribeInstanceHealth":
                self._answer_health(params)
                return
            if self._answer_task_logs(polls, client, operation, params):
                return
            if client == "ecs" and operation in _TASK_OPERATIONS and self._current is not None:
                self._answer_tasks(operation, params)
                return
            self.script.pop(0)  # the wait is over: on to the next scripted call
        assert self.script, f"unscripted call {client}.{operation}({params})"
        call = self.script.pop(0)
        assert isinstance(call, Call)
        assert (client, xform_name(operation)) == (call.client, call.operation), (
            f"the tool called {client}.{xform_name(operation)}, the script expected "
            f"{call.client}.{call.operation}")
        stubber = self.stubbers[client]
        if call.error:
            stubber.add_client_error(call.operation, service_error_code=call.error,
                                     service_message="The specified endpoint is not valid.",
                                     http_status_code=400, expected_params=call.expected)
        else:
            stubber.add_response(call.operation, call.response, call.expected)

    def _answer_task_logs(self, polls: Polls, client: str, operation: str,
                          params: dict[str, Any]) -> bool:
        """DescribeTaskDefinition and GetLogEvents for a failing task, mid-wait."""
        if client == "ecs" and operation == "DescribeTaskDefinition" and (
                params.get("taskDefinition") in polls.taskdefs):
            self.stubbers["ecs"].add_response("describe_task_definition", {
                "taskDefinition": polls.taskdefs[params["taskDefinition"]]}, params)
            return True
        if client == "logs" and operation == "GetLogEvents":
            stream = params.get("logStreamName", "")
            if stream not in polls.logs:
                self.stubbers["logs"].add_client_error(
                    "get_log_events", "ResourceNotFoundException",
                    "The specified log stream does not exist.", 400, expected_params=params)
                return True
            base = 1_767_225_600_000
            events = [{"timestamp": base + i, "message": m, "ingestionTime": base + i + 30}
                      for i, m in enumerate(polls.logs[stream])][-int(params["limit"]):]
            self.stubbers["logs"].add_response("get_log_events", {
                "events": events, "nextForwardToken": f"f/{len(events):056d}",
                "nextBackwardToken": f"b/{0:056d}"}, params)
            return True
        return False

    def _queue_poll(self, moment: Moment) -> None:
        """A poll begins with DescribeServices; the rest is answered call by call from the
        same moment (the poller lists tasks only when the service says they changed)."""
        self._current = moment
        self.stubbers["ecs"].add_response(
            "describe_services", {"services": [moment.service], "failures": []},
            {"cluster": CLUSTER, "services": [SERVICE]})

    def _answer_tasks(self, operation: str, params: dict[str, Any]) -> None:
        """ListTasks, DescribeTasks, DescribeContainerInstances from the current moment."""
        moment, ecs = self._current, self.stubbers["ecs"]
        assert moment is not None
        self.task_calls.append(operation)
        if operation == "ListTasks":
            arns = [t["taskArn"] for t in moment.tasks
                    if t["desiredStatus"] == params["desiredStatus"]]
            ecs.add_response("list_tasks", {"taskArns": arns}, params)
        elif operation == "DescribeTasks":
            by_arn = {t["taskArn"]: t for t in moment.tasks}
            found = [by_arn[a] for a in params["tasks"] if a in by_arn]
            assert not self._final & {t["taskArn"] for t in found}, "a STOPPED task described again"
            self._final |= {t["taskArn"] for t in found if t["lastStatus"] == "STOPPED"}
            ecs.add_response("describe_tasks", {"tasks": found, "failures": [
                {"arn": a, "reason": "MISSING"} for a in params["tasks"] if a not in by_arn]},
                params)
        else:
            assert not self._known_instances & set(params["containerInstances"]), (
                "a container instance described twice")
            self._known_instances |= set(params["containerInstances"])
            ecs.add_response("describe_container_instances", {"containerInstances": [
                {"containerInstanceArn": arn, "ec2InstanceId": ec2(int(arn[-1])),
                 "status": "ACTIVE", "agentConnected": True, "runningTasksCount": 1,
                 "pendingTasksCount": 0} for arn in params["containerInstances"]],
                "failures": []}, params)

    def _answer_health(self, params: dict[str, Any]) -> None:
        """DescribeInstanceHealth as the ELB model documents it (see the module docstring)."""
        assert self._current is not None, "DescribeInstanceHealth before any DescribeServices"
        self.health_calls.append(params)
        elb = self._current.elb
        named = [i["InstanceId"] for i in params.get("Instances", [])]
        if any(i in elb and elb[i] is None for i in named):
            self.stubbers["elb"].add_client_error(
                "describe_instance_health", "InvalidInstance",
                "The specified endpoint is not valid.", 400, expected_params=params)
            return
        ids = named or [i for i, inst in elb.items() if inst is not None and inst.registered]
        states = []
        for instance_id in ids:
            inst = elb.get(instance_id) or GONE
            states.append({"InstanceId": instance_id, "State": inst.state,
                           "ReasonCode": inst.reason_code, "Description": inst.description})
        self.stubbers["elb"].add_response("describe_instance_health", {"InstanceStates": states},
                                          params)
