"""The price table: data in engine/prices.toml, dated ids, unknown models, overrides from cockpit.toml."""
from __future__ import annotations

import datetime as dt
import textwrap
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from engine.config import load_config
from engine.errors import ConfigError
from engine.prices import ModelPrice, PriceError, load_prices
from engine.usage import Usage
from tests.helpers.paths import ROOT



def test_the_table_ships_with_the_package() -> None:
    assert resources.files("engine").joinpath("prices.toml").is_file()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "*.toml" in pyproject["tool"]["setuptools"]["package-data"]["*"]


def test_the_table_says_when_it_was_taken() -> None:
    taken = load_prices().taken
    assert dt.date.fromisoformat(taken) <= dt.date.today()


def test_sonnet_4_5() -> None:
    price = load_prices().price("claude-sonnet-4-5")
    assert price == ModelPrice(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30)


@pytest.mark.parametrize("model", [
    "claude-opus-4-5", "claude-opus-4-1", "claude-opus-4", "claude-sonnet-4-5", "claude-sonnet-4",
    "claude-haiku-4-5", "claude-3-5-haiku", "claude-3-7-sonnet", "claude-3-haiku",
])
def test_current_models_have_prices(model: str) -> None:
    assert load_prices().price(model) is not None


def test_cache_prices_follow_the_published_multipliers() -> None:
    table = load_prices()
    for model, price in table.models.items():
        if model == "claude-3-haiku":  # priced before the multipliers were uniform
            continue
        assert price.cache_write == pytest.approx(price.input * 1.25), model
        assert price.cache_read == pytest.approx(price.input * 0.1), model


@pytest.mark.parametrize("model, same_as", [
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("claude-sonnet-4-20250514", "claude-sonnet-4"),
    ("claude-sonnet-4-0", "claude-sonnet-4"),
    ("claude-opus-4-0", "claude-opus-4"),
    ("claude-opus-4-1-20250805", "claude-opus-4-1"),
    ("claude-opus-4-5-20251101", "claude-opus-4-5"),
    ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
    ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
    ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
    ("claude-3-haiku@20240307", "claude-3-haiku"),
])
def test_dated_ids_and_aliases(model: str, same_as: str) -> None:
    table = load_prices()
    assert table.price(model) == table.models[same_as]


@pytest.mark.parametrize("model", [
    "claude-sonnet-4-7",  # a prefix of a known id is not enough: never a guessed price
    "claude-sonnet-4-5-preview",
    "claude-sonnet",
    "gpt-4o",
    "",
])
def test_unknown_models_have_no_price(model: str) -> None:
    table = load_prices()
    assert table.price(model) is None
    assert table.cost(model, Usage(1000, 1000)) is None


def test_cost() -> None:
    usage = Usage(tokens_in=1_000_000, tokens_out=100_000, cache_write=200_000, cache_read=2_000_000)
    cost = load_prices().cost("claude-sonnet-4-5-20250929", usage)
    assert cost == pytest.approx(3.0 + 1.5 + 0.75 + 0.6)
    assert load_prices().cost("claude-haiku-4-5", Usage()) == 0.0


def test_overrides() -> None:
    table = load_prices({
        "claude-sonnet-4-5": {"input": 2.0},  # a known model: the other prices stay
        "claude-opus-4-0": {"output": 70},  # an alias names its model
        "my-proxy-model": {"input": 4, "output": 20},  # a new one: cache prices by the multipliers
    })
    assert table.price("claude-sonnet-4-5") == ModelPrice(2.0, 15.0, 3.75, 0.30)
    assert table.price("claude-opus-4").output == 70.0
    assert table.price("my-proxy-model") == ModelPrice(4.0, 20.0, 5.0, 0.4)
    assert table.price("my-proxy-model-20250101") == ModelPrice(4.0, 20.0, 5.0, 0.4)
    assert load_prices().price("claude-sonnet-4-5").input == 3.0  # the built-in table is unchanged


@pytest.mark.parametrize("overrides, expected", [
    ({"new-model": {"input": 1.0}}, "give at least input and output (missing output)"),
    ({"claude-sonnet-4-5": {"input": -1}}, "input must be a number of dollars per million tokens"),
    ({"claude-sonnet-4-5": {"input": "3"}}, "input must be a number"),
    ({"claude-sonnet-4-5": {"input": True}}, "input must be a number"),
    ({"claude-sonnet-4-5": {"inputs": 3}}, "unknown key 'inputs'"),
    ({"claude-sonnet-4-5": 3}, "must be a table of numbers"),
])
def test_bad_overrides(overrides: dict, expected: str) -> None:
    with pytest.raises(PriceError) as info:
        load_prices(overrides)
    assert expected in str(info.value)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_prices_in_cockpit_toml(tmp_path: Path, isolated_dirs: Path) -> None:
    repo = tmp_path / "checkout"
    write(isolated_dirs / "config" / "cockpit" / "cockpit.toml", """
        [prices."claude-sonnet-4-5"]
        input = 2.5
        output = 12

        [prices."house-model"]
        input = 1
        output = 2
    """)
    write(repo / "cockpit.toml", """
        [prices."claude-sonnet-4-5"]
        output = 14
    """)
    config = load_config(repo)
    table = config.price_table()
    assert table.price("claude-sonnet-4-5") == ModelPrice(2.5, 14.0, 3.75, 0.30)  # the repository's wins
    assert table.price("house-model") == ModelPrice(1.0, 2.0, 1.25, 0.1)
    assert load_config(None).price_table().price("house-model") == ModelPrice(1.0, 2.0, 1.25, 0.1)


@pytest.mark.parametrize("text, expected", [
    ('prices = 3\n', "'prices' must be a table of models"),
    ('[prices]\nx = 3\n', "[prices.'x'] must be a table"),
    ('[prices."m"]\ninput = 1\n', "[prices]: model 'm' is not in the price table"),
    ('[prices."claude-sonnet-4-5"]\nprice = 1\n', "[prices]: prices of 'claude-sonnet-4-5': unknown key 'price'"),
])
def test_bad_prices_in_cockpit_toml(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path / "checkout" / "cockpit.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path.parent)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert expected in message
