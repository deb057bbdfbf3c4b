"""What the load-balancer kinds' effects share (engine/balancers/<kind>.py)."""

from __future__ import annotations

from typing import Any

from release.core import preflight as pf


def url_of(dns: str, listener: dict[str, Any]) -> str:
    """http(s)://<dns>[:port] for the environment's listener (`protocol`, and the port a
    client connects to: a classic ELB's `loadBalancerPort`, an ALB/NLB listener's `port`)."""
    scheme = "https" if str(listener.get("protocol", "HTTP")).upper() == "HTTPS" else "http"
    default = 443 if scheme == "https" else 80
    port = int(listener.get("loadBalancerPort", listener.get("port", default)))
    suffix = "" if port == default else f":{port}"
    return f"{scheme}://{dns}{suffix}"


def no_mapping(ctx: Any, lb: dict[str, Any], resource: str, at: tuple[str, str]
               ) -> pf.Result:
    """Preflight's answer when the entry's container does not map its port."""
    return pf.placed("load-balancer", pf.PROBLEM, resource,
                     f"container {lb.get('containerName')} has no port mapping for container "
                     f"port {lb.get('containerPort')}: ECS cannot register its tasks",
                     "add the mapping to the task definition or fix the loadBalancers entry",
                     at)
