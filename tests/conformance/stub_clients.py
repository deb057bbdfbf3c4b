"""One offline client with botocore's Stubber on it, for the real-shape tests of each API.

Every answer queued on the stub is validated against the botocore output model; the
client has credentials that reach nothing, and a test that leaves an answer unused fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
from botocore.stub import Stubber


def stubbed_client(service: str) -> Iterator[tuple[Any, Stubber]]:
    """(client, stub) for a fixture to yield from; checks that every queued answer was read."""
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()
