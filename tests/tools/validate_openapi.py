#!/usr/bin/python3
"""Checks the responses the integration tests received against docs/openapi.yaml.

    validate_openapi.py OPENAPI_YAML DIR

DIR/index.txt (written by tests/integration/harness.c) has one line per
response: `NAME STATUS METHOD MEDIA-TYPE URL`, NAME being the body's file
in DIR or `-` for an empty body, MEDIA-TYPE `-` when there was none. A
line with METHOD `SSE` is one event of the event stream: its URL field is
the event's name and its file the event's `data:` object.

First the description itself is checked (structure, every `$ref`
resolves, every schema is a JSON Schema 2020-12 schema). Then each
response must be described: its path matches a path template (literal
paths first; path parameters must fit their schemas), its method is an
operation there (HEAD falls back to GET), its status is one of the
operation's responses (or `default`, if the operation has one), and its
body fits the schema of that response's content for its media type; an
empty body must be described as possible (no content, or HEAD). Two
answers need no operation: a path that matches no template is a 404
error document, or, under /api/rest/admin/, a 401 without a body (the
token is checked before routing); a known path with a method it does
not take is a 405 error document (or that 401).
Exit status: 0 all described and valid, 1 some not, 2 usage or description problems.
"""
import json
import os
import re
import sys
import urllib.parse

try:
    import yaml
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
except ImportError as e:  # pragma: no cover - depends on the machine
    print("validate_openapi: %s (python3-yaml and python3-jsonschema are needed)" % e, file=sys.stderr)
    sys.exit(2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from validate_jsonapi import load_strict, short  # noqa: E402  one strict JSON reader

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ADMIN = "/api/rest/admin/"
MAX_ERRORS = 5


def load_description(path):
    """The YAML as JSON would hold it (integer keys become strings)."""
    with open(path, encoding="utf-8") as f:
        return json.loads(json.dumps(yaml.safe_load(f)))


def pointer(doc, ref):
    node = doc
    for part in ref[2:].split("/") if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(ref)
    return node


def deref(doc, node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        node, seen = pointer(doc, node["$ref"]), seen + 1
    return node


def check_description(doc):
    """Structural problems of the description, as a list of strings."""
    problems = []
    if doc.get("openapi") != "3.1.0":
        problems.append("openapi is not 3.1.0")
    info = doc.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("title"), str) or not isinstance(info.get("version"), str):
        problems.append("info needs title and version strings")

    def walk(node, where):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if not ref.startswith("#"):
                    problems.append("%s: $ref %s is not local" % (where, ref))
                else:
                    try:
                        pointer(doc, ref)
                    except KeyError:
                        problems.append("%s: $ref %s does not resolve" % (where, ref))
            for k, v in node.items():
                walk(v, where + "/" + k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, "%s/%d" % (where, i))

    walk(doc, "#")
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as e:
            problems.append("components/schemas/%s: %s" % (name, short(e.message)))
    schemes = doc.get("components", {}).get("securitySchemes", {})
    op_ids = set()
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not paths:
        problems.append("no paths")
        paths = {}
    for template, item in paths.items():
        if not template.startswith("/"):
            problems.append("path %s does not start with /" % template)
        names = re.findall(r"\{([^}/]+)\}", template)
        declared = [deref(doc, p) for p in item.get("parameters", [])]
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            where = "%s %s" % (method.upper(), template)
            params = declared + [deref(doc, p) for p in op.get("parameters", [])]
            in_path = {p.get("name") for p in params if p.get("in") == "path"}
            for n in names:
                if n not in in_path:
                    problems.append("%s: path parameter %s is not declared" % (where, n))
            for p in params:
                if p.get("in") == "path" and (p.get("name") not in names or p.get("required") is not True):
                    problems.append("%s: path parameter %s is not in the template or not required" % (where, p.get("name")))
                if p.get("in") not in ("query", "header", "path", "cookie") or "name" not in p:
                    problems.append("%s: a parameter needs name and in" % where)
            oid = op.get("operationId")
            if oid in op_ids:
                problems.append("%s: operationId %s is used twice" % (where, oid))
            op_ids.add(oid)
            responses = op.get("responses")
            if not isinstance(responses, dict) or not responses:
                problems.append("%s: no responses" % where)
                continue
            for status, resp in responses.items():
                if not re.fullmatch(r"[1-5](XX|[0-9]{2})|default", status):
                    problems.append("%s: bad status key %s" % (where, status))
                if "description" not in deref(doc, resp):
                    problems.append("%s %s: a response needs a description" % (where, status))
            for req in op.get("security", doc.get("security", [])):
                for scheme in req:
                    if scheme not in schemes:
                        problems.append("%s: unknown security scheme %s" % (where, scheme))
    return problems


class Router:
    def __init__(self, doc):
        self.doc = doc
        self.routes = []
        for template, item in doc["paths"].items():
            names = re.findall(r"\{([^}/]+)\}", template)
            pattern = "".join(
                "(?P<p%d>[^/]+)" % names.index(part[1:-1]) if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{[^}/]+\})", template) if part)
            schemas = {}
            for p in item.get("parameters", []):
                p = deref(doc, p)
                if p.get("in") == "path":
                    schemas[p["name"]] = p.get("schema", {})
            literal = len(re.sub(r"\{[^}/]+\}", "", template))
            self.routes.append((-literal, template, re.compile(pattern + r"\Z"), names, schemas, item))
        self.routes.sort(key=lambda r: r[0])

    def match(self, path):
        """The path item whose template matches the path as sent, or None.
        A parameter is one segment of it (a `/` inside a value is sent as
        %2F), decoded before it is checked against its schema."""
        for _, template, rx, names, schemas, item in self.routes:
            m = rx.match(path)
            if not m:
                continue
            values = {n: urllib.parse.unquote(m.group("p%d" % i)) for i, n in enumerate(names)}
            if all(self.fits(schemas.get(n, {}), v) for n, v in values.items()):
                return template, item
        return None

    def fits(self, schema, value):
        return not list(self.validator(schema).iter_errors(value))

    def validator(self, schema):
        root = dict(schema)
        root["components"] = self.doc.get("components", {})
        return Draft202012Validator(root)


def media_type(content, mt):
    if mt in content:
        return content[mt]
    return None


def check_body(router, doc, response, media, body_path, is_head):
    """Problems with the body of a described response."""
    response = deref(doc, response)
    content = response.get("content")
    if body_path is None:
        if content and not is_head:
            return ["an empty body, but the response is described with content %s" % ", ".join(content)]
        return []
    if not content:
        return ["a body (%s), but the response is described without content" % media]
    entry = media_type(content, media)
    if entry is None:
        return ["media type %s is not one of the response's (%s)" % (media, ", ".join(content))]
    schema = entry.get("schema", {})
    if media.endswith("json") or media.endswith("+json"):
        try:
            value = load_strict(body_path)
        except (OSError, ValueError) as e:
            return ["not strict JSON: %s" % e]
    else:
        with open(body_path, "rb") as f:
            raw = f.read()
        try:
            value = raw.decode("utf-8")
        except UnicodeError:
            value = raw.decode("latin-1")  # binary: still a string for the schema
    return errors_of(router, schema, value)


def errors_of(router, schema, value):
    lines = []
    errors = sorted(router.validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    for err in errors[:MAX_ERRORS]:
        lines.append("at /%s: %s" % ("/".join(str(p) for p in err.absolute_path), short(err.message)))
        for sub in sorted(err.context or [], key=lambda e: -len(e.absolute_path))[:3]:
            lines.append("    because at /%s: %s" % ("/".join(str(p) for p in sub.absolute_path), short(sub.message)))
    if len(errors) > MAX_ERRORS:
        lines.append("... and %d more" % (len(errors) - MAX_ERRORS))
    return lines


def check_event(router, doc, event, body_path):
    item = doc["paths"].get(ADMIN + "active-call-events", {})
    try:
        content = item["get"]["responses"]["200"]["content"]["text/event-stream"]
        schema = content["x-events"][event]
    except KeyError:
        return ["event %s is not described (x-events of GET %sactive-call-events)" % (event, ADMIN)]
    try:
        value = load_strict(body_path)
    except (OSError, ValueError) as e:
        return ["not strict JSON: %s" % e]
    return errors_of(router, schema, value)


def check_response(router, doc, status, method, media, url, body_path):
    if method == "SSE":
        return check_event(router, doc, url, body_path)
    path = urllib.parse.urlsplit(url).path
    found = router.match(path)
    components = doc.get("components", {}).get("responses", {})
    if found is None:  # no route: answered before any operation
        if status == "401" and path.startswith(ADMIN) and body_path is None:
            return []
        if status == "404":
            return check_body(router, doc, components["NotFound"], media, body_path, method == "HEAD")
        return ["%s matches no path of the description (and was answered %s, not 404)" % (path, status)]
    template, item = found
    op = item.get(method.lower())
    if op is None and method == "HEAD":
        op = item.get("get")
    if op is None:
        if status == "405":
            return check_body(router, doc, components["MethodNotAllowed"], media, body_path, method == "HEAD")
        if status == "401" and template.startswith(ADMIN) and body_path is None:
            return []
        return ["%s %s is not an operation of the description (answered %s)" % (method, template, status)]
    responses = op.get("responses", {})
    response = responses.get(status) or responses.get(status[0] + "XX") or responses.get("default")
    if response is None:
        return ["%s %s: status %s is not described" % (method, template, status)]
    return check_body(router, doc, response, media, body_path, method == "HEAD")


def main(argv):
    if len(argv) != 3:
        print("usage: validate_openapi.py OPENAPI_YAML DIR", file=sys.stderr)
        return 2
    try:
        doc = load_description(argv[1])
    except (OSError, ValueError, yaml.YAMLError) as e:
        print("validate_openapi: %s: %s" % (argv[1], e), file=sys.stderr)
        return 2
    problems = check_description(doc)
    if problems:
        for p in problems:
            print("validate_openapi: %s: %s" % (argv[1], p), file=sys.stderr)
        return 2
    router = Router(doc)
    directory = argv[2]
    try:
        with open(os.path.join(directory, "index.txt"), encoding="utf-8") as f:
            lines = [line.rstrip("\n") for line in f if line.strip()]
    except OSError as e:
        print("validate_openapi: %s" % e, file=sys.stderr)
        return 2
    failed = 0
    for line in lines:
        fields = line.split(" ", 4)
        if len(fields) != 5:
            print("validate_openapi: bad index line: %s" % short(line), file=sys.stderr)
            return 2
        name, status, method, media, url = fields
        body_path = None if name == "-" else os.path.join(directory, name)
        media = None if media == "-" else media
        problems = check_response(router, doc, status, method, media, url, body_path)
        if problems:
            failed += 1
            print("NOT DESCRIBED %s (%s %s -> %s %s)" % (name, method, url, status, media or "no body"))
            for p in problems:
                print("  " + p)
    print("validate_openapi: %d response(s), %d not as described" % (len(lines), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
