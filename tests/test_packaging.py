from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]


def test_environment_yml_has_the_lock_pins():
    lock = {
        line.strip()
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert set(pip_section) == lock
    assert "torch==2.13.0" in lock
