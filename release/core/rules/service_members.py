"""The CreateService members beyond the load balancer: what ECS states about each.

Why: a spec may state every CreateService member (the schema holds it to the model), and
ECS refuses a few combinations outright. Each rule below is a sentence of the ECS API
reference (CreateService and its member shapes), so a document that passes here is not
refused by CreateService or UpdateService for these reasons:

- capacityProviderStrategy: "If a capacityProviderStrategy is specified, the launchType
  parameter must be omitted."; CapacityProviderStrategyItem: "Only one capacity provider
  in a strategy can have a base defined", "At least one capacity provider must have a
  weight greater than zero".
- serviceConnectConfiguration: ServiceConnectService.portName "must match the name of one
  of the portMappings from all the containers in the task definition".
- serviceRegistries: ServiceRegistry.containerName/containerPort: "If the task definition
  that your service task specifies uses the bridge or host network mode, you must specify a
  containerName and containerPort combination from the task definition. If [it] uses the
  awsvpc network mode and a type SRV DNS record is used, you must specify either a
  containerName and containerPort combination or a port value. However, you can't specify
  both."
- volumeConfigurations: ServiceVolumeConfiguration.name "must match the volume name from
  the Volume object in the task definition" (one `configuredAtLaunch`).
- vpcLatticeConfigurations: "The name of the port mapping to register in the VPC Lattice
  target group."
- role: "This parameter is only permitted if you are using a load balancer with your
  service and your task definition doesn't use the awsvpc network mode."
- deploymentController: the tool releases the ECS controller (rolling and the native
  strategies). A CODE_DEPLOY service is released by CodeDeploy deployments and an EXTERNAL
  one by task sets (UpdateService: "If the network configuration, platform version, task
  definition, or load balancer need to be updated, create a new CodeDeploy deployment");
  UpdateService takes `deploymentController`, so such a service moves to ECS in place and
  ECS's own BLUE_GREEN strategy takes CodeDeploy's place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from release.core.findings import ERROR, Finding, pointer_of
from release.core.rules.base import Context, finding, hint, rule, with_taskdef

SERVICE = "/service"


def _port_names(taskdef: dict[str, Any]) -> list[str]:
    return [str(p["name"]) for c in taskdef.get("containerDefinitions", [])
            for p in c.get("portMappings", []) if p.get("name")]


@rule("service-controller", ERROR, "the deployment controller is ECS: CODE_DEPLOY and EXTERNAL "
      "services are released by CodeDeploy deployments or task sets, not by UpdateService",
      "move the service to the ECS controller (UpdateService changes deploymentController in "
      "place) and use deploymentConfiguration.strategy BLUE_GREEN for blue/green")
def service_controller(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        kind = (view.spec.service.get("deploymentController") or {}).get("type", "ECS")
        if kind != "ECS":
            yield finding(
                "service-controller", view.rel, f"{SERVICE}/deploymentController/type",
                f"a {kind} service takes a new task definition only through "
                f"{'a CodeDeploy deployment' if kind == 'CODE_DEPLOY' else 'a new task set'}, "
                "which this tool does not make")


@rule("capacity-strategy", ERROR, "a capacity provider strategy replaces launchType, has at most "
      "one base and at least one weight above zero", "omit launchType, keep one `base`, give a "
      "provider a weight of 1 or more")
def capacity_strategy(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        strategy = view.spec.service.get("capacityProviderStrategy")
        if not strategy:
            continue
        where = f"{SERVICE}/capacityProviderStrategy"
        if "launchType" in view.spec.service:
            yield finding("capacity-strategy", view.rel, f"{SERVICE}/launchType",
                          "launchType and capacityProviderStrategy are both set: "
                          "CreateService takes one or the other",
                          "remove launchType (the strategy's providers say where tasks run)")
        based = [i for i, item in enumerate(strategy) if item.get("base")]
        for index in based[1:]:
            yield finding("capacity-strategy", view.rel, f"{where}/{index}/base",
                          "only one capacity provider in a strategy can have a base",
                          f"keep the base on {strategy[based[0]]['capacityProvider']!r}")
        if not any(item.get("weight", 0) > 0 for item in strategy):
            yield finding("capacity-strategy", view.rel, where,
                          "no capacity provider has a weight above zero: tasks beyond the "
                          "base cannot be placed", "give one provider a weight of 1 or more")


@rule("service-port-names", ERROR, "Service Connect, VPC Lattice and gateway connectors name "
      "port mappings the task definition has", "name the port mapping in the task definition "
      "(portMappings[].name) or use one of its names")
def service_port_names(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        names = _port_names(taskdef)
        service = view.spec.service
        used = [(["serviceConnectConfiguration", "services", i, "portName"], s.get("portName"))
                for i, s in enumerate((service.get("serviceConnectConfiguration") or {})
                                      .get("services") or [])]
        used += [([key, i, "portName"], item.get("portName"))
                 for key in ("vpcLatticeConfigurations", "gatewayConnectors")
                 for i, item in enumerate(service.get(key) or [])]
        for path, name in used:
            if name is not None and name not in names:
                yield finding("service-port-names", view.rel, pointer_of(["service", *path]),
                              f"port name {name!r} is not a port mapping of "
                              f"{view.taskdef_rel}" + hint(str(name), names),
                              f"use one of: {', '.join(names)}" if names else
                              f"add \"name\": {name!r} to the container's port mapping")


@rule("service-registries", ERROR, "a Cloud Map registry names a container and port of the "
      "task definition (bridge/host), or either those or a port (awsvpc), not both",
      "set containerName and containerPort from the task definition, or port alone")
def service_registries(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        mode = taskdef.get("networkMode") or "bridge"
        containers = {c.get("name"): c for c in taskdef.get("containerDefinitions", [])}
        for index, item in enumerate(view.spec.service.get("serviceRegistries") or []):
            where = f"{SERVICE}/serviceRegistries/{index}"
            pair = "containerName" in item or "containerPort" in item
            if pair and "port" in item:
                yield finding("service-registries", view.rel, f"{where}/port",
                              "port and containerName/containerPort are both set; ECS takes "
                              "one or the other", "keep containerName and containerPort, or port")
            if mode in ("bridge", "host") and not (item.get("containerName")
                                                   and item.get("containerPort")):
                yield finding("service-registries", view.rel, where,
                              f"a {mode}-mode task needs containerName and containerPort for "
                              "its Cloud Map registry")
            name = item.get("containerName")
            if name is not None and name not in containers:
                yield finding("service-registries", view.rel, f"{where}/containerName",
                              f"container {name!r} is not in {view.taskdef_rel}"
                              + hint(str(name), [str(n) for n in containers]))
            elif name is not None and "containerPort" in item:
                ports = [p.get("containerPort") for p in containers[name].get("portMappings", [])]
                if item["containerPort"] not in ports:
                    yield finding("service-registries", view.rel, f"{where}/containerPort",
                                  f"container {name!r} maps no port {item['containerPort']}",
                                  f"use one of: {', '.join(str(p) for p in ports) or 'none'}")


@rule("service-volumes", ERROR, "each EBS volume configuration names a task definition volume "
      "that is configured at launch", "name a volume of the task definition that has "
      "\"configuredAtLaunch\": true")
def service_volumes(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        at_launch = [str(v.get("name")) for v in taskdef.get("volumes", [])
                     if v.get("configuredAtLaunch")]
        for index, item in enumerate(view.spec.service.get("volumeConfigurations") or []):
            if item.get("name") not in at_launch:
                yield finding("service-volumes", view.rel,
                              f"{SERVICE}/volumeConfigurations/{index}/name",
                              f"volume {item.get('name')!r} is not a volume of "
                              f"{view.taskdef_rel} configured at launch"
                              + hint(str(item.get("name")), at_launch))


@rule("service-role", ERROR, "`role` is for a load-balanced service whose tasks are not awsvpc, "
      "and never the service-linked role", "remove `role`: ECS uses its service-linked role")
def service_role(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        role = view.spec.service.get("role")
        if role is None:
            continue
        if "aws-service-role/" in str(role):
            why = "it names the service-linked role, which ECS uses by itself"
        elif taskdef.get("networkMode") == "awsvpc":
            why = "the task definition uses the awsvpc network mode"
        elif not view.spec.service.get("loadBalancers"):
            why = "the service has no load balancer"
        else:
            continue
        yield finding("service-role", view.rel, f"{SERVICE}/role",
                      f"CreateService refuses `role` here: {why}")


CHECKS = (service_controller, capacity_strategy, service_port_names, service_registries,
          service_volumes, service_role)
