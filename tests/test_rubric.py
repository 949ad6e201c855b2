"""C2PA asset rubrics: the json-formula evaluator, and the rubrics of ../shared/trust/rubrics over our own clips and
every signed sample of ../shared/trust/samples (real c2pa-python crJSON reports)."""

from __future__ import annotations

import json
from pathlib import Path

import c2pa
import pytest
from cli_helpers import run, run_json

from conftest import trust_data
from provenance.batch import run_batch
from provenance.errors import BadInput
from provenance.rubric import Rubric
from provenance.rubric.formula import Evaluator, FormulaError, parse
from provenance.service.settings import Settings
from provenance.verify import Verifier

SIGNALS, INTEGRITY = "rubrics/asset-rubric-signals-local.yml", "rubrics/asset-rubric-integrity.yml"
CONFORMANCE = "rubrics/asset-rubric-conformance0.2-spec2.4.yml"
FULLY_GENAI = "inception:signal_fullyGenAIMedia"
AMBIGUOUS = "transformation:signal_ambiguousActions"
INTEGRITY_CHECKS = ("well_formed", "valid", "trusted")
# What each sample's manifest implies (../shared/trust/README.md): these 2022-23 manifests carry v1 actions (or
# none), which the rubric counts as ambiguous and never as an inception signal; the integrity checks each fails
# (with no trust list given every signer is untrusted) and the failure code the failing check names.
SAMPLES = {
    "adobe-20220124-CA.jpg": ({"trusted"}, "signingCredential.untrusted"),
    "adobe-20220124-E-sig-CA.jpg": ({"trusted"}, "claimSignature.mismatch"),
    "adobe-20220124-E-dat-CA.jpg": ({"valid", "trusted"}, "assertion.dataHash.mismatch"),
    "adobe-20220124-XCA.jpg": ({"valid", "trusted"}, "assertion.dataHash.mismatch"),
    "nikon-20221019-building.jpeg": ({"trusted"}, "signingCredential.untrusted"),
    "truepic-20230212-camera.jpg": ({"valid", "trusted"}, "assertion.dataHash.mismatch"),
}


def _search(expression: str, data, variables: dict | None = None, functions: dict | None = None):
    parsed = {name: parse(body) for name, body in (functions or {}).items()}
    return Evaluator(variables or {}, parsed).search(expression, data)


@pytest.mark.parametrize(("expression", "expected"), [
    ('"c2pa.created"', "c2pa.created"),                      # double quotes: a string
    ("'c2pa.actions.v2'.n", 1),                              # single quotes: a field name
    ("a[*].b", [1, 2]),
    ("a[?b > `1`].b", [2]),
    ("a[].b | [0]", 1),
    ("m.*.x", [5]),
    ("nested[]", [1, 2, 3]),
    ("length(missing) == 0 && !startsWith(missing, \"x\")", True),
    ('"2" * 1 > 1.5', True),                                 # strings are numbers in arithmetic
    ('"10" > "9"', False),                                   # and compare as strings
    ('"a" & "b"', "ab"),
    ('{code: "X", n: a[0].b}', {"code": "X", "n": 1}),
    ("[a[0].b, `3`]", [1, 3]),
    ('if(length(a) == 2, "two", "other")', "two"),
    ('notNull(missing, "fallback")', "fallback"),
    ('split("2.4", ".")[1]', "4"),
    ("a[-1].b", 2),
    ("missing || `[]`", []),
])
def test_expressions_follow_json_formula(expression: str, expected) -> None:
    data = {"c2pa.actions.v2": {"n": 1}, "a": [{"b": 1}, {"b": 2}], "m": {"k": {"x": 5}}, "nested": [[1, 2], 3]}
    assert _search(expression, data) == expected


def test_rubric_functions_see_their_arguments_and_the_callers_current_value() -> None:
    functions = {"_first": "$args[0][0]", "_count": "length(items)", "_twice": "_first($args[0]) * 2"}
    data = {"items": [3, 4]}
    assert _search("_count()", data, functions=functions) == 2
    assert _search("_twice(items)", data, functions=functions) == 6
    assert _search("items[?@ > _first(`[3]`)]", data, functions=functions) == [4]
    assert _search("contains($allowed, items[0])", data, variables={"$allowed": [3]}) is True


@pytest.mark.parametrize("expression", ["a[", "a ==", "(a", "a.'unclosed", "{a b}", "`{bad json`"])
def test_malformed_expressions_are_refused(expression: str) -> None:
    with pytest.raises(FormulaError):
        parse(expression)


def test_unknown_names_fail_at_evaluation() -> None:
    with pytest.raises(FormulaError, match="unknown variable"):
        _search("$nowhere", {})
    with pytest.raises(FormulaError, match="unknown function"):
        _search("nowhere(a)", {})
    with pytest.raises(FormulaError, match="too deeply"):
        _search("_loop()", {}, functions={"_loop": "_loop()"})


def test_a_rule_that_cannot_be_evaluated_says_so_and_the_others_still_run(tmp_path: Path) -> None:
    path = tmp_path / "rubric.yml"
    path.write_text("rubric_metadata: {name: t, version: '1'}\n---\n"
                    "- {id: 'a:signal_x', expression: '$undefined', reportText: {'true': {en: yes}}}\n"
                    "- {id: 'a:check', failIfMatched: true, expression: 'bad[?code != null].code',\n"
                    "   reportText: {'true': {en: none}, 'false': {en: 'found {{matches}}'}}}\n", encoding="utf-8")
    first, second = Rubric.load(path).evaluate({"manifests": [{"bad": [{"code": "x"}, {"code": "y"}]}]})
    assert first.value is None and "unknown variable $undefined" in first.text
    assert (second.value, second.text) == (False, "found x, y")


@pytest.mark.parametrize("text", ["just: a mapping\n", "- not\n- a rubric\n", "a: [unclosed\n",
                                  "m: {}\n---\n- {id: r, expression: 'a[', reportText: {}}\n"])
def test_a_file_that_is_not_a_rubric_is_a_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput, match=r"rubric .*bad.yml"):
        Rubric.load(path)
    with pytest.raises(BadInput, match="no such file"):
        Rubric.load(tmp_path / "missing.yml")


@pytest.fixture(scope="module")
def stamped(home: Path, clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rubric") / "stamped.mp4"
    assert run("sign", clip, "-o", out, "--model", "rubric-model", "--no-watermark", home=home).exit_code == 0
    return out


def _signals(path: Path, *rubrics: str, **options) -> dict[str, dict]:
    verifier = Verifier(home=path.parent, rubrics=[trust_data(r) for r in rubrics], **options)
    try:
        report = verifier.verify(path)
    finally:
        verifier.close()
    return {signal["id"]: signal for signal in report.c2pa.signals}


def test_our_stamped_clip_is_fully_genai_media_and_passes_integrity(stamped: Path, home: Path) -> None:
    signals = _signals(stamped, SIGNALS, INTEGRITY, trust_anchors=home / "ca.pem")
    held = {sid for sid, s in signals.items() if ":signal_" in sid and s["value"]}
    assert held == {FULLY_GENAI}, held
    assert signals[FULLY_GENAI]["text"] == "Contains Fully GenAI Media"
    assert all(signals[f"validation:{check}_success"]["value"] for check in INTEGRITY_CHECKS)


def test_our_manifest_meets_the_conformance_rules_on_actions(stamped: Path, home: Path) -> None:
    signals = _signals(stamped, CONFORMANCE, trust_anchors=home / "ca.pem")
    for rule in ("inception_action_position", "mandatory_all_actions_included", "valid_success",
                 "mandatory_dst_for_perceptible_transformations"):
        assert signals[f"validation:{rule}"]["value"] is True, signals[f"validation:{rule}"]
    # The rubric leaves the expected spec version to the validator: without it the rule says it cannot run.
    assert signals["validation:mandatory_spec_version"]["value"] is None


def test_an_edit_of_a_stamped_clip_is_a_genai_transformation(stamped: Path, home: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.mp4"
    assert run("sign", stamped, "-o", edited, "--model", "editor", "--no-watermark", home=home).exit_code == 0
    signals = _signals(edited, SIGNALS)
    assert signals["transformation:signal_perceptibleGenAI"]["value"] is True
    assert signals[FULLY_GENAI]["value"] is False
    assert signals["inception:signal_mediaUnknownProvenance"]["value"] is False


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_signed_sample_gives_the_signals_its_manifest_implies(name: str, tmp_path: Path) -> None:
    signals = _signals(trust_data(f"samples/{name}"), SIGNALS, INTEGRITY)
    held = {sid for sid, s in signals.items() if ":signal_" in sid and s["value"]}
    assert held == {AMBIGUOUS}, held
    failing = {sid: s["text"] for sid, s in signals.items() if sid.startswith("validation:") and s["value"] is False}
    checks, code = SAMPLES[name]
    assert set(failing) == {f"validation:{check}_success" for check in checks}, failing
    assert any(code in text for text in failing.values())


def test_the_interim_list_makes_truepic_trusted_in_the_rubric_too(tmp_path: Path) -> None:
    signals = _signals(trust_data("samples/truepic-20230212-camera.jpg"), INTEGRITY,
                       interim_trust_list=trust_data("interim/anchors.pem"))
    assert signals["validation:trusted_success"]["value"] is True
    assert signals["validation:valid_success"]["value"] is False


def test_a_file_without_a_manifest_has_no_signals(tmp_path: Path) -> None:
    verifier = Verifier(home=tmp_path, rubrics=[trust_data(SIGNALS)])
    try:
        assert verifier.verify(trust_data("samples/adobe-20220124-A.jpg")).c2pa.signals is None
    finally:
        verifier.close()


def test_verify_reports_signals_in_json_and_words(stamped: Path, home: Path) -> None:
    [report] = run_json("verify", stamped, "--trust-anchors", home / "ca.pem", "--rubric", trust_data(SIGNALS),
                        "--rubric", trust_data(CONFORMANCE), "--rubric-variable", "expected_spec_version=2.4",
                        home=home)
    signals = {s["id"]: s for s in report["c2pa"]["signals"]}
    assert signals[FULLY_GENAI]["value"] is True
    assert signals["validation:mandatory_spec_version"]["value"] is False  # 2.4 asks for claim_generator_info's
    assert "C2PA rubric signals: Contains Fully GenAI Media" in report["evidence"]
    assert any(line.startswith("C2PA rubric checks: ") for line in report["evidence"])
    words = run("verify", stamped, "--rubric", trust_data(SIGNALS), home=home)
    assert "C2PA rubric signals: Contains Fully GenAI Media" in words.stdout
    assert json.loads(json.dumps(report)) == report


def test_bad_rubric_options_are_one_line_errors(stamped: Path, home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("- not a rubric\n", encoding="utf-8")
    result = run("verify", stamped, "--rubric", bad, home=home)
    assert result.exit_code != 0 and "not a C2PA asset rubric" in result.stderr and "Traceback" not in result.stderr
    result = run("verify", stamped, "--rubric", trust_data(SIGNALS), "--rubric-variable", "novalue", home=home)
    assert result.exit_code == 2 and "expected NAME=VALUE" in result.stderr


def test_crjson_of_c2pa_python_is_what_the_rubrics_read(stamped: Path) -> None:
    report = json.loads(c2pa.Reader(str(stamped)).crjson())
    assert report["manifests"][0]["assertions"]["c2pa.actions.v2"]["allActionsIncluded"] is True


def test_batch_and_the_service_settings_carry_the_rubrics(stamped: Path, home: Path, tmp_path: Path) -> None:
    output = tmp_path / "rows.jsonl"
    paths = tmp_path / "paths.txt"
    paths.write_text(f"{stamped}\n")
    run_batch(paths, output, num_cpus=1, progress=None, home=home, rubrics=[trust_data(SIGNALS)])
    [row] = [json.loads(line) for line in output.read_text().splitlines()]
    signals = {s["id"]: s["value"] for s in json.loads(row["report"])["c2pa"]["signals"]}
    assert signals[FULLY_GENAI] is True
    settings = Settings(home=home, rubrics=(trust_data(CONFORMANCE),),
                        rubric_variables={"expected_spec_version": "2.4"})
    verifier = Verifier(**settings.verifier_options())
    verifier.close()
    assert [rubric.name for rubric in verifier.rubrics] == ["C2PA Asset Conformance 0.2 Spec 2.4 Rubric"]
