from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import ConfigError, load_config


def test_full_example_config_loads() -> None:
    cfg = load_config(Path(__file__).resolve().parents[2] / "deploy" / "agent.toml")
    assert cfg.collector.url and cfg.mail.canaries and cfg.usb.block_classes == ["08", "06", "e0", "ff"]


@pytest.mark.parametrize("text, key", [
    pytest.param("interval_s = -1\n", "interval_s", id="negative interval"),
    pytest.param("[usb]\nmode = 'maybe'\n", "usb.mode", id="bad enum"),
    pytest.param("[mail]\ncanaries = [{host = 'x', port = 70000}]\n", "mail.canaries.0.port", id="bad port"),
    pytest.param("[collecter]\nurl = 'x'\n", "collecter", id="misspelt section"),
    pytest.param("[collector]\nurl = 'collector:8443'\n", "collector.url", id="url without scheme"),
    pytest.param("[collector]\nurls = ['https://a:8443', 'b']\n", "collector.urls.1", id="second of urls"),
    pytest.param("[collector]\nurl = 'https://a'\nurls = ['https://b']\n", "collector", id="url and urls"),
])
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    f = tmp_path / "agent.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(f)
    assert str(f) in str(e.value) and f"'{key}'" in str(e.value)


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "agent.toml"
    f.write_text("a = 1\nb = = 2\n")
    with pytest.raises(ConfigError, match=r"agent\.toml: not valid TOML.*line 2"):
        load_config(f)


@pytest.mark.parametrize("text, urls", [
    pytest.param("[collector]\nurl = 'https://a:8443'\n", ["https://a:8443"], id="old single url"),
    pytest.param("[collector]\nurls = ['https://a:8443', 'https://b:8443']\n", ["https://a:8443", "https://b:8443"],
                 id="several"),
    pytest.param("[collector]\n", [], id="none: observations stay spooled"),
])
def test_collector_urls_are_one_list_whatever_key_gave_them(tmp_path: Path, text: str, urls: list[str]) -> None:
    f = tmp_path / "agent.toml"
    f.write_text(text)
    assert load_config(f).collector.urls == urls
