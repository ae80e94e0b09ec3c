"""asktell.one_at_a_time: a batch reaches a one-proposal-at-a-time evaluator (live mode) proposal by proposal,
and the searcher hears the results once, after the batch's last, as the clock tells them."""

from __future__ import annotations

import numpy as np

from nares_nas.asktell import Proposal, Result, one_at_a_time


def searcher(heard: list):
    heard.append((yield np.array([3, 1, 2])))  # a batch of arch_ids
    heard.append((yield Proposal(7)))           # then one proposal
    heard.append((yield [Proposal(8), Proposal(9, 4)]))


def test_a_batch_is_proposed_one_by_one_and_heard_once():
    heard: list = []
    gen = one_at_a_time(searcher(heard))
    shown = [next(gen)]
    told = {a: [Result(a, None, float(a))] for a in (1, 2, 3, 7, 8, 9)}
    while True:
        try:
            shown.append(gen.send(told[shown[-1].arch_id]))
        except StopIteration:
            break
    assert shown == [Proposal(3), Proposal(1), Proposal(2), Proposal(7), Proposal(8), Proposal(9, 4)]
    assert heard == [told[3] + told[1] + told[2], told[7], told[8] + told[9]]


def test_closing_the_wrapper_closes_the_searcher():
    closed = []

    def run():
        try:
            yield np.array([1, 2])
        finally:
            closed.append(True)

    gen = one_at_a_time(run())
    assert next(gen) == Proposal(1)
    gen.close()
    assert closed == [True]
