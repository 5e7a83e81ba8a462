"""kvalidate: render Kubespray templates as Ansible would and validate every output strictly."""

__version__ = "0.1.0"
