"""dist/autograder.zip as Gradescope uses it: unpacked into a root laid out like
/autograder, run_autograder run on a submission, results.json checked against
a JSON schema of Gradescope's format."""

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from autograder.checking.table import load, read, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_autograder  # noqa: E402

SCHEMA = json.loads((ROOT / "tests" / "gradescope_results.schema.json").read_text())


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    return build_autograder.build(tmp_path_factory.mktemp("dist") / "autograder.zip")


def test_zip_layout_and_no_solutions(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zf:
        names = zf.namelist()
        assert {"setup.sh", "run_autograder"} <= set(names)
        assert not any(n.startswith(("solutions/", "tests/")) for n in names)
        for n in names:
            text = zf.read(n).decode("utf-8", errors="replace")
            assert "BEGIN SOLUTION" not in text, n
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111


def test_setup_installs_cpu_only_torch(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zf:
        setup = zf.read("setup.sh").decode()
    torch_lines = [line for line in setup.splitlines() if "torch" in line and "pip" in line
                   and not line.lstrip().startswith("#")]
    assert torch_lines and all('"torch==2.13.0+cpu"' in line and "$TORCH_SOURCE" in line for line in torch_lines)
    assert "TORCH_SOURCE=${CONVGRADE_TORCH_SOURCE:---index-url https://download.pytorch.org/whl/cpu}" in setup


def run_autograder(tmp_path, autograder_zip, submission, table_changes=None, metadata=None):
    """run_autograder in a root laid out like /autograder; ``table_changes``: top-level keys set in the zip's
    case table, as data (as course staff would edit it); ``metadata``: submission_metadata.json."""
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "results").mkdir()
    with zipfile.ZipFile(autograder_zip) as zf:
        zf.extractall(root / "source")
    for info in zipfile.ZipFile(autograder_zip).infolist():
        os.chmod(root / "source" / info.filename, info.external_attr >> 16 & 0o777)
    if table_changes:
        cases = root / "source" / "autograder" / "cases.yaml"
        write({**read(cases), **table_changes}, cases)
    if metadata is not None:
        (root / "submission_metadata.json").write_text(json.dumps(metadata))
    shutil.copytree(submission, root / "submission")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), CONVGRADE_PYTHON=sys.executable)
    worker = ROOT / ".venv-worker" / "bin" / "python"
    env["CONVGRADE_WORKER_PYTHON"] = str(worker if worker.exists() else sys.executable)
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, SCHEMA)
    return data, proc


def test_run_autograder_on_reference(tmp_path, autograder_zip):
    data, proc = run_autograder(tmp_path, autograder_zip, ROOT / "solutions")
    total = load().total
    assert data["score"] == pytest.approx(total)
    assert all(t["status"] == "passed" for t in data["tests"])
    assert f"{total:g}/{total:g}" in proc.stdout
    # the speed part's leaderboard entry (the table's `leaderboard:`), lower is better
    boards = [p for p in load().parts if p.leaderboard]
    assert [e["name"] for e in data["leaderboard"]] == [p.leaderboard for p in boards]
    for entry, part in zip(data["leaderboard"], boards):
        assert entry["order"] == "asc" and 0 < entry["value"] <= part.cases[0]["max_ratio"], entry


def test_run_autograder_on_stubs(tmp_path, autograder_zip):
    data, _ = run_autograder(tmp_path, autograder_zip, ROOT / "assignment")
    assert data["score"] == 0
    assert "leaderboard" not in data  # nothing measured: no entry (never a made-up value)
    assert [t["number"] for t in data["tests"]] == [p.number for p in load().parts]


def test_schema_rejects_a_broken_results_file():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tests": [{"name": "x", "score": 1, "status": "ok"}], "score": 1}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):  # Gradescope's leaderboard: name, value, order asc | desc
        jsonschema.validate({"tests": [], "score": 0, "leaderboard": [{"name": "t", "value": 1, "order": "up"}]},
                            SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tests": [], "score": 0, "leaderboard": [{"name": "t"}]}, SCHEMA)


def test_built_zips_are_private_but_a_shared_folder_keeps_its_mode(tmp_path):
    """The autograder zip holds the hidden cases: it is 0600, and a folder made for it 0700. A folder that
    already exists and is shared (``--out /tmp/autograder.zip``) keeps its mode: /tmp stays usable."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    out = build_autograder.build(shared / "autograder.zip")
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    fresh = build_autograder.build(tmp_path / "new" / "dist" / "autograder.zip")
    assert stat.S_IMODE(os.stat(fresh.parent).st_mode) == 0o700
