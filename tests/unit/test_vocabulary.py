"""The readers' vocabulary keeps client mail's words when the general corpus would crowd them out."""

from __future__ import annotations

from service.detector.training.vocabulary import ANALYSERS, choose, fit_union, ranked_terms

WORDS = ANALYSERS["words"]
# a general corpus whose frequent words outnumber the budget, and a little client mail in Italian
GENERAL = [f"lol this thread is wild {n} and the mods" for n in range(6)] * 3
CLIENT = ["sono preoccupato per la scadenza", "molto preoccupato per il trasloco"]


def test_terms_are_ranked_by_frequency_and_need_two_texts() -> None:
    ranked = ranked_terms(["a bb bb", "bb cc", "cc dd"], {"ngram_range": (1, 1)})
    assert ranked == ["bb", "cc"]  # bb 3 times, cc twice; "dd" is in one text only


def test_without_a_share_the_general_corpus_fills_the_budget() -> None:
    chosen = choose(GENERAL + CLIENT, CLIENT, WORDS, size=5, domain_share=0.0)
    assert len(chosen) == 5
    assert "preoccupato" not in chosen


def test_a_share_keeps_the_client_mails_words() -> None:
    chosen = choose(GENERAL + CLIENT, CLIENT, WORDS, size=5, domain_share=0.4)
    assert len(chosen) == 5
    assert {"preoccupato", "per"} <= set(chosen)  # the client mail's two most frequent terms (2 of 5)


def test_the_share_never_grows_the_budget() -> None:
    chosen = choose(GENERAL + CLIENT, CLIENT, WORDS, size=3, domain_share=1.0)
    assert len(chosen) == 3 and set(chosen) <= set(ranked_terms(CLIENT, WORDS))


def test_the_union_reads_a_client_word_the_general_corpus_would_have_dropped() -> None:
    union, features = fit_union(GENERAL + CLIENT, CLIENT, words=5, chars=40, domain_share=0.4)
    words = dict(union.transformer_list)["words"]
    assert "preoccupato" in words.vocabulary_
    assert features.shape == (len(GENERAL + CLIENT), 45)
