#!/usr/bin/python3
"""Validates JSON:API response documents against the official schema.

    validate_jsonapi.py SCHEMA DIR

Every DIR/*.json file is one response body; those that DIR/index.txt
(written by the test harness) names with another media type than
application/vnd.api+json (the login's application/json) are not JSON:API
documents and are left to validate_openapi.py.  A file fails when it is not
strict UTF-8 JSON (duplicate keys, NaN and Infinity count as invalid) or
when jsonschema's Draft202012Validator finds the schema violated.  Each
failing file is printed with its errors (and, when DIR/index.txt written
by the test harness names it, the request that produced it).
Exit status: 0 all valid, 1 some invalid, 2 usage or schema problems.
"""
import json
import os
import sys

try:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
except ImportError:  # pragma: no cover - depends on the machine
    print("validate_jsonapi: python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(2)

MAX_ERRORS_PER_FILE = 5
JSONAPI_MEDIA_TYPE = "application/vnd.api+json"
MAX_MESSAGE = 400


def no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError("duplicate key %r" % key)
        obj[key] = value
    return obj


def reject_constant(name):
    raise ValueError("invalid JSON constant %s" % name)


def load_strict(path):
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")  # strict: invalid UTF-8 raises
    return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=reject_constant)


def work_around_empty_pattern(node):
    """Renames every patternProperties key "" to "^" (both match any name).

    python-jsonschema's find_additional_properties joins the patterns with
    "|" and then tests `if patterns`, so the single pattern "" is taken for
    no pattern at all and additionalProperties: false rejects every member
    of "meta" and "attributes" (python-jsonschema/jsonschema PR #1522).
    The official JSON:API schema uses exactly that pattern; "^" means the
    same and dodges the bug."""
    if isinstance(node, dict):
        pp = node.get("patternProperties")
        if isinstance(pp, dict) and "" in pp and "^" not in pp:
            node["patternProperties"] = {("^" if k == "" else k): v for k, v in pp.items()}
        for value in node.values():
            work_around_empty_pattern(value)
    elif isinstance(node, list):
        for value in node:
            work_around_empty_pattern(value)


def read_index(directory):
    """NAME -> (request text, media type) from index.txt's
    `NAME STATUS METHOD MEDIA-TYPE URL` lines."""
    index = {}
    try:
        with open(os.path.join(directory, "index.txt"), encoding="utf-8") as f:
            for line in f:
                fields = line.rstrip("\n").split(" ", 4)
                if len(fields) == 5 and fields[0] != "-":
                    name, status, method, media, url = fields
                    index[name] = ("%s %s %s %s" % (status, method, media, url), media)
    except OSError:
        pass
    return index


def short(text):
    text = str(text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def error_lines(validator, doc):
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    lines = []
    for err in errors[:MAX_ERRORS_PER_FILE]:
        where = "/" + "/".join(str(p) for p in err.absolute_path)
        lines.append("  at %s: %s" % (where, short(err.message)))
        # oneOf/anyOf failures: the deepest sub-error says what is wrong
        for sub in sorted(err.context or [], key=lambda e: -len(e.absolute_path))[:3]:
            sub_where = "/" + "/".join(str(p) for p in sub.absolute_path)
            lines.append("      because at %s: %s" % (sub_where, short(sub.message)))
    if len(errors) > MAX_ERRORS_PER_FILE:
        lines.append("  ... and %d more" % (len(errors) - MAX_ERRORS_PER_FILE))
    return lines


def main(argv):
    if len(argv) != 3:
        print("usage: validate_jsonapi.py SCHEMA DIR", file=sys.stderr)
        return 2
    schema_path, directory = argv[1], argv[2]
    try:
        schema = load_strict(schema_path)
        Draft202012Validator.check_schema(schema)
        work_around_empty_pattern(schema)
    except (OSError, ValueError, SchemaError) as e:
        print("validate_jsonapi: bad schema %s: %s" % (schema_path, e), file=sys.stderr)
        return 2
    validator = Draft202012Validator(schema)
    index = read_index(directory)
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
    except OSError as e:
        print("validate_jsonapi: %s: %s" % (directory, e), file=sys.stderr)
        return 2

    failed = checked = 0
    for name in names:
        request, media = index.get(name, ("request unknown", JSONAPI_MEDIA_TYPE))
        if media != JSONAPI_MEDIA_TYPE:
            continue
        checked += 1
        path = os.path.join(directory, name)
        try:
            doc = load_strict(path)
            lines = error_lines(validator, doc)
        except (OSError, ValueError) as e:  # JSONDecodeError and UnicodeError are ValueErrors
            lines = ["  not strict JSON: %s" % e]
        if lines:
            failed += 1
            print("INVALID %s (%s)" % (path, request))
            for line in lines:
                print(line)
    print("validate_jsonapi: %d document(s), %d invalid" % (checked, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
