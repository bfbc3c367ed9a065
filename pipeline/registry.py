"""One registry per kind of name (stages, visualization methods, attacks, optimizers, schedules,
strategies): a dict from name to what the name means, whose unknown-name error lists the known
names. Configs, checks and error messages derive from the registries, never from copies."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from pipeline.errors import UserError

T = TypeVar("T")


class UnknownNameError(ValueError, UserError):
    """A name no registry entry has: the command line reports it in one line, exit code 2."""


class Registry(dict, Generic[T]):
    """`{name: entry}` in registration order. `kind` names the setting in messages, e.g.
    "optimizer.name": `registry["adamm"]` raises "unknown optimizer.name 'adamm'; known: adam, sgd"."""

    def __init__(self, kind: str, entries: dict[str, T] | None = None):
        super().__init__(entries or {})
        self.kind = kind

    def __missing__(self, name: str) -> T:
        raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {', '.join(self)}")

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: `@REGISTRY.register("name")` adds the decorated object under `name`."""

        def add(entry: T) -> T:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self[name] = entry
            return entry

        return add

    def check(self, names: str | Iterable[str]) -> None:
        """Raise `UnknownNameError` for the first name (or the names) not registered."""
        names = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in names if n not in self]
        if len(unknown) == 1:
            self[unknown[0]]
        elif unknown:
            raise UnknownNameError(f"unknown {self.kind} {unknown}; known: {', '.join(self)}")
