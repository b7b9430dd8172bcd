"""Topics from text, reach weighting, and a planted topic spike: systemic or one customer."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.datasets import Effects, simulate_frame
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog
from csmetrics.topics import TopicRules, tag_topics, topic_expr
from csmetrics.trends import REACH_COLUMNS, trends

RULES = {
    "billing": {"keywords": ["invoice", "refund"]},
    "delivery": {"keywords": ["parcel", "package"]},
    "account": {"keywords": ["account"]},
    "login": {"keywords": ["log in", "password"]},
    "product": {"keywords": ["product"]},
    "returns": {"keywords": ["return", "send an item back"]},
    "technical": {"keywords": ["crashes", "error"]},
    "outage": {"keywords": ["down"]},
}


def test_topic_expr_order_words_and_patterns() -> None:
    rules = {
        "billing": {"keywords": ["refund", "charged twice"]},
        "outage": {"keywords": ["down"], "patterns": [r"error \d{3}"]},
    }
    frame = pl.DataFrame(
        {
            "text": [
                "REFUND now",  # any case
                "I was Charged Twice",  # a phrase
                "download broken",  # "down" is not a whole word here
                "got error 503",  # a pattern
                "got Error 503",  # patterns are case-sensitive unless (?i)
                "refund: site down",  # both: the first rule in file order wins
                None,
                "price (+5$) [x]",  # regex metacharacters in text are harmless
            ]
        }
    )
    assert frame.select(topic_expr(rules))["topic"].to_list() == [
        "billing",
        "billing",
        None,
        "outage",
        None,
        "billing",
        None,
        None,
    ]
    meta = {"odd": {"keywords": ["(+5$)"]}}
    # a keyword with metacharacters is matched literally (no word boundary at "(")
    assert frame.select(topic_expr(meta))["topic"].to_list()[-1] is None


def test_tag_topics_fills_customer_messages_only(tmp_path: Path) -> None:
    log = csm.testing.log_from_rows(
        [
            ("09:00", "message", "customer", {"case_id": 1, "text": "my parcel is late"}),
            ("09:05", "message", "agent", {"case_id": 1, "text": "your refund is on its way"}),
            ("09:00", "message", "customer", {"case_id": 2, "text": "refund?", "topic": "vip"}),
            ("09:00", "message", "customer", {"case_id": 3, "text": "hello"}),
        ]
    )
    tagged = tag_topics(log, RULES)
    assert tagged.frame.collect()["topic"].to_list() == ["delivery", None, "vip", None]
    replaced = tag_topics(log, RULES, overwrite=True)
    assert replaced.frame.collect()["topic"].to_list() == ["delivery", None, "billing", None]
    cases = csm.case_table(tagged).collect().sort("case_id")
    assert cases["topic"].to_list() == ["delivery", "vip", None]
    path = tmp_path / "topics.toml"
    path.write_text('[billing]\nkeywords = ["refund"]\n[outage]\npatterns = ["(?i)down"]\n')
    assert [r.topic for r in TopicRules.from_toml(path).rules] == ["billing", "outage"]
    path.write_text('[billing]\npatterns = ["(unclosed"]\n')
    with pytest.raises(PolicyError, match=r"pattern '\(unclosed' of topic 'billing'"):
        TopicRules.from_toml(path)
    with pytest.raises(PolicyError, match="no keywords and no patterns"):
        TopicRules.from_dict({"x": {}})
    with pytest.raises(PolicyError, match="unknown key"):
        TopicRules.from_dict({"x": {"words": ["a"]}})
    no_text = csm.testing.log_from_rows([("09:00", "message", "customer")])
    with pytest.raises(PolicyError, match="column 'text', which the log does not have"):
        tag_topics(no_text, RULES)


def test_quarantined_rows_stay_with_the_tagged_log() -> None:
    frame = pl.DataFrame(
        {
            "case_id": [1, 2],
            "customer_id": [1, 2],
            "channel": ["email", "email"],
            "ts": ["2024-03-01T09:00:00Z", "2024-03-01T09:00:00Z"],
            "event_type": ["message", "not_an_event"],
            "actor": ["customer", "customer"],
            "text": ["refund", "refund"],
        }
    )
    tagged = tag_topics(EventLog.from_frame(frame), RULES, on_invalid="quarantine")
    assert tagged.frame.collect()["topic"].to_list() == ["billing"]
    assert tagged.rejected is not None
    assert tagged.rejected.collect().height == 1


def test_reach_weighting_hand_worked() -> None:
    rows = []
    for day in range(1, 5):  # one login case a day
        rows.append(
            (
                f"2024-03-0{day}T10:00:00Z",
                "case_created",
                "customer",
                {"case_id": day, "customer_id": f"c{day}", "followers": 10},
            )
        )
    # 5 March: ten customers; one account has a million followers
    for k in range(10):
        rows.append(
            (
                "2024-03-05T10:00:00Z",
                "case_created",
                "customer",
                {
                    "case_id": 10 + k,
                    "customer_id": f"s{k}",
                    "followers": 1_000_000 if k == 0 else 10,
                },
            )
        )
    log = csm.testing.log_from_rows(rows, channel="twitter")
    out = trends(log, by="channel", reach="followers", min_volume=5).collect()
    spike = out.filter(pl.col("is_spike")).row(0, named=True)
    assert tuple(out.columns[-3:]) == REACH_COLUMNS
    # by count: ten customers, systemic; by reach: 1,000,090, of which one account 99.99 %
    assert (spike["volume"], spike["n_customers"], spike["cause"]) == (10, 10, "systemic")
    assert spike["reach"] == 1_000_090.0
    assert spike["top_customer_reach_share"] == pytest.approx(1_000_000 / 1_000_090)
    assert spike["reach_cause"] == "one_customer"
    with pytest.raises(PolicyError, match="not in the case table"):
        trends(log, by="channel", reach="likes")


# --------------------------------------------------------------------------------------------
# The simulator writes text by topic and can plant a topic spike from many or one


def untagged(effects: Effects) -> EventLog:
    frame = simulate_frame(10_000, seed=6, truth=True, effects=effects)
    return EventLog.trusted(frame.with_columns(pl.lit(None, pl.String).alias("topic")))


def test_tagging_recovers_the_simulated_topics() -> None:
    frame = simulate_frame(3_000, seed=6, effects=Effects(text=True))
    log = EventLog.trusted(frame.with_columns(pl.lit(None, pl.String).alias("topic")))
    found = csm.case_table(tag_topics(log, RULES), columns=["topic"]).collect()
    truth = frame.group_by("case_id").agg(pl.col("topic").first().alias("truth"))
    joined = found.join(truth, on="case_id")
    # every case with a customer message is tagged with its simulated topic
    tagged = joined.filter(pl.col("topic").is_not_null())
    assert tagged.height > 0.95 * joined.height  # outbound cases have no customer message
    assert (tagged["topic"] == tagged["truth"]).all()


def spike_row(spike_customers: int | None) -> dict[str, object] | None:
    effects = Effects(text=True)
    if spike_customers is not None:
        effects = Effects(text=True, spike_cases=40, spike_customers=spike_customers)
    log = tag_topics(untagged(effects), RULES)
    out = (
        trends(log, by=["topic", "channel"])
        .filter(
            (pl.col("topic") == "billing")
            & (pl.col("channel") == "twitter")
            & (pl.col("period_start").dt.day() == 15)
        )
        .collect()
    )
    return out.row(0, named=True)


def test_a_spike_from_many_customers_is_systemic() -> None:
    row = spike_row(0)
    assert row is not None
    assert row["is_spike"] is True
    assert row["volume"] >= 40
    assert row["n_customers"] >= 40  # 40 planted customers, plus the day's usual ones
    assert row["cause"] == "systemic"


def test_a_spike_from_one_customer_is_one_loud_customer() -> None:
    row = spike_row(1)
    assert row is not None
    assert row["is_spike"] is True
    assert row["top_customer_volume"] == 40
    assert row["cause"] == "one_customer"


def test_no_spike_planted_none_found() -> None:
    row = spike_row(None)
    assert row is not None
    assert row["is_spike"] is False
