"""Which words and character n-grams the TF-IDF readers know: a fixed budget, part of it kept for client mail.

Chosen by frequency over all training text alone, the budget went to the English Reddit comments that
make up nine tenths of it: Italian "preoccupato" and French "angoissée" were no feature at all, and
the client-mail reader could not learn them however much Italian or French mail it read. So each
analyser's budget is filled first with the most frequent terms of the client mail (up to its share),
then with the most frequent terms of everything, as before. The budget, and so the model's memory,
does not grow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion

# the analysers of the union, by name: their n-gram settings (both read text `normalise` prepared)
ANALYSERS: dict[str, dict[str, Any]] = {
    "words": {"ngram_range": (1, 2)},
    "chars": {"analyzer": "char_wb", "ngram_range": (2, 5)},
}


def ranked_terms(texts: Sequence[str], settings: dict[str, Any], *, min_df: int = 2) -> list[str]:
    """The terms found in at least `min_df` texts, most frequent first (ties in name order)."""
    counter = CountVectorizer(lowercase=False, min_df=min_df, dtype=np.int64, **settings)
    try:
        counts = counter.fit_transform(list(texts))
    except ValueError:  # no term reaches min_df: nothing to rank
        return []
    totals = np.asarray(counts.sum(axis=0)).ravel()
    names = counter.get_feature_names_out()
    return [str(names[i]) for i in np.argsort(-totals, kind="stable")]


def choose(texts: Sequence[str], domain_texts: Sequence[str], settings: dict[str, Any], *, size: int,
           domain_share: float) -> list[str]:
    """`size` terms: the client mail's most frequent (at most `domain_share` of them), then everything's."""
    chosen: dict[str, None] = dict.fromkeys(ranked_terms(domain_texts, settings)[: int(size * domain_share)])
    for term in ranked_terms(texts, settings):
        if len(chosen) >= size:
            break
        chosen.setdefault(term)
    return sorted(chosen)


def fit_union(texts: Sequence[str], domain_texts: Sequence[str], *, words: int, chars: int,
              domain_share: float) -> tuple[FeatureUnion, Any]:
    """A word and character TF-IDF union over `texts` whose vocabularies keep client mail's terms."""
    sizes = {"words": words, "chars": chars}
    union = FeatureUnion([
        (name, TfidfVectorizer(lowercase=False, sublinear_tf=True, dtype=np.float32,
                               vocabulary=choose(texts, domain_texts, settings, size=sizes[name],
                                                 domain_share=domain_share), **settings))
        for name, settings in ANALYSERS.items()
    ])
    return union, union.fit_transform(list(texts))
