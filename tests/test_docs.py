"""Every setting is documented; the README's commands exist."""

from pathlib import Path

from workbench.config import HubSettings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in HubSettings.model_fields if f"`{name}`" not in doc]
    assert missing == []
    for name in HubSettings.model_fields:
        env = "WORKBENCH_DATA" if name == "data_dir" else f"WORKBENCH_{name.upper()}"
        assert f"`{env}`" in doc, env


def test_readme_commands_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "make lab" in readme and "make test" in readme
    assert "\nlab:" in makefile and "\ntest:" in makefile
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec make test")
