"""Page splitting, page selection and the job timeline."""

from __future__ import annotations

import pytest

from tvdb_emulators.llamaparse_jobs import Job, selected_pages, split_pages


@pytest.mark.parametrize("pages", [1, 2, 3, 7])
def test_split_pages_round_trips_and_cuts_at_whitespace(pages):
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa " * 20
    pieces = split_pages(text, pages)
    assert len(pieces) == pages and "".join(pieces) == text
    assert all(not piece or piece[0].isspace() or i == 0 for i, piece in enumerate(pieces))


def test_split_pages_of_a_short_text_leaves_empty_pages():
    assert split_pages("one", 3) == ["one", "", ""]


@pytest.mark.parametrize("ranges, expected", [
    (None, [1, 2, 3, 4, 5]), ({"max_pages": 2}, [1, 2]), ({"max_pages": 9}, [1, 2, 3, 4, 5]),
    ({"target_pages": "2,4-5,9"}, [2, 4, 5]), ({"target_pages": "3", "max_pages": 1}, [3]),
])
def test_selected_pages(ranges, expected):
    assert selected_pages(5, ranges) == expected


def test_timeline_and_credits_shown():
    job = Job(id="j", project_id="p", request_id="r", tier="fast", version="v", name="a.md", file_sha256="x",
              created_s=10.0, pending_s=1.0, running_s=2.0, outcome="COMPLETED", credits=4)
    assert [job.status(t) for t in (10.0, 10.99, 11.0, 12.99, 13.0)] == \
           ["PENDING", "PENDING", "RUNNING", "RUNNING", "COMPLETED"]
    assert job.billed_credits(12.0) is None and job.billed_credits(13.0) == 4
    assert job.updated_s(12.0) == 11.0
    job.cancelled_s = 12.0
    assert job.status(20.0) == "CANCELLED" and job.billed_credits(20.0) == 0
