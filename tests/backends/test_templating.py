"""Parameter substitution shared by the subprocess, http and graphql backends."""

from __future__ import annotations

from urllib.parse import quote

from magictunnel.backends.templating import placeholders, render, render_argv, render_value, to_text

ARGS = {
    "name": "Ada",
    "n": 3,
    "ratio": 0.5,
    "on": True,
    "off": False,
    "nothing": None,
    "tags": ["x", "y z"],
    "user": {"login": "ada", "emails": ["a@x.org", "b@x.org"]},
    "rows": [{"id": 7}],
}


def test_render_every_placeholder_style() -> None:
    assert render(
        "{name}|{{name}}|{{ name }}|{tags[1]}|{user.login}|{user.emails[1]}|{rows[0].id}", ARGS
    ) == ("Ada|Ada|Ada|y z|ada|b@x.org|7")


def test_render_scalars_and_structures_as_text() -> None:
    assert render("{n} {ratio} {on} {off} [{nothing}]", ARGS) == "3 0.5 true false []"
    assert render("{tags}", ARGS) == '["x", "y z"]'
    assert render("{user}", {"user": {"k": "é"}}) == '{"k": "é"}'
    assert to_text(None) == "" and to_text(1.25) == "1.25"


def test_missing_and_out_of_range_render_empty() -> None:
    assert render("a{missing}b{tags[5]}c{user.nope}d{name.deeper}", ARGS) == "abcd"


def test_text_that_is_not_a_placeholder_is_left_alone() -> None:
    # JSON, shell-ish and format-ish braces are not placeholders
    template = '{"key": 1} {1} { name } {} ${HOME} {name!r}'
    assert render(template, ARGS) == template


def test_quote_hook_applies_to_substituted_values_only() -> None:
    assert render("/a b/{name}/{tags[1]}", ARGS, quote=lambda t: quote(t, safe="")) == "/a b/Ada/y%20z"


def test_placeholders_lists_paths() -> None:
    assert placeholders("{a} {{ b.c }} {d[0]} {1} {}") == ["a", "b.c", "d[0]"]


def test_render_value_keeps_types_for_whole_placeholders() -> None:
    template = {
        "name": "{name}",
        "count": "{n}",
        "flag": "{{ on }}",
        "tags": "{tags}",
        "user": "{user}",
        "greeting": "hi {name}",
        "nested": [{"id": "{rows[0].id}"}, "{off}"],
        "dropped": "{missing}",
        "literal": 42,
    }
    assert render_value(template, ARGS) == {
        "name": "Ada",
        "count": 3,
        "flag": True,
        "tags": ["x", "y z"],
        "user": {"login": "ada", "emails": ["a@x.org", "b@x.org"]},
        "greeting": "hi Ada",
        "nested": [{"id": 7}, False],
        "literal": 42,
    }
    assert render_value("{missing}", ARGS) is None
    assert render_value(["{missing}", 1], ARGS) == [None, 1]


def test_render_argv_rules() -> None:
    argv = render_argv(
        [
            "cmd",
            "{name}",
            "{tags}",
            "--t={tags}",
            "{missing}",
            "{nothing}",
            5,
            False,
            "x={n}",
            "{user.emails[0]}",
        ],
        ARGS,
    )
    assert argv == ["cmd", "Ada", "x", "y z", '--t=["x", "y z"]', "5", "false", "x=3", "a@x.org"]


def test_render_argv_never_splits_values() -> None:
    evil = "a b; rm -rf / && $(reboot) `id` > /etc/passwd"
    assert render_argv(["{v}", "pre-{v}"], {"v": evil}) == [evil, "pre-" + evil]
