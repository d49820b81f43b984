"""What Anthropic API tokens cost: the price table in ``prices.toml``, with overrides from cockpit.toml.

Prices are US dollars per million tokens, for four kinds of token: input (not counting cache),
output, cache writes and cache reads. A model is found by its id, an alias, or either followed by
a date (``claude-sonnet-4-5-20250929``) or ``-latest``; an id the table does not hold has no price
and its cost is None ("cost unknown"), never an estimate.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

from engine.usage import Usage

PRICE_FIELDS = ("input", "output", "cache_write", "cache_read")
CACHE_WRITE_FACTOR = 1.25  # Anthropic's 5-minute cache write: 1.25 × the input price
CACHE_READ_FACTOR = 0.1  # a cache hit: 0.1 × the input price
_DATED = re.compile(r"(?:-\d{8}|@\d{8}|-latest)$")


class PriceError(ValueError):
    """A price override that cannot be used; the text says which model and why."""


@dataclass(frozen=True)
class ModelPrice:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    def cost(self, usage: Usage) -> float:
        return (
            usage.tokens_in * self.input
            + usage.tokens_out * self.output
            + usage.cache_write * self.cache_write
            + usage.cache_read * self.cache_read
        ) / 1_000_000


@dataclass(frozen=True)
class PriceTable:
    models: Mapping[str, ModelPrice]
    aliases: Mapping[str, str] = field(default_factory=dict)  # alias -> model id
    taken: str = ""  # the date the built-in prices were copied from the source (ISO)

    def price(self, model: str) -> ModelPrice | None:
        """The price of ``model`` (an id, an alias, or either with a date suffix), None if unknown."""
        for candidate in (model, _DATED.sub("", model)):
            key = self.aliases.get(candidate, candidate)
            if key in self.models:
                return self.models[key]
        return None

    def cost(self, model: str, usage: Usage) -> float | None:
        """What ``usage`` cost on ``model`` in US dollars; None when the model has no price."""
        price = self.price(model)
        return None if price is None else price.cost(usage)


def load_prices(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> PriceTable:
    """The built-in table with ``overrides`` (model id -> {input, output, cache_write, cache_read}).

    An override of a known model may give any of the four prices; the others stay. A new model
    needs ``input`` and ``output``; its cache prices default to Anthropic's standard multipliers of
    the input price (1.25× for a write, 0.1× for a read). Raises :class:`PriceError`.
    """
    base = _builtin()
    if not overrides:
        return base
    models = dict(base.models)
    for model, table in overrides.items():
        key = base.aliases.get(model, model)
        known = models.get(key)
        values = _numbers(model, table)
        if known is None:
            missing = [name for name in ("input", "output") if name not in values]
            if missing:
                raise PriceError(
                    f"model {model!r} is not in the price table: give at least input and output "
                    f"(missing {', '.join(missing)})"
                )
            values.setdefault("cache_write", values["input"] * CACHE_WRITE_FACTOR)
            values.setdefault("cache_read", values["input"] * CACHE_READ_FACTOR)
            models[key] = ModelPrice(**values)
        else:
            models[key] = ModelPrice(**{**known.__dict__, **values})
    return PriceTable(models, base.aliases, base.taken)


def _numbers(model: str, table: Mapping[str, Any]) -> dict[str, float]:
    if not isinstance(table, Mapping):
        raise PriceError(f"prices of {model!r} must be a table of numbers")
    unknown = sorted(set(table) - set(PRICE_FIELDS))
    if unknown:
        raise PriceError(f"prices of {model!r}: unknown key {unknown[0]!r} (known: {', '.join(PRICE_FIELDS)})")
    values: dict[str, float] = {}
    for name, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise PriceError(
                f"prices of {model!r}: {name} must be a number of dollars per million tokens, not {value!r}"
            )
        values[name] = float(value)
    return values


@lru_cache(maxsize=1)
def _builtin() -> PriceTable:
    text = resources.files("engine").joinpath("prices.toml").read_text(encoding="utf-8")
    return parse_price_table(tomllib.loads(text))


def parse_price_table(data: Mapping[str, Any]) -> PriceTable:
    """A table from the data of a ``prices.toml`` (``taken`` and ``[models."id"]`` tables)."""
    models: dict[str, ModelPrice] = {}
    aliases: dict[str, str] = {}
    for model, table in data.get("models", {}).items():
        table = dict(table)
        for alias in table.pop("aliases", []):
            aliases[alias] = model
        values = _numbers(model, table)
        missing = [name for name in PRICE_FIELDS if name not in values]
        if missing:
            raise PriceError(f"prices of {model!r}: missing {', '.join(missing)}")
        models[model] = ModelPrice(**values)
    taken = data.get("taken", "")
    if isinstance(taken, (dt.date, dt.datetime)):
        taken = taken.isoformat()
    return PriceTable(models, aliases, str(taken))
