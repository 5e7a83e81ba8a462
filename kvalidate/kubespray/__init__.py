"""What is true of Kubespray only, as data and functions over plain data.

One cell, end to end (`kvalidate check` does this per matrix cell)::

    ck = checkout.open_checkout(tree)                  # DirTree, or GitTree for --ref
    base = inventory.inventory_cell(inv_tree, path)    # --inventory only
    inputs, result = run.render_cell(ck, cell, base, facts_overlays=[facts.load_overlay(p)])
    # result.renderings / result.findings; run.cell_kube_version(inputs) for the schema minor

Modules:

- `checkout`: recognise a checkout (`open_checkout`, SetupError otherwise) and read its branch
  differences (defaults role, network facts, checksums, kubeadm config templates, dynamic groups,
  supported versions); `version_for_minor`, `declared_kube_version`.
- `layouts`: the CI layouts (hosts instance-1..N), the 3-node default inventory, dynamic groups.
- `facts`: simulated `setup` facts per host and OS preset (the oracle's facts.yml).
- `simulate`: results of machine-touching modules for a fresh, healthy host (the oracle's
  sim-rules.yml, plus kvalidate's additions).
- `scenario`: CI scenario cells, the default cell, matrix `Cell` -> `CellSpec` (`cell_spec`).
- `inventory`: a user's hosts file with group_vars/ and host_vars/ as a cell.
- `run`: a cell's engine inputs (`cell_inputs`) and its run through `playbooks/cluster.yml`
  (`run_cell`, `render_cell`).
"""
