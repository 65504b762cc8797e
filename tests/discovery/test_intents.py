"""Action classes of requests and tools (intents.py): what is asked, what a tool does."""

from __future__ import annotations

import pytest

from magictunnel.discovery.documents import make_doc
from magictunnel.discovery.intents import CLASSES, IntentTable, lead_word, request_classes, tool_classes


def names(classes: set[int]) -> set[str]:
    return {CLASSES[c] for c in classes}


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("delete the note called groceries", {"delete"}),
        ("save a note called 'Kafka retention gotchas'", {"create"}),
        ("book me a sleeper train from Paris to Vienna", {"transact"}),
        ("please post the release notes in #general", {"send"}),
        ("rename report.docx to final.docx", {"update"}),
        ("how many slides are in quarterly.pptx", {"read"}),  # a question looks something up
        ("Zeig mir die letzten fünf Commits", {"read"}),
        ("supprime le fichier /tmp/a.txt", {"delete"}),
        ("busca vuelos baratos", {"search"}),
        ("删除这个分支", {"delete"}),
        ("把这段话翻译成英文", {"convert"}),
        ("会議の予約をして", {"transact"}),
        ("Annule ma réservation à Nice", {"delete"}),
        ("wire 2,000 EUR to my sister", {"transact"}),
        ("帮我把明天的G102改签到后天", {"update"}),
    ],
)
def test_request_classes(request_text: str, expected: set[str]) -> None:
    assert names(request_classes(request_text)) == expected


def test_noun_uses_of_verbs_are_not_actions() -> None:
    # "post", "book" and "order" count only where a clause starts
    assert "send" not in names(request_classes("summarise this blog post for me"))
    assert "transact" not in names(request_classes("find a book about sailing"))
    assert "transact" not in names(request_classes("sort these in order of size"))
    assert names(request_classes("show my purchase history")) == {"read"}
    assert names(request_classes("purchase two tickets to Lyon")) == {"transact"}
    assert request_classes("the weather in Oslo") == set()
    # past and ongoing actions are talked about, not asked for
    assert "run" not in names(request_classes("HN discussions about running SQLite in production"))
    assert names(request_classes("what changed between a.txt and b.txt")) == {"read"}
    # a question asks about things: its verbs are not actions to take
    assert names(request_classes("how many yen did one US dollar buy on 2024-03-15?")) == {"read"}
    assert names(request_classes("what organization runs AS13335?")) == {"read"}
    # words inside quotes, paths and URLs are values
    assert names(request_classes("commit it with the message 'delete the parser'")) == set()
    assert "convert" not in names(request_classes("copy /data/export.csv to ~/backup"))


def test_tool_classes_from_name_and_description() -> None:
    assert names(tool_classes(make_doc("create_issue", "create_issue", "Open a new issue", {}))) >= {"create"}
    assert names(tool_classes(make_doc("getUserById", "getUserById", "", {}))) == {"read"}
    assert names(tool_classes(make_doc("list-containers", "list-containers", "", {}))) == {"list"}
    assert names(tool_classes(make_doc("git_log", "git_log", "Shows the commit logs", {}))) == {"read"}
    assert names(tool_classes(make_doc("get-tickets", "get-tickets", "查询12306余票信息", {}))) == {"read"}
    assert tool_classes(make_doc("whois_ip", "whois_ip", "Whois data for an IP address", {})) == set()


def test_signals_match_near_and_clash() -> None:
    docs = [
        make_doc("write_note", "write_note", "Write a note", {}),
        make_doc("read_note", "read_note", "Read a note", {}),
        make_doc("delete_note", "delete_note", "Delete a note", {}),
        make_doc("list_notes", "list_notes", "List notes", {}),
        make_doc("whois_ip", "whois_ip", "Whois data for an IP address", {}),
    ]
    table = IntentTable(docs)
    match, near, clash, _lead = table.features("open my note 'Q3 hiring plan'").T
    assert list(match) == [0, 1, 0, 0, 0]
    assert list(near) == [0, 0, 0, 1, 0]  # listing is close to reading
    assert list(clash) == [1, 0, 1, 0, 0]  # a tool that says nothing never clashes
    assert not table.features("the weather in Oslo").any()


def test_converting_is_close_to_looking_up() -> None:
    # "the coordinates of X" is answered by a tool that converts addresses to coordinates
    docs = [
        make_doc("geo", "geocode", "Convert an address to coordinates", {}),
        make_doc("notes", "delete_note", "Delete a note", {}),
    ]
    match, near, clash, _lead = IntentTable(docs).features("what are the lat/long of the Eiffel Tower").T
    assert list(match) == [0, 0] and list(near) == [1, 0] and list(clash) == [0, 1]


def test_the_leading_verb_names_the_tool() -> None:
    assert lead_word("commit what's staged with message 'fix typo'") == "commit"
    assert lead_word("Please, can you kill process 42") == "kill"
    assert lead_word("I want to convert this file") == "convert"
    assert lead_word("what is staged?") is None  # a question: its verbs are not the action asked for
    assert lead_word("红烧肉怎么做") is None
    docs = [
        make_doc("git", "git_commit", "Records changes to the repository", {}),
        make_doc("git", "git_diff_staged", "Shows changes that are staged for commit", {}),
    ]
    lead = IntentTable(docs).features("commit what's staged")[:, 3]
    assert list(lead) == [1.0, 0.0]
    assert not IntentTable(docs).features("how do I commit?")[:, 3].any()
