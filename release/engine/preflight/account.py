"""Preflight's account check: the credentials are the environment's account, and a role the
environment assumes is assumable.

Both were proven before preflight starts: `aws.connect` asked STS GetCallerIdentity (once a
process) and refused with exit 5 on another account, and when `/aws/roleArn` is set that
answer came through the assumed role. So this check makes no call; it says what was proven.
"""

from __future__ import annotations

from release.core import preflight as pf
from release.engine.preflight.context import Context


def check(ctx: Context) -> list[pf.Result]:
    env = ctx.env
    identity = getattr(ctx.aws, "proven", None)  # connect's account check, no call again
    who = f" ({identity.arn})" if identity is not None else ""
    results = [pf.placed("account", pf.OK, f"account {env.account}",
                         f"the credentials{who} are the environment's account",
                         at=(str(env.path), "/account"))]
    if env.role_arn:
        results.append(pf.placed(
            "account", pf.OK, f"role {env.role_arn}",
            "assumable: the account check above was answered through it (AssumeRole)",
            at=(str(env.path), "/aws/roleArn")))
    return results
