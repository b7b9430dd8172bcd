"""A read-only mapping that pickles: what policies and SLA rules hold their tables in.

``types.MappingProxyType`` cannot be pickled, so a :class:`~csmetrics.Policy` holding one could
not be sent to a worker process (multiprocessing, Dask, Ray, Spark).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

__all__ = ["FrozenMapping"]

K = TypeVar("K")
V = TypeVar("V")


class FrozenMapping(Mapping[K, V]):
    """An immutable mapping (a copy of ``data``) that pickles and compares like a dict.

    Examples
    --------
    >>> import pickle
    >>> m = FrozenMapping({"a": 1})
    >>> pickle.loads(pickle.dumps(m)) == m == {"a": 1}
    True
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[K, V] | None = None) -> None:
        self._data: dict[K, V] = dict(data or {})

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._data,))
