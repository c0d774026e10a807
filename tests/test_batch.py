"""The generator's batch syntax: product, zip, ranges, nesting, and clear errors."""

from __future__ import annotations

import pytest

from jupyter_trio.batch import expand, parse_value
from jupyter_trio.errors import ValidationFailed


@pytest.mark.parametrize(
    "template, expected",
    [
        ({"lr": 0.1}, [{"lr": 0.1}]),
        ({"lr": "0.1 | 0.01"}, [{"lr": 0.1}, {"lr": 0.01}]),
        (
            {"lr": "0.1 | 0.01", "opt": "sgd | adam"},
            [
                {"lr": 0.1, "opt": "sgd"},
                {"lr": 0.1, "opt": "adam"},
                {"lr": 0.01, "opt": "sgd"},
                {"lr": 0.01, "opt": "adam"},
            ],
        ),
        (
            {"seed": "(1 | 2 | 3)", "name": "(a | b | c)"},
            [{"seed": 1, "name": "a"}, {"seed": 2, "name": "b"}, {"seed": 3, "name": "c"}],
        ),
        # ranges are Python's range: the stop is excluded (pyruns: 30:40:1 gives 30..39)
        ({"epochs": "1:3"}, [{"epochs": 1}, {"epochs": 2}]),
        ({"epochs": "30:40:1"}, [{"epochs": e} for e in range(30, 40)]),
        ({"epochs": "1:6:2"}, [{"epochs": 1}, {"epochs": 3}, {"epochs": 5}]),
        ({"epochs": "10:0:-5"}, [{"epochs": 10}, {"epochs": 5}]),
        ({"epochs": "(1, 4)"}, [{"epochs": 1}, {"epochs": 2}, {"epochs": 3}]),
        (
            {"epochs": "(5, 1, -2)", "t": "(a | b)"},
            [
                {"epochs": 5, "t": "a"},
                {"epochs": 5, "t": "b"},
                {"epochs": 3, "t": "a"},
                {"epochs": 3, "t": "b"},
            ],
        ),
        ({"lr": "0.1:0.4:0.1"}, [{"lr": 0.1}, {"lr": 0.2}, {"lr": 0.3}]),
        ({"x": "(1:3)", "y": "(a | b)"}, [{"x": 1, "y": "a"}, {"x": 2, "y": "b"}]),
        # not ranges (step 0, nothing in them, a clock time with seconds): the text stays, as in pyruns
        (
            {"a": "1:5:0", "b": "5:1", "c": "12:30:00", "d": "(1, 5, 0)"},
            [{"a": "1:5:0", "b": "5:1", "c": "12:30:00", "d": "(1, 5, 0)"}],
        ),
        (
            {"t": "1:30 | 2:00", "v": "012 | 0x10"},  # YAML 1.2 numbers: no base 60, no octal 012
            [
                {"t": "1:30", "v": "012"},
                {"t": "1:30", "v": 16},
                {"t": "2:00", "v": "012"},
                {"t": "2:00", "v": 16},
            ],
        ),
        ({7: "1 | 2", "7": "x"}, [{7: 1, "7": "x"}, {7: 2, "7": "x"}]),  # keys keep their type
        ({"a": "x |", "b": "| y |"}, [{"a": "x |", "b": "| y |"}]),  # empty parts dropped: one value
        (
            {"model": {"name": "resnet | vit", "depth": 18}, "train": {"bs": 32}},
            [
                {"model": {"name": "resnet", "depth": 18}, "train": {"bs": 32}},
                {"model": {"name": "vit", "depth": 18}, "train": {"bs": 32}},
            ],
        ),
        (
            {"flag": "true | false", "v": "null | 3"},
            [
                {"flag": True, "v": None},
                {"flag": True, "v": 3},
                {"flag": False, "v": None},
                {"flag": False, "v": 3},
            ],
        ),
        (
            {"url": "http://host:80/x", "time": "12:30pm", "plain": "(just text)"},
            [{"url": "http://host:80/x", "time": "12:30pm", "plain": "(just text)"}],
        ),
        ({"cmd": "a \\| b"}, [{"cmd": "a | b"}]),
        ({"layers": [1, "2 | 3"]}, [{"layers": [1, "2 | 3"]}]),  # lists are values, not axes
    ],
)
def test_expansion_table(template, expected):
    assert expand(template) == expected


def test_product_times_zip_multiplies():
    configs = expand({"lr": "0.1 | 0.2", "opt": "sgd | adam | rms", "seed": "(1 | 2)", "tag": "(x | y)"})
    assert len(configs) == 2 * 3 * 2
    assert configs[0] == {"lr": 0.1, "opt": "sgd", "seed": 1, "tag": "x"}
    assert configs[1] == {"lr": 0.1, "opt": "sgd", "seed": 2, "tag": "y"}
    assert len({tuple(sorted(c.items())) for c in configs}) == 12


def test_template_is_not_modified():
    template = {"a": {"b": "1 | 2"}}
    expand(template)
    assert template == {"a": {"b": "1 | 2"}}


@pytest.mark.parametrize(
    "template, message",
    [
        ({"a": "(1 | 2)", "b": "(x | y | z)"}, "same length"),
        ({"a": "0:1000000"}, "at most"),
        ({"a": "1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10", "b": "1:100", "c": "1:200"}, "at most"),
    ],
)
def test_errors_are_clear(template, message):
    with pytest.raises(ValidationFailed, match=message):
        expand(template)


def test_error_names_the_zip_keys():
    with pytest.raises(ValidationFailed) as err:
        expand({"model": {"seed": "(1 | 2)"}, "tag": "(x | y | z)"})
    assert "model.seed has 2" in err.value.message and "tag has 3" in err.value.message


def test_parse_value_distinguishes_zip_and_product():
    assert parse_value("a | b") == (["a", "b"], False)
    assert parse_value("(a | b)") == (["a", "b"], True)
    assert parse_value("plain") is None
