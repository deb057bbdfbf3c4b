"""The service block of schemas/service.schema.json holds every CreateService member, and no other.

Every member of the installed ECS model's CreateService input that makes sense in git is
accepted (so a real service definition is never refused for a member ECS takes); the
release supplies `taskDefinition`, and `clientToken` is one call's idempotency token.
"""

from __future__ import annotations

import json
from pathlib import Path

import botocore.session
from model_schema import gaps

ROOT = Path(__file__).resolve().parents[2]
LEFT_OUT = frozenset({
    "/taskDefinition",  # the release registers it and supplies the ARN
    "/clientToken",  # idempotency of one CreateService call, not a setting
})


def test_the_service_block_has_every_create_service_member_and_no_other() -> None:
    schema = json.loads((ROOT / "schemas" / "service.schema.json").read_text())
    shape = botocore.session.get_session().get_service_model("ecs").operation_model(
        "CreateService").input_shape
    found = gaps(schema, schema["$defs"]["service"], shape, leave_out=LEFT_OUT)
    assert found == [], ("+ in the model, not the schema; - in the schema, not the model: "
                         + ", ".join(found))
