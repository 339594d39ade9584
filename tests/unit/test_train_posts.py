"""`followup train --posts`: public posts teach the complaint head, lightly, and choose no threshold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.detector.training import train as training
from service.detector.training.datasets import POSTS, DatasetError, read_any, read_posts
from service.detector.training.train import TrainConfig, fit, train

from mailfactory import toy_training_file


def _posts(tmp_path: Path, copies: int = 20) -> Path:
    rows = []
    for n in range(copies):
        rows.append({"text": f"@zipparcel parcel {n} marked delivered, never came #fail", "complaint": 1, "anxiety": 1})
        rows.append({"text": f"@zipparcel thanks for the quick reply {n} :)", "complaint": 0, "anxiety": 0})
    rows.append({"text": "a post with only a worry label", "anxiety": 1})
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_posts_keep_their_complaint_label_only(tmp_path: Path) -> None:
    posts = read_posts(str(_posts(tmp_path)))
    assert len(posts) == 40  # the post without a complaint label teaches nothing
    assert {e.anxiety for e in posts} == {None}
    assert sum(e.complaint or 0 for e in posts) == 20
    assert {e.source for e in posts} == {POSTS + "posts.jsonl"}
    with pytest.raises(DatasetError):
        read_posts(str(tmp_path / "missing.jsonl"))


def test_posts_train_the_complaint_head_and_not_the_anxiety_head(tmp_path: Path) -> None:
    mail = read_any(str(toy_training_file(tmp_path, copies=30, numbered=" {n}")))
    model = fit(mail + read_posts(str(_posts(tmp_path))))
    assert model.meta["counts"]["complaint"] == {"examples": 90 + 40, "positive": 30 + 20}
    assert model.meta["counts"]["anxiety"] == {"examples": 90, "positive": 30}
    assert model.meta["sources"][POSTS + "posts.jsonl"] == 40


def test_posts_weigh_what_the_configuration_says(tmp_path: Path) -> None:
    # no general text here: one reader, in which a post counts for `posts_weight` of an email
    mail = read_any(str(toy_training_file(tmp_path, copies=30, numbered=" {n}")))
    posts = read_posts(str(_posts(tmp_path)))
    post = ["@zipparcel parcel 99 marked delivered, never came #fail"]
    light = fit(mail + posts, TrainConfig(posts_weight=0.05)).probabilities(post)["complaint"][0]
    heavy = fit(mail + posts, TrainConfig(posts_weight=1.0)).probabilities(post)["complaint"][0]
    assert heavy > light


def test_posts_choose_no_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mail = read_any(str(toy_training_file(tmp_path, copies=30, numbered=" {n}")))
    seen: list[str] = []
    choose = training._best_threshold

    def spy(data: list, target: list[int], probs: object, rows: list[int], label: str) -> float:
        seen.extend(data[target[k]].source for k in rows)
        return choose(data, target, probs, rows, label)  # type: ignore[arg-type]

    monkeypatch.setattr(training, "_best_threshold", spy)
    train(mail + read_posts(str(_posts(tmp_path))))
    assert seen and not any(source.startswith(POSTS) for source in seen)
    seen.clear()
    train(read_posts(str(_posts(tmp_path))), labels=("complaint",))  # posts alone: they are all there is to choose by
    assert seen and all(source.startswith(POSTS) for source in seen)


def test_the_client_mail_reader_never_reads_posts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    general = read_any(str(toy_training_file(tmp_path, copies=30, numbered=" {n}")))  # stands in for GoEmotions
    mail_file = tmp_path / "mail.jsonl"
    mail_file.write_text("\n".join(json.dumps({"text": f"order {n} arrived broken, refund please", "complaint": 1,
                                               "anxiety": 0}) + "\n" +
                                   json.dumps({"text": f"order {n} arrived, thank you", "complaint": 0,
                                               "anxiety": n % 2}) for n in range(20)))
    read: list[list[str]] = []
    real = training._reader

    def spy(data: list, labels: object, **kw: object) -> object:
        read.append([e.source for e in data])
        return real(data, labels, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(training, "_reader", spy)
    fit(general + read_any(str(mail_file)) + read_posts(str(_posts(tmp_path))),
        TrainConfig(general_sources=("mine",)))
    assert len(read) == 2  # the general reader, then the client-mail reader
    assert any(source.startswith(POSTS) for source in read[0])
    assert read[1] and set(read[1]) == {"mail.jsonl"}
