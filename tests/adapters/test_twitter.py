"""The ``twitter`` adapter: twcs threads and IBM twitter-care conversations."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csmetrics.adapters.twitter import adapter, read_twitter, snowflake_time
from csmetrics.exceptions import AdapterError, CsMetricsError

DATA = Path(__file__).resolve().parents[1] / "data" / "adapters"
TWCS = DATA / "twcs_small.csv"
IBM = DATA / "ibm_small.json"
UTC = dt.UTC


def first_replies(events: pl.DataFrame) -> pl.DataFrame:
    """Per case: first customer message t0, first agent message at or after t0, in minutes."""
    messages = events.filter(pl.col("event_type") == "message")
    t0 = (
        messages.filter(pl.col("actor") == "customer")
        .group_by("case_id")
        .agg(pl.col("ts").min().alias("t0"))
    )
    t1 = (
        messages.filter(pl.col("actor") == "agent")
        .join(t0, on="case_id")
        .filter(pl.col("ts") >= pl.col("t0"))
        .group_by("case_id")
        .agg(pl.col("ts").min().alias("t1"))
    )
    return t0.join(t1, on="case_id").with_columns(
        ((pl.col("t1") - pl.col("t0")).dt.total_microseconds() / 60e6).alias("minutes")
    )


def conserved(log_frame: pl.DataFrame, rejected: pl.DataFrame, n_source: int) -> bool:
    """Every source tweet is one message event, valid or rejected, or an adapter reject."""
    valid = log_frame.filter(pl.col("event_type") == "message").height
    invalid = rejected.filter(
        pl.col("source_row").is_null() & (pl.col("event_type") == "message")
    ).height
    adapter_rejects = rejected.filter(pl.col("source_row").is_not_null()).height
    return valid + invalid + adapter_rejects == n_source


# --------------------------------------------------------------------------- twcs


# twcs_small.csv has 5 threads, one of them started by a brand (20 % > 5 %): every read of it
# warns; test_brand_started_threads_are_warned asserts the warning, the other tests expect it
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*1 of 5 threads \\(20\\.0%\\) start with a brand:csmetrics.exceptions.AdapterWarning"
)


@pytest.fixture(scope="module")
def twcs_small() -> tuple[pl.DataFrame, pl.DataFrame]:
    log = adapter(TWCS)
    assert log.rejected is not None
    return log.frame.collect(), log.rejected.collect()


def test_adapter_object() -> None:
    assert adapter.name == "twitter"
    assert "twcs" in adapter.description


def test_twcs_threads_are_connected_components(twcs_small: tuple[pl.DataFrame, ...]) -> None:
    events, _ = twcs_small
    created = events.filter(pl.col("event_type") == "case_created").sort("case_id")
    # threads: 1←2←3←4; 10←11 (10 answers the absent 9); 20←21, 20←22; 30 alone.
    assert created.select("case_id", "actor", "customer_id", "team").rows() == [
        (1, "customer", 115712, "sprintcare"),
        (10, "agent", 115713, "AppleSupport"),  # the brand's tweet starts it
        (20, "customer", 115714, "AmazonHelp"),
        (30, "customer", 115716, None),  # unanswered: no brand in the thread
    ]
    by_case = events.group_by("case_id").agg(pl.col("thread_incomplete").all())
    assert dict(by_case.rows()) == {1: False, 10: True, 20: False, 30: False}
    messages = events.filter(pl.col("event_type") == "message")
    assert sorted(messages["tweet_id"].to_list(), key=int) == [
        "1",
        "2",
        "3",
        "4",
        "10",
        "11",
        "20",
        "21",
        "22",
        "30",
    ]
    # tweet 22 by another customer: a customer message, on the case of customer 115714
    row = messages.filter(pl.col("tweet_id") == "22").row(0, named=True)
    assert (row["actor"], row["author_id"], row["customer_id"]) == ("customer", "115715", 115714)
    agents = messages.filter(pl.col("actor") == "agent")
    assert agents["agent_id"].to_list() == agents["author_id"].to_list()
    assert events["is_public"].all()
    assert set(events["channel"]) == {"twitter"}


def test_twcs_first_reply_hand_worked(twcs_small: tuple[pl.DataFrame, ...]) -> None:
    events, _ = twcs_small
    replies = dict(first_replies(events).select("case_id", "minutes").rows())
    # thread 1: 22:10 → 22:25 = 15 min; thread 20: 09:00 → 09:03 = 3 min;
    # thread 10: 08:10 customer, no later brand tweet; thread 30: no reply
    assert replies == {1: 15.0, 20: 3.0}


def test_twcs_rejects_are_reported(twcs_small: tuple[pl.DataFrame, ...]) -> None:
    _, rejected = twcs_small
    adapter_rejects = rejected.filter(pl.col("source_row").is_not_null()).sort("source_row")
    assert adapter_rejects.select("source_row", "reason", "reason_column").rows() == [
        (11, "duplicate_event", "tweet_id"),  # tweet 2 again
        (12, "null_key", "tweet_id"),
        (13, "reply_cycle", "in_response_to_tweet_id"),  # 40 → 41 → 40
        (14, "reply_cycle", "in_response_to_tweet_id"),
    ]
    # tweet 50 ('maybe' inbound, no customer) is mapped, then rejected by validation
    invalid = rejected.filter(pl.col("source_row").is_null())
    assert set(invalid["case_id"]) == {"50"}
    assert set(invalid["reason"]) == {"null_key"}


def test_twcs_conservation(twcs_small: tuple[pl.DataFrame, ...]) -> None:
    events, rejected = twcs_small
    n_source = pl.read_csv(TWCS, infer_schema=False).height
    assert conserved(events, rejected, n_source)


def test_pointer_jumping_resolves_long_chains() -> None:
    n = 1_000  # tweet i answers tweet i - 1: one thread, 1,000 deep
    start = dt.datetime(2017, 10, 31, tzinfo=UTC)
    tweets = pl.DataFrame(
        {
            "tweet_id": [str(i) for i in range(n)],
            "author_id": ["42" if i % 2 == 0 else "brand" for i in range(n)],
            "inbound": ["True" if i % 2 == 0 else "False" for i in range(n)],
            "created_at": [
                (start + dt.timedelta(minutes=i)).strftime("%a %b %d %H:%M:%S +0000 %Y")
                for i in range(n)
            ],
            "in_response_to_tweet_id": [None] + [str(i - 1) for i in range(1, n)],
        }
    )
    events = read_twitter(tweets.sample(fraction=1.0, shuffle=True, seed=1)).frame.collect()
    assert events["case_id"].unique().to_list() == [0]
    assert events.height == n + 1


def test_twcs_row_order_does_not_matter(twcs_small: tuple[pl.DataFrame, ...]) -> None:
    events, _ = twcs_small
    source = pl.read_csv(TWCS, infer_schema=False).unique(subset="tweet_id", keep="first")
    shuffled = read_twitter(source.sample(fraction=1.0, shuffle=True, seed=7)).frame.collect()
    key = ["case_id", "event_id"]
    assert shuffled.sort(key).select(events.columns).equals(events.sort(key))


def test_twcs_keep_text() -> None:
    events = read_twitter(TWCS, keep_text=True).frame.collect()
    assert "text" in events.columns
    assert events.filter(pl.col("tweet_id") == "30")["text"].item() == "@Tesco hello?"


# --------------------------------------------------------------------------- IBM


@pytest.fixture(scope="module")
def ibm_small() -> pl.DataFrame:
    log = adapter(IBM)
    assert log.rejected is not None
    assert log.rejected.collect().height == 0
    return log.frame.collect()


def test_snowflake_time() -> None:
    # (1216382480015450112 >> 22) + 1288834974657 = 1578843157186 ms = 2020-01-12 15:32:37.186
    assert snowflake_time(1216382480015450112) == dt.datetime(
        2020, 1, 12, 15, 32, 37, 186000, tzinfo=UTC
    )


def test_ibm_events(ibm_small: pl.DataFrame) -> None:
    s1 = ibm_small.filter(pl.col("case_id") == "s1").sort("ts", "event_type")
    assert s1.select("event_type", "actor", "author", "customer_id", "team").rows() == [
        ("case_created", "customer", "alice", "alice", "AppleSupport"),
        ("message", "customer", "alice", "alice", "AppleSupport"),
        ("message", "agent", "AppleSupport", "alice", "AppleSupport"),
        ("message", "customer", "bob", "alice", "AppleSupport"),  # 'client1': another customer
        ("message", "agent", "AppleSupport", "alice", "AppleSupport"),  # the agentURL tweet
    ]
    # the agentURL tweet has no datetime: its time comes from the snowflake id
    assert s1["ts"][-1] == dt.datetime(2020, 1, 10, 11, 0, tzinfo=UTC)


def test_ibm_first_reply_hand_worked(ibm_small: pl.DataFrame) -> None:
    replies = dict(first_replies(ibm_small).select("case_id", "minutes").rows())
    # s1: 10:00 → agent 10:20 = 20 min; s2: 14:50:11 → agentURL 15:32:37.186
    #     = 42 min 26.186 s = 42.4364333 min
    assert replies["s1"] == 20.0
    assert replies["s2"] == pytest.approx(42 + 26.186 / 60)


def test_ibm_conservation(ibm_small: pl.DataFrame) -> None:
    data = json.loads(IBM.read_text())
    n_tweets = sum(len(c["dialogContent"]) + 1 for c in data)  # + the agentURL tweet
    assert ibm_small.filter(pl.col("event_type") == "message").height == n_tweets == 6


def test_unknown_option_is_an_adapter_error() -> None:
    with pytest.raises(AdapterError, match="unexpected keyword argument 'colour'"):
        adapter(TWCS, colour="red")


def test_layout_is_detected_and_checked() -> None:
    assert read_twitter(IBM, layout="ibm").frame.collect().height == 8
    with pytest.raises(AdapterError, match="layout"):
        read_twitter(IBM, layout="xml")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- malformed input


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    text = TWCS.read_text().replace("inbound", "inbund")
    path = _write(tmp_path, "tweets.csv", text)
    with pytest.raises(AdapterError, match=r"tweets\.csv.*'inbound' \(did you mean 'inbund'"):
        adapter(path)


def test_truncated_json_names_the_position(tmp_path: Path) -> None:
    path = _write(tmp_path, "cut.json", IBM.read_text()[:400])
    with pytest.raises(AdapterError, match=r"cut\.json: line \d+, column \d+: not valid JSON"):
        adapter(path)


@pytest.mark.parametrize(
    ("edit", "record", "field"),
    [
        (
            lambda c: c[1]["dialogHeader"].pop("company"),
            r"conversation 1 \(sessionID 's2'\)",
            "company",
        ),
        (
            lambda c: c[0]["dialogContent"][1].update(datetime=5),
            r"conversation 0 .*\[1\]",
            "datetime",
        ),
        (
            lambda c: c[1]["agentURL"].update(tweet_ID="soon"),
            r"conversation 1 .*agentURL",
            "tweet_ID",
        ),
        (lambda c: c[0]["dialogContent"][0].pop("client"), r"conversation 0 .*\[0\]", "client"),
        (lambda c: c[0].pop("dialogContent"), r"conversation 0", "dialogContent"),
    ],
)
def test_malformed_ibm_record_names_record_and_field(
    tmp_path: Path, edit: object, record: str, field: str
) -> None:
    data = json.loads(IBM.read_text())
    edit(data)  # type: ignore[operator]
    path = _write(tmp_path, "care.json", json.dumps(data))
    with pytest.raises(AdapterError, match=rf"care\.json: {record}.*field '{field}'"):
        adapter(path)


def test_ibm_not_an_array(tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match="JSON array"):
        adapter(_write(tmp_path, "care.json", '{"a": 1}'))


def _never_leaks(path: Path, **options: object) -> None:
    try:
        log = adapter(path, **options)
        log.frame.collect()
        assert log.rejected is not None
        log.rejected.collect()
    except CsMetricsError:
        pass


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["x.csv", "x.json", "x.dat"]))
def test_garbage_bytes_never_leak_library_errors(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        _never_leaks(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "dialogHeader",
                    "dialogContent",
                    "agentURL",
                    "company",
                    "sessionID",
                    "client",
                    "agent",
                    "datetime",
                    "tweet_ID",
                    "message",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=50, deadline=None)
@given(json_values)
def test_garbage_json_never_leaks_library_errors(value: object) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "care.json"
        path.write_text(json.dumps(value))
        _never_leaks(path)


@settings(max_examples=25, deadline=None)  # each example maps and validates a file: ~0.2 s
@given(st.lists(st.lists(st.text(max_size=12), min_size=7, max_size=7), max_size=8))
def test_garbage_twcs_rows_never_leak_library_errors(rows: list[list[str]]) -> None:
    header = TWCS.read_text().splitlines()[0]
    lines = [header] + [",".join(json.dumps(v) for v in row) for row in rows]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tweets.csv"
        path.write_text("\n".join(lines) + "\n")
        _never_leaks(path)


# --------------------------------------------------------------------------- real data

# README of twcs: median first reply (minutes) per brand with >= 15 customer-started threads
TWCS_BRANDS = {
    "ChipotleTweets": (170, 9.85),
    "AmazonHelp": (102, 12.43),
    "AppleSupport": (84, 7.80),
    "comcastcares": (50, 14.13),
    "AskPlayStation": (41, 511.43),
    "XboxSupport": (37, 76.27),
    "SpotifyCares": (36, 46.44),
    "Tesco": (29, 87.03),
    "hulu_support": (24, 2727.06),
    "UPSHelp": (22, 12.17),
    "ATVIAssist": (22, 164.62),
    "CenturyLinkHelp": (19, 16.90),
    "Ask_WellsFargo": (17, 155.20),
    "AlaskaAir": (17, 1.73),
    "AdobeCare": (16, 1485.88),
    "AskPayPal": (15, 284.43),
}

# README of ibm-twitter-care: conversations and median first reply (minutes) per company
IBM_COMPANIES = {
    "AdobeCare": (27, 252.834),
    "AmazonHelp": (5, 14.1),
    "AppleSupport": (28, 32.69),
    "AskPlayStation": (27, 475.532),
    "Ask_Spectrum": (3, 348.944),
    "Ask_WellsFargo": (10, 830.705),
    "AskeBay": (32, 870.526),
    "ChaseSupport": (3, 465.211),
    "Delta": (2, 1192.867),
    "DropboxSupport": (27, 14.483),
    "GoDaddyHelp": (8, 66.079),
    "Google": (47, 8362.963),
    "HPSupport": (57, 351.526),
    "MicrosoftHelps": (8, 143.037),
    "MojangSupport": (52, 665.672),
    "RockstarSupport": (58, 2.503),
    "SouthwestAir": (5, 4.1),
    "SpotifyCares": (24, 11.794),
    "TMobileHelp": (3, 75.008),
    "TeamYouTube": (34, 79.579),
    "Uber_Support": (1, 1794.122),
    "XboxSupport": (3, 254.249),
    "YahooCare": (15, 4.856),
    "hulu_support": (12, 117.404),
    "zoom_us": (9, 110.567),
}


def test_real_twcs_figures(real_data: Path) -> None:
    path = real_data / "twcs" / "twcs_sample.csv"
    log = adapter(path)
    assert log.rejected is not None
    events, rejected = log.frame.collect(), log.rejected.collect()
    assert rejected.height == 0
    assert conserved(events, rejected, 3_282)
    created = events.filter(pl.col("event_type") == "case_created")
    assert created.height == 920  # threads
    customer_started = created.filter(pl.col("actor") == "customer")
    assert customer_started.height == 906
    assert created["thread_incomplete"].sum() == 5  # first tweet answers an absent tweet
    replies = first_replies(events).join(customer_started.select("case_id", "team"), on="case_id")
    assert replies.height == 906  # all 906 got a brand reply
    per_brand = replies.group_by("team").agg(pl.len(), pl.col("minutes").median())
    got = {team: (n, m) for team, n, m in per_brand.filter(pl.col("len") >= 15).rows()}
    assert set(got) == set(TWCS_BRANDS)
    for brand, (n, median) in TWCS_BRANDS.items():
        assert got[brand][0] == n, brand
        assert got[brand][1] == pytest.approx(median, abs=0.0051), brand


def test_real_ibm_figures(real_data: Path) -> None:
    path = real_data / "ibm-twitter-care" / "test.json"
    log = adapter(path)
    assert log.rejected is not None
    assert log.rejected.collect().height == 0
    events = log.frame.collect()
    assert events["case_id"].n_unique() == 500
    assert events.filter(pl.col("event_type") == "message").height == 1_139
    replies = first_replies(events).join(
        events.filter(pl.col("event_type") == "case_created").select("case_id", "team"),
        on="case_id",
    )
    assert replies.height == 500
    # for 454 conversations the only agent tweet (hence the first reply) is the agentURL one
    agent_tweets = events.filter(pl.col("actor") == "agent").group_by("case_id").len()
    assert agent_tweets.filter(pl.col("len") == 1).height == 454
    assert replies["minutes"].median() == pytest.approx(125.751, abs=0.0005)
    per_company = replies.group_by("team").agg(pl.len(), pl.col("minutes").median())
    got = {team: (n, m) for team, n, m in per_company.rows()}
    assert set(got) == set(IBM_COMPANIES)
    for company, (n, median) in IBM_COMPANIES.items():
        assert got[company][0] == n, company
        assert got[company][1] == pytest.approx(median, abs=0.0005), company


def test_brand_started_threads_are_warned() -> None:
    import csmetrics as csm
    from csmetrics.exceptions import AdapterWarning

    # 5 threads in the file, 1 opened by a brand's tweet: 1 / 5 = 20 % > 5 %
    with pytest.warns(AdapterWarning, match=r"1 of 5 threads \(20\.0%\) start with a brand") as w:
        log = adapter(TWCS)
    assert "agent_created='include'" in str(w[0].message)
    cases = csm.case_table(log.checked("quarantine")).collect()
    assert int(cases["agent_created"].sum()) == 1  # the figure the warning gives
    assert log.capabilities is not None
    assert not log.capabilities.can("comp_granted")


def test_few_brand_started_threads_are_silent(real_data: Path) -> None:
    import warnings

    # README: 920 threads, 14 started by a brand = 1.5 % <= 5 %: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log = read_twitter(real_data / "twcs" / "twcs_sample.csv")
    assert log.frame.filter(pl.col("event_type") == "case_created").collect().height == 920
