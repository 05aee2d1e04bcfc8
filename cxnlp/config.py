"""Configuration: settings.yaml and sources.yaml, looked up from a project root.

Nothing here is logic: it only finds and reads the YAML files and applies
environment overrides (``CXNLP_<SECTION>_<KEY>``).
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxnlp.schema import MAPPABLE_FIELDS, SOURCE_TYPES

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration file is missing or wrong; the message says which and how to fix it."""


def find_root(start: str | os.PathLike | None = None) -> Path:
    """The project root: CXNLP_HOME, else the first folder upwards holding configs/settings.yaml,
    else the folder this package was installed from (the repository in a development install)."""
    env = os.environ.get("CXNLP_HOME")
    if env:
        return Path(env).resolve()
    here = Path(start or os.getcwd()).resolve()
    for p in (here, *here.parents):
        if (p / "configs" / "settings.yaml").is_file():
            return p
    return PACKAGE_ROOT


def _coerce(value: str, like: Any) -> Any:
    if isinstance(like, bool):
        return value.lower() in ("1", "true", "yes", "on")
    if isinstance(like, int):
        return int(value)
    if isinstance(like, float):
        return float(value)
    if isinstance(like, list):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


@dataclass
class Settings:
    root: Path
    data: dict[str, Any]

    def get(self, section: str, key: str, default: Any = None) -> Any:
        env = os.environ.get(f"CXNLP_{section.upper()}_{key.upper()}")
        value = self.data.get(section, {}).get(key, default)
        if env is not None:
            return _coerce(env, value if value is not None else "")
        return value

    def path(self, section: str, key: str) -> Path:
        p = Path(str(self.get(section, key)))
        return p if p.is_absolute() else self.root / p

    def section(self, section: str) -> dict[str, Any]:
        out = copy.deepcopy(self.data.get(section, {}))
        for k in list(out):
            out[k] = self.get(section, k)
        return out


def load_settings(root: str | os.PathLike | None = None) -> Settings:
    r = Path(root).resolve() if root else find_root()
    f = r / "configs" / "settings.yaml"
    data: dict[str, Any] = {}
    if f.is_file():
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
    return Settings(root=r, data=data)


@dataclass
class SourceConfig:
    """How one export maps onto the feedback schema (an entry of configs/sources.yaml)."""

    name: str
    path: Path
    source: str
    format: str | None = None
    channel: str | None = None
    timezone: str | None = None
    date_format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    columns: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.source not in SOURCE_TYPES:
            raise ConfigError(f"source '{self.name}': 'source' must be one of {SOURCE_TYPES}, got {self.source!r}")
        bad = sorted(set(self.columns) - set(MAPPABLE_FIELDS))
        if bad:
            raise ConfigError(
                f"source '{self.name}': unknown target field(s) {bad} in 'columns'; allowed: {list(MAPPABLE_FIELDS)}"
            )
        if "text" not in self.columns:
            raise ConfigError(f"source '{self.name}': 'columns' must map 'text' to a column of the file")
        if self.format is None:
            self.format = format_from_path(self.path)

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any], base: Path) -> "SourceConfig":
        if "path" not in d:
            raise ConfigError(f"source '{name}' has no 'path'")
        p = Path(d["path"])
        known = {"path", "source", "format", "channel", "timezone", "date_format", "delimiter", "encoding", "columns"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"source '{name}': unknown key(s) {unknown}; allowed: {sorted(known)}")
        return cls(
            name=name,
            path=p if p.is_absolute() else base / p,
            source=d.get("source", ""),
            format=d.get("format"),
            channel=d.get("channel"),
            timezone=d.get("timezone"),
            date_format=d.get("date_format"),
            delimiter=d.get("delimiter"),
            encoding=d.get("encoding"),
            columns=dict(d.get("columns") or {}),
        )


def format_from_path(path: Path) -> str:
    name = path.name.lower()
    for ext, fmt in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl"), (".csv", "csv"),
                     (".tsv", "csv"), (".txt", "csv"), (".parquet", "parquet"), (".pq", "parquet")):
        if name.endswith(ext):
            return fmt
    raise ConfigError(f"cannot tell the format of '{path.name}' from its extension; set 'format:' (csv|jsonl|parquet)")


def load_sources(root: str | os.PathLike | None = None, file: str | os.PathLike | None = None) -> list[SourceConfig]:
    r = Path(root).resolve() if root else find_root()
    f = Path(file) if file else r / "configs" / "sources.yaml"
    if not f.is_file():
        raise ConfigError(f"no source mapping file at {f.name}; create configs/sources.yaml (see README)")
    data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
    entries = data.get("sources") or {}
    if not isinstance(entries, dict):
        raise ConfigError(f"{f.name}: 'sources' must be a mapping of name -> settings")
    base = f.parent.parent if f.parent.name == "configs" else f.parent
    return [SourceConfig.from_dict(name, d or {}, base) for name, d in entries.items()]
