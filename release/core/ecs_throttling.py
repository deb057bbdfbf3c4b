"""ECS's request token buckets: one truth for the client's budget and the sandbox's throttle.

From the ECS API reference, "Request throttling for the Amazon ECS API"
(docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html):
"For request rate limiting purposes, API actions are grouped into categories.
All API actions in a category share the same token bucket", "the bucket maximum
capacity signifies the burst rate and the bucket refill rate is the sustained
rate", and the quotas apply "for each AWS account on a per-Region basis". The
figures below are that page's table, for the actions `release` calls or may call.

The refill is continuous: the page's own example has a bucket of 50 refilled
at 20 a second reach "its maximum capacity after 2.5 seconds".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bucket:
    category: str  # the page's "API action category"
    burst: int  # bucket maximum capacity
    refill: float  # tokens added per second


_TABLE: tuple[tuple[Bucket, tuple[str, ...]], ...] = (
    (Bucket("Cluster modify actions", 20, 1),
     ("CreateCluster", "DeleteCluster", "PutClusterCapacityProviders", "UpdateCluster",
      "UpdateClusterSettings")),
    (Bucket("Cluster read actions", 50, 20), ("DescribeClusters", "ListClusters")),
    (Bucket("Task definition modify actions", 20, 1),
     ("DeregisterTaskDefinition", "RegisterTaskDefinition")),
    (Bucket("Task definition read actions", 50, 20),
     ("DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies")),
    (Bucket("Task definition deletion actions", 5, 1), ("DeleteTaskDefinitions",)),
    (Bucket("Capacity provider modify actions", 10, 1),
     ("CreateCapacityProvider", "DeleteCapacityProvider", "UpdateCapacityProvider")),
    (Bucket("Capacity provider read actions", 50, 20), ("DescribeCapacityProviders",)),
    (Bucket("Tag modify actions", 20, 10), ("TagResource", "UntagResource")),
    (Bucket("Tag read actions", 50, 20), ("ListTagsForResource",)),
    (Bucket("Setting modify actions", 10, 1),
     ("DeleteAccountSetting", "PutAccountSetting", "PutAccountSettingDefault")),
    (Bucket("Setting read actions", 50, 20), ("ListAccountSettings",)),
    (Bucket("Cluster resource modify actions", 100, 40),
     ("DeleteAttributes", "DeregisterContainerInstance", "ExecuteCommand", "PutAttributes",
      "RunTask", "StartTask", "StopTask", "UpdateContainerAgent",
      "UpdateContainerInstancesState")),
    (Bucket("Cluster resource read actions", 100, 20),
     ("DescribeContainerInstances", "DescribeTasks", "ListAttributes",
      "ListContainerInstances", "ListTasks")),
    (Bucket("Agent modify actions", 200, 120),
     ("RegisterContainerInstance", "SubmitAttachmentStateChanges",
      "SubmitContainerStateChange", "SubmitTaskStateChange")),
    (Bucket("Service modify actions", 50, 5), ("CreateService", "DeleteService", "UpdateService")),
    (Bucket("Service read actions", 100, 20), ("DescribeServices", "ListServices")),
    (Bucket("Service deployment actions", 50, 20),
     ("DescribeServiceDeployments", "ListServiceDeployments")),
    (Bucket("Service revision actions", 50, 20), ("DescribeServiceRevisions",)),
    (Bucket("Task protection actions", 200, 80), ("UpdateTaskProtection", "GetTaskProtection")),
    (Bucket("Cluster service resource read actions", 10, 1), ("ListServicesByNamespace",)),
)

BUCKETS: dict[str, Bucket] = {action: bucket for bucket, actions in _TABLE for action in actions}


def bucket_of(action: str) -> Bucket | None:
    """The documented bucket `action` draws from, or None (an action the table leaves out)."""
    return BUCKETS.get(action)


def seconds_at_least(counts: dict[str, int]) -> float:
    """The least time any client needs for these ECS calls (action → count), from a full
    bucket: per category, what is over the burst at the refill rate; the slowest category."""
    per_category: dict[Bucket, int] = {}
    for action, n in counts.items():
        bucket = bucket_of(action)
        if bucket is not None:
            per_category[bucket] = per_category.get(bucket, 0) + n
    return max((max(n - b.burst, 0) / b.refill for b, n in per_category.items()), default=0.0)


def registration_pacing(services: int) -> str | None:
    """What to tell an operator who releases more services at once than ECS registers at once."""
    bucket = BUCKETS["RegisterTaskDefinition"]
    seconds = seconds_at_least({"RegisterTaskDefinition": services})
    if not seconds:
        return None
    return (f"ECS registers {bucket.burst} task definitions at once, then {bucket.refill:g} a "
            f"second (its documented request throttling): the last of {services} new "
            f"revisions goes out after about {seconds:.0f} s")


class Tokens:
    """One bucket's tokens (not thread-safe: callers hold their own lock).

    Starts full; `capacity` may be set below the burst to keep some of it in hand.
    """

    def __init__(self, bucket: Bucket, now: float, capacity: float | None = None) -> None:
        self.refill = bucket.refill
        self.capacity = float(bucket.burst if capacity is None else capacity)
        self.tokens = self.capacity
        self._at = now

    def fill(self, now: float) -> None:
        """Add what has been refilled since the last look."""
        if now > self._at:
            self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.refill)
            self._at = now

    def take(self, now: float) -> float:
        """Take a token and return 0, or take nothing and return the seconds until one is in."""
        self.fill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.refill
