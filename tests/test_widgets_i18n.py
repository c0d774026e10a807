"""The notebook panels follow JupyterLab's language (issue 36): English by default, Simplified Chinese when
JupyterLab's translation setting says ``zh_CN`` (read from the server the panel talks to), ``TRIO_LOCALE``
over both; a button labelled in Chinese still does its action. The test server loads JupyterLab here, so
its settings API (and its check of the locale against the installed language packs) is the real one."""

from __future__ import annotations

import asyncio
import copy
import json

import pytest

from jupyter_trio.widgets import DatasetPanel, TaskPanel, dashboard
from jupyter_trio.widgets.i18n import SETTING, Translator, catalog

ACTIONS = ["start", "stop", "resume", "rerun", "cancel", "pin"]
SCRIPT = "import jupyter_trio as trio\ntrio.track(loss=1.0)\n"


@pytest.fixture
def jp_server_config(jp_server_config):
    config = copy.deepcopy(jp_server_config)
    config["ServerApp"]["jpserver_extensions"]["jupyterlab"] = True
    return config


@pytest.fixture
def lab_locale(api):
    """Set JupyterLab's language as its Settings Editor does."""

    async def put(locale: str) -> None:
        code, body = await api("PUT", SETTING, {"raw": json.dumps({"locale": locale})})
        assert code == 204, body
        code, body = await api("GET", SETTING)
        assert code == 200 and body["settings"]["locale"] == locale, body

    return put


def run(fn, *args, **kwargs):
    return asyncio.to_thread(fn, *args, **kwargs)


async def a_pending_task(api, script_workspace) -> str:
    await script_workspace(SCRIPT)
    code, created = await api("POST", "trio/api/generator/create", {"name_prefix": "i18n", "run": False})
    assert code == 201, created
    return created["items"][0]["name"]


def labels(panel: TaskPanel) -> list[str]:
    return [b.description for b in panel.buttons.values()]


async def test_panels_are_english_without_a_language_setting(client, api, script_workspace):
    name = await a_pending_task(api, script_workspace)
    code, setting = await api("GET", SETTING)  # JupyterLab is there, its language is the default
    assert code == 200 and setting["settings"].get("locale", "default") == "default"
    panel = await run(TaskPanel, await run(client), live=False)
    assert panel.trans.locale == "en"
    assert labels(panel) == ACTIONS
    assert panel.selected.description == "task" and panel.epoch.description == "resume epoch"
    assert "<th style='text-align:left;padding:2px 8px'>status</th>" in panel.table.value
    assert name in panel.table.value and ">pending<" in panel.table.value and ">script<" in panel.table.value
    await run(panel.close)


async def test_panels_follow_jupyterlabs_chinese(client, api, script_workspace, lab_locale):
    name = await a_pending_task(api, script_workspace)
    await lab_locale("zh_CN")
    c = await run(client)
    panel = await run(TaskPanel, c, live=False)
    assert panel.trans.locale == "zh_CN"
    assert labels(panel) == ["开始", "停止", "恢复", "重新运行", "取消", "固定"]
    assert panel.selected.description == "任务" and panel.epoch.description == "恢复轮次"
    assert ">状态<" in panel.table.value and ">进度<" in panel.table.value
    # the sidebar's words for the server's: one catalog entry each
    assert name in panel.table.value and ">未开始<" in panel.table.value and ">脚本<" in panel.table.value
    assert ">pending<" not in panel.table.value
    panel.batch_yaml.value = "lr: 0.1 | 0.2\n"
    await run(panel.action(panel.preview_batch))
    assert "2 个任务" in panel.batch_preview.value
    panel.batch_yaml.value = "lr: [unclosed"
    await run(panel.action(panel.preview_batch))
    assert "配置不是有效的 YAML" in panel.error.value

    datasets = await run(DatasetPanel, c, live=False)
    assert datasets.kind.options[1] == ("目标检测", "detection")  # shown in Chinese, sent as the API's name
    assert datasets.path.placeholder == "Jupyter 根目录下的文件夹"
    assert datasets.counts.title == "每类图片数"

    board = await run(dashboard, c)
    titles = [board.get_title(i) for i in range(len(board.children))]
    assert titles[:2] == ["任务", "数据集"] and f"日志 · {name}" in titles
    log = board.panels[3]
    log.render()
    assert "第 - 次运行：实时" in log.status.value and "0 行" in log.status.value
    for p in (panel, datasets, board):
        await run(p.close)


async def test_trio_locale_wins(client, api, lab_locale, monkeypatch):
    monkeypatch.setenv("TRIO_LOCALE", "zh_CN")
    panel = await run(TaskPanel, await run(client), live=False)  # JupyterLab says default
    assert labels(panel)[0] == "开始"
    await run(panel.close)
    await lab_locale("zh_CN")
    monkeypatch.setenv("TRIO_LOCALE", "en")
    panel = await run(TaskPanel, await run(client), live=False)
    assert labels(panel) == ACTIONS
    await run(panel.close)


async def test_a_chinese_button_does_its_action(client, api, script_workspace, lab_locale, wait_task):
    name = await a_pending_task(api, script_workspace)
    await lab_locale("zh_CN")
    panel = await run(TaskPanel, await run(client), live=False)
    await run(setattr, panel.selected, "value", name)  # off the loop: it asks the server
    assert panel.buttons["pin"].description == "固定"
    await run(panel.buttons["pin"].click)
    assert next(t for t in panel.tasks if t["name"] == name)["pinned"]
    assert ">是<" in panel.table.value
    assert panel.buttons["start"].description == "开始"
    await run(panel.buttons["start"].click)
    assert (await wait_task(name, "completed", "failed"))["status"] == "completed"
    await run(setattr, panel.selected, "value", None)
    await run(panel.buttons["stop"].click)
    assert "请先选择任务" in panel.error.value  # the panel's own word; the server's stay English
    await run(panel.close)


def test_the_translator_has_jupyterlabs_methods():
    zh, en = Translator(catalog("zh-CN"), "zh_CN"), Translator()
    assert zh.__("created %1", "T0001") == "已创建 T0001" and en.__("created %1", "T0001") == "created T0001"
    assert zh._p("task state", "running") == "运行中" and en._p("task state", "running") == "running"
    assert zh._n("%1 task", "%1 tasks", 1) == "1 个任务" and zh._n("%1 task", "%1 tasks", 5) == "5 个任务"
    assert en._n("%1 task", "%1 tasks", 1) == "1 task" and en._n("%1 task", "%1 tasks", 5) == "5 tasks"
    assert zh.__("no such message %1", 3) == "no such message 3"  # English where the catalog has none
    assert (
        zh._p("dataset state", "split") == "已切分" and zh.__("split") == "切分"
    )  # a context tells them apart
    assert catalog("xx_YY") == {} and Translator(catalog("xx_YY"))._n("%1 line", "%1 lines", 2) == "2 lines"
