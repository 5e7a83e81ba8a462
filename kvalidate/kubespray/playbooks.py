"""Which playbook a cell runs, and the fact cache a `--limit` run starts from.

Kubespray users run one of the root playbooks (`cluster.yml`, `upgrade-cluster.yml`, `scale.yml`,
`remove-node.yml`, `reset.yml`, `recover-control-plane.yml`). Since 2.23 each is a thin
`import_playbook` of `playbooks/<name with underscores>` (`upgrade-cluster.yml` ->
`playbooks/upgrade_cluster.yml`); older checkouts keep the full playbook at the root. A name resolves
to `playbooks/NAME`, `playbooks/NAME_WITH_UNDERSCORES`, then the root `NAME` (what the root file
imports, so `cluster.yml` stays `playbooks/cluster.yml`, the path kvalidate has always run); a path
(`playbooks/facts.yml`) is taken as it is. Anything else is exit 2 naming the playbooks the checkout has.

The fact cache of a limited run (`--fact-cache`): `facts.yml` (the default with `--limit`) is
Kubespray's documented node-based upgrade, which runs the checkout's own facts playbook
(`playbooks/facts.yml`, or the root `facts.yml` of older checkouts) on every host before
`upgrade-cluster.yml --limit ...`: what a fact cache then holds is what that run gathered and set
with `cacheable: true`. `none`: no cache (the default memory cache of a run without a facts run).
"""

from __future__ import annotations

import posixpath

import yaml

from kvalidate.ansible.loader import plain_yaml
from kvalidate.kubespray.checkout import Checkout
from kvalidate.model import SetupError
from kvalidate.trees.directory import Tree, TreeError

DEFAULT_PLAYBOOK = "cluster.yml"
USER_PLAYBOOKS = ("cluster.yml", "upgrade-cluster.yml", "scale.yml", "remove-node.yml", "reset.yml",
                  "recover-control-plane.yml")
FACT_CACHES = ("facts.yml", "none")
FACTS_PLAYBOOKS = ("playbooks/facts.yml", "facts.yml")


def _is_playbook(tree: Tree, path: str) -> bool:
    """A YAML list of plays or `import_playbook` entries (not `galaxy.yml`, `_config.yml`)."""
    try:
        if not tree.is_file(path):
            return False
        data = plain_yaml(tree.read_text(path))
    except (TreeError, yaml.YAMLError, UnicodeDecodeError):
        return False
    return isinstance(data, list) and bool(data) and all(
        isinstance(e, dict) and ("hosts" in e or any("import_playbook" in str(k) for k in e)) for e in data)


def available_playbooks(checkout: Checkout) -> list[str]:
    """The names `--playbook` accepts on this checkout: root playbooks, then those of `playbooks/`
    that no root playbook stands for."""
    tree = checkout.tree
    root = [n for n in sorted(tree.list_dir("")) if n.endswith((".yml", ".yaml")) and _is_playbook(tree, n)]
    covered = {n.replace("-", "_") for n in root}
    inner = [n for n in sorted(tree.list_dir("playbooks")) if n.endswith((".yml", ".yaml"))
             and n not in covered and _is_playbook(tree, f"playbooks/{n}")]
    return root + inner


def playbook_path(checkout: Checkout, name: str) -> str:
    """The tree path of the playbook `name` names (see the module docstring); SetupError if none."""
    if not name or name == DEFAULT_PLAYBOOK:
        return checkout.playbook
    given = name.strip()
    if not given.endswith((".yml", ".yaml")):
        given += ".yml"
    norm = posixpath.normpath(given)
    if norm.startswith(("../", "/")) or norm == "..":
        raise SetupError(f"--playbook {name!r}: not a path inside the checkout")
    if "/" in norm:
        candidates = [norm]
    else:
        candidates = [f"playbooks/{norm}", f"playbooks/{norm.replace('-', '_')}", norm]
    for path in candidates:
        if _is_playbook(checkout.tree, path):
            return path
    raise SetupError(f"no playbook {name!r} in {checkout.tree.label} "
                     f"(playbooks: {', '.join(available_playbooks(checkout)) or 'none found'})")


def facts_playbook(checkout: Checkout) -> str:
    """The checkout's facts playbook (`playbooks/facts.yml`, or the root `facts.yml`), "" if none."""
    return next((p for p in FACTS_PLAYBOOKS if _is_playbook(checkout.tree, p)), "")


def check_fact_cache(value: str) -> str:
    """`--fact-cache` as given ("" = the default); SetupError unless "", "facts.yml" or "none"."""
    if value and value not in FACT_CACHES:
        raise SetupError(f"--fact-cache {value!r}: expected one of {', '.join(FACT_CACHES)}")
    return value


def fact_cache_mode(value: str, limit: str) -> str:
    """`--fact-cache` as given ("" = the default) -> "facts.yml" or "none"; "" without a limit
    (nothing is out of play, so no cache applies). SetupError for another value."""
    check_fact_cache(value)
    if not limit:
        return ""
    return value or FACT_CACHES[0]
