"""What `release promote` does, start to end: choose the image (a reference, a build report,
or another environment's live release), pin it, commit it, push it, and say so.

The push belongs to the tool so that a rejected push (the branch moved) is one clear
refusal with its fix, and the pipeline's stage stays one `release` command.
"""

from __future__ import annotations

from pathlib import Path

from release.core.errors import InvalidInput, UsageError
from release.core.promotion import image_from_build_report
from release.engine.promote import PromoteResult, promote_pin, push_promotion
from release.output.events import Reporter


def image_argument(image: str) -> str:
    """`@FILE` → the digest reference in that build report; anything else as given."""
    if not image.startswith("@"):
        return image
    path = Path(image[1:])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read the build report {path}: {exc.strerror}",
                           "run `release build --push --format json > FILE` first; nothing "
                           "was changed") from None
    return image_from_build_report(text, str(path))


def _choose(root: Path, reporter: Reporter, env: str, service: str | None, image: str | None,
            source: str | None, commit: bool, message: str | None) -> list[PromoteResult]:
    if (image is None) == (source is None):
        raise UsageError("pass exactly one of --image and --from",
                         "--image REF pins a given image; --from ENV pins what is live and "
                         "completed there")
    if source is not None:
        from release.engine.promote_from import load_valid, promote_from

        return promote_from(root, load_valid(root, [source, env]), source, env, service, commit,
                            message)
    if service is None:
        raise UsageError("--image needs --service", "name the service whose pin to change")
    return [promote_pin(root, env, service, image_argument(image or ""), commit=commit,
                        message=message)]


def promote_and_push(root: Path, reporter: Reporter, env: str, service: str | None,
                     image: str | None, source: str | None, commit: bool, push: bool,
                     branch: str | None, remote: str, message: str | None) -> None:
    """Pin, optionally commit and push; every refusal happens before anything is pushed."""
    if push and not commit:
        raise UsageError("--push needs --commit", "add --commit (the commit is what is pushed)")
    results = _choose(root, reporter, env, service, image, source, commit, message)
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
    """One line for the pin (or that it was already there), one for the commit."""
    pin = f"tag={result.new_tag} digest={result.new_digest}"
    origin = (f" from {result.source.env}'s {result.source.short_revision}"
              if result.source else "")
    if not result.changed:
        reporter.emit("promote.unchanged", f"{env}/{result.service} is already pinned to "
                      f"{pin}{origin}; nothing to do", **result.as_dict())
        return
    reporter.emit("promote.done", f"{result.path.name}: {env}/{result.service} pinned to {pin}"
                  f"{origin} (was tag={result.old_tag} digest={result.old_digest})", "success",
                  **result.as_dict())
    if result.commit:
        then = "" if pushing else "; push it (or --push) and the pipeline releases it"
        reporter.emit("promote.commit", f"committed {result.commit[:12]}: {result.message}{then}",
                      commit=result.commit)
    else:
        reporter.emit("promote.next", "not committed: review with `git diff`, then commit "
                      "(or rerun with --commit)", "dim")
