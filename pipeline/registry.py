"""One registry per kind of name (stages, datasets, architectures, layer implementations,
visualization methods, attacks, optimizers, schedules, strategies): a dict from name to what the
name means, whose unknown-name error lists the known names. Configs, checks and error messages
derive from the registries, never from copies.

Every registry is filled one way, where its entries are defined: `@REGISTRY.register(name)` on
a function or class of ours, `REGISTRY.register(name, entry)` for anything else (a Keras class,
a record of settings)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar, overload

from pipeline.errors import UserError

T = TypeVar("T")
_DECORATE = object()  # `register(name)` without an entry: used as a decorator


class UnknownNameError(ValueError, UserError):
    """A name no registry entry has: the command line reports it in one line, exit code 2."""


class Registry(dict, Generic[T]):
    """`{name: entry}` in registration order. `kind` names the setting in messages, e.g.
    "optimizer.name": `registry["adamm"]` raises "unknown optimizer.name 'adamm'; known: adam, sgd"."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def __missing__(self, name: str) -> T:
        raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {', '.join(self)}")

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...
    @overload
    def register(self, name: str, entry: T) -> T: ...

    def register(self, name: str, entry=_DECORATE):
        """Add `entry` under `name` and return it; without `entry`, a decorator that adds the
        decorated function or class. A name registers once."""

        def add(entry: T) -> T:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self[name] = entry
            return entry

        return add if entry is _DECORATE else add(entry)

    def check(self, names: str | Iterable[str]) -> None:
        """Raise `UnknownNameError` for the first name (or the names) not registered."""
        names = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in names if n not in self]
        if len(unknown) == 1:
            self[unknown[0]]
        elif unknown:
            raise UnknownNameError(f"unknown {self.kind} {unknown}; known: {', '.join(self)}")
