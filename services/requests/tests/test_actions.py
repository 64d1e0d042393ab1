"""The workflow's action table (`api/actions.py`): complete, consistent with the domain, no database."""

from __future__ import annotations

import inspect

import pytest
from phoi_requests.api.actions import WORKFLOW, WorkflowStep
from phoi_requests.domain import ACTION_PARTIES, TABLE_ACTIONS, Action, Party
from phoi_requests.domain.transitions import INVENTORY_ACTIONS


def test_every_step_a_person_takes_is_one_row() -> None:
    people = {a for a in TABLE_ACTIONS if a not in INVENTORY_ACTIONS and a is not Action.EDIT}
    actions = [step.action for step in WORKFLOW]
    assert sorted(actions) == sorted(people)
    assert len({step.segment for step in WORKFLOW}) == len(WORKFLOW)


@pytest.mark.parametrize("step", WORKFLOW, ids=lambda step: step.segment)
def test_a_body_gives_its_command_the_arguments_it_takes(step: WorkflowStep) -> None:
    # the commands' **options would swallow a misnamed argument silently: each must be a named one
    parameters = inspect.signature(step.command).parameters
    named = {name for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY}
    assert set(step.body().arguments()) <= named


def test_the_summary_names_who_the_domain_lets_take_the_step() -> None:
    by_action = {step.action: step for step in WORKFLOW}
    assert by_action[Action.SUBMIT].summary == "Submit for review (unit)"
    assert by_action[Action.APPROVE].summary == "Approve, possibly lowering quantities (officer)"
    for step in WORKFLOW:
        (party,) = ACTION_PARTIES[step.action]
        assert step.summary.endswith({Party.OWNER_UNIT: "(unit)", Party.QLCL_OFFICER: "(officer)"}[party])
