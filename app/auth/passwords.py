"""Which passwords are refused beyond their length (NIST SP 800-63B, 5.1.1.2): values that are
commonly used or easy to guess. A short list ships with the code (``common_passwords.txt``);
a password is refused when, lower-cased, it is on it, or its stem is (what is left after
taking digits and symbols off both ends and undoing the usual letter-for-digit swaps), when
every character is the same, when it is a plain run such as 1234567890 or abcdefghij, or when
it is (or is built on) the person's own e-mail or name, or the application's name."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

LIST_PATH = Path(__file__).with_name("common_passwords.txt")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_RUNS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")


@cache
def common_passwords() -> frozenset[str]:
    lines = LIST_PATH.read_text(encoding="utf-8").splitlines()
    words = {line.strip().lower() for line in lines if line.strip() and not line.startswith("#")}
    return frozenset(words | {_fold(word) for word in words})


def _fold(text: str) -> str:
    """Lower case without accents (contraseña → contrasena)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _stem(text: str) -> str:
    """The letters in the middle: «P@ssw0rd2024!» → «p@ssw0rd» → (swaps undone) «password»."""
    start, end = 0, len(text)
    while start < end and not text[start].isalpha():
        start += 1
    while end > start and not text[end - 1].isalpha():
        end -= 1
    return text[start:end]


def _is_run(text: str) -> bool:
    """1234567890, 9876543210, abcdefghij, qwertyuiop… (each a piece of one run, either way)."""
    return any(text in run or text in run[::-1] for run in _RUNS) or (
        # a run repeated: 123123123, abcabcabc
        any(text == (text[:size] * (len(text) // size + 1))[: len(text)] for size in range(2, 5))
    )


def _personal_words(context: Iterable[str | None]) -> set[str]:
    words = {"coopdiag", "odepa"}
    for item in context:
        if not item:
            continue
        folded = _fold(item.strip())
        words.add(folded)
        local = folded.split("@", 1)[0]
        words.add(local)
        for part in local.replace(".", " ").replace("_", " ").replace("-", " ").split():
            if len(part) >= 4:
                words.add(part)
        words.add(folded.replace(" ", ""))
    return {word for word in words if len(word) >= 4}


def problem(password: str, *, context: Iterable[str | None] = ()) -> tuple[str, str] | None:
    """(code, Spanish message) when the password is too easy to guess, else None."""
    folded = _fold(password)
    compact = folded.replace(" ", "")
    if len(set(compact)) <= 1:
        return "repeated", "La contraseña no puede ser un mismo carácter repetido."
    if _is_run(compact):
        return "sequence", "La contraseña no puede ser una secuencia como 1234567890 o abcdefghij."
    stem = _stem(compact)
    candidates = {compact, stem, stem.translate(_LEET), compact.translate(_LEET), _stem(compact.translate(_LEET))}
    candidates.discard("")
    personal = _personal_words(context)
    if candidates & personal:
        return (
            "personal",
            "La contraseña no puede ser su correo, su nombre ni el nombre de la aplicación; elija otra.",
        )
    if candidates & common_passwords():
        return (
            "common",
            "Esa contraseña es de las más usadas y se adivina con facilidad; elija otra, por ejemplo "
            "una frase de varias palabras.",
        )
    return None
