"""One ``Registry`` class for every pluggable family (models, datasets, detectors, ensembles...).

Adding an entry is one decorated function in one file (as timm's ``@register_model``), so names are
never dispatched with ``if/elif`` chains spread across the code base.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from ferkit.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → object map with loud duplicates and did-you-mean lookups."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._meta: dict[str, dict[str, Any]] = {}

    def register(self, name: str | None = None, **meta: Any) -> Callable[[T], T]:
        """Decorator: ``@REG.register("name", tag=...)``; the name defaults to ``obj.__name__``."""

        def deco(obj: T) -> T:
            key = name or getattr(obj, "__name__", None)
            if not key:
                raise ValueError(f"{self.kind} registry: an entry needs a name")
            self.add(key, obj, **meta)
            return obj

        return deco

    def add(self, name: str, obj: T, **meta: Any) -> None:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj
        self._meta[name] = dict(meta)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self._unknown_message(name)) from None

    def meta(self, name: str) -> dict[str, Any]:
        self.get(name)
        return dict(self._meta[name])

    def _unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(str(name), list(self._items), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        known = ", ".join(sorted(self._items)[:12])
        more = "" if len(self._items) <= 12 else f", ... ({len(self._items)} in all)"
        return f"unknown {self.kind} {name!r}{hint} Known: {known}{more}"

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
