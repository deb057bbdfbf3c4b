"""What `release promote` does, start to end: choose the image (a reference, a build report,
or another environment's live release), pin it, commit it, push it, and say so.

The push belongs to the tool so that a rejected push (the branch moved) is one clear
refusal with its fix, and the pipeline's stage stays one `release` command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from release.core.errors import InvalidInput, UsageError
from release.core.promotion import images_from_build_report
from release.engine.promote import PromoteResult, pin_text, promote_pins, push_promotion
from release.output.events import Reporter


def image_argument(image: str, container: str | None = None) -> dict[str | None, str]:
    """{container: reference} to pin: `@FILE` → every image of that build report (or the one
    of `container`); a reference → itself, for `container` (None: the primary's)."""
    if not image.startswith("@"):
        return {container: image}
    path = Path(image[1:])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read the build report {path}: {exc.strerror}",
                           "run `release build --push --format json > FILE` first; nothing "
                           "was changed") from None
    found = images_from_build_report(text, str(path))
    if container is None:
        return found
    if container in found or list(found) == [None]:
        return {container: found.get(container) or found[None]}
    raise InvalidInput(f"{path}: the build report has no image for container {container!r}",
                       f"containers in it: {', '.join(str(c) for c in found)}; nothing was "
                       "changed")


def _choose(root: Path, reporter: Reporter, env: str, service: str | None, image: str | None,
            source: str | None, commit: bool, message: str | None,
            container: str | None = None) -> list[PromoteResult]:
    if (image is None) == (source is None):
        raise UsageError("pass exactly one of --image and --from",
                         "--image REF pins a given image; --from ENV pins what is live and "
                         "completed there")
    if source is not None:
        from release.engine.promote_from import promote_from
        from release.engine.validate import load_valid

        return promote_from(root, load_valid(root, [source, env]), source, env, service, commit,
                            message, container)
    if service is None:
        raise UsageError("--image needs --service", "name the service whose pin to change")
    return [promote_pins(root, env, service, image_argument(image or "", container),
                         commit=commit, message=message)]


def promote_and_push(root: Path, reporter: Reporter, env: str, service: str | None,
                     image: str | None, source: str | None, commit: bool, push: bool,
                     branch: str | None, remote: str, message: str | None,
                     container: str | None = None) -> None:
    """Pin, optionally commit and push; every refusal happens before anything is pushed."""
    if push and not commit:
        raise UsageError("--push needs --commit", "add --commit (the commit is what is pushed)")
    results = _choose(root, reporter, env, service, image, source, commit, message, container)
    for result in results:
        report(reporter, env, result, push)
    made = [r for r in results if r.commit]
    if push and made:  # one push carries every commit made (HEAD is the last)
        last = push_promotion(root, made[-1], remote, branch)
        reporter.emit("promote.pushed", f"pushed {len(made)} commit(s) up to "
                      f"{(last.commit or '')[:12]} to {last.pushed}: the release that follows "
                      "includes them", "success", commits=[r.commit for r in made],
                      pushed=last.pushed)


def report(reporter: Reporter, env: str, result: PromoteResult, pushing: bool = False
           ) -> None:
    """One line for the pins (or that they were already there), one for the commit."""
    origin = (f" from {result.source.env}'s {result.source.short_revision}"
              if result.source else "")
    named = len(result.pins) > 1 or any(p.pointer != "/image" for p in result.pins)
    shown = [p for p in result.pins if p.changed] or result.pins

    def pin(p: Any, old: bool = False) -> str:
        tag, digest = (p.old_tag, p.old_digest) if old else (p.new_tag, p.new_digest)
        return (f"{p.container} " if named else "") + pin_text(tag, digest)

    if not result.changed:
        reporter.emit("promote.unchanged", f"{env}/{result.service} is already pinned to "
                      f"{'; '.join(pin(p) for p in shown)}{origin}; nothing to do",
                      **result.as_dict())
        return
    reporter.emit("promote.done", f"{result.path.name}: {env}/{result.service} pinned to "
                  f"{'; '.join(pin(p) for p in shown)}{origin} (was "
                  f"{'; '.join(pin(p, old=True) for p in shown)})", "success",
                  **result.as_dict())
    if result.commit:
        then = "" if pushing else "; push it (or --push) and the pipeline releases it"
        reporter.emit("promote.commit", f"committed {result.commit[:12]}: {result.message}{then}",
                      commit=result.commit)
    else:
        reporter.emit("promote.next", "not committed: review with `git diff`, then commit "
                      "(or rerun with --commit)", "dim")
