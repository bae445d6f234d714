#!/usr/bin/env python3
"""Validates OCSF NDJSON lines (stdin) against the published OCSF 1.5.0 schema of class
Account Change (3001), as the `ocsf-json-schema` package (PyPI) ships it compiled, with
`jsonschema`. Exits 1 on the first invalid line. See docs/api.md, "Audit export".

    python3 -m venv /tmp/ocsf && /tmp/ocsf/bin/pip install ocsf-json-schema jsonschema
    curl -s -H "Authorization: Bearer $TOKEN" \
        "$WARDEN/api/v1/events/export?format=ocsf&limit=1000" | /tmp/ocsf/bin/python bench/validate_ocsf.py
"""
import json
import sys

import jsonschema
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

VERSION = "1.5.0"


def main() -> int:
    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=VERSION)).get_class_schema(
        "account_change"
    )
    validator = jsonschema.Draft202012Validator(schema)
    count = 0
    activities = set()
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        event = json.loads(line)
        errors = sorted(validator.iter_errors(event), key=lambda e: list(e.path))
        if errors:
            for error in errors:
                print(f"line {number}: {'/'.join(map(str, error.path))}: {error.message}")
            return 1
        count += 1
        activities.add(event["activity_id"])
    print(f"{count} lines valid against OCSF {VERSION} account_change "
          f"(activity_id {sorted(activities)})")
    return 0 if count else 1


if __name__ == "__main__":
    sys.exit(main())
