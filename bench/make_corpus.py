"""Write a deterministic synthetic corpus of N valid fixdex records.

    python bench/make_corpus.py N DIR

DIR/content/ gets site.yaml (8 categories) and N records of about 4 KB each over about 40
platforms: every section filled, Markdown in most fields, unique signatures that differ by
words (not only by a number), related links to other records. The same N gives the same files.
Each record's signature takes a set of four words no other record has, and its `also_seen_as`
form is those words with another verb, so no record's forms look up to another record: N may
be at most 91,390, the number of such sets.
"""

from __future__ import annotations

import random
import sys
from itertools import combinations
from pathlib import Path

WORDS = (
    "token request header provider model quota gateway proxy session billing deployment region "
    "upstream endpoint credential payload stream timeout schema version routing cache limit "
    "context window account project organisation policy filter retry backoff budget signature "
    "client server socket certificate config environment variable container runtime plugin"
).split()
VERBS = "rejected refused dropped expired failed denied throttled blocked missing invalid".split()
TOOLS = "Cline Aider Continue LiteLLM LangChain SillyTavern Zed OpenHands Goose Roo".split()
CATEGORIES = [
    "Authentication", "Billing and quotas", "Rate limits", "Providers and models",
    "Requests and configuration", "Networking", "Deployment", "Client tools",
]
PLATFORMS = [f"Platform {name}" for name in (
    "Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi Omicron Pi Rho "
    "Sigma Tau Upsilon Phi Chi Psi Omega Aster Birch Cedar Dahlia Elm Fir Gorse Hazel Ivy "
    "Juniper Kelp Larch Maple Nettle Oak Pine"
).split()]


_WORD_SETS = list(combinations(WORDS, 4))
"""Every set of four words (91,390): each record's signature takes its own, so no two
signatures (or `also_seen_as` forms) are made of the same words."""
_STRIDE = 7919
"""A prime other than the prime factors of len(_WORD_SETS) (2, 5, 13, 19 and 37), so that
i * _STRIDE modulo that length visits every set once; neighbouring records get unrelated words."""
MAX_RECORDS = len(_WORD_SETS)


def _words(i: int) -> list[str]:
    """Record i's four signature words, in an order of their own."""
    words = list(_WORD_SETS[i * _STRIDE % MAX_RECORDS])
    random.Random(i).shuffle(words)
    return words


def _sentence(rng: random.Random, words: int = 14) -> str:
    picked = rng.choices(WORDS, k=words)
    picked[rng.randrange(words)] = f"`{rng.choice(WORDS)}_{rng.choice(WORDS)}`"
    picked[rng.randrange(words)] = f"**{rng.choice(WORDS)}**"
    return " ".join(picked).capitalize() + "."


def _paragraph(rng: random.Random, sentences: int = 3) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _block(text: str, indent: int = 2) -> str:
    pad = " " * indent
    return "|\n" + "\n".join(pad + line for line in text.splitlines())


def record(i: int, n: int) -> tuple[str, str, str]:
    """(platform slug, slug, YAML text) of record `i` of `n`."""
    rng = random.Random(i)
    platform = PLATFORMS[i % len(PLATFORMS)]
    platform_slug = platform.lower().replace(" ", "-")
    words = _words(i)
    status = rng.choice([400, 401, 402, 403, 404, 408, 429, 500, 502, 503])
    verb = rng.randrange(len(VERBS))
    signature = f"{status} {VERBS[verb]}: {' '.join(words)} {i:05d} not accepted by upstream"
    # Another form of the same failure: the same four words, another verb, another order.
    seen_as = (f"{words[2]} {words[3]} {words[0]} {words[1]} {VERBS[(verb + 5) % len(VERBS)]}"
               f" by upstream {i}")
    slug = f"{'-'.join(words[:3])}-{i}"
    related = sorted({f"{'-'.join(_words(j)[:3])}-{j}"
                      for j in (rng.randrange(n) for _ in range(3)) if j != i})
    lines = [
        "# yaml-language-server: $schema=../record.schema.json",
        f"title: {_q(f'{platform} {status}: {words[0]} {words[1]} {VERBS[i % 10]}')}",
        f"summary: {_q(_sentence(rng, 16).replace('`', '').replace('*', ''))}",
        f"platform: {_q(platform)}",
        f"category: {_q(CATEGORIES[i % len(CATEGORIES)])}",
        f"tags: [{', '.join(sorted(set(rng.sample(WORDS, 3))))}, http-{status}]",
        f"signature: {_q(signature)}",
        f"also_seen_as: [{_q(seen_as)}]",
        "examples:",
        f"  - {_block(f'2026-11-0{1 + i % 9}T10:00:00Z ERROR request_id=req_{i:08x} {signature}', 4)}",
        f"http_status: {status}",
        f"updated: 2026-{1 + i % 10:02d}-{1 + i % 28:02d}",
        f"quick_fix: {_q(_sentence(rng, 18))}",
        f"meaning: {_block(_paragraph(rng, 3))}",
        f"why: {_block(_paragraph(rng, 3) + chr(10) + chr(10) + _paragraph(rng, 2))}",
        "causes:", *(f"  - {_q(_sentence(rng))}" for _ in range(3)),
        "quick_fixes:", *(f"  - {_q(_sentence(rng))}" for _ in range(3)),
        "platform_checks:",
        *(f"  - tool: {t}\n    check: {_q(_sentence(rng))}" for t in rng.sample(TOOLS, 2)),
        "steps:", *(f"  - {_q(_sentence(rng))}" for _ in range(3)),
        "prevention:", *(f"  - {_q(_sentence(rng))}" for _ in range(2)),
        "sources:",
        *(f"  - title: {_q(_sentence(rng, 6))}\n    url: \"https://example.com/{slug}/{k}\"\n"
          f"    kind: issue\n    checked: 2026-10-01" for k in range(2)),
        "evidence:",
        f"  note: {_block(_paragraph(rng, 2), 4)}",
        f"  affected_tools: [{', '.join(rng.sample(TOOLS, 2))}]",
        "faq:",
        *(f"  - q: {_q(_sentence(rng, 8)[:-1] + '?')}\n    a: {_q(_paragraph(rng, 1))}"
          for _ in range(2)),
        f"related: [{', '.join(related)}]",
    ]
    return platform_slug, slug, "\n".join(lines) + "\n"


def write_corpus(n: int, root: Path) -> None:
    content = root / "content"
    content.mkdir(parents=True, exist_ok=True)
    site = ["title: fixdex benchmark", "base_url: https://bench.example.com/",
            "description: A synthetic corpus for the fixdex benchmark.", "categories:"]
    site += [f"  - name: {c}\n    description: Synthetic errors about {c.lower()}."
             for c in CATEGORIES]
    (content / "site.yaml").write_text("\n".join(site) + "\n")
    for i in range(n):
        platform_slug, slug, text = record(i, n)
        folder = content / platform_slug
        folder.mkdir(exist_ok=True)
        (folder / f"{slug}.yaml").write_text(text)


if __name__ == "__main__":
    if len(sys.argv) != 3 or not sys.argv[1].isdigit():
        sys.exit("usage: python bench/make_corpus.py N DIR")
    if int(sys.argv[1]) > MAX_RECORDS:
        sys.exit(f"make_corpus.py: at most {MAX_RECORDS:,} records (one set of signature words"
                 " each)")
    write_corpus(int(sys.argv[1]), Path(sys.argv[2]))
