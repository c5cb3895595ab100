"""The soak's verdict (pure): growth judged once the journal is full to its byte budget, and never past it."""

from loadtests.soak import Sample, judge, warmed_up

MB = 32 * 1024 * 1024


def samples(rss, journal, budget=MB):
    return [Sample(10.0 * i, r, 7, j, 2.0, 3.0, budget) for i, (r, j) in enumerate(zip(rss, journal, strict=True))]


def test_rss_growth_while_the_journal_fills_is_not_growth_once_it_is_full():
    run = samples([90, 100, 120, 140, 141, 141, 142, 142], [MB // 4, MB // 2, MB * 3 // 4, MB, MB, MB, MB, MB])
    assert warmed_up(run).elapsed_s == 30.0
    assert judge(run, 30) == []


def test_rss_growth_after_the_journal_is_full_fails():
    run = samples([90, 100, 140, 141, 160, 175, 180, 185], [MB // 2, MB, MB, MB, MB, MB, MB, MB])
    assert warmed_up(run).elapsed_s == 10.0
    assert judge(run, 30) == ["RSS grew 85.0 MB (from 100.0; at most 30)"]


def test_without_journal_figures_growth_is_judged_from_the_second_sample():
    run = samples([90, 100, 140, 141, 150, 150], [None] * 6, budget=None)
    assert warmed_up(run).elapsed_s == 10.0
    assert judge(run, 30) == ["RSS grew 50.0 MB (from 100.0; at most 30)"]


def test_journal_bytes_past_the_budget_fail():
    run = samples([90, 90, 90, 90], [MB // 2, MB, MB + 1, MB])
    assert judge(run, 30) == ["journal bytes 33,554,433 past its budget 33,554,432 at 20 s"]
