"""API keys: each names the one principal its requests search as; only their sha256 is stored.

The keys file is JSON::

    {"keys": [
      {"name": "alice-laptop", "sha256": "<hex sha256 of the key>", "principal": "alice", "groups": ["staff"]},
      {"name": "indexer", "sha256": "...", "principal": "svc-indexer"}
    ]}

``ragkit serve --hash-key`` prints the sha256 of a key read from standard input. A request
presents its key as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; the key's
digest is compared with every stored digest by :func:`hmac.compare_digest` (constant time,
and every entry is compared, so timing does not tell which entry came close).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkit.core.errors import ConfigError, InputError
from ragkit.store.access import Principal

__all__ = ["ApiKey", "ApiKeys", "hash_key"]

_HEX = re.compile(r"^[0-9a-f]{64}$")
_ENTRY = frozenset({"name", "sha256", "principal", "groups"})


def hash_key(key: str) -> str:
    """The hex sha256 of ``key`` (what the keys file stores).

    Raises:
        InputError: an empty key, or one with surrounding whitespace.
    """
    if not isinstance(key, str) or not key or key != key.strip():
        raise InputError("An API key must be a non-empty str without surrounding whitespace.")
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """One key: its label (for logs; never the key), its digest and its principal."""

    name: str
    digest: bytes
    principal: Principal


class ApiKeys:
    """The keys a service accepts.

    Example:
        >>> keys = ApiKeys.from_entries([{"name": "a", "sha256": hash_key("s3cret"), "principal": "alice"}])
        >>> keys.authenticate("s3cret").principal.id
        'alice'

    Raises:
        ConfigError: a malformed entry (see :meth:`from_entries`).
    """

    def __init__(self, keys: Sequence[ApiKey]) -> None:
        self.keys = tuple(keys)
        names = [k.name for k in self.keys]
        if len(set(names)) != len(names):
            raise ConfigError(f"API key names must be unique. Got {sorted(names)}.")
        digests = [k.digest for k in self.keys]
        if len(set(digests)) != len(digests):
            raise ConfigError("Two API key entries have the same sha256; each key must name one principal.")

    @classmethod
    def from_entries(cls, entries: Sequence[Mapping[str, Any]]) -> ApiKeys:
        """Keys from entries ``{"name", "sha256", "principal", "groups"?}``.

        Raises:
            ConfigError: a missing or unknown field, a digest that is not 64 hex digits, a bad principal.
        """
        if isinstance(entries, (str, bytes)) or not isinstance(entries, Sequence):
            raise ConfigError(f"The API keys must be a list of entries. Got {type(entries).__name__}.")
        keys = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise ConfigError(f"API key entry {i} must be an object. Got {type(entry).__name__}.")
            unknown = sorted(set(entry) - _ENTRY)
            missing = sorted({"name", "sha256", "principal"} - set(entry))
            if unknown or missing:
                raise ConfigError(f"API key entry {i}: fields are name, sha256, principal and groups (optional); "
                                  f"missing {missing}, unknown {unknown}.")
            name, digest = entry["name"], entry["sha256"]
            if not isinstance(name, str) or not name:
                raise ConfigError(f"API key entry {i}: 'name' must be a non-empty str. Got {name!r}.")
            if not isinstance(digest, str) or not _HEX.match(digest):
                raise ConfigError(f"API key {name!r}: 'sha256' must be 64 lowercase hex digits (ragkit serve --hash-key). "
                                  f"Got {digest!r}.")
            try:
                principal = Principal(entry["principal"], groups=entry.get("groups", ()))
            except InputError as exc:
                raise ConfigError(f"API key {name!r}: {exc}") from exc
            keys.append(ApiKey(name, bytes.fromhex(digest), principal))
        return cls(keys)

    @classmethod
    def load(cls, path: str | Path) -> ApiKeys:
        """Read a keys file (see the module docstring).

        Raises:
            ConfigError: the file is missing, not JSON, or malformed.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"Cannot read the API keys file {path}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"The API keys file {path} is not valid JSON: {exc}") from exc
        if not isinstance(data, Mapping) or set(data) != {"keys"}:
            raise ConfigError(f"The API keys file {path} must hold one object {{\"keys\": [...]}}.")
        return cls.from_entries(data["keys"])

    def authenticate(self, presented: str | None) -> ApiKey | None:
        """The entry of ``presented`` (a key as sent), or ``None`` for no key or an unknown one."""
        if not presented:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()
        found: ApiKey | None = None
        for key in self.keys:  # every entry compared: the time does not depend on which one matches
            if hmac.compare_digest(digest, key.digest):
                found = key
        return found

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"ApiKeys({len(self.keys)} keys)"
