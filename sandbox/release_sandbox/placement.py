"""Container instances, their CPU units, memory and host ports, and where a task fits.

What it follows (AWS documentation, by page title):

* "How Amazon ECS places tasks on container instances" / "Amazon ECS task
  placement strategies": a task goes only on an ACTIVE container instance with
  enough CPU units and memory left and none of its static host ports in use;
  among those, spread over instances (fewest tasks of the service first).
* RegisterContainerInstance API reference, totalResources: the instance has the
  CPU units, memory and reserved ports its agent reports (moto alone registers
  4096 / 7482 MiB whatever it is told); registeredResources, remainingResources
  and the running/pending task counts are kept truthful.
* "API failure reasons" (ECS developer guide), RunTask: `RESOURCE:*` (container
  instance ID) — "The resource or resources requested by the task are unavailable
  on the given container instance. If the resource is CPU, memory, ports, or elastic
  network interfaces, you may need to add container instances to your cluster." The
  Failure's arn is the container instance's, one failure per instance that lacks
  room (`run_task_failures`); the resource names are the instance's own (CPU,
  MEMORY, PORTS). Sandbox choice: when an instance lacks several, the first of CPU,
  MEMORY, PORTS is its reason.
"""

from __future__ import annotations

from typing import Any

from release_sandbox.world import ServiceRecord, World

Requirements = tuple[int, int, list[int]]  # CPU units, MiB, static host ports

# a resource an instance lacks → the closing words of the service event that says so
SHORTFALLS = {"CPU": "has insufficient CPU units available.",
              "MEMORY": "has insufficient memory available.",
              "PORTS": "is already using a port required by your task."}


def requirements(task_definition: Any) -> Requirements:
    """What a task of this definition takes on its instance."""
    definitions = task_definition.container_definitions
    cpu = int(task_definition.cpu) if task_definition.cpu else sum(
        int(d.get("cpu") or 0) for d in definitions)
    memory = int(task_definition.memory) if task_definition.memory else sum(
        int(d.get("memory") or d.get("memoryReservation") or 0) for d in definitions)
    ports: list[int] = []
    if task_definition.network_mode in (None, "bridge", "host"):
        for definition in definitions:
            for mapping in definition.get("portMappings") or []:
                port = mapping.get("hostPort")
                if task_definition.network_mode == "host":
                    port = port or mapping.get("containerPort")
                if port:
                    ports.append(int(port))
    return cpu, memory, ports


def registered(container_instance: Any, name: str) -> Any:
    """A registered resource of the instance: an int, or a set for PORTS."""
    for resource in container_instance.registered_resources:
        if resource.get("name") == name:
            if resource.get("type") == "STRINGSET":
                return set(resource.get("stringSetValue") or [])
            return int(resource.get("integerValue") or 0)
    return set() if name.startswith("PORTS") else 0


class Placement:
    """Finds an instance for a task and keeps the instances' figures truthful."""

    def __init__(self, world: World) -> None:
        self.world = world

    def instance_registered(self, container_instance: Any,
                            total_resources: list[dict[str, Any]]) -> None:
        """RegisterContainerInstance with totalResources: the instance has what it reports.

        The agent reports CPU units, memory, reserved ports; placement and
        remainingResources follow those figures, not moto's 4096 / 7482 defaults.
        """
        given = {r.get("name"): r for r in total_resources if r.get("name")}
        for resources in (container_instance.registered_resources,
                          container_instance.remaining_resources):
            for resource in resources:
                reported = given.get(resource.get("name"))
                if reported is None:
                    continue
                if resource.get("type") == "STRINGSET":
                    resource["stringSetValue"] = [
                        str(v) for v in reported.get("stringSetValue") or []]
                else:
                    resource["integerValue"] = int(reported.get("integerValue") or 0)
        self.refresh()

    def usage(self, container_instance: Any) -> tuple[int, int, set[str]]:
        """CPU, memory and host ports taken on an instance by tasks that have not stopped."""
        cpu = memory = 0
        ports: set[str] = set()
        arn = container_instance.container_instance_arn
        for tasks in self.world.ecs.tasks.values():
            for task in tasks.values():
                if task.container_instance_arn != arn or task.last_status == "STOPPED":
                    continue
                needs = task.resource_requirements or {}
                cpu += int(needs.get("CPU") or 0)
                memory += int(needs.get("MEMORY") or 0)
                ports.update(str(p) for p in needs.get("PORTS") or [])
        return cpu, memory, ports

    def shortfalls(self, ci: Any, cpu: int, memory: int, ports: list[int]) -> list[str]:
        """The resources (CPU, MEMORY, PORTS) the instance lacks for a task of this size."""
        used_cpu, used_memory, used_ports = self.usage(ci)
        taken = used_ports | registered(ci, "PORTS")
        lacking = []
        if used_cpu + cpu > registered(ci, "CPU"):
            lacking.append("CPU")
        if used_memory + memory > registered(ci, "MEMORY"):
            lacking.append("MEMORY")
        if any(str(p) in taken for p in ports):
            lacking.append("PORTS")
        return lacking

    def _problems(self, ci: Any, cpu: int, memory: int, ports: list[int]) -> list[str]:
        return [SHORTFALLS[name] for name in self.shortfalls(ci, cpu, memory, ports)]

    def run_task_failures(self, cluster_name: str, needs: Requirements
                          ) -> list[dict[str, str]] | None:
        """RunTask's `failures` when no ACTIVE instance has room for the task, else None.

        One Failure per instance, its arn and `RESOURCE:<the first resource it lacks>`
        (the "API failure reasons" page). No ACTIVE instance at all is not a failure but
        an error (None here; the caller raises it, as ECS does).
        """
        instances = [ci for ci in self.world.ecs.container_instances.get(cluster_name, {})
                     .values() if ci.status == "ACTIVE"]
        failures = []
        for ci in instances:
            lacking = self.shortfalls(ci, *needs)
            if not lacking:
                return None
            failures.append({"arn": ci.container_instance_arn,
                             "reason": f"RESOURCE:{lacking[0]}"})
        return failures or None

    def place(self, record: ServiceRecord, needs: Requirements) -> tuple[Any | None, str | None]:
        """An instance that fits (spread), or None and the reason for the closest one."""
        instances = [ci for ci in self.world.ecs.container_instances.get(
            record.service.cluster_name, {}).values() if ci.status == "ACTIVE"]
        if not instances:
            return None, "Reason: No Container Instances were found in your cluster."
        fits = []
        closest: tuple[int, str, Any] | None = None
        for ci in instances:
            problems = self._problems(ci, *needs)
            if not problems:
                mine = sum(1 for t in self.world.service_tasks(record)
                           if t.holds_resources and t.container_instance_id == ci.id)
                fits.append((mine, ci.running_tasks_count + ci.pending_tasks_count, ci))
            elif closest is None or len(problems) < closest[0]:
                closest = (len(problems), problems[0], ci)
        if fits:
            fits.sort(key=lambda f: (f[0], f[1]))
            return fits[0][2], None
        assert closest is not None
        return None, (f"The closest matching (container-instance {closest[2].id}) "
                      f"{closest[1]}")

    def refresh(self) -> None:
        """Keep describe_container_instances' counts and remaining resources truthful."""
        for instances in self.world.ecs.container_instances.values():
            for ci in instances.values():
                self._refresh_instance(ci)

    def _refresh_instance(self, ci: Any) -> None:
        cpu, memory, ports = self.usage(ci)
        arn = ci.container_instance_arn
        running = pending = 0
        for tasks in self.world.ecs.tasks.values():
            for task in tasks.values():
                if task.container_instance_arn != arn:
                    continue
                if task.last_status in ("PROVISIONING", "PENDING"):
                    pending += 1
                elif task.last_status not in ("STOPPED",):
                    running += 1
        ci.running_tasks_count, ci.pending_tasks_count = running, pending
        for resource in ci.remaining_resources:
            name = resource.get("name")
            if name == "CPU":
                resource["integerValue"] = registered(ci, "CPU") - cpu
            elif name == "MEMORY":
                resource["integerValue"] = registered(ci, "MEMORY") - memory
            elif name == "PORTS":
                resource["stringSetValue"] = sorted(registered(ci, "PORTS") | ports)
