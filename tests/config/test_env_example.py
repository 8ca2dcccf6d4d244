"""Every variable the settings read is documented in .env.example."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_variable_is_in_env_example() -> None:
    settings_source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r'env\.\w+\("([A-Z][A-Z0-9_]+)"', settings_source))
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), flags=re.MULTILINE))
    assert read, "no variables found: the pattern no longer matches settings.py"
    assert read - documented == set()
