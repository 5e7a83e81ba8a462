"""ansible-core's own directories, pointed at a private temporary directory before ansible is imported.

Importing `ansible.constants` creates `DEFAULT_LOCAL_TMP` (`~/.ansible/tmp/ansible-local-PID...`,
its parent `~/.ansible/tmp` made if missing) and reads `ANSIBLE_HOME` (`~/.ansible`). kvalidate
runs nothing remotely and needs neither, but `HOME=/proc` made the import fail, a missing home was
created, and a killed run left `ansible-local-*` behind. Here both live in one `tempfile.mkdtemp`
directory (owner-only), removed at exit by the process that made it (forked workers never remove
it: they exit without atexit handlers, and the check is by pid too). `kvalidate/ansible/__init__.py`
imports this module before anything of ansible.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

PRIVATE_DIR = tempfile.mkdtemp(prefix="kvalidate-ansible-")
_OWNER = os.getpid()

# environment variables win over any ansible.cfg (also one in the current directory)
os.environ["ANSIBLE_HOME"] = os.path.join(PRIVATE_DIR, "home")
os.environ["ANSIBLE_LOCAL_TEMP"] = os.path.join(PRIVATE_DIR, "tmp")


def remove_private_dir() -> None:
    """Remove the private directory (only in the process that created it)."""
    if os.getpid() == _OWNER:
        shutil.rmtree(PRIVATE_DIR, ignore_errors=True)


atexit.register(remove_private_dir)
