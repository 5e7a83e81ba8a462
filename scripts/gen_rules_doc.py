"""Write docs/rules.md from the rule registry (`kvalidate.rules.registry()`).

    python scripts/gen_rules_doc.py            # rewrite docs/rules.md
    python scripts/gen_rules_doc.py --check    # exit 1 if docs/rules.md is out of date (the tests run this)
"""

from __future__ import annotations

import sys
from pathlib import Path

from kvalidate.catalog import Family
from kvalidate.rules import registry

DOC = Path(__file__).resolve().parent.parent / "docs" / "rules.md"

_FAMILIES = {
    Family.DOCUMENT: "Documents: the YAML/JSON text itself",
    Family.SCHEMA: "Schemas: strict validation as the API server (or the component) judges",
    Family.RENDER: "Rendering: templates and variable values",
    Family.ENGINE: "Engine: playbooks, roles and tasks",
    Family.SEMANTIC: "Semantic rules: what no schema expresses",
    Family.RUN: "kvalidate itself",
    Family.GATE: "Gate: waivers",
}


def render() -> str:
    rules = registry()
    out = ["# Rules", "",
           "Every rule id a kvalidate finding can carry, generated from the registry by "
           "`scripts/gen_rules_doc.py` (`kvalidate rules` prints the same). The severity is the usual "
           "one; where it depends on who reads the document, the entry says so.", ""]
    for family, title in _FAMILIES.items():
        members = sorted((r for r in rules.values() if r.family is family), key=lambda r: r.id)
        if not members:
            continue
        out += [f"## {title}", ""]
        for r in members:
            out += [f"### {r.id}", "", f"*{r.severity.value}*. {r.summary}", ""]
            if r.doc:
                out += [r.doc.strip(), ""]
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not DOC.is_file() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is out of date: run python scripts/gen_rules_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
