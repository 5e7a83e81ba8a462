"""Schemas: (apiVersion, kind, Kubernetes minor) -> a strict, self-contained JSON schema.

`entry` (the SchemaEntry type) <- `core` (API kinds from kubernetes-validate) <- `crd_convert`
(CustomResourceDefinition -> schema) <- `pinned_crds` (Calico, Cilium); `components` (kubeadm,
kubelet, ... configs); `store` (SchemaStore: all of them for one minor); `crd_load` (`--crds`);
`describe` (`kvalidate schemas`). The pinned data itself is the top-level `schemas/` folder
(`kvalidate.pinned`).
"""
