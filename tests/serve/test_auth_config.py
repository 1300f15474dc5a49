"""API keys (hashed, constant-time compared) and the serve configuration: bad values are ConfigErrors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ragkit import ConfigError, InputError, Principal
from ragkit.serve import ApiKeys, ServeConfig, ServeLimits, hash_key


def _entry(**over: Any) -> dict[str, Any]:
    return {"name": "a", "sha256": hash_key("secret-a"), "principal": "alice", "groups": ["staff"], **over}


def test_keys_authenticate_to_their_principal() -> None:
    keys = ApiKeys.from_entries([_entry(), _entry(name="b", sha256=hash_key("secret-b"), principal="bob", groups=[])])
    assert keys.authenticate("secret-a").principal == Principal("alice", groups=["staff"])  # type: ignore[union-attr]
    assert keys.authenticate("secret-b").name == "b"  # type: ignore[union-attr]
    for presented in (None, "", "secret-c", "secret-a ", hash_key("secret-a"), "\udcff"):
        assert keys.authenticate(presented) is None
    assert hash_key("secret-a") == hashlib.sha256(b"secret-a").hexdigest()
    assert "secret-a" not in repr(keys) and all(b"secret" not in k.digest for k in keys.keys)


def test_keys_file_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [_entry()]}))
    assert len(ApiKeys.load(path)) == 1
    bad: list[tuple[Any, str]] = [
        ({"keys": [_entry(sha256="abc")]}, "64 lowercase hex"),
        ({"keys": [_entry(sha256=hash_key("x").upper())]}, "64 lowercase hex"),
        ({"keys": [_entry(role="admin")]}, "unknown \\['role'\\]"),
        ({"keys": [{"name": "a", "sha256": hash_key("x")}]}, "missing \\['principal'\\]"),
        ({"keys": [_entry(principal="")]}, "Principal id"),
        ({"keys": [_entry(groups="staff")]}, "single str"),
        ({"keys": [_entry(), _entry()]}, "unique"),
        ({"keys": [_entry(), _entry(name="b")]}, "same sha256"),
        ({"keys": "nope"}, "list of entries"),
        ({"keys": [5]}, "must be an object"),
        ({"other": []}, "one object"),
        ([], "one object"),
    ]
    for data, match in bad:
        path.write_text(json.dumps(data))
        with pytest.raises(ConfigError, match=match):
            ApiKeys.load(path)
    path.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        ApiKeys.load(path)
    with pytest.raises(ConfigError, match="Cannot read"):
        ApiKeys.load(tmp_path / "missing.json")
    for key in ("", " padded", 5):
        with pytest.raises(InputError):
            hash_key(key)  # type: ignore[arg-type]


def test_config_defaults_and_errors(tmp_path: Path) -> None:
    config = ServeConfig(collection=tmp_path / "docs", keys_file=tmp_path / "k.json")
    assert config.host == "127.0.0.1" and config.loopback and config.label == "docs"
    assert not ServeConfig(collection=tmp_path, host="0.0.0.0", allow_anonymous=True).loopback
    with pytest.raises(ConfigError, match="keys_file"):
        ServeConfig(collection=tmp_path)
    for bad, match in [({"port": 70000}, "'port'"), ({"mode": "sparse"}, "'mode'"), ({"fusion": ""}, "'fusion'"),
                       ({"reload_interval_s": -1}, "reload_interval_s"), ({"limits": {"max_k": 5}}, "ServeLimits"),
                       ({"host": ""}, "'host'"), ({"name": ""}, "'name'")]:
        with pytest.raises(ConfigError, match=match):
            ServeConfig(collection=tmp_path, allow_anonymous=True, **bad)
    for bad, match in [({"max_k": 0}, "max_k"), ({"timeout_s": 0}, "timeout_s"), ({"max_batch": 1.5}, "max_batch"),
                       ({"max_concurrent": 0}, "max_concurrent"), ({"max_body_bytes": -1}, "max_body_bytes")]:
        with pytest.raises(ConfigError, match=match):
            ServeLimits(**bad)
