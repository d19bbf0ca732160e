"""Problems and their hints."""

from __future__ import annotations

from generator.errors import HINTS, NEIGHBOURS, Suggestions, did_you_mean

WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda")
SLUGS = [f"{a}-{b}-{c}-{n}" for n, (a, b, c) in enumerate(
    (a, b, c) for a in WORDS for b in WORDS for c in WORDS)]  # 729 slugs sharing their words


def test_a_small_set_gets_difflibs_own_answer() -> None:
    choices = ["rate-limited", "quota-exceeded", "invalid-api-key"]
    assert len(choices) <= 4 * NEIGHBOURS
    suggest = Suggestions(choices)
    for word in ("rate-limted", "quota-exeeded", "invalid-key", "nothing-like-it"):
        assert suggest(word) == did_you_mean(word, choices)
    assert suggest("rate-limted") == " (did you mean 'rate-limited'?)"


def test_a_slip_at_either_end_of_a_slug_is_found_among_hundreds() -> None:
    target = "gamma-delta-zeta-194"
    assert target in SLUGS
    suggest = Suggestions(SLUGS)
    assert suggest(target + "x") == f" (did you mean '{target}'?)"
    assert suggest("x" + target) == f" (did you mean '{target}'?)"
    assert suggest("qqqqqqqqqqqqqqqqqqqqqqq") == ""


def test_past_the_budget_words_get_no_hint_but_a_word_keeps_its_own() -> None:
    suggest = Suggestions(SLUGS)
    first = suggest(SLUGS[0] + "x")
    assert first == f" (did you mean '{SLUGS[0]}'?)"
    for slug in SLUGS[1:HINTS]:
        assert suggest(slug + "x") == f" (did you mean '{slug}'?)"
    assert suggest(SLUGS[HINTS] + "x") == ""
    assert suggest(SLUGS[0] + "x") == first
