"""Parsing coqtop's -emacs replies, pinned on output recorded from Debian's Coq 8.16.1."""

from __future__ import annotations

import pytest

from search.env.coq import first_goal, normalize_goal, nth_goal, parse_goal_count
from search.env.coqtop import parse_reply
from search.types import ProverCrash

# Recorded from `coqtop -quiet -emacs` (Coq 8.16.1), stdout and stderr merged in order.
GOALS_REPLY = (
    "2 goals (ID 7)\n  \n  x, y : R\n  H : x = y\n  ============================\n  x <= y\n\n"
    "goal 2 (ID 8) is:\n y <= x\n\n<prompt>t < 7 |t| 0 < </prompt>"
)
ERROR_REPLY = (
    "Toplevel input, characters 0-3:\n> foo bar.\n> ^^^\n"
    "Error: The reference foo was not found in the current environment.\n\n"
    "<prompt>t < 9 |t| 0 < </prompt>"
)
SHOW_2_REPLY = "goal 2 (ID 7) is:\n  \n  n : nat\n  ============================\n  True\n"
INFO_REPLY = (
    "<infomsg>\nThis subproof is complete, but there are some unfocused goals.\n"
    "Focus next goal with bullet -.\n</infomsg>\n1 goal\n\ngoal 1 (ID 6) is:\n 2 = 2\n\n"
    "<prompt>t < 6 |t| 0 < </prompt>"
)
WARNING_REPLY = (
    "<warning>\nWarning: To avoid stack overflow, large numbers in nat are interpreted as\n"
    "applications of Nat.of_num_uint. [abstract-large-number,numbers]</warning>\n"
    "<prompt>t < 3 |t| 0 < </prompt>"
)


def test_goals_reply_parses_prompt_and_goals():
    reply = parse_reply(GOALS_REPLY)
    assert (reply.prompt, reply.error) == (7, None)
    assert parse_goal_count(reply.text) == 2
    assert first_goal(reply.text) == "x, y : R\n  H : x = y\n  ============================\n  x <= y"


def test_error_reply_keeps_the_message():
    reply = parse_reply(ERROR_REPLY)
    assert reply.prompt == 9
    assert reply.error == "The reference foo was not found in the current environment."


def test_tagged_messages_and_warnings_are_not_errors():
    reply = parse_reply(INFO_REPLY)
    assert reply.error is None and reply.prompt == 6 and "subproof" not in reply.text
    assert parse_reply(WARNING_REPLY).error is None


def test_the_prompt_names_the_open_proofs_innermost_first():
    assert parse_reply(GOALS_REPLY).proofs == ("t",)
    assert parse_reply("<prompt>Coq < 1 || 0 < </prompt>").proofs == ()
    # Recorded from coqtop 8.16 with nested proofs allowed: p opened inside o.
    assert parse_reply("<prompt>p < 4 |p|o| 0 < </prompt>").proofs == ("p", "o")


def test_show_n_and_goal_ids_are_normalised():
    assert nth_goal(SHOW_2_REPLY) == "n : nat\n  ============================\n  True"
    assert normalize_goal("1 goal (ID 12)\n  x : nat  \n") == "1 goal\n  x : nat"
    assert parse_goal_count("No more goals.") == 0
    assert parse_goal_count("garbage") is None


def test_reply_without_prompt_is_a_crash():
    with pytest.raises(ProverCrash):
        parse_reply("Anomaly: something")
