"""The document and schema layer's checks, catalogued here so one table lists every rule.

Why: validate.py reports these ids while reading and schema-checking the
documents (before any rule runs); they are described here so that
`rules_table()` and docs/validation.md list them with the rules.
"""

from __future__ import annotations

from release.core.findings import ERROR, WARNING
from release.core.rules.base import describe

# The document and schema layer (release/core/validate.py) reports these.
describe("repo-layout", ERROR, "the repository has environments/<env>/environment.json and "
         "services/<name>.json", "create the missing folder or file, or pass --repo")
describe("unknown-environment", ERROR, "every --env names a folder under environments/",
         "use one of the listed environment names")
describe("json-malformed", ERROR, "the file is readable UTF-8 JSON (reported with line:column)",
         "fix the syntax at the line and column shown")
describe("document-type", ERROR, "every document is a readable regular file (not a named pipe, "
         "device or folder: those would block or never end)",
         "replace it with a regular JSON file, or remove it")
describe("document-link", ERROR, "no document, environment folder, services/ or taskdefs/ "
         "folder is a symbolic link leading outside the repository (it is never read)",
         "replace the link with the document itself, or a link within the repository")
describe("document-size", ERROR, "a document is at most 1 MiB (read no further; ECS itself "
         "accepts task definitions of at most 64 KiB)", "split the document or remove what does "
         "not belong")
describe("json-depth", ERROR, "arrays and objects nest at most 64 levels deep",
         "flatten the document")
describe("json-bom", WARNING, "the file has no UTF-8 byte order mark (release ignores one; "
         "other JSON tools may refuse it)", "save the file as UTF-8 without a BOM")
describe("json-duplicate-key", ERROR, "no object repeats a key (JSON readers silently keep "
         "the last one)", "keep one of them")
describe("schema-file", ERROR, "the repository's schemas/ files are usable JSON Schemas",
         "restore the schema file")
describe("schema-unknown-key", ERROR, "no unknown keys (with a 'did you mean' hint)",
         "fix the spelling or remove the key")
describe("schema-required", ERROR, "required keys are present", "add the key")
describe("schema-type", ERROR, "values have the right JSON type", "use the type shown")
describe("schema-enum", ERROR, "values are one of the allowed words", "use one of the listed words")
describe("schema-range", ERROR, "numbers are within the ECS/ELB documented range",
         "use a value in range")
describe("schema-length", ERROR, "strings and lists are within length limits", "shorten or fill")
describe("schema-pattern", ERROR, "names, ARNs, digests and paths have the documented form",
         "match the pattern shown")
describe("schema-unique", ERROR, "lists that must not repeat do not", "remove the duplicate")
describe("schema-invalid", ERROR, "other schema constraints (one of several allowed forms)",
         "see the schema")
describe("template-syntax", ERROR, "a template ({{ … }} in a string of a service spec or "
         "environment.json) is well formed and calls ssm, cfn_output, cfn_export, tfstate, env "
         "or must_env with their arguments", "write e.g. {{ ssm `/name` }}; for a literal {{ "
         "write {{ \"{{\" }}")
describe("template-place", ERROR, "no template where a value is needed before values from "
         "outside git are filled in (account, region, aws, endpoints, ecr, names, pins, "
         "taskDefinition, serviceName), nor one of our functions in a task definition (a "
         "warning for env and must_env there)", "write the value itself, or move it into the "
         "service spec's /overrides")
describe("template-source", ERROR, "a tfstate template's environment says where its Terraform "
         "state is (/values/tfstate)", "add \"values\": {\"tfstate\": \"path or "
         "s3://bucket/key\"} to environment.json")
describe("internal-error", ERROR, "a rule could not run (a bug in the tool, never in the input)",
         "report it with the document that triggers it")
