"""Issue 33, finding 4: a few hundred bytes of YAML aliases must not expand into millions of nodes, a batch
is capped in tasks and in values, and the generator's expansion runs off the event loop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from jupyter_trio import batch, config_yaml
from jupyter_trio.errors import ValidationFailed

SCRIPT = "print('hello')\n"


def alias_bomb(levels: int = 6, width: int = 10) -> str:
    """``levels`` lists of ``width`` aliases of the list above: width**levels leaves in ~300 bytes."""
    lines = [f"a0: &a0 [{','.join(['x'] * width)}]"]
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def trio_config() -> dict:
    return {"max_generated_tasks": 50, "max_generated_nodes": 10_000}


def test_the_loader_refuses_alias_bombs_and_cycles_but_keeps_anchors():
    assert len(alias_bomb().encode()) < 300
    with pytest.raises(config_yaml.YAMLTooLarge, match="aliases"):
        config_yaml.load(alias_bomb())
    with pytest.raises(config_yaml.YAMLTooLarge, match="contains it"):
        config_yaml.load("&a [*a]")
    # anchors and merges as configs use them still load
    assert config_yaml.load("base: &b {lr: 0.1}\nrun:\n  <<: *b\n  epochs: 1:3\n") == {
        "base": {"lr": 0.1},
        "run": {"lr": 0.1, "epochs": "1:3"},
    }


def test_expand_checks_tasks_and_values_before_copying():
    with pytest.raises(ValidationFailed, match="makes 15 tasks; at most 10 at once"):
        batch.expand({"x": "0:5", "y": "0:3"}, batch.Limits(tasks=10, nodes=1000))
    with pytest.raises(ValidationFailed, match="at most 1000 values"):
        batch.expand({"x": "0:10", "big": list(range(200))}, batch.Limits(tasks=10, nodes=1000))


async def test_generator_refuses_an_alias_bomb_in_yaml_text(api, script_workspace):
    await script_workspace(SCRIPT)
    for mode in ("form", "yaml"):
        status, out = await api(
            "POST", "trio/api/generator/preview", {"mode": mode, "yaml_text": alias_bomb()}
        )
        assert status == 422, (mode, status, str(out)[:300])
        assert out["error"]["code"] == "yaml_too_large"
        assert "yaml_text" in out["error"]["message"] and "aliases" in out["error"]["message"]


async def test_a_script_config_with_an_alias_bomb_is_refused_not_served(api, script_workspace, jp_root_dir):
    (jp_root_dir / "train.py").write_text(SCRIPT)
    (jp_root_dir / "config.yaml").write_text(alias_bomb())
    status, out = await api("POST", "trio/api/workspace/run-root", {"script_path": "train.py"})
    assert status == 422 and "config.yaml" in out["error"]["message"], str(out)[:300]
    # a workspace whose config_default.yaml becomes a bomb later: GET /workspace refuses it
    ws = await script_workspace(SCRIPT, "lr: 0.1\n", name="other.py")
    (Path(ws["run_root"]) / "config_default.yaml").write_text(alias_bomb())
    status, out = await api("GET", "trio/api/workspace")
    assert status == 422 and "config_default.yaml" in out["error"]["message"], str(out)[:300]


async def test_generator_caps_are_the_configured_traits(api, script_workspace):
    await script_workspace(SCRIPT)
    status, out = await api("POST", "trio/api/generator/preview", {"template_value": {"x": "0:51"}})
    assert status == 422 and "at most 50" in out["error"]["message"], out
    body = {"template_value": {"x": "0:40", "classes": list(range(500))}}
    status, out = await api("POST", "trio/api/generator/create", body)
    assert status == 422 and "at most 10000 values" in out["error"]["message"], out
    status, out = await api("POST", "trio/api/generator/preview", {"template_value": {"x": "0:50"}})
    assert status == 200 and out["count"] == 50


async def test_the_generator_expands_off_the_event_loop(api, script_workspace, trio_app, monkeypatch):
    await script_workspace(SCRIPT)
    seen: list[threading.Thread] = []
    for method in ("preview", "create"):
        original = getattr(trio_app.tasks, method)

        def spy(*args, _original=original, **kwargs):
            seen.append(threading.current_thread())
            return _original(*args, **kwargs)

        monkeypatch.setattr(trio_app.tasks, method, spy)
    loop_thread = threading.current_thread()  # the test server's loop is the test's loop
    for route in ("preview", "create"):
        status, out = await api("POST", f"trio/api/generator/{route}", {"template_value": {"x": "0:3"}})
        assert status in (200, 201), out
    assert len(seen) == 2 and all(t is not loop_thread for t in seen), seen
