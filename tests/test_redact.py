"""``codex_trio._redact``: registered secrets and credential-looking patterns are masked, ordinary
text is left alone, and a registered secret never survives wherever it sits in a string.

Every test starts from the registry as it was before it (the autouse fixture in
``tests/conftest.py``), so secrets registered here do not leak into other tests.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codex_trio import _redact as redact_module
from codex_trio._redact import REDACTED, looks_secret_name, redact, register_secret

# ------------------------------------------------------------------------ registered secrets


def test_a_registered_secret_is_replaced_everywhere_in_the_text() -> None:
    secret = "hunter2-correct-horse"
    assert redact(f"a {secret} b") == f"a {secret} b"  # not yet registered
    register_secret(secret)
    assert redact(f"a {secret} b {secret}{secret}") == f"a {REDACTED} b {REDACTED}{REDACTED}"
    assert redact(f"x{secret}y") == f"x{REDACTED}y"  # no word boundary needed


def test_registration_ignores_none_empty_and_short_values() -> None:
    before = redact_module._registered()
    for value in (None, "", "a", "12345"):
        register_secret(value)
    assert redact_module._registered() == before
    assert redact("a 12345 b") == "a 12345 b"
    register_secret("123456")  # the minimum length is registered
    assert redact("a 123456 b") == f"a {REDACTED} b"


def test_registering_the_same_secret_twice_keeps_one_entry() -> None:
    before = redact_module._registered()
    register_secret("same-secret-value")
    register_secret("same-secret-value")
    assert redact_module._registered() == before | {"same-secret-value"}
    assert redact("same-secret-value") == REDACTED


def test_registered_secrets_match_case_sensitively() -> None:
    register_secret("MixedCaseSecret")
    assert redact("MixedCaseSecret") == REDACTED
    assert redact("mixedcasesecret") == "mixedcasesecret"


def test_restore_replaces_the_registry() -> None:
    register_secret("restorable-secret")
    redact_module._restore()
    assert redact_module._registered() == frozenset()
    assert redact("restorable-secret") == "restorable-secret"
    redact_module._restore(frozenset({"restorable-secret"}))
    assert redact("restorable-secret") == REDACTED


# ------------------------------------------------------------------------ patterns


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # sk- keys, alone or inside other text
        ("sk-abcdefgh", REDACTED),
        ("key sk-proj-AbC_123-xyz789 used", f"key {REDACTED} used"),
        ("(sk-ABCDEFGH12345678)", f"({REDACTED})"),
        # bearer tokens, any case, the token's base64/url characters and padding included
        ("Bearer abc.def-ghi_jkl~mno+pq/rs==", f"Bearer {REDACTED}"),
        ("sent bearer   tok123 then", f"sent bearer   {REDACTED} then"),
        ("BEARER XYZ", f"BEARER {REDACTED}"),
        # Authorization headers, ':' or '=' with or without spaces
        ("Authorization: Basic dXNlcjpwYXNz", f"Authorization: {REDACTED} dXNlcjpwYXNz"),
        ("authorization=abc123", f"authorization={REDACTED}"),
        ("AUTHORIZATION :xyz", f"AUTHORIZATION :{REDACTED}"),
        # *_API_KEY= (and TOKEN, SECRET, PASSWORD) assignments
        ("OPENAI_API_KEY=abc123", f"OPENAI_API_KEY={REDACTED}"),
        ("export CODEX_API_KEY=abc123 next", f"export CODEX_API_KEY={REDACTED} next"),
        ("GITHUB_TOKEN: ghp_123", f"GITHUB_TOKEN: {REDACTED}"),
        ("client_secret = s3cr3t", f"client_secret = {REDACTED}"),
        ("DB_PASSWORD=pw", f"DB_PASSWORD={REDACTED}"),
        ("api_key:xyz", f"api_key:{REDACTED}"),
    ],
)
def test_credential_patterns_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_an_authorization_header_with_a_bearer_token_hides_the_token() -> None:
    out = redact("Authorization: Bearer eyJhbGciOi.payload.sig")
    assert "eyJhbGciOi" not in out and "payload" not in out
    assert out.startswith("Authorization: ")


def test_an_sk_key_in_an_assignment_is_masked_once() -> None:
    assert redact("OPENAI_API_KEY=sk-abcdefgh123") == f"OPENAI_API_KEY={REDACTED}"


def test_several_credentials_on_one_line_are_all_masked() -> None:
    line = "a sk-aaaaaaaaaa b Bearer bbbbbb c OPENAI_API_KEY=cccccc d"
    out = redact(line)
    assert out == f"a {REDACTED} b Bearer {REDACTED} c OPENAI_API_KEY={REDACTED} d"


# ------------------------------------------------------------------------ not masked


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain prose with nothing secret in it",
        "sk-short",  # fewer than 8 characters after sk-
        "task-abcdefgh12345",  # 'sk-' inside a word
        "disk-usage-report-2024",
        "the token is in the vault",  # secret words without an assignment
        "password reset link sent",
        "token_count 5",
        "Authorization required",
        "item_12 thread_abc turn_0f3e9a",
        "exit code 0 after 12 s; cwd=/work/repo",
        "https://example.com/path?q=1",
        "MY_KEY_FILE=/etc/keys",  # KEY alone is not API_KEY
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_token_counts_are_not_mistaken_for_tokens() -> None:
    assert redact("input_tokens=20 output_tokens=5") == "input_tokens=20 output_tokens=5"


def test_a_quoted_assignment_value_is_masked_whole() -> None:
    assert "def" not in redact('export CODEX_API_KEY="abc def"')
    assert (
        redact("declare -x CODEX_API_KEY='abc def' next")
        == "declare -x CODEX_API_KEY=[REDACTED] next"
    )


def test_an_api_key_header_is_masked() -> None:
    assert redact("x-api-key: abcdef123456") == "x-api-key: [REDACTED]"
    assert (
        redact("ACCESS_TOKEN=abc123 max_tokens: 100") == "ACCESS_TOKEN=[REDACTED] max_tokens: 100"
    )
    assert redact("GITHUB_TOKEN_RW=abc123") == "GITHUB_TOKEN_RW=[REDACTED]"


def test_looks_secret_name() -> None:
    for name in ("OPENAI_API_KEY", "apikey", "GITHUB_TOKEN", "client_secret", "PGPASSWORD"):
        assert looks_secret_name(name), name
    for name in ("PATH", "HOME", "CODEX_HOME", "RUST_LOG", "LANG"):
        assert not looks_secret_name(name), name


# ------------------------------------------------------------------------ properties

# Secrets as they come: key-like characters. A secret that is itself part of "[REDACTED]" (say
# "REDACT") would survive any replacement; no credential looks like that.
SECRETS = st.text(
    alphabet=st.characters(categories=("Lu", "Ll", "Nd"), include_characters="-_.~+/"),
    min_size=6,
    max_size=40,
).filter(lambda s: s not in REDACTED)
ANY_TEXT = st.text(max_size=60)


@given(secret=SECRETS, before=ANY_TEXT, after=ANY_TEXT, middle=ANY_TEXT)
def test_a_registered_secret_never_survives_wherever_it_sits(
    secret: str, before: str, after: str, middle: str
) -> None:
    saved = redact_module._registered()
    try:
        register_secret(secret)
        for text in (
            secret,
            before + secret + after,
            secret + middle + secret,
            before + secret * 3 + after,
        ):
            assert secret not in redact(text)
    finally:
        redact_module._restore(saved)


@given(secrets=st.lists(SECRETS, min_size=2, max_size=4, unique=True), glue=ANY_TEXT)
def test_several_registered_secrets_never_survive(secrets: list[str], glue: str) -> None:
    # Overlapping secrets: replacing one may cut another, but none comes out whole.
    saved = redact_module._registered()
    try:
        for s in secrets:
            register_secret(s)
        out = redact(glue.join(secrets) + glue + "".join(reversed(secrets)))
        assert not any(s in out for s in secrets)
    finally:
        redact_module._restore(saved)


@given(text=ANY_TEXT)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@given(secret=SECRETS, before=ANY_TEXT, after=ANY_TEXT)
def test_redaction_with_a_registered_secret_is_idempotent(
    secret: str, before: str, after: str
) -> None:
    saved = redact_module._registered()
    try:
        register_secret(secret)
        once = redact(before + secret + after)
        assert redact(once) == once
    finally:
        redact_module._restore(saved)


SEPARATORS = st.text(alphabet=" \n\t,;()", max_size=5)
# An assignment's value runs to the next whitespace (punctuation after it is masked with it).
WHITESPACE = st.text(alphabet=" \n\t", max_size=5)


@given(
    credential=st.one_of(
        st.from_regex(r"sk-[A-Za-z0-9_\-]{8,20}", fullmatch=True).map(lambda c: (c, REDACTED)),
        st.from_regex(r"[A-Za-z0-9._~+/\-]{1,20}", fullmatch=True).map(
            lambda t: (f"Bearer {t}", f"Bearer {REDACTED}")
        ),
        st.from_regex(r"[A-Z]{1,8}_API_KEY", fullmatch=True).flatmap(
            lambda name: st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True).map(
                lambda v: (f"{name}={v}", f"{name}={REDACTED}")
            )
        ),
    ),
    before=SEPARATORS,
    after=WHITESPACE,
)
def test_credential_patterns_are_masked_between_separators(
    credential: tuple[str, str], before: str, after: str
) -> None:
    text, masked = credential
    assert redact(before + text + after) == before + masked + after


def test_redact_passes_empty_text_through() -> None:
    register_secret("anything-at-all")
    assert redact("") == ""


# ------------------------------------------------------------------------ registry isolation

# The autouse fixture in tests/conftest.py restores the registry after each test. These two run
# in file order: the first registers a secret, the second checks it is gone.
_LEAK_CANARY = "canary-secret-7f3e9a"
_isolation_steps: list[str] = []


def test_registry_isolation_1_a_test_registers_a_secret() -> None:
    assert _LEAK_CANARY not in redact_module._registered()
    register_secret(_LEAK_CANARY)
    assert redact(_LEAK_CANARY) == REDACTED
    _isolation_steps.append("registered")


def test_registry_isolation_2_the_next_test_does_not_see_it() -> None:
    if _isolation_steps != ["registered"]:
        pytest.skip("runs right after test_registry_isolation_1_a_test_registers_a_secret")
    assert _LEAK_CANARY not in redact_module._registered()
    assert redact(f"echo {_LEAK_CANARY}") == f"echo {_LEAK_CANARY}"


def test_the_registry_fixture_hands_over_what_was_registered_before_the_test(
    _isolated_secret_registry: frozenset[str],
) -> None:
    assert _isolated_secret_registry == redact_module._registered()
    register_secret("registered-inside-the-test")
    assert redact_module._registered() == _isolated_secret_registry | {"registered-inside-the-test"}
