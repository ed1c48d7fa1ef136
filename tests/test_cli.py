"""The `coopdiag` command line through a subprocess (scoring.md section 5, issue 2 item 3).

JSON goes to stdout only, one object per line; exit statuses 0 (ok), 1 (an
answer set failed validation), 2 (broken questionnaire file, nothing scored);
no traceback is ever printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import BANDS, choice, computed, dim, doc, multi, number, sub, text, yes_no

QUESTIONNAIRE = doc(
    dim(
        "gobernanza",
        sub("asamblea", yes_no("junta_anual", critical=True), choice("actas", {"si": 1, "parcial": 0.5, "no": 0})),
        sub("consejo", yes_no("consejo_vigente"), yes_no("mujeres", relevant="consejo_vigente")),
    ),
    dim(
        "finanzas",
        sub(
            "liquidez",
            number("activo", min=0),
            number("pasivo", min=0),
            computed("razon", "activo / pasivo", bands=BANDS),
            multi("servicios", {"venta": 0.5, "insumos": 0.5}),
            text("comentario"),
        ),
        weight=2,
    ),
    id="cli-prueba",
    version="2026.1",
    title="Cuestionario de prueba",
)

GOOD = {
    "junta_anual": True,
    "actas": "parcial",
    "consejo_vigente": True,
    "mujeres": False,
    "activo": 300,
    "pasivo": 100,
    "servicios": ["venta"],
}
ALSO_GOOD = {"junta_anual": False, "actas": "si"}
BAD = {"junta_anual": "si", "fantasma": 1}


def coopdiag(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    assert "Traceback" not in completed.stdout, completed.stdout
    return completed


def coopdiag_all(*arg_lists) -> list[subprocess.CompletedProcess]:
    """Run several independent commands concurrently (keeps the suite fast); same checks as coopdiag()."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", *map(str, args)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in arg_lists
    ]
    results = []
    for args, process in zip(arg_lists, processes):
        stdout, stderr = process.communicate(timeout=60)
        completed = subprocess.CompletedProcess(args, process.returncode, stdout, stderr)
        assert "Traceback" not in stderr, (args, stderr)
        assert "Traceback" not in stdout, (args, stdout)
        results.append(completed)
    return results


def json_lines(stdout: str) -> list:
    """stdout must hold JSON objects only, one per line."""
    assert stdout.endswith("\n") or stdout == ""
    lines = stdout.splitlines()
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(item, dict) for item in parsed)
    return parsed


@pytest.fixture
def qfile(tmp_path: Path) -> Path:
    path = tmp_path / "cuestionario.yaml"
    path.write_text(yaml.safe_dump(QUESTIONNAIRE, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def broken_qfile(tmp_path: Path) -> Path:
    data = json.loads(json.dumps(QUESTIONNAIRE))
    data["dimensions"][0]["weight"] = 0  # problem 1
    data["dimensions"][0]["subcategories"][0]["questions"][0]["id"] = "Junta"  # problem 2
    data["dimensions"][1]["subcategories"][0]["questions"][3]["options"][0]["value"] = "na"  # problem 3
    path = tmp_path / "roto.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def in_process(answers: dict) -> dict:
    from scoring import questionnaire_from_data, score

    return score(questionnaire_from_data(QUESTIONNAIRE), answers).to_dict()


# --------------------------------------------------------------------------- score, one answer set


def test_score_prints_one_json_object(qfile, tmp_path):
    answers = write(tmp_path, "respuestas.json", json.dumps(GOOD))
    completed = coopdiag("score", qfile, answers)
    assert completed.returncode == 0, completed.stderr
    (result,) = json_lines(completed.stdout)
    assert result == in_process(GOOD)
    assert list(result)[:2] == ["method", "questionnaire"] and result["method"] == 2  # scoring.md v2
    assert result["questionnaire"] == {"id": "cli-prueba", "version": "2026.1"}
    assert set(result["overall"]) >= {"score", "light", "coverage"}
    assert [d["id"] for d in result["dimensions"]] == ["gobernanza", "finanzas"]
    questions = [q["id"] for d in result["dimensions"] for s in d["subcategories"] for q in s["questions"]]
    assert questions == [
        "junta_anual",
        "actas",
        "consejo_vigente",
        "mujeres",
        "activo",
        "pasivo",
        "razon",
        "servicios",
        "comentario",
    ]


def test_score_reads_a_json_questionnaire(tmp_path):
    qjson = write(tmp_path, "cuestionario.json", json.dumps(QUESTIONNAIRE, ensure_ascii=False))
    answers = write(tmp_path, "respuestas.json", json.dumps(GOOD))
    completed = coopdiag("score", qjson, answers)
    assert completed.returncode == 0, completed.stderr
    assert json_lines(completed.stdout) == [in_process(GOOD)]


def test_score_invalid_answer_set_exits_1(qfile, tmp_path):
    answers = write(tmp_path, "respuestas.json", json.dumps(BAD))
    completed = coopdiag("score", qfile, answers)
    assert completed.returncode == 1
    lines = json_lines(completed.stdout)
    assert len(lines) <= 1
    if lines:  # if anything is printed, it lists the errors, not a result
        assert "overall" not in lines[0]
        assert {e["question"] for e in lines[0]["errors"]} == {"junta_anual", "fantasma"}
    assert completed.stderr.strip()


def test_score_answers_not_a_json_object(qfile, tmp_path):
    contents = ["{no es json", "[1, 2]"]
    paths = [write(tmp_path, f"respuestas{i}.json", c) for i, c in enumerate(contents)]
    for completed in coopdiag_all(*[("score", qfile, path) for path in paths]):
        assert completed.returncode in (1, 2), completed.args
        assert all("overall" not in line for line in json_lines(completed.stdout))
        assert completed.stderr.strip()


def test_score_missing_answers_file_or_directory(qfile, tmp_path):
    runs = coopdiag_all(
        ("score", qfile, tmp_path / "no-existe.json"),
        ("score", qfile, "--batch", tmp_path),
    )
    for completed in runs:
        assert completed.returncode != 0, completed.args
        assert completed.stdout == "", completed.args
        assert completed.stderr.strip()


# --------------------------------------------------------------------------- score --batch


def test_batch_one_line_per_input_line_in_order(qfile, tmp_path):
    sets = [GOOD, ALSO_GOOD, {}, GOOD]
    batch = write(tmp_path, "lote.jsonl", "".join(json.dumps(s) + "\n" for s in sets))
    completed = coopdiag("score", qfile, "--batch", batch)
    assert completed.returncode == 0, completed.stderr
    lines = json_lines(completed.stdout)
    assert lines == [in_process(s) for s in sets]
    assert all(line["method"] == 2 for line in lines)


def test_batch_without_trailing_newline(qfile, tmp_path):
    batch = write(tmp_path, "lote.jsonl", json.dumps(GOOD) + "\n" + json.dumps(ALSO_GOOD))
    completed = coopdiag("score", qfile, "--batch", batch)
    assert completed.returncode == 0, completed.stderr
    assert json_lines(completed.stdout) == [in_process(GOOD), in_process(ALSO_GOOD)]


def test_batch_blank_line_gets_its_own_error_line(qfile, tmp_path):
    batch = write(tmp_path, "lote.jsonl", json.dumps(GOOD) + "\n\n" + json.dumps(ALSO_GOOD) + "\n")
    completed = coopdiag("score", qfile, "--batch", batch)
    assert completed.returncode == 1
    lines = json_lines(completed.stdout)
    assert len(lines) == 3
    assert lines[0] == in_process(GOOD) and lines[2] == in_process(ALSO_GOOD)
    assert lines[1]["line"] == 2 and lines[1]["errors"][0]["code"] == "empty_line"


def test_batch_in_parallel_gives_the_same_output_in_order(qfile, tmp_path):
    sets = [GOOD, ALSO_GOOD, {"nope": 1}, {}] * 150  # several chunks
    batch = write(tmp_path, "lote.jsonl", "".join(json.dumps(s) + "\n" for s in sets))
    serial, parallel = coopdiag_all(
        ["score", qfile, "--batch", batch], ["score", qfile, "--batch", batch, "--jobs", "2"]
    )
    assert serial.returncode == parallel.returncode == 1
    assert parallel.stdout == serial.stdout
    assert len(json_lines(parallel.stdout)) == len(sets)


def test_byte_order_mark_is_accepted(qfile, tmp_path):
    single_file = tmp_path / "bom.json"
    single_file.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode())
    batch = tmp_path / "bom.jsonl"
    batch.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n")
    for completed in coopdiag_all(["score", qfile, single_file], ["score", qfile, "--batch", batch]):
        assert completed.returncode == 0, completed.stderr
        assert json_lines(completed.stdout) == [in_process(GOOD)]


def test_batch_invalid_lines_exit_1_with_line_numbers(qfile, tmp_path):
    content = (
        "\n".join(
            [
                json.dumps(GOOD),  # 1
                json.dumps(BAD),  # 2
                json.dumps(ALSO_GOOD),  # 3
                "{esto no es json",  # 4
                json.dumps({"activo": -5}),  # 5
                "[1, 2, 3]",  # 6
                json.dumps(GOOD),  # 7
            ]
        )
        + "\n"
    )
    batch = write(tmp_path, "lote.jsonl", content)
    completed = coopdiag("score", qfile, "--batch", batch)
    assert completed.returncode == 1
    lines = json_lines(completed.stdout)
    assert len(lines) == 7
    assert lines[0] == in_process(GOOD)
    assert lines[2] == in_process(ALSO_GOOD)
    assert lines[6] == in_process(GOOD)
    for index in (1, 3, 4, 5):
        assert set(lines[index]) >= {"line", "errors"}, lines[index]
        assert lines[index]["line"] == index + 1
        assert isinstance(lines[index]["errors"], list) and lines[index]["errors"]
        assert "overall" not in lines[index]
    assert {e["question"] for e in lines[1]["errors"]} == {"junta_anual", "fantasma"}
    assert [e["question"] for e in lines[4]["errors"]] == ["activo"]


def test_batch_all_invalid(qfile, tmp_path):
    batch = write(tmp_path, "lote.jsonl", json.dumps(BAD) + "\n")
    completed = coopdiag("score", qfile, "--batch", batch)
    assert completed.returncode == 1
    (line,) = json_lines(completed.stdout)
    assert line["line"] == 1


def test_batch_empty_file(qfile, tmp_path):
    batch = write(tmp_path, "lote.jsonl", "")
    completed = coopdiag("score", qfile, "--batch", batch)
    assert completed.returncode == 0
    assert completed.stdout == ""


def test_batch_many_lines(qfile, tmp_path):
    sets = [GOOD if i % 3 else ALSO_GOOD for i in range(300)]
    batch = write(tmp_path, "lote.jsonl", "".join(json.dumps(s) + "\n" for s in sets))
    completed = coopdiag("score", qfile, "--batch", batch)
    assert completed.returncode == 0
    lines = json_lines(completed.stdout)
    assert len(lines) == 300
    assert lines[0] == in_process(ALSO_GOOD) and lines[1] == in_process(GOOD)


# --------------------------------------------------------------------------- broken questionnaire: exit 2


def test_score_with_a_broken_questionnaire_exits_2_and_prints_nothing(broken_qfile, tmp_path):
    answers = write(tmp_path, "respuestas.json", json.dumps(GOOD))
    completed = coopdiag("score", broken_qfile, answers)
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.strip()


def test_batch_with_a_broken_questionnaire_exits_2_and_prints_nothing(broken_qfile, tmp_path):
    batch = write(tmp_path, "lote.jsonl", json.dumps(GOOD) + "\n" + json.dumps(BAD) + "\n")
    completed = coopdiag("score", broken_qfile, "--batch", batch)
    assert completed.returncode == 2
    assert completed.stdout == ""


def test_score_with_an_unreadable_questionnaire_exits_2(tmp_path):
    contents = [
        "id: [sin cerrar\n",  # bad YAML
        '{"id": "x", "version": ',  # bad JSON
        "- solo\n- una lista\n",
    ]
    paths = [write(tmp_path, f"malo{i}.yaml", c) for i, c in enumerate(contents)]
    binary = tmp_path / "binario.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x01\x80\x81")
    paths += [binary, tmp_path / "no-existe.yaml", tmp_path]  # not UTF-8, missing, a directory
    answers = write(tmp_path, "respuestas.json", "{}")
    batch = write(tmp_path, "lote.jsonl", "{}\n")
    runs = coopdiag_all(*[("score", path, answers) for path in paths], ("score", paths[0], "--batch", batch))
    for completed in runs:
        assert completed.returncode == 2, completed.args
        assert completed.stdout == "", completed.args
        assert completed.stderr.strip(), completed.args


# --------------------------------------------------------------------------- questionnaire check


def test_check_valid_file_one_line_summary(qfile):
    completed = coopdiag("questionnaire", "check", qfile)
    assert completed.returncode == 0, completed.stderr
    assert len(completed.stdout.strip().splitlines()) == 1
    assert "Traceback" not in completed.stderr


def test_check_lists_every_problem_on_stderr(broken_qfile):
    completed = coopdiag("questionnaire", "check", broken_qfile)
    assert completed.returncode == 2
    assert completed.stdout == ""
    stderr = completed.stderr
    assert "roto.yaml" in stderr
    # the three problems, each with its place and key
    assert "gobernanza" in stderr and "weight" in stderr
    assert "Junta" in stderr
    assert "servicios" in stderr and "value" in stderr
    problem_lines = [line for line in stderr.splitlines() if "roto.yaml:" in line]
    assert len(problem_lines) >= 3


def test_check_and_show_unreadable_files(tmp_path):
    paths = [write(tmp_path, f"malo{i}.yaml", c) for i, c in enumerate(["id: [sin cerrar\n", ""])]
    paths += [tmp_path / "no-existe.yaml", tmp_path]
    runs = coopdiag_all(*[("questionnaire", "check", p) for p in paths], ("questionnaire", "show", paths[-2]))
    for completed in runs:
        assert completed.returncode == 2, completed.args
        assert completed.stdout == "", completed.args
        assert completed.stderr.strip(), completed.args


def test_check_json_file(tmp_path):
    path = write(tmp_path, "cuestionario.json", json.dumps(QUESTIONNAIRE))
    completed = coopdiag("questionnaire", "check", path)
    assert completed.returncode == 0, completed.stderr


# --------------------------------------------------------------------------- questionnaire show


def test_show_prints_the_tree_with_counts(qfile):
    completed = coopdiag("questionnaire", "show", qfile)
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    for node in ("gobernanza", "asamblea", "consejo", "finanzas", "liquidez"):
        assert node in out
    # dimensions and subcategories appear in file order
    assert (
        out.index("gobernanza")
        < out.index("asamblea")
        < out.index("consejo")
        < out.index("finanzas")
        < out.index("liquidez")
    )
    # counts of questions: 2 + 2 in gobernanza, 5 in liquidez
    gob_line = next(line for line in out.splitlines() if "gobernanza" in line)
    liq_line = next(line for line in out.splitlines() if "liquidez" in line)
    assert "4" in gob_line
    assert "5" in liq_line


def test_show_broken_file_exits_2(broken_qfile):
    completed = coopdiag("questionnaire", "show", broken_qfile)
    assert completed.returncode == 2
    assert completed.stdout == ""


# --------------------------------------------------------------------------- usage


def test_usage_errors_do_not_trace(qfile):
    arg_lists = ([], ["no-such-command"], ["score", qfile, "--batch"])
    for completed in coopdiag_all(*arg_lists):
        assert completed.returncode != 0, completed.args
        assert completed.stdout == "", completed.args
