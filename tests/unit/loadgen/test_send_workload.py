"""The pre-generated messages: unique, tagged, in the mix asked for, each block of them
holding the whole size distribution."""

import pytest

from loadgen.send.workload import BLOCK, Mix, Workload, pregenerate


def test_pregenerated_messages_are_unique_tagged_and_follow_the_mix() -> None:
    plan = pregenerate(200, Workload(mix=Mix(spam=0.25, virus=0.25), seed=3))
    assert len({p.message_id for p in plan}) == 200
    assert all(f"X-Loadgen-Seq: {p.seq}".encode() in p.data for p in plan)
    kinds = [p.kind for p in plan]
    assert 70 < kinds.count("ham") < 130 and kinds.count("spam") > 20 and kinds.count("virus") > 20
    assert [p.expect_delivery for p in plan] == [k == "ham" for k in kinds]
    assert all(b"\r\n" in p.data and b"\n" not in p.data.replace(b"\r\n", b"") for p in plan)


def test_a_mix_over_one_is_refused() -> None:
    with pytest.raises(ValueError, match="sum to <= 1"):
        Mix(spam=0.7, virus=0.5)


def test_each_block_of_messages_holds_the_whole_size_distribution_and_the_attachment_share() -> None:
    plan = pregenerate(60, Workload(seed=4, median_size=4000, attachment_share=0.1))
    blocks = [plan[i:i + BLOCK] for i in range(0, 60, BLOCK)]
    for block in blocks:
        assert sum(b"filename=" in p.data for p in block) == 2
        sizes = sorted(len(p.data) for p in block)
        assert sizes[BLOCK // 2] < 8_000 < sizes[-1]  # a median near 4 KB and a tail in every block
    totals = [sum(len(p.data) for p in block) for block in blocks]
    assert max(totals) < 2.5 * min(totals), totals  # independent draws vary far more from block to block
