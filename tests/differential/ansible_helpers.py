"""Small builders shared by the tests of kvalidate.ansible."""

from __future__ import annotations

from typing import Any

from kvalidate.ansible.templar import Templar
from kvalidate.ansible.variables import Resolver, Scope


def scope_of(variables: dict[str, Any], templar: Templar | None = None, host: str = "h") -> Scope:
    t = templar or Templar()
    return Scope(Resolver(t), host, [variables], persistent=True)
