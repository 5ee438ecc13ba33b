"""The autograder where students are graded: Gradescope's container, built here with podman exactly as
tools/gradescope_container.py describes (Docker's default capabilities and seccomp profile, root inside, no
CAP_SYS_ADMIN: no namespace, no bubblewrap; 768 MB, 0.5 CPU; Ubuntu 22.04 and its Python 3.10; setup.sh,
then run_autograder per submission in a fresh container).

Every cell of SECURITY.md's column "root in Docker's default container (Gradescope)" is checked here. Where
podman cannot run (not root, no podman, no torch wheel pip reaches) the tests skip and say why.
(`make gradescope-test` runs only these.)
"""

import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from autograder.checking.table import load
from hostile.attacks import DK
from hostile.build import make_submission
from hostile.container import GRADESCOPE, LEAKER, READER, SHARED

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_autograder  # noqa: E402
import container_root  # noqa: E402
import gradescope_container as gc  # noqa: E402

TABLE = load()
SCHEMA = json.loads((ROOT / "tests" / "gradescope_results.schema.json").read_text())
COPY = "/srv/course-copy"  # a world-readable copy of the course, elsewhere in the container
WHY = gc.unavailable()
pytestmark = [pytest.mark.skipif(bool(WHY), reason=f"Gradescope's container: {WHY}"),
              pytest.mark.xdist_group("gradescope-container")]


FAILED = []  # the build's failure: every test that needs the image fails with it at once, none builds again


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    if FAILED:
        pytest.fail(FAILED[0], pytrace=False)
    zip_path = build_autograder.build(tmp_path_factory.mktemp("dist") / "autograder.zip")

    def course_copy(root):
        folder = root / COPY.lstrip("/")
        folder.mkdir(parents=True)
        shutil.copyfile(zip_path, folder / "autograder.zip")
        with zipfile.ZipFile(zip_path) as zf:
            (folder / "cases.yaml").write_bytes(zf.read("autograder/cases.yaml"))
        for p in (folder, *folder.iterdir()):
            os.chmod(p, 0o755 if p.is_dir() else 0o644)

    try:
        built = gc.Image(zip_path, prepare=course_copy)
    except gc.BuildError as exc:
        FAILED.append(f"Gradescope's container could not be built: {exc}")
        pytest.fail(FAILED[0], pytrace=False)
    yield built
    built.close()


def graded(run):
    """The results of a run, valid against Gradescope's format, every part listed."""
    assert run.results is not None, run.log[-3000:]
    jsonschema.validate(run.results, SCHEMA)
    assert [t["number"] for t in run.results["tests"]] == [p.number for p in TABLE.parts]
    return run.results


def scores(results):
    by_number = {t["number"]: t["score"] for t in results["tests"]}
    return {p.id: by_number[p.number] for p in TABLE.parts}


def test_the_container_is_gradescopes(image):
    """What the test claims about the container holds inside it: Docker's capability set, seccomp on,
    namespaces and bubblewrap refused, Landlock allowed, 768 MB and half a CPU, the worker's Python."""
    probe = r"""
import ctypes, json, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
out = {"caps": int(status["CapEff"], 16), "seccomp": status["Seccomp"].strip(), "uid": os.getuid()}
out["unshare"] = libc.unshare(0x00020000) == 0 or ctypes.get_errno()
out["landlock"] = libc.syscall(444, None, 0, 1)
bw = subprocess.run(["bwrap", "--ro-bind", "/", "/", "true"], capture_output=True, text=True)
out["bwrap"] = [bw.returncode, bw.stderr.strip()]
read = lambda *ps: next((open(p).read().strip() for p in ps if os.path.exists(p)), "")
out["memory"] = read("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max")
out["cpu"] = read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu.max")
out["python"] = subprocess.run(["/autograder/worker-venv/bin/python", "-c", "import sys; print(sys.version)"],
                               capture_output=True, text=True).stdout.strip()
print("PROBE" + json.dumps(out))
"""
    run = image.run(ROOT / "solutions", command=f"python3 -c '{probe}'")
    facts = json.loads(run.log.split("PROBE", 1)[1].splitlines()[0])
    caps = {"CHOWN": 0, "DAC_OVERRIDE": 1, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6, "SETUID": 7,
            "SETPCAP": 8, "NET_BIND_SERVICE": 10, "NET_RAW": 13, "SYS_CHROOT": 18, "MKNOD": 27,
            "AUDIT_WRITE": 29, "SETFCAP": 31}
    assert facts["caps"] == sum(1 << caps[c] for c in gc.DATA["capabilities"]), facts
    assert facts["uid"] == 0 and facts["seccomp"] == "2"
    assert facts["unshare"] == 1, facts  # EPERM: no mount namespace for anyone
    assert facts["bwrap"][0] != 0 and "Operation not permitted" in facts["bwrap"][1], facts
    assert facts["landlock"] >= 1, "Docker's profile allows Landlock (the kernel here has it)"
    assert int(facts["memory"].split()[0]) == 768 * 2**20, facts
    assert facts["cpu"].split()[0] == "50000", facts
    assert facts["python"].startswith(f"{image.worker_version}."), facts
    if container_root.python310():  # Ubuntu's 3.10, or this machine's copied into Debian's root
        assert image.worker_version == "3.10", image.description  # Gradescope's Python runs student code


def test_reference_gets_full_marks_and_the_isolation_in_force_is_named(image):
    run = image.run(ROOT / "solutions")
    results = graded(run)
    assert results["score"] == TABLE.total, run.log[-3000:]
    note = next(line for line in results["output"].splitlines() if "isolation reduced" in line)
    for missing in ("mount namespace", "PID namespace", "IPC namespace", "network namespace"):
        assert f"no {missing}" in note, note
    assert "Landlock (ABI" in note and "seccomp" in note and "sandbox user convgrade-sandbox" in note, note
    isolation = results["extra_data"]["isolation"]
    assert set(isolation["missing"]) == {"mount namespace", "PID namespace", "IPC namespace", "network namespace"}
    assert "seccomp" in isolation["holds"] and any(h.startswith("Landlock") for h in isolation["holds"])
    assert "isolation reduced: no mount namespace" in run.log  # the staff log says it too
    assert results["extra_data"]["environment"]["worker"]["python"].startswith(f"{image.worker_version}.")


def test_stubs_score_zero_with_a_message_per_case(image):
    results = graded(image.run(ROOT / "assignment"))
    assert results["score"] == 0
    for test in results["tests"]:
        assert "not implemented yet" in test["output"], test["name"]


@pytest.mark.parametrize("attack", GRADESCOPE, ids=lambda a: a.name)
def test_hostile_submission_in_the_container(image, attack, tmp_path):
    """Nothing it tries gets through: the grader's files, the case table, a world-readable copy of the
    course, other processes, writing results.json, escaping, outliving the worker's memory, filling the disk."""
    sub = make_submission(attack, tmp_path, {"COPY": COPY, "SHARED": SHARED})
    run = image.run(sub, keep=["/autograder/results"])
    results = graded(run)
    got = scores(results)
    for part in TABLE.parts:
        if part.id not in attack.lose:
            assert got[part.id] == part.weight, f"{attack.name}: {part.id} lost points:\n{run.log[-4000:]}"
    assert results["score"] <= TABLE.total and "forged" not in json.dumps(results)
    assert set(run.files) <= {"results/results.json"}, run.files.keys()  # nothing else in the results folder
    dk = next(t for t in results["tests"] if t["number"] == TABLE.part(DK).number)
    if attack.name == "oom":
        assert "ran out of memory" in dk["output"], dk["output"]  # the grader survived and says why
    if attack.name in ("fill_disk", "hold_unnamed"):  # the scratch folder kept to the budget a tmpfs has elsewhere
        assert "wrote more than 32 MB of files" in dk["output"], dk["output"]


def test_grade_all_in_the_container_keeps_submissions_apart(image, tmp_path):
    """grade-all where gradings cannot be isolated from each other (no mount or IPC namespace), and with
    Landlock switched off as on a kernel without it: what a submission leaves in world-writable places,
    however deep, is gone before the next one runs in the same sandbox slot, and every submission draws its
    hidden inputs from a seed of its own."""
    export = tmp_path / "export"
    for attack in (LEAKER, READER):
        sub = make_submission(attack, tmp_path / attack.name, {"COPY": COPY, "SHARED": SHARED})
        shutil.copytree(sub, export / attack.name)
    command = ("mkdir -p /tmp/convgrade-shared/deep && chmod -R 777 /tmp/convgrade-shared && cd /autograder/source "
               "&& CONVGRADE_LANDLOCK=0 /autograder/grader-venv/bin/python -m autograder grade-all "
               "/autograder/submission --out /autograder/results/out --jobs 1 --parts dilate_kernel")
    run = image.run(export, command=command, keep=["/autograder/results/out"])
    assert "Traceback" not in run.log, run.log[-3000:]
    rows = {}
    for name in ("a_leaker", "b_reader"):
        rows[name] = json.loads(run.files[f"out/submissions/{name}/results.json"])
    assert rows["b_reader"]["score"] == TABLE.part(DK).weight, run.log[-3000:]
    seeds = {n: r["extra_data"]["hidden_seed"] for n, r in rows.items()}
    assert seeds["a_leaker"] != seeds["b_reader"], "gradings that cannot be isolated share hidden inputs"
    assert "no Landlock" in run.log


def test_prairielearn_entrypoint_in_the_same_container(image):
    """PrairieLearn's external grader runs the same image (setup.sh's environment) as root in a container with
    Docker's defaults: its entrypoint grades /grade/student and writes results PrairieLearn reads, with the
    same isolation named as on Gradescope."""
    schema = json.loads((ROOT / "tests" / "prairielearn_results.schema.json").read_text())
    command = ("mkdir -p /pl && cp -r /autograder/submission /pl/student && "
               "CONVGRADE_PL_ROOT=/pl CONVGRADE_PL_ENVS=/autograder CONVGRADE_PL_SOURCE=/autograder/source "
               "bash /pl-entrypoint")
    entrypoint = ROOT / "autograder" / "prairielearn" / "run_grader"
    run = image.run(ROOT / "solutions", command=command, keep=["/pl/results"], mounts=[(entrypoint, "/pl-entrypoint")])
    results = json.loads(run.files["results/results.json"])
    jsonschema.validate(results, schema)
    assert results["gradable"] is not False and results["score"] == 1.0, run.log[-3000:]
    assert "no mount namespace" in results["output"] and "Landlock" in results["output"], results["output"]
