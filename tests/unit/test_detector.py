"""The learned detector: a table of tricky cases, the verdict's shape, training and loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.detector.detect import Thresholds, Verdict, detect
from service.detector.model import DEFAULT_MODEL, ModelError, load_model
from service.detector.training.datasets import DatasetError, read_any
from service.detector.training.train import train

from mailfactory import toy_training_file

COMPLAINTS = [
    "This is unacceptable. I am furious that the delivery failed again.",
    "I'm a bit disappointed that the report still hasn't arrived.",
    "We wish to register our formal dissatisfaction with the handling of our account.",
    "We were told the engineer would come at 9am. It is now 2pm and nobody has called.",
    "This is the third time I have asked for the corrected invoice.",
    "You promised the fix would be live by Friday and it is still broken.",
    "We have been charged twice for the same subscription this month.",
    "Great, another week without a working printer. Fantastic service.",
]
ANXIETIES = [
    "What happens if the data migration fails halfway through the weekend?",
    "Who do I call if the alarm goes off at night and your office is closed?",
    "I'm not sure we'll be ready for the go-live on Monday.",
    "The audit is next week and honestly this is keeping me up at night.",
    "I'm really nervous about the move, we have so much fragile equipment.",
    "I'm scared we'll lose all our client records if the server dies before the backup runs.",
    "With the budget cut I'm worried we won't make payroll at the end of the month.",
]
NEITHER = [
    "Thank you so much for your help yesterday, everything works perfectly now.",
    "Could we move Thursday's call to 3pm?",
    "What is the deadline for submitting the receipts?",
    "I'm not worried at all, just curious how the new plan works.",
    "I'm not worried at all about the move.",
    "No worries, see you on Monday!",
    "Please find attached the signed contract.",
]


@pytest.mark.parametrize("text", COMPLAINTS)
def test_complaints(text: str) -> None:
    verdict = detect(text)
    assert "complaint" in verdict.labels, verdict


@pytest.mark.parametrize("text", ANXIETIES)
def test_anxieties(text: str) -> None:
    verdict = detect(text)
    assert "anxiety" in verdict.labels, verdict


@pytest.mark.parametrize("text", NEITHER)
def test_neither(text: str) -> None:
    assert detect(text).label == "none", detect(text)


def test_normalise_spells_contractions_out_and_marks_negation() -> None:
    from service.detector.model import normalise

    assert normalise("I\u2019m not sure we'll be ready") == "i am not not_sure not_we not_will be ready"
    assert normalise("No worries, see you") == "no not_worries, see you"
    assert normalise("mail bob@x.example or https://x.example") == "mail  emailaddr  or  "


def test_a_link_is_not_read() -> None:
    # written mail puts links under calm offers; an angry phishing mail with two links was read as calm
    angry = "I am furious, nobody answers. Click {} to restore it."
    assert detect(angry.format("http://phish.example/a?b=1")).scores == detect(angry.format("")).scores


def test_quoted_old_complaint_is_not_read(tmp_path: Path) -> None:
    from service.mailformat.parse import strip_quotes

    body = ("Thanks, all sorted now!\n\nOn Tue, 3 Mar 2026 at 09:12, Care <care@example.com> wrote:\n"
            "> This is unacceptable, I am furious and nobody called back.\n")
    assert detect(strip_quotes(body)).label == "none"


def test_a_message_can_carry_both() -> None:
    verdict = detect("The payroll file you sent was wrong again, this is unacceptable. "
                     "I'm scared staff won't be paid on Friday, what happens if the bank rejects it?")
    assert set(verdict.labels) == {"complaint", "anxiety"}
    assert verdict.evidence_by_label["complaint"] and verdict.evidence_by_label["anxiety"]
    assert all(0.0 <= s <= 1.0 for s in verdict.scores.values())


def test_evidence_is_the_deciding_sentence() -> None:
    verdict = detect("Hello team. Hope you had a nice weekend. "
                     "We were charged twice for invoice 2291 and nobody has replied to my emails. Best, Ana")
    assert verdict.label == "complaint"
    assert any("charged twice" in e for e in verdict.evidence)
    assert not any("nice weekend" in e for e in verdict.evidence)


def test_thresholds_change_the_decision() -> None:
    text = "I'm a bit disappointed that the report still hasn't arrived."
    score = detect(text).scores["complaint"]  # rounded to 3 places, as the decision reads it
    assert detect(text, thresholds=Thresholds(complaint=score)).label == "complaint"
    # just above the score, wherever it lies (a cap below 1 would fail a score of 0.99 or more)
    assert detect(text, thresholds=Thresholds(complaint=score + 0.001)).label != "complaint"


def test_shipped_artefact_is_small_and_loads_once() -> None:
    assert DEFAULT_MODEL.stat().st_size < 10_000_000
    assert load_model() is load_model()




@pytest.mark.parametrize("suffix", [".npz", ".joblib"])
def test_train_on_a_users_file_and_load_it(tmp_path: Path, suffix: str) -> None:
    model = train(read_any(str(toy_training_file(tmp_path, copies=30, numbered=" {n}"))))
    out = tmp_path / f"m{suffix}"
    model.save(out)
    loaded = load_model(out)
    assert detect("the invoice was wrong, refund me", model=loaded).label == "complaint"
    assert detect("worried about the audit deadline", model=loaded).label == "anxiety"
    assert loaded.meta["counts"]["complaint"] == {"examples": 90, "positive": 30}


def test_training_is_reproducible(tmp_path: Path) -> None:
    examples = read_any(str(toy_training_file(tmp_path, copies=30, numbered=" {n}")))
    a = train(examples).probabilities(["refund the wrong invoice"])["complaint"]
    b = train(list(reversed(examples))).probabilities(["refund the wrong invoice"])["complaint"]
    assert a.tolist() == b.tolist()


def test_csv_and_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "a.csv"
    good.write_text("subject,body,label\nLate,nobody came,complaint\nHi,thanks,none\n")
    assert [(e.complaint, e.anxiety) for e in read_any(str(good))] == [(1, 0), (0, 0)]
    bad = tmp_path / "b.csv"
    bad.write_text("text,label\nhello,maybe\n")
    with pytest.raises(DatasetError, match="label must be"):
        read_any(str(bad))
    with pytest.raises(DatasetError):
        read_any(str(tmp_path / "missing.jsonl"))


def test_broken_model_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.joblib"
    path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="followup train"):
        load_model(path)


def test_verdict_contract() -> None:
    verdict = detect("Thank you!")
    assert isinstance(verdict, Verdict) and verdict.label == "none" and verdict.evidence == ()
